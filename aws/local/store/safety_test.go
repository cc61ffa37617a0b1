package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
)

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

const testPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`
