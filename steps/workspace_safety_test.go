package steps_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps"
)

func writeVictim(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "someone-elses-file")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkUntouched(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != content {
		t.Errorf("the file behind the link was changed: %q %v", b, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != mode {
		t.Errorf("the file behind the link changed mode: %v %v", fi, err)
	}
}

// TestE2EPlantedLockLink: a .jitpwiz.lock that is a symbolic link makes run refuse, naming
// the file, instead of truncating the file it points to and writing a pid into it.
func TestE2EPlantedLockLink(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := writeVictim(t, "precious\n", 0o644)
	if err := os.Symlink(victim, filepath.Join(dir, steps.LockFile)); err != nil {
		t.Fatal(err)
	}
	r := jitpwiz(t, "run", "--dir", dir, "--yes")
	var ee *exec.ExitError
	if !errors.As(r.err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v\n%s", r.err, r)
	}
	if !strings.Contains(r.all(), filepath.Join(dir, steps.LockFile)+" is a symbolic link") {
		t.Errorf("the refusal does not name the lock file:\n%s", r)
	}
	checkUntouched(t, victim, "precious\n", 0o644)
}

// TestStaleTempsRemovedWhenLocked: temp files a killed jitpwiz left in the workspace, in a
// device directory and in .local-iot are removed when a session takes the workspace, and
// not while another session holds it.
func TestStaleTempsRemovedWhenLocked(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	first := session(t, dir)
	temps := []string{
		filepath.Join(dir, ".jitpwiz.json.tmp-4242"),
		filepath.Join(dir, "devices", "Other", ".deviceCert.key.tmp-17"),
		filepath.Join(dir, ".local-iot", ".awsRootCA.pem.tmp-99"),
	}
	keep := filepath.Join(dir, "notes.txt")
	for _, p := range append(temps, keep) {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	second, err := steps.Open(steps.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := second.Connect(context.Background()); !errors.Is(err, steps.ErrWorkspaceLocked) {
		t.Fatalf("Connect while held: %v", err)
	}
	for _, p := range temps {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed while another jitpwiz held the workspace", p)
		}
	}
	first.Close()
	if err := second.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range temps {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("stale %s still there", p)
		}
	}
	if _, err := os.Lstat(keep); err != nil {
		t.Errorf("%s was removed", keep)
	}
}
