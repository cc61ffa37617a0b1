package template

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func addWalkthroughSeeds(f *testing.F, add func(body string)) {
	for _, name := range []string{"scoped.json", "admin.json", "named-policy.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		var c RegistrationConfig // the files still hold placeholders, so no validation here
		if err := json.Unmarshal(b, &c); err != nil {
			f.Fatal(err)
		}
		add(c.TemplateBody)
	}
}

func FuzzParseEvaluate(f *testing.F) {
	addWalkthroughSeeds(f, func(body string) { f.Add(body, "DemoThing", "IN") })
	f.Add(`{"Mappings":{"m":{"a":{"b":["x","y"]}}},"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Join":["",[{"Fn::Select":[1,{"Fn::FindInMap":["m","a","b"]}]},{"Fn::Sub":"${AWS::IoT::Certificate::CommonName}${!x}"}]]},"ThingGroups":{"Fn::Split":["-",{"Ref":"AWS::IoT::Certificate::Country"}]}}}}}`, "a", "b-c")
	f.Add(`{"Resources":{"p":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":{"Fn::Sub":"${AWS::IoT::Certificate::CommonName}"}}}}}`, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "")
	f.Add(`{"Resources":{"t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::If":[]}}}}}`, "", "")
	f.Fuzz(func(t *testing.T, body, cn, country string) {
		tpl, err := Parse(body)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Message == "" {
				t.Fatalf("Parse error of the wrong kind: %#v", err)
			}
			return
		}
		params := map[string]string{ParamCommonName: cn, ParamCountry: country, ParamID: testCertID}
		plan, err := tpl.Evaluate(params)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Message == "" {
				t.Fatalf("Evaluate error of the wrong kind: %#v", err)
			}
		} else {
			if plan.Thing != nil && CheckThingName(plan.Thing.Name) != nil {
				t.Fatalf("plan has an invalid thing name %q", plan.Thing.Name)
			}
			if plan.Policy != nil && plan.Policy.Inline && (plan.Policy.Parsed == nil || plan.Policy.Name != InlinePolicyName(plan.Policy.Document)) {
				t.Fatalf("inline policy not parsed or misnamed: %+v", plan.Policy)
			}
		}
		_ = Lint(tpl, params, LintOptions{Region: "us-east-2", Account: testAccount})
		_ = Lint(tpl, nil, LintOptions{})
		if _, err := Pretty(body); err != nil {
			t.Fatalf("Pretty failed on a parsed template: %v", err)
		}
	})
}

func FuzzRegistrationConfig(f *testing.F) {
	for _, name := range []string{"scoped.json", "admin.json", "named-policy.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"templateName":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseRegistrationConfig(b)
		if err != nil {
			return
		}
		again, err := ParseRegistrationConfig(c.Marshal())
		if err != nil || *again != *c {
			t.Fatalf("Marshal round trip: %+v %v", again, err)
		}
	})
}

func BenchmarkParseScoped(b *testing.B) {
	out, _ := Render(Scoped, "us-east-2", testAccount, "", "")
	c, _ := ParseRegistrationConfig(out)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(c.TemplateBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateScoped(b *testing.B) {
	out, _ := Render(Scoped, "us-east-2", testAccount, "", "")
	c, _ := ParseRegistrationConfig(out)
	tpl, err := Parse(c.TemplateBody)
	if err != nil {
		b.Fatal(err)
	}
	params := demoParams()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Evaluate(params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLintScoped(b *testing.B) {
	out, _ := Render(Scoped, "us-east-2", testAccount, "", "")
	c, _ := ParseRegistrationConfig(out)
	tpl, _ := Parse(c.TemplateBody)
	params := demoParams()
	b.ReportAllocs()
	for b.Loop() {
		Lint(tpl, params, LintOptions{Region: "us-east-2", Account: testAccount})
	}
}
