//go:build unix

package pki

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// plant puts each kind of non-regular file at a name in dir: a symbolic link to a victim
// file outside dir (whose content and mode must survive), a dangling link, a FIFO (an open
// for writing would block without a reader) and a directory. It returns name → path.
func plant(t *testing.T, dir, victim string) map[string]string {
	t.Helper()
	out := map[string]string{
		"link":     filepath.Join(dir, "link"),
		"dangling": filepath.Join(dir, "dangling"),
		"fifo":     filepath.Join(dir, "fifo"),
		"dir":      filepath.Join(dir, "dir"),
	}
	if err := os.Symlink(victim, out["link"]); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(t.TempDir(), "created-through-link"), out["dangling"]); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(out["fifo"], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(out["dir"], 0o700); err != nil {
		t.Fatal(err)
	}
	return out
}

func victimFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "someone-elses-file")
	if err := os.WriteFile(p, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkVictim(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "precious" {
		t.Errorf("the file behind the link was changed: %q %v", b, err)
	}
	checkMode(t, p, 0o644)
}

func wantNotRegular(t *testing.T, what string, err error, path string) {
	t.Helper()
	var nr *NotRegularError
	if !errors.Is(err, ErrNotRegular) || !errors.As(err, &nr) || nr.Path != path {
		t.Fatalf("%s: got %v, want a *NotRegularError for %s", what, err, path)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "remove") {
		t.Errorf("%s: message does not name the file and the fix: %v", what, err)
	}
}

// atEachNonRegular plants each kind of non-regular file in a new directory (plant) and
// calls try with its name, its path and the victim file the link points to. Afterwards the
// victim is unchanged and nothing was created through the dangling link. It returns the
// directory.
func atEachNonRegular(t *testing.T, try func(name, path, victim string)) (dir string) {
	t.Helper()
	victim := victimFile(t)
	dir = t.TempDir()
	planted := plant(t, dir, victim)
	for name, p := range planted {
		try(name, p, victim)
	}
	checkVictim(t, victim)
	if _, err := os.Stat(planted["dangling"]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was created through the dangling link (stat: %v)", err)
	}
	return dir
}

// WriteFile refuses a link, FIFO or directory at its path, with or without overwrite:
// nothing is written anywhere and no temporary file is left.
func TestWriteFileRefusesNonRegular(t *testing.T) {
	t.Parallel()
	dir := atEachNonRegular(t, func(name, p, victim string) {
		for _, overwrite := range []bool{false, true} {
			err := WriteFile(p, []byte("x"), KeyMode, overwrite)
			wantNotRegular(t, name, err, p)
			if name == "link" && !strings.Contains(err.Error(), victim) {
				t.Errorf("link: message does not say where it points: %v", err)
			}
		}
	})
	checkNoTempFiles(t, dir)
	if fi, err := os.Lstat(filepath.Join(dir, "link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link itself was replaced: %v %v", fi, err)
	}
}

// OpenFile (locks, logs) refuses the same, even with O_CREATE|O_APPEND or O_TRUNC, and
// opens or creates a regular file.
func TestOpenFileRefusesNonRegular(t *testing.T) {
	t.Parallel()
	dir := atEachNonRegular(t, func(name, p, _ string) {
		for _, flag := range []int{os.O_RDWR | os.O_CREATE, os.O_WRONLY | os.O_APPEND | os.O_CREATE, os.O_WRONLY | os.O_TRUNC} {
			f, err := OpenFile(p, flag, 0o600)
			if err == nil {
				f.Close()
			}
			wantNotRegular(t, name, err, p)
		}
	})

	p := filepath.Join(dir, "log")
	for range 2 {
		f, err := OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("line\n"); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if b := readFile(t, p); string(b) != "line\nline\n" {
		t.Errorf("appended content: %q", b)
	}
	checkMode(t, p, 0o600)
	if err := CheckRegular(p); err != nil {
		t.Errorf("CheckRegular(regular file): %v", err)
	}
	if err := CheckRegular(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("CheckRegular(missing): %v", err)
	}
}
