//go:build unix

package pki

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// TestKilledWriteHelper is not a test: TestKilledWriteLeavesPrivateTemp runs the test binary
// with PKI_KILL_DIR set, and this process kills itself (SIGKILL) once WriteFile's
// temporary file holds the key, before it is moved into place.
func TestKilledWriteHelper(t *testing.T) {
	dir := os.Getenv("PKI_KILL_DIR")
	if dir == "" {
		return
	}
	testHookTempWritten = func(string) { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	_ = WriteFile(filepath.Join(dir, FileDeviceKey), []byte("-----BEGIN PRIVATE KEY-----\n"), KeyMode, false)
	t.Fatal("still alive after SIGKILL")
}

// A jitpwiz killed mid-write leaves its temporary file: a key's is 0600 (it was never
// readable by others), the key itself is not there, and RemoveStaleTemps removes the
// temporary file while leaving everything else (other names, links, directories, other
// tools' temp files) alone.
func TestKilledWriteLeavesPrivateTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriteHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PKI_KILL_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper was not killed: %v\n%s", err, out)
	}
	temps, _ := filepath.Glob(filepath.Join(dir, "."+FileDeviceKey+".tmp-*"))
	if len(temps) != 1 {
		t.Fatalf("want the killed write's temporary file, got %v", temps)
	}
	checkMode(t, temps[0], 0o600)
	if FileExists(filepath.Join(dir, FileDeviceKey)) {
		t.Error("the key appeared although the write was killed before the rename")
	}

	// Around it: things RemoveStaleTemps must keep.
	sub := filepath.Join(dir, "devices", "thing2")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	keep := []string{
		filepath.Join(dir, "deviceCert.crt"),
		filepath.Join(dir, ".deviceCert.crt.tmp-abc"), // not os.CreateTemp's digits
		filepath.Join(dir, "notes.tmp-123"),           // not a hidden jitpwiz temp name
		filepath.Join(dir, ".tmp-123"),
	}
	for _, p := range keep {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, ".jitpwiz.json.tmp-77")
	if err := os.Symlink(victimFile(t), link); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, link)
	linkDir := filepath.Join(dir, ".x.tmp-5")
	if err := os.Mkdir(linkDir, 0o700); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, linkDir)
	subTemp := filepath.Join(sub, ".deviceCert.key.tmp-3141")
	otherTemp := filepath.Join(dir, "elsewhere", ".deviceCert.key.tmp-3141")
	if err := os.MkdirAll(filepath.Dir(otherTemp), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{subTemp, otherTemp} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keep = append(keep, otherTemp) // not in a directory that was named

	got := RemoveStaleTemps(dir, "devices/*")
	sort.Strings(got)
	want := []string{temps[0], subTemp}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("removed %v, want %v", got, want)
	}
	for _, p := range want {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range keep {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}
