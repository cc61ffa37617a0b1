package steps

import (
	"crypto"
	"path/filepath"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
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
			return nil, false, "", i18n.WrapError(err, "keys.unreadable", i18n.Args{"What": what, "File": filepath.Base(path)})
		}
		got, err := pki.KeyTypeOf(k)
		if err != nil {
			return nil, false, "", i18n.WrapError(err, "keys.unusable", i18n.Args{"What": what, "File": filepath.Base(path)})
		}
		if got != want {
			note = joinNotes(note, i18n.T("keys.kept-other-type", i18n.Args{"What": what, "File": filepath.Base(path), "Got": got, "Want": want}))
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
		Flag: "force-new-keys", Label: i18n.T("keys.force.label"),
		Help:    i18n.T("keys.force.help"),
		Choices: []Option{{Value: "no", Label: i18n.T("keys.force.no")}, {Value: "yes", Label: i18n.T("keys.force.yes")}},
		Get:     func() string { return map[bool]string{true: "yes", false: "no"}[s.Options.ForceNewKeys] },
		Set: func(v string) error {
			switch v {
			case "yes", "no":
				s.Options.ForceNewKeys = v == "yes"
				return nil
			}
			return i18n.NewError("keys.force.answer")
		},
	}
}
