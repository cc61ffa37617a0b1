package steps

import (
	"context"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 2: the OpenSSL configuration of the root CA.

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
