package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/policy"
)

const (
	testRegion  = "eu-west-1"
	testAccount = "123456789012"
	testCertID  = "4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e4f1c2d3e"
)

// demoParams is the JITP dictionary of a device cert with subject C=IN, CN=DemoThing.
func demoParams() map[string]string {
	return map[string]string{
		ParamCountry:      "IN",
		ParamCommonName:   "DemoThing",
		ParamSerialNumber: "1a2b3c",
		ParamID:           testCertID,
	}
}

// walkthroughFile reads a reference file and fills its placeholders the way a user would by hand.
func walkthroughFile(t *testing.T, name, region, account, policyName string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte("<ACCOUNT_ID>"), []byte(account))
	b = bytes.ReplaceAll(b, []byte("us-east-2"), []byte(region))
	if policyName != "" {
		b = bytes.ReplaceAll(b, []byte("Policy_Name"), []byte(policyName))
	}
	return b
}

func renderVariant(t *testing.T, v Variant, policyName string) (*Template, *RegistrationConfig) {
	t.Helper()
	out, err := Render(v, testRegion, testAccount, "", policyName)
	if err != nil {
		t.Fatalf("Render(%s): %v", v, err)
	}
	cfg, err := ParseRegistrationConfig(out)
	if err != nil {
		t.Fatalf("ParseRegistrationConfig(Render(%s)): %v\n%s", v, err, out)
	}
	tpl, err := Parse(cfg.TemplateBody)
	if err != nil {
		t.Fatalf("Parse(%s body): %v", v, err)
	}
	return tpl, cfg
}

func demoContext(clientID string) policy.Context {
	return policy.Context{
		Region: testRegion, Account: testAccount, ClientID: clientID, CertificateID: testCertID,
		AttachedThings: map[string]policy.Thing{"DemoThing": {Name: "DemoThing", Attributes: map[string]string{"version": "v1", "country": "IN"}}},
		Subject:        map[string][]string{"CommonName": {"DemoThing"}, "Country": {"IN"}},
	}
}

// The table: the three walkthrough templates with a C=IN, CN=DemoThing device.
func TestWalkthroughScopedTemplate(t *testing.T) {
	tpl, cfg := renderVariant(t, Scoped, "")
	if cfg.RoleArn != "arn:aws:iam::123456789012:role/JITPRole" {
		t.Errorf("roleArn = %q", cfg.RoleArn)
	}
	plan, err := tpl.Evaluate(demoParams())
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if plan.Thing == nil || plan.Thing.Name != "DemoThing" {
		t.Fatalf("thing = %+v, want DemoThing", plan.Thing)
	}
	if want := map[string]string{"version": "v1", "country": "IN"}; !reflect.DeepEqual(plan.Thing.Attributes, want) {
		t.Errorf("attributes = %v, want %v", plan.Thing.Attributes, want)
	}
	if plan.Certificate == nil || plan.Certificate.Status != "ACTIVE" || plan.Certificate.ID != testCertID {
		t.Errorf("certificate = %+v, want ACTIVE %s", plan.Certificate, testCertID)
	}
	p := plan.Policy
	if p == nil || !p.Inline || p.Parsed == nil {
		t.Fatalf("policy = %+v, want an inline policy", p)
	}
	if p.Name != InlinePolicyName(p.Document) || len(p.Name) != 64 {
		t.Errorf("inline policy name %q is not the SHA-256 of its document", p.Name)
	}
	if !strings.Contains(p.Document, "arn:aws:iot:eu-west-1:123456789012:client/${iot:Connection.Thing.ThingName}") {
		t.Errorf("policy document not filled in: %s", p.Document)
	}
	docs := []*policy.Document{p.Parsed}
	arn := func(kind, name string) string {
		return "arn:aws:iot:" + testRegion + ":" + testAccount + ":" + kind + "/" + name
	}
	cases := []struct {
		name, client, action, resource string
		allowed                        bool
		explain                        string
	}{
		{"connect as DemoThing", "DemoThing", "iot:Connect", arn("client", "DemoThing"), true, ""},
		{"connect as anyclientID", "anyclientID", "iot:Connect", arn("client", "anyclientID"), false,
			"client ID 'anyclientID' is not the thing name 'DemoThing', so ${iot:Connection.Thing.ThingName} does not resolve"},
		{"publish DemoThing/test", "DemoThing", "iot:Publish", arn("topic", "DemoThing/test"), true, ""},
		{"receive DemoThing/test", "DemoThing", "iot:Receive", arn("topic", "DemoThing/test"), true, ""},
		{"publish foo/bar", "DemoThing", "iot:Publish", arn("topic", "foo/bar"), false, "does not match"},
		{"subscribe DemoThing/#", "DemoThing", "iot:Subscribe", arn("topicfilter", "DemoThing/#"), true, ""},
		{"subscribe other/#", "DemoThing", "iot:Subscribe", arn("topicfilter", "other/#"), false, "does not match"},
		{"retain publish not granted", "DemoThing", "iot:RetainPublish", arn("topic", "DemoThing/test"), false, "no statement"},
		{"publish as anyclientID", "anyclientID", "iot:Publish", arn("topic", "DemoThing/test"), false, "does not resolve"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := policy.Evaluate(docs, demoContext(c.client), policy.Request{Action: c.action, Resource: c.resource})
			if d.Allowed != c.allowed {
				t.Fatalf("Allowed = %v, want %v (%s)", d.Allowed, c.allowed, d.Explain)
			}
			if c.allowed && d.MatchedAllow == nil {
				t.Errorf("allowed without a matched statement")
			}
			if !strings.Contains(d.Explain, c.explain) {
				t.Errorf("Explain = %q, want it to contain %q", d.Explain, c.explain)
			}
		})
	}
}

