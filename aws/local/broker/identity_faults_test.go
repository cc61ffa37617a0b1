package broker

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
)

// checkRemadeRoot loads the identity of dir, which holds the root key keyPEM but no root
// certificate, and checks that the certificate was made from that key: the key file is
// unchanged, the new certificate is the same CA (key, subject), and a client that trusts
// the new root accepts the server certificate.
func checkRemadeRoot(t *testing.T, dir string, keyPEM []byte) {
	t.Helper()
	id, err := loadIdentity(dir, nil, time.Now())
	if err != nil {
		t.Fatalf("start after the interrupted root creation: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, rootKeyFile)); !bytes.Equal(after, keyPEM) {
		t.Fatal("the root key was replaced")
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pki.KeyMatchesCert(key, id.root) || !id.root.IsCA || id.root.Subject.CommonName != "jitpwiz local IoT Root CA" {
		t.Fatalf("remade root %s does not belong to the key or is no CA", id.root.Subject)
	}
	onDisk, err := pki.LoadCertFile(filepath.Join(dir, RootCAFile))
	if err != nil || !onDisk.Equal(id.root) {
		t.Fatalf("%s on disk: %v", RootCAFile, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(id.root)
	if _, err := id.cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Fatalf("server certificate does not verify against the remade root: %v", err)
	}
}

// A root key whose certificate is missing (deleted, or never written) gets its certificate
// back, made from the key; a server certificate the old root signed still verifies against
// the new one, so clients that trusted the old awsRootCA.pem keep working.
func TestIdentityRemakesMissingRootCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := loadIdentity(dir, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := os.ReadFile(filepath.Join(dir, rootKeyFile))
	if err := os.Remove(filepath.Join(dir, RootCAFile)); err != nil {
		t.Fatal(err)
	}
	checkRemadeRoot(t, dir, keyPEM)
	id, _ := loadIdentity(dir, nil, time.Now())
	pool := x509.NewCertPool()
	pool.AddCert(id.root)
	if _, err := first.cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Fatalf("the server certificate of the old root does not verify against the remade one: %v", err)
	}
}

// TestIdentityHelperProcess is not a test: the tests below run the test binary with
// BROKER_IDENTITY_HELPER set to create an identity in BROKER_IDENTITY_DIR as a process
// that is killed, or whose disk is full, between the root key and its certificate.
func TestIdentityHelperProcess(t *testing.T) {
	dir := os.Getenv("BROKER_IDENTITY_DIR")
	switch os.Getenv("BROKER_IDENTITY_HELPER") {
	case "kill":
		testHookRootKeyWritten = func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
		_, _ = loadIdentity(dir, nil, time.Now())
		t.Fatal("still alive after SIGKILL")
	case "tmpfs":
		// In a mount namespace of its own (the parent's Unshareflags), so the mount
		// vanishes with this process. One page: the key fits, its certificate does not.
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4k,mode=0700"); err != nil {
			t.Fatalf("mount tmpfs: %v", err)
		}
		_, err := loadIdentity(dir, nil, time.Now())
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), filepath.Join(dir, RootCAFile)) || !strings.Contains(err.Error(), "free some space") {
			t.Fatalf("full disk: want ENOSPC naming %s and the fix, got %v", RootCAFile, err)
		}
		keyPEM, err := os.ReadFile(filepath.Join(dir, rootKeyFile))
		if err != nil {
			t.Fatalf("the root key was not written: %v", err)
		}
		if pki.FileExists(filepath.Join(dir, RootCAFile)) {
			t.Fatal("a root certificate was written on a full disk")
		}
		if temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(temps) > 0 {
			t.Fatalf("temp files left on the full disk: %v", temps)
		}
		// Space again (what the user does): the next start repairs the workspace.
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=1m,mode=0700"); err != nil {
			t.Fatalf("remount tmpfs: %v", err)
		}
		checkRemadeRoot(t, dir, keyPEM)
	}
}

func identityHelper(t *testing.T, mode, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdentityHelperProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "BROKER_IDENTITY_HELPER="+mode, "BROKER_IDENTITY_DIR="+dir)
	return cmd
}

// kill -9 between the root key's write and its certificate's: the next start makes the
// certificate from the key instead of refusing ("awsRootCA.pem is missing but
// awsRootCA.key exists") for good.
func TestIdentityKilledBetweenRootWrites(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), ".local-iot")
	out, err := identityHelper(t, "kill", dir).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper was not killed: %v\n%s", err, out)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, rootKeyFile))
	if err != nil {
		t.Fatalf("the kill came before the key was written: %v", err)
	}
	if pki.FileExists(filepath.Join(dir, RootCAFile)) {
		t.Fatal("the certificate exists: the kill came too late")
	}
	checkRemadeRoot(t, dir, keyPEM)
}

// A full disk (a one-page tmpfs) between the root key's write and its certificate's: the
// start fails naming the file and the fix, leaves no temp file, and once there is space
// again the next start makes the certificate from the key.
func TestIdentityFullDiskBetweenRootWrites(t *testing.T) {
	t.Parallel()
	ci := os.Getenv("CI") == "true"
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		if ci {
			t.Fatalf("CI must run this as root on Linux (it mounts a tmpfs in a private mount namespace)")
		}
		t.Skip("mounting a tmpfs needs root on Linux")
	}
	dir := t.TempDir()
	cmd := identityHelper(t, "tmpfs", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if !ci && strings.Contains(err.Error(), "operation not permitted") {
			t.Skipf("no mount namespace here: %v", err)
		}
		t.Fatalf("full-disk helper: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestIdentityHelperProcess") {
		t.Fatalf("the helper did not run:\n%s", out)
	}
}
