package steps

import (
	"context"
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 10: the CA the device uses to check the broker's server certificate.
type serverTrustStep struct{ Base }

func (*serverTrustStep) ID() ID        { return IDServerTrust }
func (*serverTrustStep) Title() string { return "Server trust" }
func (*serverTrustStep) Explain() string {
	return "TLS is mutual: the device also checks the broker. Save the CA that signs the broker's certificate as awsRootCA.pem:\n" +
		"Amazon Root CA 1 and 3 for AWS IoT Core (shipped in jitpwiz), the local IoT Core's own root for the local target."
}

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
	return []string{"# copy the local IoT Core's root CA (its path is printed by `jitpwiz local`) to " + pki.FileServerRootCA}
}

func (st *serverTrustStep) act(ctx context.Context) (bool, error) {
	s := st.s
	if len(s.serverRoot) == 0 {
		return false, fmt.Errorf("the broker's root CA is not known — connect to the target first")
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
	out := []ResultLine{fileLine("server root CA", pki.FileServerRootCA)}
	if c, err := pki.LoadCertFile(st.s.Path(pki.FileServerRootCA)); err == nil {
		out = append(out, valueLine("subject", c.Subject.String()))
	}
	return out
}

func (st *serverTrustStep) Summary() string { return pki.FileServerRootCA }
