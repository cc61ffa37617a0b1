package template

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRegistrationConfig(t *testing.T) {
	body := `{\"Resources\":{}}`
	long := strings.Repeat("x", MaxTemplateBody+1)
	cases := []struct {
		name, in, field, msg string
		want                 *RegistrationConfig
	}{
		{"body and role", `{"templateBody":"` + body + `","roleArn":"arn:aws:iam::123456789012:role/JITPRole"}`, "", "",
			&RegistrationConfig{TemplateBody: `{"Resources":{}}`, RoleArn: "arn:aws:iam::123456789012:role/JITPRole"}},
		{"role with path", `{"templateBody":"x","roleArn":"arn:aws:iam::123456789012:role/service-role/JITP.Role@1"}`, "", "",
			&RegistrationConfig{TemplateBody: "x", RoleArn: "arn:aws:iam::123456789012:role/service-role/JITP.Role@1"}},
		{"china partition", `{"templateBody":"x","roleArn":"arn:aws-cn:iam::123456789012:role/JITPRole"}`, "", "",
			&RegistrationConfig{TemplateBody: "x", RoleArn: "arn:aws-cn:iam::123456789012:role/JITPRole"}},
		{"template name only", `{"templateName":"my_JITP-template1"}`, "", "", &RegistrationConfig{TemplateName: "my_JITP-template1"}},
		{"not JSON", `{"templateBody":`, "registrationConfig", "not a JSON object", nil},
		{"body as object", `{"templateBody":{"Resources":{}},"roleArn":"arn:aws:iam::123456789012:role/JITPRole"}`, "templateBody", "must be a JSON string", nil},
		{"unknown member", `{"templatebody":"x","roleArn":"arn:aws:iam::123456789012:role/JITPRole"}`, "templatebody", "unknown member", nil},
		{"empty", `{}`, "templateBody", "neither templateBody nor templateName", nil},
		{"no role", `{"templateBody":"x"}`, "roleArn", "no roleArn", nil},
		{"placeholder account", `{"templateBody":"x","roleArn":"arn:aws:iam::<ACCOUNT_ID>:role/JITPRole"}`, "roleArn", "failed to satisfy constraint", nil},
		{"user not role", `{"templateBody":"x","roleArn":"arn:aws:iam::123456789012:user/bob"}`, "roleArn", "IAM role ARN", nil},
		{"body too long", `{"templateBody":"` + long + `","roleArn":"arn:aws:iam::123456789012:role/JITPRole"}`, "templateBody", "less than or equal to 10240", nil},
		{"template name too long", `{"templateName":"` + strings.Repeat("a", 37) + `"}`, "templateName", "length 1-36", nil},
		{"template name bad chars", `{"templateName":"my template"}`, "templateName", "[0-9A-Za-z_-]+", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRegistrationConfig([]byte(c.in))
			if c.want != nil {
				if err != nil || *got != *c.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != c.field || !strings.Contains(ce.Message, c.msg) || ce.Fix == "" {
				t.Fatalf("err = %#v; want field %s, message containing %q, and a fix", err, c.field, c.msg)
			}
		})
	}
}

func TestRegistrationConfigMarshalRoundTrip(t *testing.T) {
	c := RegistrationConfig{TemplateBody: `{"a":"<b> & \"c\" \\/"}`, RoleArn: "arn:aws:iam::123456789012:role/JITPRole", TemplateName: "t1"}
	b := c.Marshal()
	if strings.Contains(string(b), `\u003c`) {
		t.Errorf("HTML-escaped output: %s", b)
	}
	got, err := ParseRegistrationConfig(b)
	if err != nil || *got != c {
		t.Fatalf("round trip: %+v %v", got, err)
	}
}

func TestRenderRejectsBadInputs(t *testing.T) {
	cases := []struct {
		v                             Variant
		region, account, role, policy string
		field                         string
	}{
		{Scoped, "us-east", testAccount, "", "", "region"},
		{Scoped, "us-east-2", "<ACCOUNT_ID>", "", "", "account"},
		{Scoped, "us-east-2", "12345678901", "", "", "account"},
		{Scoped, "us-east-2", testAccount, "arn:aws:iam::123456789012:user/x", "", "roleArn"},
		{Named, "us-east-2", testAccount, "", "bad name!", "policyName"},
		{"fancy", "us-east-2", testAccount, "", "", "variant"},
	}
	for _, c := range cases {
		_, err := Render(c.v, c.region, c.account, c.role, c.policy)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("Render(%s,%s,%s,%s,%s) err = %v, want field %s", c.v, c.region, c.account, c.role, c.policy, err, c.field)
		}
	}
	out, err := Render(Scoped, "cn-north-1", testAccount, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "arn:aws-cn:iot:cn-north-1:123456789012:client") || !strings.Contains(string(out), "arn:aws-cn:iam::123456789012:role/JITPRole") {
		t.Errorf("China partition not used: %s", out)
	}
	out, err = Render(Admin, "us-east-2", testAccount, "arn:aws:iam::123456789012:role/Other", "ignored")
	if err != nil || !strings.Contains(string(out), `"roleArn":"arn:aws:iam::123456789012:role/Other"`) {
		t.Errorf("custom role not used: %s %v", out, err)
	}
}

func TestParseVariant(t *testing.T) {
	for in, want := range map[string]Variant{"": Scoped, "Scoped": Scoped, "admin": Admin, "named-policy": Named, " named ": Named} {
		if got, err := ParseVariant(in); err != nil || got != want {
			t.Errorf("ParseVariant(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseVariant("root"); err == nil {
		t.Error("accepted an unknown variant")
	}
	for _, v := range Variants {
		if v.Describe() == "unknown variant" {
			t.Errorf("%s has no description", v)
		}
	}
}
