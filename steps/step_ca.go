package steps

import (
	"context"
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Steps 1–3: the root CA's key, its OpenSSL configuration and its self-signed certificate.
// All three are skipped when the user brings a CA (--ca-cert/--ca-key).

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
			if pki.FileExists(s.Path(pki.FileCAKey)) {
				return []Field{keyTypeField(), forceNewKeysField()}
			}
			return []Field{keyTypeField()}
		},
		cmds: func(s *Session) []string {
			return cmdLines(pki.GenKeyCommand(s.keyType(), pki.FileCAKey))
		},
		run: func(ctx context.Context, s *Session) (bool, error) {
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

func stepOpenSSLConf() *step {
	return &step{
		id:    IDOpenSSLConf,
		title: "OpenSSL conf",
		explain: "Write the OpenSSL configuration the CA certificate is made from.\n" +
			"Its v3_ca section sets basicConstraints = CA:TRUE: without it AWS IoT refuses to register the certificate as a CA.\n" +
			"Its defaults give the CA's country and organization.",
		skip: byoCA,
		inputs: func(s *Session) map[string]string {
			return map[string]string{"CA country": s.Options.CACountry, "CA organization": s.Options.CAOrg}
		},
		outputs: func(s *Session) []string { return []string{pki.FileCAConf} },
		fields: func(s *Session) []Field {
			return []Field{
				{Key: "ca-country", Label: "CA country (2 letters)", Help: "ISO 3166 code, e.g. IN or US",
					Get: func(s *Session) string { return s.Options.CACountry },
					Set: func(s *Session, v string) error {
						if err := pki.ValidateCountry(v); err != nil {
							return err
						}
						s.Options.CACountry = v
						return nil
					}},
				{Key: "ca-org", Label: "CA organization", Help: "your organization's name, e.g. AMZ",
					Get: func(s *Session) string { return s.Options.CAOrg },
					Set: func(s *Session, v string) error {
						if err := pki.ValidateOrganization(v); err != nil {
							return err
						}
						s.Options.CAOrg = v
						return nil
					}},
			}
		},
		cmds: func(s *Session) []string {
			c, err := pki.ConfCommand(pki.FileCAConf, s.Options.CACountry, s.Options.CAOrg)
			if err != nil {
				return nil
			}
			return cmdLines(c)
		},
		run: func(ctx context.Context, s *Session) (bool, error) {
			conf, err := pki.RenderOpenSSLConf(s.Options.CACountry, s.Options.CAOrg)
			if err != nil {
				return false, err
			}
			if sameFile(s.Path(pki.FileCAConf), conf) {
				return true, nil
			}
			if _, err := pki.WriteOpenSSLConf(s.dir, s.Options.CACountry, s.Options.CAOrg, true); err != nil {
				return false, err
			}
			return false, nil
		},
		result: func(s *Session) []ResultLine {
			out := []ResultLine{fileLine("OpenSSL config", pki.FileCAConf)}
			if conf, err := pki.RenderOpenSSLConf(s.Options.CACountry, s.Options.CAOrg); err == nil {
				out = append(out, ResultLine{Kind: ResultDocument, Label: pki.FileCAConf, Value: string(conf), OK: true})
			}
			return out
		},
	}
}

func stepCACert() *step {
	return &step{
		id:    IDCACert,
		title: "CA cert",
		explain: "Make the CA's certificate signing request, then self-sign it: a root CA certificate valid 10 years.\n" +
			"This certificate (deviceRootCA.pem) is what you register with AWS IoT in step 8,\n" +
			"and its SHA-256 fingerprint is the CA's certificate ID.",
		skip:  byoCA,
		after: []ID{IDCAKey, IDOpenSSLConf},
		inputs: func(s *Session) map[string]string {
			return map[string]string{"CA key": s.CA.KeyID, "CA country": s.Options.CACountry, "CA organization": s.Options.CAOrg}
		},
		outputs: func(s *Session) []string { return []string{pki.FileCACSR, pki.FileCACert} },
		cmds: func(s *Session) []string {
			sub := s.Options.CASubject()
			return cmdLines(
				pki.CACSRCommand(pki.FileCAKey, pki.FileCAConf, pki.FileCACSR, sub),
				pki.SelfSignCACommand(pki.FileCACSR, pki.FileCAKey, pki.FileCAConf, pki.FileCACert, pki.CADays),
				pki.FingerprintCommand(pki.FileCACert),
			)
		},
		run: func(ctx context.Context, s *Session) (bool, error) {
			key, err := pki.LoadKeyFile(s.Path(pki.FileCAKey))
			if err != nil {
				return false, fmt.Errorf("CA private key %s: %v — run step 1 (CA key) again", pki.FileCAKey, err)
			}
			sub := s.Options.CASubject()
			// Reuse a CA certificate made from this key with this subject.
			if ca, err := pki.LoadCAFiles(s.Path(pki.FileCACert), s.Path(pki.FileCAKey), s.Now()); err == nil &&
				pki.SubjectOf(ca.Cert) == sub && pki.FileExists(s.Path(pki.FileCACSR)) {
				s.setCA(ca, pki.FileCACert, pki.FileCAKey)
				return true, nil
			}
			ca, _, err := pki.WriteRootCA(s.dir, key, sub, pki.CADays, true)
			if err != nil {
				return false, err
			}
			s.setCA(ca, pki.FileCACert, pki.FileCAKey)
			return false, nil
		},
		result: func(s *Session) []ResultLine {
			return []ResultLine{
				fileLine("CA certificate signing request", pki.FileCACSR),
				fileLine("CA certificate", pki.FileCACert),
				valueLine("CA subject", s.CA.Subject),
				valueLine("CA certificate ID (SHA-256 of the DER)", s.CA.CertID),
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
