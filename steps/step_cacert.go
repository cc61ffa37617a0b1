package steps

import (
	"context"
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 3: the root CA's CSR and self-signed certificate.

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
			if err := s.checkKeyFile(IDCACert, s.Path(pki.FileCAKey)); err != nil {
				return false, err
			}
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
