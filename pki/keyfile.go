package pki

import (
	"fmt"
	"os"
	"path/filepath"
)

// SecureKeyFile checks a private key file that jitpwiz keeps in a workspace before it is
// used again. A symbolic link (to a file somewhere else, perhaps someone else's) or a
// non-regular file is refused with a *NotRegularError: a workspace key must be the file
// itself. A key that group or others may read has its mode set to 0600 — it is the
// workspace's own file, and the user expects it private — and note says so (the caller
// shows it). A missing file is not an error (the caller creates the key).
func SecureKeyFile(path string) (note string, err error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return "", nil
	}
	if err := notRegular(path, fi); err != nil {
		return "", err
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return "", nil
	}
	f, err := OpenFile(path, os.O_RDONLY, 0)
	if err == nil {
		err = f.Chmod(KeyMode)
		f.Close()
	}
	if err != nil {
		return "", errorWith(nil, "err.key-mode", "Path", path, "Mode", fmt.Sprintf("%04o", perm), "Why", err.Error(), "Quoted", ShellQuote(path))
	}
	return words("note.key-mode", map[string]string{"Name": filepath.Base(path), "Mode": fmt.Sprintf("%04o", perm)}), nil
}
