package policy

import "strconv"

// The identity-based (IAM) permission policies of a role, evaluated as the role's session
// would be: what the provisioning role of a CA lets AWS IoT do when it runs the CA's
// template. The local IoT Core decides so when it provisions, and doctor when it explains a
// customer's role, so the two always agree.

// RoleDecision is the outcome of evaluating a role's permission policies for one request,
// by IAM's rules: denied unless a statement allows the action on the resource, and an
// explicit Deny wins over any Allow.
type RoleDecision struct {
	Allowed      bool
	ExplicitDeny bool
	// By names the statement that allowed or denied, e.g. "statement 1 of inline policy P"
	// (the document's Name is how the policy is named).
	By string
}

// RoleContext is the request context of a call made with a role's session: the condition
// keys aws:PrincipalAccount, aws:PrincipalArn (the role), aws:PrincipalType (AssumedRole)
// and aws:RequestedRegion have values; other keys are absent (a condition on them is not
// met, unless it is …IfExists, Null or a negated operator).
func RoleContext(region, account, roleARN string) Context {
	return Context{Region: region, Account: account, Keys: map[string][]string{
		"aws:PrincipalAccount": {account}, "aws:PrincipalArn": {roleARN},
		"aws:PrincipalType": {"AssumedRole"}, "aws:RequestedRegion": {region},
	}}
}

// EvaluateRole decides action on resource for the session of role roleARN whose permission
// policies are docs (each with its Name set). The trust policy is not a permission policy
// and is not among them.
func EvaluateRole(docs []*Document, region, account, roleARN, action, resource string) RoleDecision {
	d := Evaluate(docs, RoleContext(region, account, roleARN), Request{Action: action, Resource: resource})
	out := RoleDecision{Allowed: d.Allowed}
	name := func(r *StatementRef) string {
		return say("role.statement", "N", strconv.Itoa(r.Statement+1), "Policy", docs[r.PolicyIdx].Name)
	}
	switch {
	case d.MatchedDeny != nil:
		out.ExplicitDeny = true
		out.By = name(d.MatchedDeny)
	case d.MatchedAllow != nil:
		out.By = name(d.MatchedAllow)
	}
	return out
}

// ResourceARN is the ARN of an AWS IoT resource of kind (thing, cert, policy, thinggroup,
// billinggroup, thingtype, cacert …) and name, in region's partition.
func ResourceARN(region, account, kind, name string) string {
	return iotARN(region, account, kind, name)
}
