package steps

import (
	"context"

	"github.com/jitpwiz/jitpwiz/aws"
)

// Step 6: the IAM role AWS IoT assumes to provision devices.

// Managed policies attached to the provisioning role (AWSIoTThingsRegistration is the one JITP needs).
var rolePolicies = []string{
	"arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration",
	"arn:aws:iam::aws:policy/service-role/AWSIoTLogging",
	"arn:aws:iam::aws:policy/service-role/AWSIoTRuleActions",
}

func stepRole() *step {
	return &step{
		id:    IDRole,
		title: "Provisioning role",
		explain: "JITP runs your template with an IAM role that AWS IoT assumes: JITPRole, trusted by iot.amazonaws.com,\n" +
			"with the managed policy AWSIoTThingsRegistration (create things, attach policies, activate certificates).\n" +
			"An existing JITPRole is reused and checked.",
		inputs: func(s *Session) map[string]string { return map[string]string{"target": s.targetID()} },
		cmds: func(s *Session) []string {
			trust := aws.TrustPolicy(firstNonEmpty(s.Account, "<ACCOUNT_ID>"), firstNonEmpty(s.Region, s.Options.Region, "<REGION>"))
			out := []string{
				s.awsCmd("iam", "create-role", "--role-name", DefaultRoleName, "--assume-role-policy-document", trust),
			}
			for _, p := range rolePolicies {
				out = append(out, s.awsCmd("iam", "attach-role-policy", "--role-name", DefaultRoleName, "--policy-arn", p))
			}
			return out
		},
		run: func(ctx context.Context, s *Session) (bool, error) {
			c, err := s.requireClient()
			if err != nil {
				return false, err
			}
			r, err := c.EnsureRole(ctx, aws.RoleSpec{Name: DefaultRoleName, Account: s.Account, Region: s.Region, ManagedPolicyARNs: rolePolicies})
			if err != nil {
				return false, err
			}
			s.Role = RoleResult{Name: r.Name, ARN: r.ARN, Created: r.Created, Notes: r.Notes}
			return !r.Created, nil
		},
		result: func(s *Session) []ResultLine {
			out := []ResultLine{valueLine("role ARN", s.Role.ARN)}
			if s.Role.Created {
				out = append(out, noteLine("created "+s.Role.Name))
			} else {
				out = append(out, noteLine("reused the existing "+s.Role.Name))
			}
			for _, n := range s.Role.Notes {
				out = append(out, noteLine(n))
			}
			return out
		},
	}
}
