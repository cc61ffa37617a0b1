package steps

import (
	"context"
	"strconv"
	"unicode/utf8"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 4: the registration code of the account and region.
type regCodeStep struct{ Base }

func (*regCodeStep) ID() ID        { return IDRegCode }
func (*regCodeStep) Title() string { return i18n.T("step04.title") }

// Skip: a CA registered in SNI_ONLY mode proves nothing, so it needs no registration code.
func (st *regCodeStep) Skip() string {
	if st.s.Options.sniOnly() {
		return i18n.T("step04.skip-sni")
	}
	return ""
}

func (*regCodeStep) Explain() string {
	return i18n.T("step04.explain")
}

func (st *regCodeStep) record() record {
	return record{inputs: map[string]string{"target": targetID(st.s)}}
}

func (st *regCodeStep) Commands() []string {
	return []string{awsCmd(st.s, "iot", "get-registration-code")}
}

func (st *regCodeStep) act(ctx context.Context) (bool, error) {
	s := st.s
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	code, err := c.GetRegistrationCode(ctx)
	if err != nil {
		return false, err
	}
	if err := pki.ValidateRegistrationCode(code); err != nil {
		// AWS's code is 64 hex digits; another implementation of the API (moto answers a
		// UUID) has its own, which its RegisterCACertificate expects as the CN all the same.
		if err := pki.ValidateRegistrationCodeCN(code); err != nil {
			return false, err
		}
		st.Report(Event{Message: i18n.T("step04.code-shape", i18n.Args{"Code": strconv.Quote(code), "N": utf8.RuneCountInString(code)})})
	}
	reused := code == s.RegistrationCode
	s.RegistrationCode = code
	return reused, nil
}

func (st *regCodeStep) Result() []ResultLine {
	s := st.s
	return []ResultLine{
		valueLine(i18n.T("step04.result.code"), s.RegistrationCode),
		valueLine(i18n.T("step04.result.account"), s.Account),
		valueLine(i18n.T("step04.result.region"), s.Region),
	}
}

func (st *regCodeStep) Summary() string {
	return i18n.T("step04.summary", i18n.Args{"Code": st.s.RegistrationCode})
}
