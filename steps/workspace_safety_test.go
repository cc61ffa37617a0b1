package steps_test

import (
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
