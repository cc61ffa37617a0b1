package steps

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
)

// amazonRootCA1 is Amazon Root CA 1, the root the AWS IoT ATS endpoints chain to
// (https://www.amazontrust.com/repository/AmazonRootCA1.pem), shipped in the binary.
//
//go:embed amazon_root_ca1.pem
var amazonRootCA1 []byte

// Step 10: the CA the device uses to check the broker's server certificate.

func stepServerTrust() *step {
	return &step{
		id:    IDServerTrust,
		title: "Server trust",
		explain: "TLS is mutual: the device also checks the broker. Save the CA that signs the broker's certificate as awsRootCA.pem:\n" +
			"Amazon Root CA 1 for AWS IoT Core (shipped in jitpwiz), the local IoT Core's own root for the local target.",
		inputs: func(s *Session) map[string]string {
			return map[string]string{"target": s.Options.Target, "server root CA": s.expectedServerRoot()}
		},
		outputs: func(s *Session) []string { return []string{pki.FileServerRootCA} },
		cmds: func(s *Session) []string {
			if s.Options.Target == TargetAWS {
				return []string{"curl -o " + pki.FileServerRootCA + " https://www.amazontrust.com/repository/AmazonRootCA1.pem"}
			}
			if s.serverRootPath != "" {
				return []string{joinShell([]string{"cp", s.serverRootPath, pki.FileServerRootCA})}
			}
			return []string{"# copy the local IoT Core's root CA (its path is printed by `jitpwiz local`) to " + pki.FileServerRootCA}
		},
		run: func(ctx context.Context, s *Session) (bool, error) {
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
		},
		result: func(s *Session) []ResultLine {
			out := []ResultLine{fileLine("server root CA", pki.FileServerRootCA)}
			if c, err := pki.LoadCertFile(s.Path(pki.FileServerRootCA)); err == nil {
				out = append(out, valueLine("subject", c.Subject.String()))
			}
			return out
		},
	}
}

// expectedServerRoot is the SHA-256 of the server root CA for the target (the saved one
// while not connected).
func (s *Session) expectedServerRoot() string {
	if len(s.serverRoot) > 0 {
		return sha256Hex(s.serverRoot)
	}
	return s.ServerRootSHA256
}
