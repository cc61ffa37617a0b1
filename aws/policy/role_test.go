package policy

import "testing"

// EvaluateRole decides as IAM does for a role's session — allow, explicit deny winning,
// conditions on the role's own keys — and names the statement that decided.
func TestEvaluateRole(t *testing.T) {
	parse := func(name, doc string) *Document {
		d, err := Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		d.Name = name
		return d
	}
	const role = "arn:aws:iam::123456789012:role/JITPRole"
	thing := ResourceARN("us-east-2", "123456789012", "thing", "T1")
	allow := parse("managed policy A", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:CreateThing","Resource":"*"}]}`)
	deny := parse("inline policy D", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:UpdateCertificate","Resource":"*"},{"Effect":"Deny","Action":"iot:CreateThing","Resource":"arn:aws:iot:*:*:thing/T*"}]}`)
	cond := parse("inline policy C", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:AttachPolicy","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"`+role+`"}}}]}`)
	for _, c := range []struct {
		docs           []*Document
		action         string
		allowed, denyX bool
		by             string
	}{
		{[]*Document{allow}, "iot:CreateThing", true, false, "statement 1 of managed policy A"},
		{[]*Document{allow, deny}, "iot:CreateThing", false, true, "statement 2 of inline policy D"},
		{[]*Document{allow}, "iot:AttachThingPrincipal", false, false, ""},
		{[]*Document{cond}, "iot:AttachPolicy", true, false, "statement 1 of inline policy C"},
		{nil, "iot:CreateThing", false, false, ""},
	} {
		d := EvaluateRole(c.docs, "us-east-2", "123456789012", role, c.action, thing)
		if d.Allowed != c.allowed || d.ExplicitDeny != c.denyX || d.By != c.by {
			t.Errorf("%s with %d policies: %+v, want allowed %v, deny %v, by %q", c.action, len(c.docs), d, c.allowed, c.denyX, c.by)
		}
	}
	if d := EvaluateRole([]*Document{cond}, "us-east-2", "123456789012", "arn:aws:iam::123456789012:role/Other", "iot:AttachPolicy", thing); d.Allowed {
		t.Error("a condition on aws:PrincipalArn allowed another role")
	}
	if got := ResourceARN("cn-north-1", "123456789012", "cert", "ab"); got != "arn:aws-cn:iot:cn-north-1:123456789012:cert/ab" {
		t.Errorf("ResourceARN in China: %s", got)
	}
}
