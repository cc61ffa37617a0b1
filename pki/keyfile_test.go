//go:build unix

package pki

import (
	"os"
	"path/filepath"
	"testing"
)

// An existing workspace key readable by others is made 0600 and the note says so; a key
// that is a link (to someone else's file) or not a regular file is refused, and the file
// behind the link keeps its mode.
func TestSecureKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, FileCAKey)
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if note, err := SecureKeyFile(key); note != "" || err != nil {
		t.Errorf("0600 key: note %q, err %v", note, err)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	note, err := SecureKeyFile(key)
	if err != nil {
		t.Fatal(err)
	}
	checkMode(t, key, 0o600)
	mustContain(t, "note", note, FileCAKey, "0644", "0600")
	if b := readFile(t, key); string(b) != "k" {
		t.Errorf("key content changed: %q", b)
	}
	if note, err := SecureKeyFile(filepath.Join(dir, "missing.key")); note != "" || err != nil {
		t.Errorf("missing key: note %q, err %v", note, err)
	}

	victim := victimFile(t)
	for name, p := range plant(t, dir, victim) {
		note, err := SecureKeyFile(p)
		if note != "" {
			t.Errorf("%s: note %q", name, note)
		}
		wantNotRegular(t, name, err, p)
	}
	checkVictim(t, victim)
}