func TestWalkthroughAdminTemplateAllowsAll(t *testing.T) {
	tpl, _ := renderVariant(t, Admin, "")
	plan, err := tpl.Evaluate(demoParams())
	if err != nil {
		t.Fatal(err)
	}
	if plan.Thing.Name != "DemoThing" || plan.Certificate.Status != "ACTIVE" || !plan.Policy.Inline {
		t.Fatalf("plan = %+v %+v %+v", plan.Thing, plan.Certificate, plan.Policy)
	}
	docs := []*policy.Document{plan.Policy.Parsed}
	for _, req := range []policy.Request{
		{Action: "iot:Connect", Resource: policy.ClientARN(testRegion, testAccount, "anyclientID")},
		{Action: "iot:Publish", Resource: policy.TopicARN(testRegion, testAccount, "foo/bar")},
		{Action: "iot:Subscribe", Resource: policy.TopicFilterARN(testRegion, testAccount, "#")},
		{Action: "iot:Receive", Resource: policy.TopicARN(testRegion, testAccount, "$aws/things/x/shadow/get")},
		{Action: "iot:UpdateThingShadow", Resource: "arn:aws:iot:eu-west-1:123456789012:thing/DemoThing"},
	} {
		if d := policy.Evaluate(docs, demoContext("anyclientID"), req); !d.Allowed {
			t.Errorf("%s %s denied: %s", req.Action, req.Resource, d.Explain)
		}
	}
	fs := Lint(tpl, demoParams(), LintOptions{Region: testRegion, Account: testAccount})
	if !hasFinding(fs, SeverityWarning, "admin policy") {
		t.Errorf("lint did not warn about the admin policy: %v", fs)
	}
}

func TestWalkthroughNamedTemplateReferencesPolicy(t *testing.T) {
	tpl, _ := renderVariant(t, Named, "DemoPolicy")
	plan, err := tpl.Evaluate(demoParams())
	if err != nil {
		t.Fatal(err)
	}
	if plan.Policy == nil || plan.Policy.Inline || plan.Policy.Name != "DemoPolicy" || plan.Policy.Document != "" || plan.Policy.Parsed != nil {
		t.Fatalf("policy = %+v, want named DemoPolicy", plan.Policy)
	}
	if plan.Thing.Name != "DemoThing" || plan.Certificate.ID != testCertID {
		t.Errorf("thing/cert = %+v %+v", plan.Thing, plan.Certificate)
	}
}

