package steps

import (
	"context"
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 2: the OpenSSL configuration of the root CA.
type openSSLConfStep struct{ Base }

func (*openSSLConfStep) ID() ID        { return IDOpenSSLConf }
func (*openSSLConfStep) Title() string { return i18n.T("step02.title") }
func (*openSSLConfStep) Explain() string {
	return i18n.T("step02.explain")
}

func (st *openSSLConfStep) Skip() string { return suppliedCA(st.s) }

func (st *openSSLConfStep) record() record {
	o := st.s.Options
	return record{
		inputs:  map[string]string{"CA country": o.CACountry, "CA organization": o.CAOrg},
		outputs: []string{pki.FileCAConf},
	}
}

func (st *openSSLConfStep) Inputs() []Field {
	s := st.s
	return []Field{
		{Flag: "ca-country", Label: i18n.T("step02.country.label"), Help: i18n.T("step02.country.help"),
			Get: func() string { return s.Options.CACountry },
			Set: func(v string) error {
				if err := pki.ValidateCountry(v); err != nil {
					return err
				}
				s.Options.CACountry = v
				return nil
			}},
		{Flag: "ca-org", Label: i18n.T("step02.org.label"), Help: i18n.T("step02.org.help"),
			Get: func() string { return s.Options.CAOrg },
			Set: func(v string) error {
				if err := pki.ValidateOrganization(v); err != nil {
					return err
				}
				s.Options.CAOrg = v
				return nil
			}},
	}
}

func (st *openSSLConfStep) Commands() []string {
	c, err := pki.ConfCommand(pki.FileCAConf, st.s.Options.CACountry, st.s.Options.CAOrg)
	if err != nil {
		return nil
	}
	return cmdLines(c)
}

func (st *openSSLConfStep) act(ctx context.Context) (bool, error) {
	s := st.s
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
}

func (st *openSSLConfStep) Result() []ResultLine {
	s := st.s
	out := []ResultLine{fileLine(i18n.T("step02.result.conf"), pki.FileCAConf)}
	if conf, err := pki.RenderOpenSSLConf(s.Options.CACountry, s.Options.CAOrg); err == nil {
		out = append(out, ResultLine{Kind: ResultDocument, Label: pki.FileCAConf, Value: string(conf), OK: true})
	}
	return out
}

func (st *openSSLConfStep) Summary() string {
	return fmt.Sprintf("%s (C=%s, O=%s)", pki.FileCAConf, st.s.Options.CACountry, st.s.Options.CAOrg)
}
