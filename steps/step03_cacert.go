package steps

import (
	"context"
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 3: the root CA's CSR and self-signed certificate.
type caCertStep struct{ Base }

func (*caCertStep) ID() ID        { return IDCACert }
func (*caCertStep) Title() string { return "CA cert" }
func (*caCertStep) Explain() string {
	return "Make the CA's certificate signing request, then self-sign it: a root CA certificate valid 10 years.\n" +
		"This certificate (deviceRootCA.pem) is what you register with AWS IoT in step 8,\n" +
		"and its SHA-256 fingerprint is the CA's certificate ID."
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
		return false, fmt.Errorf("CA private key %s: %v — run step 1 (CA key) again", pki.FileCAKey, err)
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
		fileLine("CA certificate signing request", pki.FileCACSR),
		fileLine("CA certificate", pki.FileCACert),
		valueLine("CA subject", s.CA.Subject),
		valueLine("CA certificate ID (SHA-256 of the DER)", s.CA.CertID),
	}
}

func (st *caCertStep) Summary() string { return pki.FileCACert + ", CA cert ID " + st.s.CA.CertID }
