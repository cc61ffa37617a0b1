package template

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// tmpl builds a template body from a Resources JSON fragment (and optional extra top-level members).
func tmpl(resources string, extra ...string) string {
	s := `{"Parameters":{"AWS::IoT::Certificate::CommonName":{"Type":"String"},"AWS::IoT::Certificate::Country":{"Type":"String"},"AWS::IoT::Certificate::Id":{"Type":"String"}}`
	for _, e := range extra {
		s += "," + e
	}
	return s + `,"Resources":` + resources + `}`
}

const certRes = `"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"},"Status":"ACTIVE"}}`

func thingRes(props string) string {
	return `"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Ref":"AWS::IoT::Certificate::CommonName"}` + props + `}}`
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name, body, path, msg string
	}{
		{"not JSON", `{"Resources":}`, "", "not valid JSON: invalid character '}' looking for beginning of value at line 1, column 14"},
		{"not an object", `[]`, "", "must be a JSON object"},
		{"Conditions section", tmpl(`{`+certRes+`}`, `"Conditions":{"c":{"Fn::Equals":["a","b"]}}`), "Conditions", "The Conditions section is not supported"},
		{"Outputs section", tmpl(`{`+certRes+`}`, `"Outputs":{}`), "Outputs", "Outputs section is not supported"},
		{"unknown section", tmpl(`{`+certRes+`}`, `"Resource":{}`), "Resource", `Unknown top-level section "Resource"`},
		{"no Resources", `{"Parameters":{}}`, "Resources", "no Resources section"},
		{"empty Resources", `{"Resources":{}}`, "Resources", "Resources is empty"},
		{"parameter type", tmpl(`{`+certRes+`}`, `"Parameters2":1`), "Parameters2", "Unknown top-level section"},
		{"Number parameter", `{"Parameters":{"p":{"Type":"Number"}},"Resources":{` + certRes + `}}`, "Parameters.p.Type", `only "String" is supported`},
		{"parameter without Type", `{"Parameters":{"p":{"Default":"x"}},"Resources":{` + certRes + `}}`, "Parameters.p", "has no Type"},
		{"parameter AllowedValues", `{"Parameters":{"p":{"Type":"String","AllowedValues":["a"]}},"Resources":{` + certRes + `}}`, "Parameters.p.AllowedValues", "not supported"},
		{"Fn::If", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::If":["c","a","b"]}}}}`), "Resources.thing.Properties.ThingName.Fn::If", "Unsupported intrinsic function Fn::If"},
		{"Fn::GetAtt in attribute", tmpl(`{` + thingRes(`,"AttributePayload":{"a":{"Fn::GetAtt":["x","y"]}}`) + `}`), "Resources.thing.Properties.AttributePayload.a.Fn::GetAtt", "Unsupported intrinsic function Fn::GetAtt"},
		{"Fn::Base64 nested in Join", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Join":["-",["a",{"Fn::Base64":"b"}]]}}}}`), "Resources.thing.Properties.ThingName.Fn::Join[1][1].Fn::Base64", "Unsupported intrinsic function Fn::Base64"},
		{"resource Condition", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Condition":"c","Properties":{"ThingName":"a"}}}`), "Resources.thing.Condition", "resource attribute Condition is not supported"},
		{"DependsOn", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","DependsOn":"c","Properties":{"ThingName":"a"}}}`), "Resources.thing.DependsOn", "DependsOn is not supported"},
		{"intrinsic with extra key", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Ref":"a","x":1}}}}`), "Resources.thing.Properties.ThingName", "exactly one key"},
		{"unknown resource type", tmpl(`{"r":{"Type":"AWS::IoT::ThingGroup","Properties":{}}}`), "Resources.r.Type", `"AWS::IoT::ThingGroup" is not supported`},
		{"no Type", tmpl(`{"r":{"Properties":{}}}`), "Resources.r", "has no Type"},
		{"no Properties", tmpl(`{"r":{"Type":"AWS::IoT::Thing"}}`), "Resources.r", "has no Properties"},
		{"unknown thing property", tmpl(`{` + thingRes(`,"Attributes":{}`) + `}`), "Resources.thing.Properties.Attributes", "Property Attributes is not supported for AWS::IoT::Thing"},
		{"thing without name", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{}}}`), "Resources.thing.Properties", "has no ThingName"},
		{"ThingGroups not a list", tmpl(`{` + thingRes(`,"ThingGroups":"g"`) + `}`), "Resources.thing.Properties.ThingGroups", "Expected a list of strings, found a string"},
		{"ThingName a list", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":["a"]}}}`), "Resources.thing.Properties.ThingName", "Expected a string, found a list"},
		{"ThingName a number", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":5}}}`), "Resources.thing.Properties.ThingName", "found a number"},
		{"AttributePayload list", tmpl(`{` + thingRes(`,"AttributePayload":["a"]`) + `}`), "Resources.thing.Properties.AttributePayload", "must be an object"},
		{"Split into string slot", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Split":["-","a-b"]}}}}`), "Resources.thing.Properties.ThingName.Fn::Split", "produces a list"},
		{"Join bad shape", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Join":["-"]}}}}`), "Resources.thing.Properties.ThingName.Fn::Join", `takes ["delimiter", [values...]]`},
		{"Select negative", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Select":[-1,["a"]]}}}}`), "Resources.thing.Properties.ThingName.Fn::Select[0]", "whole number"},
		{"FindInMap shape", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::FindInMap":["m","k"]}}}}`), "Resources.thing.Properties.ThingName.Fn::FindInMap", "takes"},
		{"Sub bad shape", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Sub":["a"]}}}}`), "Resources.thing.Properties.ThingName.Fn::Sub", "Fn::Sub takes"},
		{"Mappings value", tmpl(`{`+certRes+`}`, `"Mappings":{"m":{"k":{"v":1}}}`), "Mappings.m.k.v", "strings or lists"},
		{"Parameters not an object", `{"Parameters":[],"Resources":{` + certRes + `}}`, "Parameters", "Parameters must be an object, not a list"},
		{"parameter not an object", `{"Parameters":{"p":"String"},"Resources":{` + certRes + `}}`, "Parameters.p", `Parameter p must be an object like {"Type": "String"}, not a string`},
		{"Mappings not an object", tmpl(`{`+certRes+`}`, `"Mappings":"m"`), "Mappings", "Mappings must be an object, not a string"},
		{"mapping not an object", tmpl(`{`+certRes+`}`, `"Mappings":{"m":["k"]}`), "Mappings.m", "Mapping m must be an object of top-level keys, not a list"},
		{"mapping second level not an object", tmpl(`{`+certRes+`}`, `"Mappings":{"m":{"k":"v"}}`), "Mappings.m.k", "Mapping m.k must be an object of second-level keys, not a string"},
		{"two things", tmpl(`{` + thingRes("") + `,"thing2":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"x"}}}`), "Resources.thing2", "Only one resource of type AWS::IoT::Thing"},
		{"certificate without id", tmpl(`{"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"Status":"ACTIVE"}}}`), "Resources.certificate.Properties", "exactly one of CertificateId"},
		{"certificate bad status", tmpl(`{"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"x","Status":"REVOKED"}}}`), "Resources.certificate.Properties.Status", "ACTIVE or INACTIVE"},
		{"policy both", tmpl(`{"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"a","PolicyDocument":"{}"}}}`), "Resources.policy.Properties", "exactly one of PolicyName or PolicyDocument"},
		{"policy neither", tmpl(`{"policy":{"Type":"AWS::IoT::Policy","Properties":{}}}`), "Resources.policy.Properties", "exactly one of PolicyName or PolicyDocument"},
		{"policy override", tmpl(`{"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"a"},"OverrideSettings":{"PolicyName":"REPLACE"}}}`), "Resources.policy.OverrideSettings", "not available for AWS::IoT::Policy"},
		{"override bad value", tmpl(`{` + `"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"a"},"OverrideSettings":{"ThingTypeName":"MERGE"}}}`), "Resources.thing.OverrideSettings.ThingTypeName", "must be one of DO_NOTHING, REPLACE, FAIL"},
		{"override bad key", tmpl(`{` + `"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"a"},"OverrideSettings":{"ThingName":"REPLACE"}}}`), "Resources.thing.OverrideSettings.ThingName", "ThingName cannot be overridden"},
		{"cert override", tmpl(`{"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"x"},"OverrideSettings":{"Status":"MERGE"}}}`), "Resources.certificate.OverrideSettings.Status", "must be one of DO_NOTHING, REPLACE, FAIL"},
		{"duplicate key", `{"Resources":{` + certRes + `,` + certRes + `}}`, "Resources.certificate", `The key "certificate" appears more than once`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.body)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if te.Path != c.path || !strings.Contains(te.Message, c.msg) || te.Code != InvalidRequestException {
				t.Errorf("got path %q message %q; want path %q message containing %q", te.Path, te.Message, c.path, c.msg)
			}
			if !strings.HasPrefix(te.Message, "Invalid registration template.") && !strings.HasPrefix(te.Message, "1 validation error") {
				t.Errorf("message %q is not worded like AWS", te.Message)
			}
			if c.path != "" && !strings.Contains(te.Message, c.path) {
				t.Errorf("message %q does not name the path", te.Message)
			}
		})
	}
}

func TestParseBodyTooLong(t *testing.T) {
	_, err := Parse(tmpl(`{` + thingRes(`,"AttributePayload":{"a":"`+strings.Repeat("x", MaxTemplateBody)+`"}`) + `}`))
	if err == nil || !strings.Contains(err.Error(), "less than or equal to 10240") {
		t.Fatalf("err = %v", err)
	}
}

func TestEvaluate(t *testing.T) {
	mappings := `"Mappings":{"Site":{"IN":{"Group":"india","Groups":["asia","india"]},"US":{"Group":"us"}}}`
	cases := []struct {
		name      string
		body      string
		params    map[string]string
		check     func(t *testing.T, p *Plan)
		errPath   string
		errSubstr string
	}{
		{"defaults fill missing values",
			`{"Parameters":{"AWS::IoT::Certificate::Country":{"Type":"String","Default":"US"},"AWS::IoT::Certificate::CommonName":{"Type":"String"},"Fleet":{"Type":"String","Default":"f1"}},"Resources":{` + thingRes(`,"AttributePayload":{"country":{"Ref":"AWS::IoT::Certificate::Country"},"fleet":{"Ref":"Fleet"}}`) + `}}`,
			map[string]string{ParamCommonName: "D1"},
			func(t *testing.T, p *Plan) {
				want := map[string]string{"country": "US", "fleet": "f1"}
				if !reflect.DeepEqual(p.Thing.Attributes, want) || p.Parameters["Fleet"] != "f1" || p.Parameters[ParamCommonName] != "D1" {
					t.Errorf("attributes %v parameters %v", p.Thing.Attributes, p.Parameters)
				}
			}, "", ""},
		{"given value beats default",
			`{"Parameters":{"AWS::IoT::Certificate::Country":{"Type":"String","Default":"US"}},"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Ref":"AWS::IoT::Certificate::Country"}}}}}`,
			map[string]string{ParamCountry: "IN"},
			func(t *testing.T, p *Plan) {
				if p.Thing.Name != "IN" {
					t.Errorf("name %s", p.Thing.Name)
				}
			}, "", ""},
		{"declared but unreferenced parameter may be absent",
			tmpl(`{` + certRes + `}`), map[string]string{ParamID: "abc"},
			func(t *testing.T, p *Plan) {
				if p.Certificate.ID != "abc" || p.Thing != nil || p.Policy != nil {
					t.Errorf("plan %+v", p)
				}
			}, "", ""},
		{"unresolved Ref", tmpl(`{` + thingRes("") + `}`), map[string]string{ParamCountry: "IN"}, nil,
			"Resources.thing.Properties.ThingName.Ref", "Invalid registration template. Cannot resolve reference value: {Ref=AWS::IoT::Certificate::CommonName}"},
		{"Ref to an undeclared name", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Ref":"Nope"}}}}`), demoParams(), nil,
			"Resources.thing.Properties.ThingName.Ref", "Cannot resolve reference value: {Ref=Nope}"},
		{"Join, Split, Select",
			tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Join":["_",["dev",{"Fn::Select":[1,{"Fn::Split":["-",{"Ref":"AWS::IoT::Certificate::CommonName"}]}]},{"Ref":"AWS::IoT::Certificate::Country"}]]},"ThingGroups":{"Fn::Split":[",","a,b"]}}}}`),
			map[string]string{ParamCommonName: "acme-sensor-7", ParamCountry: "IN"},
			func(t *testing.T, p *Plan) {
				if p.Thing.Name != "dev_sensor_IN" || !reflect.DeepEqual(p.Thing.Groups, []string{"a", "b"}) {
					t.Errorf("thing %+v", p.Thing)
				}
			}, "", ""},
		{"Select index as string", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Select":["0",["x","y"]]}}}}`), nil,
			func(t *testing.T, p *Plan) {
				if p.Thing.Name != "x" {
					t.Errorf("name %s", p.Thing.Name)
				}
			}, "", ""},
		{"Select out of range", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Select":[2,{"Fn::Split":["-",{"Ref":"AWS::IoT::Certificate::CommonName"}]}]}}}}`),
			map[string]string{ParamCommonName: "a-b"}, nil, "Resources.thing.Properties.ThingName.Fn::Select", "index 2 is out of range for a list of 2"},
		{"Sub with parameters, variables and ${!literal}",
			tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Sub":["${AWS::IoT::Certificate::Country}-${n}",{"n":{"Ref":"AWS::IoT::Certificate::CommonName"}}]},"AttributePayload":{"lit":{"Fn::Sub":"${!iot:ClientId}"}}}}}`),
			map[string]string{ParamCommonName: "D1", ParamCountry: "IN"},
			func(t *testing.T, p *Plan) {
				if p.Thing.Name != "IN-D1" || p.Thing.Attributes["lit"] != "${iot:ClientId}" {
					t.Errorf("thing %+v", p.Thing)
				}
			}, "", ""},
		{"Sub unresolved", tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Sub":"d-${AWS::IoT::Certificate::Organization}"}}}}`),
			demoParams(), nil, "Resources.thing.Properties.ThingName.Fn::Sub", "Cannot resolve reference value: {Ref=AWS::IoT::Certificate::Organization}"},
		{"FindInMap string and list",
			tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Ref":"AWS::IoT::Certificate::CommonName"},"BillingGroup":{"Fn::FindInMap":["Site",{"Ref":"AWS::IoT::Certificate::Country"},"Group"]},"ThingGroups":{"Fn::FindInMap":["Site","IN","Groups"]}}}}`, mappings),
			demoParams(),
			func(t *testing.T, p *Plan) {
				if p.Thing.BillingGroup != "india" || !reflect.DeepEqual(p.Thing.Groups, []string{"asia", "india"}) {
					t.Errorf("thing %+v", p.Thing)
				}
			}, "", ""},
		{"FindInMap missing key",
			tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::FindInMap":["Site","FR","Group"]}}}}`, mappings),
			demoParams(), nil, "Resources.thing.Properties.ThingName.Fn::FindInMap", `mapping Site has no top-level key "FR"`},
		{"FindInMap without Mappings",
			tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::FindInMap":["Site","IN","Group"]}}}}`),
			demoParams(), nil, "Resources.thing.Properties.ThingName.Fn::FindInMap", `there is no mapping "Site"`},
		{"thing name with a space", tmpl(`{` + thingRes("") + `}`), map[string]string{ParamCommonName: "Demo Thing"}, nil,
			"Resources.thing.Properties.ThingName", "1 validation error detected: Value 'Demo Thing' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+"},
		{"thing name too long", tmpl(`{` + thingRes("") + `}`), map[string]string{ParamCommonName: strings.Repeat("a", 129)}, nil,
			"Resources.thing.Properties.ThingName", "less than or equal to 128"},
		{"thing name 128 ok", tmpl(`{` + thingRes("") + `}`), map[string]string{ParamCommonName: strings.Repeat("a", 128)}, nil, "", ""},
		{"attribute name invalid", tmpl(`{` + thingRes(`,"AttributePayload":{"my attr":"x"}`) + `}`), demoParams(), nil,
			"Resources.thing.Properties.AttributePayload.my attr", "Map keys must satisfy constraint"},
		{"attribute value too long", tmpl(`{` + thingRes(`,"AttributePayload":{"a":{"Ref":"AWS::IoT::Certificate::Country"}}`) + `}`),
			map[string]string{ParamCommonName: "a", ParamCountry: strings.Repeat("x", 801)}, nil, "Resources.thing.Properties.AttributePayload.a", "less than or equal to 800"},
		{"invalid thing type name", tmpl(`{` + thingRes(`,"ThingTypeName":"my type"`) + `}`), demoParams(), nil,
			"Resources.thing.Properties.ThingTypeName", "Value 'my type' at 'thingTypeName' failed to satisfy constraint"},
		{"invalid thing group name", tmpl(`{` + thingRes(`,"ThingGroups":["ok",{"Ref":"AWS::IoT::Certificate::Organization"}]`) + `}`), map[string]string{ParamCommonName: "a", ParamOrganization: "Acme Corp"}, nil,
			"Resources.thing.Properties.ThingGroups[1]", "Value 'Acme Corp' at 'thingGroupName'"},
		{"empty billing group", tmpl(`{` + thingRes(`,"BillingGroup":""`) + `}`), demoParams(), nil,
			"Resources.thing.Properties.BillingGroup", "at 'billingGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"all thing properties and overrides",
			tmpl(`{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"T1","AttributePayload":{},"ThingTypeName":"Sensor","ThingGroups":["g1",{"Ref":"AWS::IoT::Certificate::Country"}],"BillingGroup":"b","PackageVersions":{"p":"v"}},"OverrideSettings":{"AttributePayload":"MERGE","ThingTypeName":"REPLACE","ThingGroups":"DO_NOTHING"}},"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"},"Status":"INACTIVE"},"OverrideSettings":{"Status":"FAIL"}}}`),
			demoParams(),
			func(t *testing.T, p *Plan) {
				want := &ThingPlan{LogicalID: "thing", Name: "T1", Attributes: map[string]string{}, TypeName: "Sensor", Groups: []string{"g1", "IN"}, BillingGroup: "b",
					Override: map[string]string{"AttributePayload": "MERGE", "ThingTypeName": "REPLACE", "ThingGroups": "DO_NOTHING"}}
				if !reflect.DeepEqual(p.Thing, want) {
					t.Errorf("thing %+v\nwant  %+v", p.Thing, want)
				}
				if p.Certificate.Status != "INACTIVE" || p.Certificate.Override["Status"] != "FAIL" || p.Certificate.ID != testCertID {
					t.Errorf("cert %+v", p.Certificate)
				}
			}, "", ""},
		{"status default ACTIVE", tmpl(`{"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"}}}}`), demoParams(),
			func(t *testing.T, p *Plan) {
				if p.Certificate.Status != "ACTIVE" {
					t.Errorf("status %s", p.Certificate.Status)
				}
			}, "", ""},
		{"status from a Ref must be valid", `{"Parameters":{"s":{"Type":"String","Default":"ON"}},"Resources":{"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"x","Status":{"Ref":"s"}}}}}`, nil, nil,
			"Resources.certificate.Properties.Status", "ACTIVE or INACTIVE"},
		{"policy document as an object",
			tmpl(`{"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}}}}`), nil,
			func(t *testing.T, p *Plan) {
				if p.Policy.Document != `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}` || !p.Policy.Inline {
					t.Errorf("policy %+v", p.Policy)
				}
			}, "", ""},
		{"policy document from Fn::Sub",
			tmpl(`{"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":{"Fn::Sub":"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"arn:aws:iot:*:*:client/${AWS::IoT::Certificate::CommonName}\"}}"}}}}`), demoParams(),
			func(t *testing.T, p *Plan) {
				if !strings.Contains(p.Policy.Document, "client/DemoThing") || p.Policy.Parsed.Name != p.Policy.Name {
					t.Errorf("policy %+v", p.Policy)
				}
			}, "", ""},
		{"malformed inline policy", tmpl(`{"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":"{\"Statement\":[{\"Effect\":\"Allow\"}]}"}}}`), nil, nil,
			"Resources.policy.Properties.PolicyDocument", "MalformedPolicyException: policy document is malformed: the statement has no Action"},
		{"named policy from Ref", `{"Parameters":{"p":{"Type":"String","Default":"Fleet_Policy"}},"Resources":{"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":{"Ref":"p"}}}}}`, nil,
			func(t *testing.T, p *Plan) {
				if p.Policy.Name != "Fleet_Policy" || p.Policy.Inline {
					t.Errorf("policy %+v", p.Policy)
				}
			}, "", ""},
		{"bad policy name", `{"Resources":{"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"a b"}}}}`, nil, nil,
			"Resources.policy.Properties.PolicyName", "policyName"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := Parse(c.body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			plan, err := tpl.Evaluate(c.params)
			if c.errSubstr != "" || c.errPath != "" {
				var te *Error
				if !errors.As(err, &te) {
					t.Fatalf("err = %v, want *Error", err)
				}
				if !strings.HasSuffix(te.Path, c.errPath) || !strings.Contains(te.Message, c.errSubstr) {
					t.Errorf("got path %q message %q; want path %q message containing %q", te.Path, te.Message, c.errPath, c.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if c.check != nil {
				c.check(t, plan)
			}
		})
	}
}

func TestMalformedPolicyErrorUnwraps(t *testing.T) {
	tpl, err := Parse(tmpl(`{"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":"{\"Statement\":"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Evaluate(nil)
	var me *policy.MalformedError
	var te *Error
	if !errors.As(err, &me) || !errors.As(err, &te) || te.Code != MalformedPolicyException {
		t.Fatalf("err = %#v", err)
	}
}

func TestInlinePolicyNameSharedAcrossDevices(t *testing.T) {
	tpl, _ := renderVariant(t, Scoped, "")
	a, err := tpl.Evaluate(demoParams())
	if err != nil {
		t.Fatal(err)
	}
	other := map[string]string{ParamCommonName: "Other", ParamCountry: "FR", ParamID: strings.Repeat("b", 64)}
	b, err := tpl.Evaluate(other)
	if err != nil {
		t.Fatal(err)
	}
	if a.Policy.Name != b.Policy.Name || b.Thing.Name != "Other" {
		t.Errorf("devices got policies %s and %s", a.Policy.Name, b.Policy.Name)
	}
	adminTpl, _ := renderVariant(t, Admin, "")
	c, _ := adminTpl.Evaluate(demoParams())
	if c.Policy.Name == a.Policy.Name {
		t.Error("different documents share a name")
	}
	// sha256("") is a fixed vector: the name is the lowercase hex SHA-256 of the document.
	if InlinePolicyName("") != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Error(InlinePolicyName(""))
	}
}

func TestRequiredParametersAndRefs(t *testing.T) {
	body := `{"Parameters":{"AWS::IoT::Certificate::Country":{"Type":"String","Default":"IN"},"AWS::IoT::Certificate::CommonName":{"Type":"String"}},"Resources":{` +
		`"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Sub":["${AWS::IoT::Certificate::CommonName}-${x}-${!y}",{"x":{"Ref":"AWS::IoT::Certificate::Organization"}}]},"AttributePayload":{"c":{"Ref":"AWS::IoT::Certificate::Country"}}}},` + certRes + `}}`
	tpl, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ParamCommonName, ParamOrganization, ParamID}
	if got := tpl.RequiredParameters(); !reflect.DeepEqual(got, want) {
		t.Errorf("RequiredParameters = %v, want %v", got, want)
	}
	refs := tpl.Refs()
	if len(refs) != 4 || refs[0].Path != "Resources.thing.Properties.ThingName.Fn::Sub" || refs[1].Path != "Resources.thing.Properties.ThingName.Fn::Sub[1].x.Ref" {
		t.Errorf("Refs = %+v", refs)
	}
}

func TestPretty(t *testing.T) {
	out, err := Render(Scoped, "us-east-2", testAccount, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := ParseRegistrationConfig(out)
	tplText, docs, err := PrettyParts(cfg.TemplateBody)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal([]byte(tplText), &a); err != nil {
		t.Fatalf("pretty template is not JSON: %v", err)
	}
	_ = json.Unmarshal([]byte(cfg.TemplateBody), &b)
	if !reflect.DeepEqual(a, b) {
		t.Error("pretty template differs from the body")
	}
	if !strings.HasPrefix(tplText, "{\n  \"Parameters\": {\n    \"AWS::IoT::Certificate::CommonName\": {") {
		t.Errorf("not indented in source order:\n%s", tplText)
	}
	if len(docs) != 1 || docs[0].Path != "Resources.policy.Properties.PolicyDocument" ||
		!strings.Contains(docs[0].Pretty, "\n      \"Action\": [\n        \"iot:Connect\"\n      ],") {
		t.Errorf("decoded policy = %+v", docs)
	}
	full, err := Pretty(cfg.TemplateBody)
	if err != nil || !strings.Contains(full, "Resources.policy.Properties.PolicyDocument (decoded):\n{") || !strings.HasPrefix(full, tplText) {
		t.Errorf("Pretty:\n%s", full)
	}
	if _, err := Pretty(`{"a":`); err == nil || !strings.Contains(err.Error(), "line 1, column 6") {
		t.Errorf("err = %v", err)
	}
}

// Templates shaped like the AWS developer guide's JITP and fleet-provisioning examples.
func TestDocsStyleTemplates(t *testing.T) {
	jitp := `{
  "Parameters": {
    "AWS::IoT::Certificate::CommonName": {"Type": "String"},
    "AWS::IoT::Certificate::SerialNumber": {"Type": "String"},
    "AWS::IoT::Certificate::Country": {"Type": "String"},
    "AWS::IoT::Certificate::Id": {"Type": "String"}
  },
  "Resources": {
    "thing": {
      "Type": "AWS::IoT::Thing",
      "Properties": {
        "ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"},
        "AttributePayload": {"version": "v1", "serialNumber": {"Ref": "AWS::IoT::Certificate::SerialNumber"}},
        "ThingTypeName": "lightBulb-versionA",
        "ThingGroups": ["v1-lightbulbs", {"Ref": "AWS::IoT::Certificate::Country"}]
      },
      "OverrideSettings": {"AttributePayload": "MERGE", "ThingTypeName": "REPLACE", "ThingGroups": "DO_NOTHING"}
    },
    "certificate": {
      "Type": "AWS::IoT::Certificate",
      "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"},
      "OverrideSettings": {"Status": "DO_NOTHING"}
    },
    "policy": {
      "Type": "AWS::IoT::Policy",
      "Properties": {
        "PolicyDocument": "{ \"Version\": \"2012-10-17\", \"Statement\": [{ \"Effect\": \"Allow\", \"Action\":[\"iot:Publish\"], \"Resource\": [\"arn:aws:iot:us-east-1:123456789012:topic/foo/bar\"] }] }"
      }
    }
  }
}`
	tpl, err := Parse(jitp)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := tpl.Evaluate(map[string]string{ParamCommonName: "bulb1", ParamSerialNumber: "0a1b", ParamCountry: "WA", ParamID: testCertID})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Thing.TypeName != "lightBulb-versionA" || !reflect.DeepEqual(plan.Thing.Groups, []string{"v1-lightbulbs", "WA"}) ||
		plan.Thing.Attributes["serialNumber"] != "0a1b" || plan.Certificate.Override["Status"] != "DO_NOTHING" {
		t.Errorf("plan: %+v %+v", plan.Thing, plan.Certificate)
	}
	fs := Lint(tpl, plan.Parameters, LintOptions{Region: "us-east-1", Account: "123456789012"})
	for _, f := range fs {
		if f.Severity == SeverityError {
			t.Errorf("unexpected error finding: %v", f)
		}
	}

	fleet := `{
  "Parameters": {
    "ThingName": {"Type": "String"},
    "SerialNumber": {"Type": "String"},
    "DeviceLocation": {"Type": "String", "Default": "Seattle"}
  },
  "Mappings": {"LocationTable": {"Seattle": {"LocationUrl": "https://example.aws"}}},
  "Resources": {
    "thing": {
      "Type": "AWS::IoT::Thing",
      "Properties": {
        "ThingName": {"Fn::Join": ["", ["ThingPrefix_", {"Ref": "SerialNumber"}]]},
        "AttributePayload": {"version": "v1", "serialNumber": {"Ref": "SerialNumber"}, "location": {"Fn::FindInMap": ["LocationTable", {"Ref": "DeviceLocation"}, "LocationUrl"]}}
      }
    },
    "certificate": {"Type": "AWS::IoT::Certificate", "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}, "Status": "Active"}},
    "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iot:Publish"], "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/foo/bar"]}]}}}
  },
  "DeviceConfiguration": {"FallbackUrl": "https://www.example.com/test-site", "LocationUrl": {"Fn::FindInMap": ["LocationTable", {"Ref": "DeviceLocation"}, "LocationUrl"]}}
}`
	// The developer guide's fleet example writes Status "Active": read case-insensitively.
	tpl, err = Parse(fleet)
	if err != nil {
		t.Fatal(err)
	}
	plan, err = tpl.Evaluate(map[string]string{"SerialNumber": "123", ParamID: testCertID})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Thing.Name != "ThingPrefix_123" || plan.Thing.Attributes["location"] != "https://example.aws" || plan.Policy.Parsed == nil || plan.Certificate.Status != "ACTIVE" {
		t.Errorf("plan: %+v %+v", plan.Thing, plan.Policy)
	}
}
