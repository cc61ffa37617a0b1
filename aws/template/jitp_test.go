package template

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Two AWS::IoT::Policy resources: both are in the plan, in source order (provision-template.md:
// "one or more" policies); a second thing or certificate is still refused.
func TestSeveralPolicies(t *testing.T) {
	body := tmpl(`{` + thingRes("") + `,` + certRes + `,` +
		`"named":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"Fleet_Policy"}},` +
		`"inline":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"*\"}]}"}}}`)
	tpl, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tpl.ResourcesOf(TypePolicy)); n != 2 {
		t.Fatalf("ResourcesOf(policy) = %d resources", n)
	}
	plan, err := tpl.EvaluateJITP(demoParams())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Policies) != 2 || plan.Policies[0].Name != "Fleet_Policy" || plan.Policies[0].Inline ||
		!plan.Policies[1].Inline || plan.Policies[1].Name != InlinePolicyName(plan.Policies[1].Document) {
		t.Fatalf("policies %+v", plan.Policies)
	}
	if plan.Policy != plan.Policies[0] {
		t.Error("Plan.Policy is not the first policy")
	}
	sum := strings.Join(plan.Summary(), "\n")
	if !strings.Contains(sum, "existing policy Fleet_Policy") || !strings.Contains(sum, "inline policy "+plan.Policies[1].Name) {
		t.Errorf("summary does not list both policies:\n%s", sum)
	}

	// Lint looks at every policy: a malformed second one is an error at its own path.
	bad := tmpl(`{` + thingRes("") + `,` + certRes + `,` +
		`"p1":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"Fleet_Policy"}},` +
		`"p2":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\"}]}"}}}`)
	tpl, err = Parse(bad)
	if err != nil {
		t.Fatal(err)
	}
	if !findingAt(Lint(tpl, demoParams(), LintOptions{}), SeverityError, "Resources.p2.Properties.PolicyDocument", "no Resource") {
		t.Errorf("malformed second policy not reported:\n%s", dump(Lint(tpl, demoParams(), LintOptions{})))
	}

	for _, typ := range []string{TypeThing, TypeCertificate} {
		res := certRes
		second := `"c2":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"x"}}`
		if typ == TypeThing {
			res, second = thingRes(""), `"t2":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"x"}}`
		}
		if _, err := Parse(tmpl(`{` + res + `,` + second + `}`)); err == nil || !strings.Contains(err.Error(), "Only one resource of type "+typ) {
			t.Errorf("second %s: %v", typ, err)
		}
	}
}

// A declared parameter without a Default that the certificate lacks fails JITP even when no
// resource refers to it (jit-provisioning.md); Evaluate (RegisterThing's rule) leaves it.
func TestDeclaredParameterMissing(t *testing.T) {
	// Declares Country (no Default) but refers only to CommonName and Id.
	body := tmpl(`{` + thingRes("") + `,` + certRes + `}`)
	tpl, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	cnOnly := map[string]string{ParamCommonName: "DemoThing", ParamID: testCertID, ParamSerialNumber: "01"}
	if _, err := tpl.Evaluate(cnOnly); err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	_, err = tpl.EvaluateJITP(cnOnly)
	var te *Error
	if !errors.As(err, &te) || te.Code != InvalidRequestException || te.Path != "Parameters."+ParamCountry ||
		te.Message != MissingParameterError(ParamCountry) || !strings.Contains(te.Fix, "C (country)") {
		t.Fatalf("EvaluateJITP without Country: %#v", err)
	}
	if _, err := tpl.EvaluateJITP(demoParams()); err != nil {
		t.Fatalf("EvaluateJITP with Country: %v", err)
	}
	// A Default fills it.
	withDefault := strings.Replace(body, `"AWS::IoT::Certificate::Country":{"Type":"String"}`, `"AWS::IoT::Certificate::Country":{"Type":"String","Default":"IN"}`, 1)
	if tpl, err = Parse(withDefault); err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.EvaluateJITP(cnOnly); err != nil {
		t.Fatalf("EvaluateJITP with a Default: %v", err)
	}
	// A referenced parameter fails first, with AWS's observed wording.
	referenced, err := Parse(tmpl(`{` + thingRes(`,"AttributePayload":{"c":{"Ref":"AWS::IoT::Certificate::Country"}}`) + `,` + certRes + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := referenced.EvaluateJITP(cnOnly); err == nil || err.Error() != RefError(ParamCountry) {
		t.Fatalf("referenced missing parameter: %v", err)
	}
	if got, want := tpl.RequiredParameters(), []string{ParamCommonName, ParamID}; !reflect.DeepEqual(got, want) {
		t.Errorf("RequiredParameters with a Default = %v, want %v", got, want)
	}
	declaredOnly, _ := Parse(body)
	if got, want := declaredOnly.RequiredParameters(), []string{ParamCommonName, ParamID, ParamCountry}; !reflect.DeepEqual(got, want) {
		t.Errorf("RequiredParameters = %v, want %v", got, want)
	}
}

// Lint says first what EvaluateJITP would fail on.
func TestLintDeclaredParameters(t *testing.T) {
	cnOnly := map[string]string{ParamCommonName: "DemoThing", ParamID: testCertID, ParamSerialNumber: "01"}
	declared := tmpl(`{` + thingRes("") + `,` + certRes + `}`)
	custom := `{"Parameters":{"Prefix":{"Type":"String"},"AWS::IoT::Certificate::CommonName":{"Type":"String"},"AWS::IoT::Certificate::Id":{"Type":"String"}},"Resources":{` + thingRes("") + `,` + certRes + `}}`
	cases := []struct {
		name   string
		body   string
		params map[string]string
		sev    Severity
		msg    string
	}{
		{"certificate lacks a declared, unused field", declared, cnOnly, SeverityError, "subject has no C (country), so provisioning would fail"},
		{"no certificate yet", declared, nil, SeverityInfo, "must contain C (country): the template declares AWS::IoT::Certificate::Country"},
		{"a parameter JITP never fills, certificate known", custom, cnOnly, SeverityError, "JITP never provides Prefix"},
		{"a parameter JITP never fills, no certificate", custom, nil, SeverityError, "JITP never provides Prefix"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := Parse(c.body)
			if err != nil {
				t.Fatal(err)
			}
			fs := Lint(tpl, c.params, LintOptions{})
			path := "Parameters." + ParamCountry
			if strings.Contains(c.msg, "Prefix") {
				path = "Parameters.Prefix"
			}
			if !findingAt(fs, c.sev, path, c.msg) {
				t.Fatalf("want %s at %s: %q, got:\n%s", c.sev, path, c.msg, dump(fs))
			}
			if c.params != nil && c.sev == SeverityError {
				if _, err := tpl.EvaluateJITP(c.params); err == nil {
					t.Error("lint reports an error EvaluateJITP does not fail on")
				}
			}
		})
	}
	// Nothing to say when the certificate has every declared field.
	tpl, _ := Parse(declared)
	for _, f := range Lint(tpl, demoParams(), LintOptions{}) {
		if strings.HasPrefix(f.Path, "Parameters.") {
			t.Errorf("unexpected finding %v", f)
		}
	}
}

func findingAt(fs []Finding, sev Severity, path, msg string) bool {
	for _, f := range fs {
		if f.Severity == sev && f.Path == path && strings.Contains(f.Message, msg) && (sev == SeverityInfo || f.Fix != "") {
			return true
		}
	}
	return false
}
