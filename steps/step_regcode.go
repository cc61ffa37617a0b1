package steps

import (
	"context"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 4: the registration code of the account and region.

func stepRegCode() *step {
	return &step{
		id:    IDRegCode,
		title: "Registration code",
		explain: "Ask AWS IoT for this account's registration code (one per account and region).\n" +
			"Step 5 puts it in a verification certificate signed by your CA: that proves to AWS\n" +
			"that whoever registers the CA also holds its private key.",
		inputs: func(s *Session) map[string]string { return map[string]string{"target": s.targetID()} },
		cmds: func(s *Session) []string {
			return []string{s.awsCmd("iot", "get-registration-code")}
		},
		run: func(ctx context.Context, s *Session) (bool, error) {
			c, err := s.requireClient()
			if err != nil {
				return false, err
			}
			code, err := c.GetRegistrationCode(ctx)
			if err != nil {
				return false, err
			}
			if err := pki.ValidateRegistrationCode(code); err != nil {
				return false, err
			}
			reused := code == s.RegistrationCode
			s.RegistrationCode = code
			return reused, nil
		},
		result: func(s *Session) []ResultLine {
			return []ResultLine{
				valueLine("registration code", s.RegistrationCode),
				valueLine("account", s.Account),
				valueLine("region", s.Region),
			}
		},
	}
}
