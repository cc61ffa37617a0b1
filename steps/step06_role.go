package steps

import (
	"cmp"
	"context"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 6: the IAM role AWS IoT assumes to provision devices.
type roleStep struct{ Base }

func (*roleStep) ID() ID        { return IDRole }
func (*roleStep) Title() string { return i18n.T("step06.title") }

// Skip: JITR runs no template, so nothing assumes a provisioning role.
func (st *roleStep) Skip() string {
	if st.s.Options.jitr() {
		return i18n.T("step06.skip-jitr")
	}
	return ""
}

func (st *roleStep) Explain() string {
	if st.s.Options.RoleARN != "" {
		return i18n.T("step06.explain-given")
	}
	return i18n.T("step06.explain", i18n.Args{"Role": DefaultRoleName})
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
		trust = aws.TrustPolicy(cmp.Or(s.Account, "<ACCOUNT_ID>"), cmp.Or(s.Region, s.Options.Region, "<REGION>"))
	}
	out := []string{
		awsCmd(s, "iam", "create-role", "--role-name", DefaultRoleName, "--assume-role-policy-document", trust),
	}
	for _, p := range aws.RolePolicies(cmp.Or(s.Region, s.Options.Region)) {
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
	out := []ResultLine{valueLine(i18n.T("step06.result.arn"), r.ARN)}
	switch {
	case r.Created:
		out = append(out, noteLine(i18n.T("step06.result.created", i18n.Args{"Role": r.Name})))
	case st.s.Options.RoleARN != "":
		out = append(out, noteLine(i18n.T("step06.result.given")))
	default:
		out = append(out, noteLine(i18n.T("step06.result.reused", i18n.Args{"Role": r.Name})))
	}
	for _, n := range r.Notes {
		out = append(out, noteLine(n))
	}
	return out
}

func (st *roleStep) Summary() string { return st.s.Role.ARN }
