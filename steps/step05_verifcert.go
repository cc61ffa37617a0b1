package steps

import (
	"cmp"
	"context"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 5: the verification certificate (CN = registration code, signed by the CA).
type verifCertStep struct{ Base }

func (*verifCertStep) ID() ID        { return IDVerifCert }
func (*verifCertStep) Title() string { return i18n.T("step05.title") }

// Skip: a CA registered in SNI_ONLY mode is registered without a verification certificate.
func (st *verifCertStep) Skip() string {
	if st.s.Options.sniOnly() {
		return i18n.T("step05.skip-sni")
	}
	return ""
}

func (*verifCertStep) Explain() string {
	return i18n.T("step05.explain")
}

func (st *verifCertStep) record() record {
	s := st.s
	return record{
		after:   []ID{IDCACert, IDRegCode},
		inputs:  map[string]string{"registration code": s.RegistrationCode, "CA certificate": s.CA.CertID},
		outputs: []string{pki.FileVerifKey, pki.FileVerifCSR, pki.FileVerifCert},
	}
}

func (st *verifCertStep) Commands() []string {
	s := st.s
	code := cmp.Or(s.RegistrationCode, "<registration code>")
	return cmdLines(
		pki.GenKeyCommand(keyType(s), pki.FileVerifKey),
		pki.CSRCommand(pki.FileVerifKey, pki.FileVerifCSR, pki.Subject{CommonName: code}),
		pki.SignCommand(pki.FileVerifCSR, caCertName(s), caKeyName(s), pki.FileVerifCert, pki.VerificationDays),
		verifyCommand(s, pki.FileVerifCert),
	)
}

func (st *verifCertStep) act(ctx context.Context) (bool, error) {
	s := st.s
	ca, err := signingCA(s)
	if err != nil {
		return false, err
	}
	// Reuse a verification cert for this code signed by this CA.
	if c, err := pki.LoadCertFile(s.Path(pki.FileVerifCert)); err == nil &&
		c.Subject.CommonName == s.RegistrationCode && issuedBy(s, c, ca) &&
		pki.FileExists(s.Path(pki.FileVerifKey)) {
		s.VerificationCertID = pki.CertID(c)
		return true, nil
	}
	// The verification key is disposable, but an existing one is still reused.
	key, _, note, err := ensureKey(s, s.Path(pki.FileVerifKey), i18n.T("step05.key-what"), keyType(s))
	if err != nil {
		return false, err
	}
	if note != "" {
		st.Report(Event{Message: note})
	}
	r, err := pki.IssueVerificationCert(pki.IssueOptions{
		Dir: s.dir, CA: ca, CACertFile: caCertName(s), CAKeyFile: caKeyName(s),
		KeyType: keyType(s), Key: key, Overwrite: true,
		// Step 4 took the endpoint's code as it is (with a warning) when it is not AWS's shape.
		AnyRegistrationCode: true,
	}, s.RegistrationCode)
	if err != nil {
		return false, err
	}
	s.VerificationCertID = r.CertID()
	return false, nil
}

func (st *verifCertStep) Result() []ResultLine {
	s := st.s
	return []ResultLine{
		fileLine(i18n.T("step05.result.key"), pki.FileVerifKey),
		fileLine(i18n.T("step05.result.csr"), pki.FileVerifCSR),
		fileLine(i18n.T("step05.result.cert"), pki.FileVerifCert),
		valueLine(i18n.T("step05.result.subject"), "/CN="+s.RegistrationCode),
		valueLine(i18n.T("step05.result.id"), s.VerificationCertID),
	}
}

func (st *verifCertStep) Summary() string {
	return i18n.T("step05.summary", i18n.Args{"File": pki.FileVerifCert})
}
