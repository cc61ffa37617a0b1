package steps

import (
	"context"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 10: the CA the device uses to check the broker's server certificate.
type serverTrustStep struct{ Base }

func (*serverTrustStep) ID() ID          { return IDServerTrust }
func (*serverTrustStep) Title() string   { return i18n.T("step10.title") }
func (*serverTrustStep) Explain() string { return i18n.T("step10.explain") }

func (st *serverTrustStep) record() record {
	s := st.s
	// The SHA-256 of the server root CA for the target (the saved one while not connected).
	root := s.ServerRootSHA256
	if len(s.serverRoot) > 0 {
		root = sha256Hex(s.serverRoot)
	}
	return record{
		inputs:  map[string]string{"target": s.Options.Target, "server root CA": root},
		outputs: []string{pki.FileServerRootCA},
	}
}

func (st *serverTrustStep) Commands() []string {
	s := st.s
	if s.Options.Target == TargetAWS && s.Options.ServerCA == "" {
		return []string{"curl -sS https://www.amazontrust.com/repository/AmazonRootCA1.pem https://www.amazontrust.com/repository/AmazonRootCA3.pem > " + pki.FileServerRootCA}
	}
	if f := s.Options.ServerCA; f != "" && s.Options.Target == TargetAWS {
		return []string{joinShell([]string{"cp", f, pki.FileServerRootCA})}
	}
	if s.serverRootPath != "" {
		return []string{joinShell([]string{"cp", s.serverRootPath, pki.FileServerRootCA})}
	}
	return []string{"# " + i18n.T("step10.copy-comment", i18n.Args{"File": pki.FileServerRootCA})}
}

func (st *serverTrustStep) act(ctx context.Context) (bool, error) {
	s := st.s
	if len(s.serverRoot) == 0 {
		return false, i18n.NewError("step10.err.unknown")
	}
	s.ServerRootSHA256 = sha256Hex(s.serverRoot)
	if sameFile(s.Path(pki.FileServerRootCA), s.serverRoot) {
		return true, nil
	}
	if err := pki.EnsureWorkspace(s.dir); err != nil {
		return false, err
	}
	return false, pki.WriteFile(s.Path(pki.FileServerRootCA), s.serverRoot, pki.CertMode, true)
}

func (st *serverTrustStep) Result() []ResultLine {
	out := []ResultLine{fileLine(i18n.T("step10.result.root"), pki.FileServerRootCA)}
	if c, err := pki.LoadCertFile(st.s.Path(pki.FileServerRootCA)); err == nil {
		out = append(out, valueLine(i18n.T("step09.result.subject"), c.Subject.String()))
	}
	return out
}

func (st *serverTrustStep) Summary() string { return pki.FileServerRootCA }
