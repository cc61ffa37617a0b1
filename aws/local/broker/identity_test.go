package broker

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIdentityCreatedOnceAndReused(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), ".local-iot")
	now := time.Now()
	id1, err := loadIdentity(dir, []string{"abc123-ats.iot.us-east-2.localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if id1.rootPath != filepath.Join(dir, RootCAFile) {
		t.Fatalf("root path %s", id1.rootPath)
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{RootCAFile, 0o644}, {rootKeyFile, 0o600}, {serverCertFile, 0o644}, {serverKeyFile, 0o600}} {
		fi, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != f.mode {
			t.Errorf("%s mode %o, want %o", f.name, fi.Mode().Perm(), f.mode)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %o, want 700", fi.Mode().Perm())
	}
	leaf := id1.cert.Leaf
	for _, n := range []string{"localhost", "127.0.0.1", "::1", "abc123-ats.iot.us-east-2.localhost"} {
		if err := leaf.VerifyHostname(n); err != nil {
			t.Errorf("server cert does not cover %s: %v", n, err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(id1.root)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("server cert does not chain to the root: %v", err)
	}

	// Restart with the same names: nothing is regenerated.
	rootBefore, _ := os.ReadFile(filepath.Join(dir, RootCAFile))
	serverBefore, _ := os.ReadFile(filepath.Join(dir, serverCertFile))
	id2, err := loadIdentity(dir, []string{"abc123-ats.iot.us-east-2.localhost"}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id2.root.Raw, id1.root.Raw) || !bytes.Equal(id2.cert.Certificate[0], id1.cert.Certificate[0]) {
		t.Fatal("identity regenerated on restart")
	}
	serverAfter, _ := os.ReadFile(filepath.Join(dir, serverCertFile))
	if !bytes.Equal(serverBefore, serverAfter) {
		t.Fatal("server.pem rewritten although nothing changed")
	}

	// A new endpoint name re-issues the server certificate but keeps the root.
	id3, err := loadIdentity(dir, []string{"other-ats.iot.eu-west-1.localhost"}, now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rootAfter, _ := os.ReadFile(filepath.Join(dir, RootCAFile))
	if !bytes.Equal(rootBefore, rootAfter) || !bytes.Equal(id3.root.Raw, id1.root.Raw) {
		t.Fatal("root CA changed")
	}
	if bytes.Equal(id3.cert.Certificate[0], id1.cert.Certificate[0]) {
		t.Fatal("server cert not re-issued for a new host name")
	}
	if err := id3.cert.Leaf.VerifyHostname("other-ats.iot.eu-west-1.localhost"); err != nil {
		t.Fatal(err)
	}

	// Near expiry: re-issued.
	id4, err := loadIdentity(dir, []string{"other-ats.iot.eu-west-1.localhost"}, now.Add(serverValidity-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(id4.cert.Certificate[0], id3.cert.Certificate[0]) {
		t.Fatal("server cert not renewed near expiry")
	}
}

// A root certificate without its key cannot be repaired (the key is gone): refused,
// naming the missing file. (A key without its certificate is repaired:
// TestIdentityRemakesMissingRootCert.)
func TestIdentityRefusesHalfARoot(t *testing.T) {
	t.Parallel()
	for _, remove := range []string{rootKeyFile} {
		dir := t.TempDir()
		if _, err := loadIdentity(dir, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		keep := rootKeyFile
		if remove == rootKeyFile {
			keep = RootCAFile
		}
		before, _ := os.ReadFile(filepath.Join(dir, keep))
		if err := os.Remove(filepath.Join(dir, remove)); err != nil {
			t.Fatal(err)
		}
		_, err := loadIdentity(dir, nil, time.Now())
		if err == nil || !strings.Contains(err.Error(), remove) || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("removing %s: want an error naming it, got %v", remove, err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, keep))
		if !bytes.Equal(before, after) {
			t.Fatalf("%s was modified", keep)
		}
		if _, err := os.Stat(filepath.Join(dir, remove)); err == nil {
			t.Fatalf("%s was recreated", remove)
		}
	}
}

func TestIdentityRejectsMismatchedKey(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	if _, err := loadIdentity(a, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := loadIdentity(b, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(filepath.Join(b, rootKeyFile))
	if err := os.WriteFile(filepath.Join(a, rootKeyFile), other, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadIdentity(a, nil, time.Now()); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Fatalf("want mismatch error, got %v", err)
	}
}

func TestStartFailsCleanlyOnBusyPort(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, err := New(Options{Store: e.st, Dir: e.dir, Addr: e.b.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Start()
	if err == nil || !strings.Contains(err.Error(), "cannot listen on") || !strings.Contains(err.Error(), "choose another port") {
		t.Fatalf("want a clear listen error, got %v", err)
	}
	if err := b.Start(); err == nil {
		t.Fatal("a failed broker started on retry")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
