package steps

import (
	"context"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 3: the root CA's CSR and self-signed certificate.
type caCertStep struct{ Base }

func (*caCertStep) ID() ID        { return IDCACert }
func (*caCertStep) Title() string { return i18n.T("step03.title") }
func (*caCertStep) Explain() string {
	return i18n.T("step03.explain", i18n.Args{"File": pki.FileCACert})
}

func (st *caCertStep) Skip() string { return suppliedCA(st.s) }

func (st *caCertStep) record() record {
	s := st.s
	return record{
		after:   []ID{IDCAKey, IDOpenSSLConf},
		inputs:  map[string]string{"CA key": s.CA.KeyID, "CA country": s.Options.CACountry, "CA organization": s.Options.CAOrg},
		outputs: []string{pki.FileCACSR, pki.FileCACert},
	}
}

func (st *caCertStep) Commands() []string {
	sub := st.s.Options.CASubject()
	return cmdLines(
		pki.CACSRCommand(pki.FileCAKey, pki.FileCAConf, pki.FileCACSR, sub),
		pki.SelfSignCACommand(pki.FileCACSR, pki.FileCAKey, pki.FileCAConf, pki.FileCACert, pki.CADays),
		pki.FingerprintCommand(pki.FileCACert),
	)
}

func (st *caCertStep) act(ctx context.Context) (bool, error) {
	s := st.s
	if err := secureKeyFile(s.Path(pki.FileCAKey), st.reportf); err != nil {
		return false, err
	}
	key, err := pki.LoadKeyFile(s.Path(pki.FileCAKey))
	if err != nil {
		return false, i18n.WrapError(err, "step03.key-unreadable", i18n.Args{"File": pki.FileCAKey})
	}
	sub := s.Options.CASubject()
	// Reuse a CA certificate made from this key with this subject.
	if ca, err := pki.LoadCAFiles(s.Path(pki.FileCACert), s.Path(pki.FileCAKey), s.Now()); err == nil &&
		pki.SubjectOf(ca.Cert) == sub && pki.FileExists(s.Path(pki.FileCACSR)) {
		setCA(s, ca, pki.FileCACert, pki.FileCAKey)
		return true, nil
	}
	ca, _, err := pki.WriteRootCA(s.dir, key, sub, pki.CADays, true)
	if err != nil {
		return false, err
	}
	setCA(s, ca, pki.FileCACert, pki.FileCAKey)
	return false, nil
}

func (st *caCertStep) Result() []ResultLine {
	s := st.s
	return []ResultLine{
		fileLine(i18n.T("step03.result.csr"), pki.FileCACSR),
		fileLine(i18n.T("step03.result.cert"), pki.FileCACert),
		valueLine(i18n.T("step03.result.subject"), s.CA.Subject),
		valueLine(i18n.T("step03.result.id"), s.CA.CertID),
	}
}

func (st *caCertStep) Summary() string {
	return i18n.T("step03.summary", i18n.Args{"File": pki.FileCACert, "ID": st.s.CA.CertID})
}
