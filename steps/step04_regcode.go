package steps

import (
	"context"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 4: the registration code of the account and region.
type regCodeStep struct{ Base }

func (*regCodeStep) ID() ID        { return IDRegCode }
func (*regCodeStep) Title() string { return "Registration code" }

// Skip: a CA registered in SNI_ONLY mode proves nothing, so it needs no registration code.
func (st *regCodeStep) Skip() string {
	if st.s.Options.sniOnly() {
		return "--ca-mode sni-only registers the CA without a registration code"
	}
	return ""
}

func (*regCodeStep) Explain() string {
	return "Ask AWS IoT for this account's registration code (one per account and region).\n" +
		"Step 5 puts it in a verification certificate signed by your CA: that proves to AWS\n" +
		"that whoever registers the CA also holds its private key."
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
		st.reportf("warning: the registration code %q is not AWS's 64 hex digits (got %d characters) — the endpoint is not AWS IoT itself; using it as it is", code, len(code))
	}
	reused := code == s.RegistrationCode
	s.RegistrationCode = code
	return reused, nil
}

func (st *regCodeStep) Result() []ResultLine {
	s := st.s
	return []ResultLine{
		valueLine("registration code", s.RegistrationCode),
		valueLine("account", s.Account),
		valueLine("region", s.Region),
	}
}

func (st *regCodeStep) Summary() string { return "registration code " + st.s.RegistrationCode }