func TestWalkthroughCommonNameOnlyCertFailsScoped(t *testing.T) {
	tpl, _ := renderVariant(t, Scoped, "")
	params := demoParams()
	delete(params, ParamCountry)
	_, err := tpl.Evaluate(params)
	const want = "Invalid registration template. Cannot resolve reference value: {Ref=AWS::IoT::Certificate::Country}"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	te, ok := err.(*Error)
	if !ok || te.Code != InvalidRequestException || te.Path != "Resources.thing.Properties.AttributePayload.country.Ref" {
		t.Errorf("error = %#v", err)
	}
	fs := Lint(tpl, params, LintOptions{Region: testRegion, Account: testAccount})
	if !hasFinding(fs, SeverityError, "has no C (country)") {
		t.Errorf("lint did not report the missing country: %v", fs)
	}
}

// Render must reproduce the walkthrough's files with the placeholders filled in.
func TestRenderEqualsWalkthroughFiles(t *testing.T) {
	for _, c := range []struct {
		v                        Variant
		file, region, policyName string
	}{
		{Scoped, "scoped.json", "us-east-2", ""},
		{Scoped, "scoped.json", "ap-south-1", ""},
		{Admin, "admin.json", "us-east-2", ""},
		{Admin, "admin.json", "eu-central-1", ""},
		{Named, "named-policy.json", "us-east-2", ""},
		{Named, "named-policy.json", "us-east-2", "MyDevicePolicy"},
	} {
		t.Run(string(c.v)+"/"+c.region+"/"+c.policyName, func(t *testing.T) {
			got, err := Render(c.v, c.region, testAccount, "", c.policyName)
			if err != nil {
				t.Fatal(err)
			}
			want := walkthroughFile(t, c.file, c.region, testAccount, c.policyName)
			assertSameConfig(t, got, want)
		})
	}
}

func assertSameConfig(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w map[string]string
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("rendered config is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if len(g) != len(w) || g["roleArn"] != w["roleArn"] {
		t.Errorf("config members differ:\n got %v\nwant %v", g, w)
	}
	var gb, wb map[string]any
	if err := json.Unmarshal([]byte(g["templateBody"]), &gb); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(w["templateBody"]), &wb); err != nil {
		t.Fatal(err)
	}
	// Decode the inline policy documents too, so they are compared as JSON.
	for _, m := range []map[string]any{gb, wb} {
		if p, ok := m["Resources"].(map[string]any)["policy"].(map[string]any)["Properties"].(map[string]any); ok {
			if s, ok := p["PolicyDocument"].(string); ok {
				var doc any
				if err := json.Unmarshal([]byte(s), &doc); err != nil {
					t.Fatalf("policy document is not JSON: %v", err)
				}
				p["PolicyDocument"] = doc
			}
		}
	}
	if !reflect.DeepEqual(gb, wb) {
		t.Errorf("template bodies differ:\n got %v\nwant %v", gb, wb)
	}
	if g["templateBody"] != w["templateBody"] {
		t.Errorf("template body text differs from the walkthrough's")
	}
}

func hasFinding(fs []Finding, sev Severity, substr string) bool {
	for _, f := range fs {
		if f.Severity == sev && strings.Contains(f.Message, substr) {
			return true
		}
	}
	return false
}

func TestPlanSummary(t *testing.T) {
	tpl, _ := renderVariant(t, Named, "DemoPolicy")
	plan, err := tpl.Evaluate(demoParams())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"thing DemoThing (attributes country=IN, version=v1)", "certificate ACTIVE", "existing policy DemoPolicy"}
	if got := plan.Summary(); !reflect.DeepEqual(got, want) {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

// The local IoT Core evaluates one parsed template for many devices at once.
func TestEvaluateConcurrentUse(t *testing.T) {
	tpl, _ := renderVariant(t, Scoped, "")
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			p := demoParams()
			p[ParamCommonName] = fmt.Sprintf("Thing%d", i)
			plan, err := tpl.Evaluate(p)
			if err == nil && plan.Thing.Name != p[ParamCommonName] {
				err = fmt.Errorf("thing %s for CN %s", plan.Thing.Name, p[ParamCommonName])
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
