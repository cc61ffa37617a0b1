package steps

import (
	"crypto"
	"fmt"
	"path/filepath"

	"github.com/jitpwiz/jitpwiz/pki"
)

// The private keys the key steps (1, 5, 9) make or reuse: an existing key is never replaced
// without an explicit choice (--force-new-keys, or the field below).

// ensureKey reuses the key file at path when it exists, or creates one of type want. A key
// is replaced only with --force-new-keys; an existing key of another type than --key is kept
// (and said so): --key applies to the keys jitpwiz creates. what names the key in messages
// ("CA private key"). It returns the key, whether it was reused, and a note for the
// step's progress when the kept key is not of type want.
func ensureKey(s *Session, path, what string, want pki.KeyType) (key crypto.Signer, reused bool, note string, err error) {
	if note, err = pki.SecureKeyFile(path); err != nil {
		return nil, false, note, err
	}
	if pki.FileExists(path) && !s.Options.ForceNewKeys {
		k, err := pki.LoadKeyFile(path)
		if err != nil {
			return nil, false, "", fmt.Errorf("%s %s cannot be read (%v) — fix or move the file, or pass --force-new-keys to replace it", what, filepath.Base(path), err)
		}
		got, err := pki.KeyTypeOf(k)
		if err != nil {
			return nil, false, "", fmt.Errorf("%s %s: %v — pass --force-new-keys to replace it", what, filepath.Base(path), err)
		}
		if got != want {
			note = joinNotes(note, fmt.Sprintf("kept the existing %s %s (%s); --key %s applies to new keys — add --force-new-keys to replace it", what, filepath.Base(path), got, want))
		}
		return k, true, note, nil
	}
	r, err := pki.WriteKey(filepath.Dir(path), filepath.Base(path), want, s.Options.ForceNewKeys)
	if err != nil {
		return nil, false, "", err
	}
	return r.Key, false, note, nil
}

// secureKeyFile applies pki.SecureKeyFile to a workspace key a step reads again: a link or a
// non-regular file is refused, a key others can read is made 0600 and the step says so.
func secureKeyFile(path string, say func(format string, args ...any)) error {
	note, err := pki.SecureKeyFile(path)
	if note != "" {
		say("%s", note)
	}
	return err
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// keyType is the type of the keys jitpwiz creates (--key).
func keyType(s *Session) pki.KeyType {
	t, err := pki.ParseKeyType(s.Options.KeyType)
	if err != nil {
		return pki.DefaultKeyType
	}
	return t
}

// forceNewKeysField lets the user replace existing keys (the explicit choice keys need).
func forceNewKeysField(s *Session) Field {
	return Field{
		Key: "force-new-keys", Label: "Replace the existing key",
		Help:    "a key file exists and is reused; replacing it makes new certificates from it and everything after redone",
		Choices: []Option{{Value: "no", Label: "no, reuse it"}, {Value: "yes", Label: "yes, make a new key"}},
		Get:     func() string { return map[bool]string{true: "yes", false: "no"}[s.Options.ForceNewKeys] },
		Set: func(v string) error {
			switch v {
			case "yes", "no":
				s.Options.ForceNewKeys = v == "yes"
				return nil
			}
			return fmt.Errorf("replace the existing key: answer yes or no")
		},
	}
}
