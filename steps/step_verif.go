package steps

import (
	"context"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 5: the verification certificate (CN = registration code, signed by the CA).

func stepVerifCert() *step {
	return &step{
		id:    IDVerifCert,
		title: "Verification cert",
		explain: "Make a throw-away key and a certificate whose Common Name is the registration code,\n" +
			"signed by your CA. AWS IoT checks this signature when you register the CA in step 8:\n" +
			"it is your proof of possession of the CA key.",
		after: []ID{IDCACert, IDRegCode},
		inputs: func(s *Session) map[string]string {
			return map[string]string{"registration code": s.RegistrationCode, "CA certificate": s.CA.CertID}
		},
		outputs: func(s *Session) []string { return []string{pki.FileVerifKey, pki.FileVerifCSR, pki.FileVerifCert} },
		cmds: func(s *Session) []string {
			code := firstNonEmpty(s.RegistrationCode, "<registration code>")
			return cmdLines(
				pki.GenKeyCommand(s.keyType(), pki.FileVerifKey),
				pki.CSRCommand(pki.FileVerifKey, pki.FileVerifCSR, pki.Subject{CommonName: code}),
				pki.SignCommand(pki.FileVerifCSR, s.caCertName(), s.caKeyName(), pki.FileVerifCert, pki.VerificationDays),
				s.verifyCommand(pki.FileVerifCert),
			)
		},
		run: func(ctx context.Context, s *Session) (bool, error) {
			ca, err := s.loadCA()
			if err != nil {
				return false, err
			}
			// Reuse a verification cert for this code signed by this CA.
			if c, err := pki.LoadCertFile(s.Path(pki.FileVerifCert)); err == nil &&
				c.Subject.CommonName == s.RegistrationCode && s.issuedBy(c, ca) &&
				pki.FileExists(s.Path(pki.FileVerifKey)) {
				s.VerificationCertID = pki.CertID(c)
				return true, nil
			}
			// The verification key is disposable, but an existing one is still reused.
			key, _, err := s.ensureKey(IDVerifCert, s.Path(pki.FileVerifKey), "verification key", s.keyType())
			if err != nil {
				return false, err
			}
			r, err := pki.IssueVerificationCert(pki.IssueOptions{
				Dir: s.dir, CA: ca, CACertFile: s.caCertName(), CAKeyFile: s.caKeyName(),
				KeyType: s.keyType(), Key: key, Overwrite: true,
			}, s.RegistrationCode)
			if err != nil {
				return false, err
			}
			s.VerificationCertID = r.CertID()
			return false, nil
		},
		result: func(s *Session) []ResultLine {
			return []ResultLine{
				fileLine("verification key (0600)", pki.FileVerifKey),
				fileLine("verification CSR", pki.FileVerifCSR),
				fileLine("verification certificate", pki.FileVerifCert),
				valueLine("subject", "/CN="+s.RegistrationCode),
				valueLine("verification certificate ID", s.VerificationCertID),
			}
		},
	}
}
