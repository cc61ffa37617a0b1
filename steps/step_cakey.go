package steps

import (
	"context"
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 1: the root CA's private key. Steps 1–3 are skipped when the user brings a CA
// (--ca-cert/--ca-key).

func byoCA(s *Session) bool { return s.CA.Supplied }

func stepCAKey() *step {
	return &step{
		id:    IDCAKey,
		title: "CA key",
		explain: "Create the private key of your own root certificate authority (CA).\n" +
			"Every device certificate will be signed with it, and AWS IoT will trust devices because it trusts this CA.\n" +
			"The key never leaves this machine: it is written 0600 and never shown.",
		skip: byoCA,
		// The key file itself is the input: an existing key is reused whatever --key says
		// (--key applies to keys jitpwiz creates; --force-new-keys replaces them).
		inputs: func(s *Session) map[string]string {
			return map[string]string{"CA key file": fileSHA256(s.Path(pki.FileCAKey))}
		},
		outputs: func(s *Session) []string { return []string{pki.FileCAKey} },
		redo: func(s *Session) string {
			if s.Options.ForceNewKeys {
				return "--force-new-keys asks for a new CA key"
			}
			return ""
		},
		fields: func(s *Session) []Field {
			out := []Field{caSourceField()}
			if caChoice(s) == choiceExisting {
				return append(out, withGet(s, caFileFields())...)
			}
			out = append(out, keyTypeField())
			if pki.FileExists(s.Path(pki.FileCAKey)) {
				out = append(out, forceNewKeysField())
			}
			return out
		},
		cmds: func(s *Session) []string {
			if caChoice(s) == choiceExisting {
				return existingCACommands(s)
			}
			return cmdLines(pki.GenKeyCommand(s.keyType(), pki.FileCAKey))
		},
		run: func(ctx context.Context, s *Session) (bool, error) {
			if s.wiz.caExisting && !s.CA.Supplied {
				return false, fmt.Errorf("certificate authority: you chose to use existing files — give your CA certificate and key files, or choose generate new")
			}
			k, reused, err := s.ensureKey(IDCAKey, s.Path(pki.FileCAKey), "CA private key", s.keyType())
			if err != nil {
				return false, err
			}
			s.CA.KeyFile = pki.FileCAKey
			s.CA.KeyID = keyID(k)
			if kt, err := pki.KeyTypeOf(k); err == nil {
				s.CA.KeyType = string(kt)
			}
			s.ca = nil
			return reused, nil
		},
		result: func(s *Session) []ResultLine {
			return []ResultLine{
				fileLine("CA private key (0600)", pki.FileCAKey),
				valueLine("key type", s.CA.KeyType),
			}
		},
	}
}

// setCA records the signing CA (after step 3, or for a supplied CA).
func (s *Session) setCA(ca *pki.CA, certFile, keyFile string) {
	s.ca = ca
	s.CA.CertFile = certFile
	s.CA.KeyFile = keyFile
	s.CA.CertID = ca.ID()
	s.CA.KeyID = keyID(ca.Key)
	s.CA.Subject = pki.SubjectOf(ca.Cert).String()
	s.CA.Intermediate = ca.Cert.Subject.String() != ca.Cert.Issuer.String() || ca.Cert.CheckSignatureFrom(ca.Cert) != nil
}
