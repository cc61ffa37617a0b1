package template

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLint(t *testing.T) {
	scopedBody := func(region, account string) string {
		out, err := Render(Scoped, "us-east-2", testAccount, "", "")
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := ParseRegistrationConfig(out)
		b := strings.ReplaceAll(cfg.TemplateBody, "arn:aws:iot:us-east-2:"+testAccount, "arn:aws:iot:"+region+":"+account)
		return b
	}
	policyTemplate := func(doc string) string {
		return tmpl(`{` + thingRes("") + `,` + certRes + `,"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":` + jsonString(doc) + `}}}`)
	}
	cn := map[string]string{ParamCommonName: "DemoThing", ParamID: testCertID}
	opts := LintOptions{Region: "us-east-2", Account: testAccount}
	type want struct {
		sev  Severity
		path string
		msg  string
	}
	cases := []struct {
		name   string
		body   string
		params map[string]string
		opts   LintOptions
		want   []want
		clean  bool // no errors or warnings expected
	}{
		{"walkthrough scoped, good cert", scopedBody("us-east-2", testAccount), demoParams(), opts,
			[]want{{SeverityInfo, "", "provisioned as thing 'DemoThing'"}, {SeverityInfo, "Resources.policy.Properties.PolicyDocument", "client ID equal to its thing name"}}, true},
		{"placeholder account left", scopedBody("us-east-2", "<ACCOUNT_ID>"), demoParams(), opts,
			[]want{{SeverityError, "Resources.policy.Properties.PolicyDocument", "placeholder <ACCOUNT_ID> is still in the template"}}, false},
		{"region mismatch", scopedBody("us-east-1", testAccount), demoParams(), opts,
			[]want{{SeverityError, "Resources.policy.Properties.PolicyDocument.Statement[0].Resource", "is in region us-east-1 but the target region is us-east-2"}}, false},
		{"account mismatch", scopedBody("us-east-2", "999999999999"), demoParams(), opts,
			[]want{{SeverityError, "Resources.policy.Properties.PolicyDocument.Statement[2].Resource", "is in account 999999999999 but the target account is 123456789012"}}, false},
		{"no region given: no region check", scopedBody("us-east-1", testAccount), demoParams(), LintOptions{}, nil, true},
		{"CN-only certificate", scopedBody("us-east-2", testAccount), cn, opts,
			[]want{{SeverityError, "Resources.thing.Properties.AttributePayload.country.Ref", "subject has no C (country), so provisioning would fail with \"Invalid registration template. Cannot resolve reference value: {Ref=AWS::IoT::Certificate::Country}\""}}, false},
		{"no certificate known yet", scopedBody("us-east-2", testAccount), nil, opts,
			[]want{{SeverityInfo, "Resources.thing.Properties.ThingName.Ref", "must contain CN (common name)"}, {SeverityInfo, "Resources.thing.Properties.AttributePayload.country.Ref", "must contain C (country)"}}, true},
		{"thing name invalid from CN", scopedBody("us-east-2", testAccount), map[string]string{ParamCommonName: "Demo Thing", ParamCountry: "IN", ParamID: testCertID}, opts,
			[]want{{SeverityError, "Resources.thing.Properties.ThingName", "provisioning would fail: 1 validation error detected: Value 'Demo Thing' at 'thingName'"}}, false},
		{"literal thing name", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"Fixed"}},` + certRes + `,"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"P"}}}`), nil, opts,
			[]want{{SeverityWarning, "Resources.thing.Properties.ThingName", "every device gets the same thing name 'Fixed'"}, {SeverityInfo, "Resources.policy.Properties.PolicyName", "the policy 'P' must exist"}}, false},
		{"literal invalid thing name", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"a/b"}},` + certRes + `}`), nil, opts,
			[]want{{SeverityError, "Resources.thing.Properties.ThingName", "regular expression pattern"}}, false},
		{"malformed policy", policyTemplate(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect"}]}`), demoParams(), opts,
			[]want{{SeverityError, "Resources.policy.Properties.PolicyDocument", "MalformedPolicyException: policy document is malformed: the statement has no Resource"}}, false},
		{"double-escaped policy", policyTemplate(`{\"Version\":\"2012-10-17\"}`), nil, opts,
			[]want{{SeverityError, "Resources.policy.Properties.PolicyDocument", "MalformedPolicyException"}}, false},
		{"computed malformed policy", tmpl(`{` + thingRes("") + `,` + certRes + `,"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":{"Fn::Sub":"{\"Statement\":{\"Effect\":\"${AWS::IoT::Certificate::Country}\"}}"}}}}`), demoParams(), opts,
			[]want{{SeverityError, "Resources.policy.Properties.PolicyDocument", "MalformedPolicyException: policy document is malformed: Effect must be"}}, false},
		{"admin policy", policyTemplate(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`), demoParams(), opts,
			[]want{{SeverityWarning, "Resources.policy.Properties.PolicyDocument.Statement[0]", "every AWS IoT action on every resource"}}, false},
		{"admin star action", policyTemplate(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["*"],"Resource":["*"]}}`), demoParams(), opts,
			[]want{{SeverityWarning, "Resources.policy.Properties.PolicyDocument.Statement[0]", "admin policy"}}, false},
		{"misspelt action, unknown variable, non-ARN resource",
			policyTemplate(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Pubish","Resource":"arn:aws:iot:us-east-2:123456789012:topic/${iot:ThingName}"},{"Effect":"Allow","Action":"iot:Connect","Resource":"client/x"}]}`), demoParams(), opts,
			[]want{{SeverityWarning, "Resources.policy.Properties.PolicyDocument.Statement[0].Action", "iot:Pubish is not an AWS IoT data-plane action"},
				{SeverityWarning, "Resources.policy.Properties.PolicyDocument.Statement[0].Resource", "${iot:ThingName} is not an AWS IoT policy variable"},
				{SeverityWarning, "Resources.policy.Properties.PolicyDocument.Statement[1].Resource", "is not an ARN"}}, false},
		{"wrong partition", policyTemplate(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:cn-north-1:123456789012:client/x"}]}`), demoParams(), LintOptions{Region: "cn-north-1"},
			[]want{{SeverityError, "Resources.policy.Properties.PolicyDocument.Statement[0].Resource", "uses partition aws but region cn-north-1 is in partition aws-cn"}}, false},
		{"duplicate keys and no version", policyTemplate(`{"Statement":{"Effect":"Deny","Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-2:123456789012:client/x"}}`), demoParams(), opts,
			[]want{{SeverityWarning, "Resources.policy.Properties.PolicyDocument.Statement.Effect", "Effect appears more than once"},
				{SeverityWarning, "Resources.policy.Properties.PolicyDocument", "has no Version"}}, false},
		{"policy too long", policyTemplate(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":[` + longResources(60) + `]}]}`), demoParams(), opts,
			[]want{{SeverityError, "Resources.policy.Properties.PolicyDocument", "AWS IoT allows 2048"}}, false},
		{"no certificate resource, no policy", tmpl(`{` + thingRes("") + `}`), demoParams(), opts,
			[]want{{SeverityError, "Resources", "no AWS::IoT::Certificate resource"}, {SeverityWarning, "Resources", "attaches no policy"}}, false},
		{"certificate not from Id, INACTIVE", tmpl(`{` + thingRes("") + `,"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"abc","Status":"INACTIVE"}}}`), demoParams(), opts,
			[]want{{SeverityError, "Resources.certificate.Properties", "JITP needs CertificateId"}, {SeverityWarning, "Resources.certificate.Properties.Status", "provisioned INACTIVE"}}, false},
		{"no thing", tmpl(`{` + certRes + `}`), demoParams(), opts,
			[]want{{SeverityWarning, "Resources", "creates no thing"}}, false},
		{"attributes over 3 without type, groups and type must exist",
			tmpl(`{` + thingRes(`,"AttributePayload":{"a":"1","b":"2","c":"3","d":"4"},"ThingGroups":["g"]`) + `,` + certRes + `}`), demoParams(), opts,
			[]want{{SeverityWarning, "Resources.thing.Properties.AttributePayload", "at most 3 attributes; this one gets 4"},
				{SeverityInfo, "Resources.thing.Properties.ThingGroups", "thing groups must already exist"}}, false},
		{"attribute value with a space", tmpl(`{` + thingRes(`,"AttributePayload":{"org":{"Ref":"AWS::IoT::Certificate::Organization"}}`) + `,` + certRes + `}`),
			map[string]string{ParamCommonName: "D", ParamOrganization: "Acme Corp", ParamID: testCertID}, opts,
			[]want{{SeverityWarning, "Resources.thing.Properties.AttributePayload.org", "attribute org would be 'Acme Corp'"}}, false},
		{"parameter JITP does not provide", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Ref":"AWS::IoT::Certificate::Locality"}}},` + certRes + `}`), demoParams(), opts,
			[]want{{SeverityError, "Resources.thing.Properties.ThingName.Ref", "JITP does not provide AWS::IoT::Certificate::Locality"}}, false},
		{"unprovided parameter with a Default", `{"Parameters":{"AWS::IoT::Certificate::Locality":{"Type":"String","Default":"Pune"}},"Resources":{` + thingRes(`,"AttributePayload":{"l":{"Ref":"AWS::IoT::Certificate::Locality"}}`) + `,` + certRes + `}}`, demoParams(), opts,
			[]want{{SeverityWarning, "Resources.thing.Properties.AttributePayload.l.Ref", "so its Default is always used"}}, false},
		{"undeclared parameter", `{"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Ref":"AWS::IoT::Certificate::CommonName"}}},` + certRes + `}}`, demoParams(), opts,
			[]want{{SeverityWarning, "Resources.thing.Properties.ThingName.Ref", "AWS::IoT::Certificate::CommonName is referenced but not declared"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := Parse(c.body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			fs := Lint(tpl, c.params, c.opts)
			for _, w := range c.want {
				found := false
				for _, f := range fs {
					if f.Severity == w.sev && f.Path == w.path && strings.Contains(f.Message, w.msg) {
						found = true
						if f.Severity != SeverityInfo && f.Fix == "" {
							t.Errorf("finding without a fix: %v", f)
						}
					}
				}
				if !found {
					t.Errorf("missing %s at %q: %q\ngot:\n%s", w.sev, w.path, w.msg, dump(fs))
				}
			}
			if c.clean {
				for _, f := range fs {
					if f.Severity != SeverityInfo {
						t.Errorf("unexpected finding %v", f)
					}
				}
			}
			for i := 1; i < len(fs); i++ {
				if rank(fs[i].Severity) < rank(fs[i-1].Severity) {
					t.Errorf("findings not ordered by severity:\n%s", dump(fs))
					break
				}
			}
		})
	}
}

func rank(s Severity) int {
	return map[Severity]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}[s]
}

func longResources(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`"arn:aws:iot:us-east-2:123456789012:topic/t%d"`, i))
	}
	return strings.Join(parts, ",")
}

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

