package store

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
)

// holdInOtherProcess runs TestLockHelperProcess, which opens dir and holds its lock until
// the returned release is called (or the test ends). It returns the helper's command.
func holdInOtherProcess(t *testing.T, dir string) (*exec.Cmd, func() error) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("no flock on Windows")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "STORE_LOCK_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	return cmd, func() error { stdin.Close(); return cmd.Wait() }
}

// A planted link at the lock or the event log makes Open refuse, naming the file; the file
// behind the link is not touched. A state file that is a link is never written through: the
// first save is refused.
func TestOpenRefusesPlantedLinks(t *testing.T) {
	t.Parallel()
	for _, name := range []string{lockFileName, EventsFile} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), DirName)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(t.TempDir(), "victim")
			if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir, Options{})
			if err == nil {
				s.Close()
				t.Fatalf("Open with %s a symbolic link succeeded", name)
			}
			if !errors.Is(err, pki.ErrNotRegular) || !strings.Contains(err.Error(), filepath.Join(dir, name)) {
				t.Fatalf("Open: %v, want a refusal naming %s", err, name)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
				t.Errorf("the file behind the link was changed: %q", b)
			}
		})
	}

	t.Run(StateFile, func(t *testing.T) {
		t.Parallel()
		elsewhere := filepath.Join(t.TempDir(), DirName)
		s, err := Open(elsewhere, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(func(st *State) error { _, err := st.CreatePolicy("p", testPolicy, nil); return err }); err != nil {
			t.Fatal(err)
		}
		s.Close()
		victim := filepath.Join(elsewhere, StateFile)
		before, _ := os.ReadFile(victim)

		dir := filepath.Join(t.TempDir(), DirName)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, filepath.Join(dir, StateFile)); err != nil {
			t.Fatal(err)
		}
		// Open may save at once (it fills in what an older state lacks); if not, the first
		// change does. Either is refused.
		s, err = Open(dir, Options{})
		if err == nil {
			defer s.Close()
			err = s.Update(func(st *State) error { _, err := st.CreatePolicy("q", testPolicy, nil); return err })
		}
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, StateFile)+" is a symbolic link") {
			t.Fatalf("Update through a linked state file: %v, want a refusal naming it", err)
		}
		if after, _ := os.ReadFile(victim); string(after) != string(before) {
			t.Error("the state file behind the link was rewritten")
		}
	})
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
