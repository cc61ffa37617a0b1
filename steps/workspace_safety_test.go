package steps_test

import (
	"context"
	"errors"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
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

// TestE2EExistingKeyModeAndLink: a CA key copied into a new workspace with mode 0644 is
// reused, made 0600, and the run says so; a CA key that is a symbolic link to a file
// elsewhere is refused at step 1, naming it, and the file behind it keeps its mode.
func TestE2EExistingKeyModeAndLink(t *testing.T) {
	t.Parallel()
	openssl := testtool.Need(t, "openssl")
	genKey := func(path string) string {
		t.Helper()
		if out, err := exec.Command(openssl, "genrsa", "-out", path, "2048").CombinedOutput(); err != nil {
			t.Fatalf("openssl genrsa: %v\n%s", err, out)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "deviceRootCA.key")
	content := genKey(key)
	r := mustRun(t, "run", "--dir", dir, "--yes", "--pause-after", "")
	if !strings.Contains(r.out, "deviceRootCA.key could be read by other users (mode 0644): its mode is now 0600") {
		t.Errorf("the run does not say it tightened the key:\n%s", r)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode after the run: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(key); string(b) != content {
		t.Error("the existing key was replaced")
	}

	dir2 := filepath.Join(t.TempDir(), "ws")
	if err := os.MkdirAll(dir2, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "their.key")
	vcontent := genKey(victim)
	link := filepath.Join(dir2, "deviceRootCA.key")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	r = jitpwiz(t, "run", "--dir", dir2, "--yes")
	if r.err == nil {
		t.Fatalf("a run with a linked CA key succeeded:\n%s", r)
	}
	if !strings.Contains(r.out, link+" is a symbolic link (to "+victim+")") || !strings.Contains(r.out, "✗  1/13") {
		t.Errorf("step 1 does not refuse the link by name:\n%s", r)
	}
	checkUntouched(t, victim, vcontent, 0o644)
}