func TestLintWalkthroughVariantsAfterRender(t *testing.T) {
	for _, v := range Variants {
		tpl, _ := renderVariant(t, v, "")
		fs := Lint(tpl, demoParams(), LintOptions{Region: testRegion, Account: testAccount})
		for _, f := range fs {
			if f.Severity == SeverityError {
				t.Errorf("%s: %v", v, f)
			}
		}
	}
}

func TestLintConfig(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "scoped.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c RegistrationConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	opts := LintOptions{Region: "eu-west-1", Account: testAccount}
	fs := LintConfig(&c, demoParams(), opts)
	for _, w := range []struct{ path, msg string }{
		{"roleArn", "placeholder <ACCOUNT_ID> is still in the role ARN"},
		{"templateBody.Resources.policy.Properties.PolicyDocument", "placeholder <ACCOUNT_ID> is still in the template"},
		{"templateBody.Resources.policy.Properties.PolicyDocument.Statement[0].Resource", "is in region us-east-2 but the target region is eu-west-1"},
	} {
		if !hasFindingAt(fs, SeverityError, w.path, w.msg) {
			t.Errorf("missing %q at %s:\n%s", w.msg, w.path, dump(fs))
		}
	}

	rendered, _ := Render(Scoped, "eu-west-1", testAccount, "", "")
	good, _ := ParseRegistrationConfig(rendered)
	for _, f := range LintConfig(good, demoParams(), opts) {
		if f.Severity == SeverityError {
			t.Errorf("rendered config has an error: %v", f)
		}
	}
	other := *good
	other.RoleArn = "arn:aws:iam::999999999999:role/JITPRole"
	if fs := LintConfig(&other, nil, opts); !hasFindingAt(fs, SeverityError, "roleArn", "target account is 123456789012") {
		t.Errorf("account mismatch not found:\n%s", dump(fs))
	}
	broken := RegistrationConfig{TemplateBody: `{"Resources":{"t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::GetAtt":["a","b"]}}}}}`, RoleArn: good.RoleArn}
	if fs := LintConfig(&broken, nil, opts); !hasFindingAt(fs, SeverityError, "templateBody.Resources.t.Properties.ThingName.Fn::GetAtt", "Unsupported intrinsic function Fn::GetAtt") {
		t.Errorf("parse error not reported:\n%s", dump(fs))
	}
	named := RegistrationConfig{TemplateName: "fleet", RoleArn: good.RoleArn}
	if fs := LintConfig(&named, nil, opts); len(fs) != 1 || fs[0].Severity != SeverityInfo {
		t.Errorf("template name config:\n%s", dump(fs))
	}
}

func hasFindingAt(fs []Finding, sev Severity, path, substr string) bool {
	for _, f := range fs {
		if f.Severity == sev && f.Path == path && strings.Contains(f.Message, substr) {
			return true
		}
	}
	return false
}
