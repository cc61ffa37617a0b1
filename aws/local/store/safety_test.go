package store

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// holdInOtherProcess runs TestLockHelperProcess, which opens dir and holds its lock until
// the returned release is called (or the test ends). It returns the helper's command.
func holdInOtherProcess(t *testing.T, dir string) (*exec.Cmd, func() error) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("no flock on Windows")
	}
	h := testtool.StartHelper(t, "TestLockHelperProcess", "STORE_LOCK_DIR="+dir)
	if line, err := h.ReadLine(); err != nil || line != "ready" {
		t.Fatalf("helper: %q %v", line, err)
	}
	return h.Cmd, h.Stop
}

// A planted link at any file the store keeps (its lock, its state, its event log — the
// files a first Open and Update create, whatever the storage format) makes Open or the
// first change refuse, naming the file; the file behind the link is not changed.
func TestOpenRefusesPlantedLinks(t *testing.T) {
	t.Parallel()
	orig := filepath.Join(t.TempDir(), DirName)
	s, err := Open(orig, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(st *State) error { _, err := st.CreatePolicy("p", testPolicy, nil); return err }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ents, err := os.ReadDir(orig)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if len(names) < 2 {
		t.Fatalf("the store made only %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A copy of the state directory in which name is a link to the original file.
			victimDir := t.TempDir()
			dir := filepath.Join(t.TempDir(), DirName)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			var victim string
			var before []byte
			for _, n := range names {
				b, err := os.ReadFile(filepath.Join(orig, n))
				if err != nil {
					t.Fatal(err)
				}
				if n != name {
					if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
						t.Fatal(err)
					}
					continue
				}
				victim, before = filepath.Join(victimDir, n), b
				if err := os.WriteFile(victim, b, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(victim, filepath.Join(dir, n)); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(dir, Options{})
			if err == nil {
				err = s.Update(func(st *State) error { _, err := st.CreatePolicy("q", testPolicy, nil); return err })
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, name)+" is a symbolic link") {
				t.Errorf("Open + Update with %s a symbolic link: %v, want a refusal naming it", name, err)
			}
			if after, _ := os.ReadFile(victim); !bytes.Equal(after, before) {
				t.Errorf("the file behind the link %s was written through", name)
			}
		})
	}
}

// Temp files a killed jitpwiz left in the state directory are removed when the directory
// is opened, but not while another process holds it (its writes may be in flight).
func TestOpenRemovesStaleTemps(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), DirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, release := holdInOtherProcess(t, dir)
	temps := []string{filepath.Join(dir, "."+StateFile+".tmp-2718"), filepath.Join(dir, ".awsRootCA.pem.tmp-31")}
	for _, p := range temps {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while held: %v", err)
	}
	for _, p := range temps {
		if !pki.FileExists(p) {
			t.Errorf("%s removed while another process held the directory", p)
		}
	}
	if err := release(); err != nil {
		t.Fatalf("helper exit: %v", err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range temps {
		if pki.FileExists(p) {
			t.Errorf("stale %s still there after Open", p)
		}
	}
}

const testPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`
