package steps

import (
	"context"

	"github.com/jitpwiz/jitpwiz/aws"
)

// Step 6: the IAM role AWS IoT assumes to provision devices.
type roleStep struct{ Base }

func (*roleStep) ID() ID        { return IDRole }
func (*roleStep) Title() string { return "Provisioning role" }

// Skip: JITR runs no template, so nothing assumes a provisioning role.
func (st *roleStep) Skip() string {
	if st.s.Options.jitr() {
		return "JITR runs no template, so it needs no provisioning role"
	}
	return ""
}

func (st *roleStep) Explain() string {
	if st.s.Options.RoleARN != "" {
		return "JITP runs your template with an IAM role that AWS IoT assumes. You gave one (--role-arn): it is used as it is —\n" +
			"no IAM change — and, where IAM lets jitpwiz read it, checked to trust iot.amazonaws.com and to carry AWSIoTThingsRegistration."
	}
	return "JITP runs your template with an IAM role that AWS IoT assumes: JITPRole, trusted by iot.amazonaws.com,\n" +
		"with the managed policy AWSIoTThingsRegistration (create things, attach policies, activate certificates).\n" +
		"An existing JITPRole is reused and checked."
}

func (st *roleStep) record() record {
	in := map[string]string{"target": targetID(st.s)}
	if o := st.s.Options; o.RoleARN != "" {
		in["role ARN"] = o.RoleARN
	} else if o.TrustCondition == "on" {
		in["trust condition"] = "on"
	}
	return record{inputs: in}
}

func (st *roleStep) Commands() []string {
	s := st.s
	if arn := s.Options.RoleARN; arn != "" {
		_, _, name, _ := aws.ParseRoleARN(arn)
		return []string{awsCmd(s, "iam", "get-role", "--role-name", name), awsCmd(s, "iam", "list-attached-role-policies", "--role-name", name)}
	}
	trust := aws.TrustPolicy("", "")
	if s.Options.TrustCondition == "on" {
		trust = aws.TrustPolicy(firstNonEmpty(s.Account, "<ACCOUNT_ID>"), firstNonEmpty(s.Region, s.Options.Region, "<REGION>"))
	}
	out := []string{
		awsCmd(s, "iam", "create-role", "--role-name", DefaultRoleName, "--assume-role-policy-document", trust),
	}
	for _, p := range aws.RolePolicies(firstNonEmpty(s.Region, s.Options.Region)) {
		out = append(out, awsCmd(s, "iam", "attach-role-policy", "--role-name", DefaultRoleName, "--policy-arn", p))
	}
	return out
}

func (st *roleStep) act(ctx context.Context) (bool, error) {
	s := st.s
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	r, err := c.EnsureRole(ctx, aws.RoleSpec{Name: DefaultRoleName, Account: s.Account, Region: s.Region, ManagedPolicyARNs: aws.RolePolicies(s.Region),
		ExistingARN: s.Options.RoleARN, TrustCondition: s.Options.TrustCondition == "on"})
	if err != nil {
		return false, err
	}
	s.Role = RoleResult{Name: r.Name, ARN: r.ARN, Created: r.Created, Notes: r.Notes}
	return !r.Created, nil
}

func (st *roleStep) Result() []ResultLine {
	r := st.s.Role
	out := []ResultLine{valueLine("role ARN", r.ARN)}
	switch {
	case r.Created:
		out = append(out, noteLine("created "+r.Name))
	case st.s.Options.RoleARN != "":
		out = append(out, noteLine("uses the role you gave (--role-arn)"))
	default:
		out = append(out, noteLine("reused the existing "+r.Name))
	}
	for _, n := range r.Notes {
		out = append(out, noteLine(n))
	}
	return out
}

func (st *roleStep) Summary() string { return st.s.Role.ARN }
