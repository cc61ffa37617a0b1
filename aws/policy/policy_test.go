package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	region  = "us-east-2"
	account = "123456789012"
)

func mustParse(t testing.TB, doc string) *Document {
	t.Helper()
	d, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return d
}

func TestParseShapes(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []Statement
	}{
		{"statement object, string action and resource",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}}`,
			[]Statement{{Effect: Allow, Actions: []string{"iot:Connect"}, Resources: []string{"*"}}}},
		{"statement list with lists, Sid, NotAction, NotResource",
			`{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Deny","NotAction":["iot:Publish","iot:Receive"],"NotResource":["arn:x"]},{"Effect":"Allow","Action":["iot:*"],"Resource":["*"]}]}`,
			[]Statement{
				{Index: 0, Sid: "a", Effect: Deny, Actions: []string{"iot:Publish", "iot:Receive"}, NotAction: true, Resources: []string{"arn:x"}, NotResource: true},
				{Index: 1, Effect: Allow, Actions: []string{"iot:*"}, Resources: []string{"*"}}}},
		{"conditions: string, bool, number, list values",
			`{"Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":true},"StringLike":{"iot:ClientId":["a*","b?"]},"NumericLessThan":{"k":5}}}]}`,
			[]Statement{{Effect: Allow, Actions: []string{"iot:Connect"}, Resources: []string{"*"}, Conditions: []Condition{
				{Operator: "Bool", Key: "iot:Connection.Thing.IsAttached", Values: []string{"true"}},
				{Operator: "StringLike", Key: "iot:ClientId", Values: []string{"a*", "b?"}},
				{Operator: "NumericLessThan", Key: "k", Values: []string{"5"}}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, c.doc)
			if !reflect.DeepEqual(d.Statements, c.want) {
				t.Errorf("statements =\n%+v\nwant\n%+v", d.Statements, c.want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	cases := []struct {
		name, doc, reason, path string
		line, col               int
	}{
		{"empty", "  ", "empty", "", 1, 1},
		{"not JSON", "{\n  \"Statement\": [\n    {\"Effect\": Allow}\n  ]\n}", "invalid JSON", "", 3, 16},
		{"truncated", `{"Statement":[`, "unexpected end", "", 1, 15},
		{"trailing garbage", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} x`, "after the end", "", 1, 62},
		{"array document", `[]`, "must be a JSON object", "", 1, 1},
		{"no statement", `{"Version":"2012-10-17"}`, "no Statement", "Statement", 1, 1},
		{"empty statement list", `{"Statement":[]}`, "empty list", "Statement", 1, 14},
		{"statement is a string", `{"Statement":"x"}`, "object or a list", "Statement", 1, 14},
		{"bad version", `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "not supported", "Version", 1, 12},
		{"unknown top-level", `{"Statment":[]}`, "unknown top-level element \"Statment\"", "Statment", 1, 13},
		{"missing effect", `{"Statement":[{"Action":"*","Resource":"*"}]}`, "no Effect", "Statement[0]", 1, 15},
		{"bad effect", `{"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}`, "Allow", "Statement[0].Effect", 1, 25},
		{"action and notaction", `{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}]}`, "not both", "Statement[0]", 1, 58},
		{"no action", `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, "no Action", "Statement[0]", 1, 15},
		{"no resource", `{"Statement":[{"Effect":"Allow","Action":"*"}]}`, "no Resource", "Statement[0]", 1, 15},
		{"resource and notresource", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}`, "not both", "Statement[0]", 1, 75},
		{"bad action", `{"Statement":[{"Effect":"Allow","Action":["iot:Connect","Publish"],"Resource":"*"}]}`, `"Publish" is not of the form`, "Statement[0].Action", 1, 57},
		{"number in resource list", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":["a",5]}]}`, "only strings", "Statement[0].Resource", 1, 62},
		{"principal", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, "Principal is not allowed", "Statement[0].Principal", 1, 45},
		{"unknown operator", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqual":{"a":"b"}}}]}`, `unknown condition operator "StringEqual"`, "Statement[0].Condition.StringEqual", 1, 88},
		{"bad qualifier", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForSomeValues:StringLike":{"a":"b"}}}]}`, "qualifier", "Statement[0].Condition.ForSomeValues:StringLike", 1, 101},
		{"condition value object", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"a":{}}}}]}`, "string or a list", "Statement[0].Condition.StringLike.a", 1, 92},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.doc)
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *MalformedError", err)
			}
			if !strings.Contains(me.Reason, c.reason) || me.Path != c.path || me.Line != c.line || me.Column != c.col {
				t.Errorf("got reason %q path %q at %d:%d; want ~%q path %q at %d:%d", me.Reason, me.Path, me.Line, me.Column, c.reason, c.path, c.line, c.col)
			}
			if !strings.HasPrefix(err.Error(), "MalformedPolicyException: ") || !strings.Contains(err.Error(), "line ") {
				t.Errorf("message %q lacks the exception name or position", err.Error())
			}
		})
	}
}

func TestParseRecordsDuplicateKeys(t *testing.T) {
	d := mustParse(t, `{"Statement":{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}}`)
	if d.Statements[0].Effect != Allow || !reflect.DeepEqual(d.Duplicates, []string{"Statement.Effect"}) {
		t.Errorf("effect %s, duplicates %v", d.Statements[0].Effect, d.Duplicates)
	}
}

func TestMatchWildcards(t *testing.T) {
	cases := []struct {
		pattern, value string
		want           bool
	}{
		{"*", "", true},
		{"*", "arn:aws:iot:us-east-2:1:topic/a/b/c", true},
		{"arn:aws:iot:*:*:topic/a/*", "arn:aws:iot:us-east-2:1:topic/a/b/c", true}, // * crosses /
		{"topic/a/*", "topic/a/", true},
		{"topic/a/*", "topic/a", false},
		{"topic/a?c", "topic/abc", true},
		{"topic/a?c", "topic/ac", false},
		{"topic/a?c", "topic/a/c", true},
		{"topic/é?", "topic/éü", true},   // ? is one character, not one byte
		{"topic/+/x", "topic/+/x", true}, // + is literal
		{"topic/+/x", "topic/a/x", false},
		{"topicfilter/a/#", "topicfilter/a/#", true}, // # is literal
		{"topicfilter/a/#", "topicfilter/a/b", false},
		{"topic/$(*)", "topic/*", true}, // escapes
		{"topic/$(*)", "topic/x", false},
		{"topic/$(?)", "topic/?", true},
		{"topic/$(?)", "topic/x", false},
		{"topic/$($)aws", "topic/$aws", true},
		{"topic/${*}", "topic/*", true}, // IAM spelling
		{"topic/${*}", "topic/x", false},
		{"Topic/A", "topic/a", false}, // resources are case-sensitive
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*a*a*a*a*b", strings.Repeat("a", 60), false},
		{"$", "$", true},
		{"${unterminated", "${unterminated", true},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.value); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.value, got, c.want)
		}
	}
	if !MatchAction("IOT:pub*", "iot:Publish") || MatchAction("iot:Sub*", "iot:Publish") || !MatchAction("*", "iot:Connect") {
		t.Error("action matching is wrong (should be case-insensitive with wildcards)")
	}
	if Match("topic/${iot:ClientId}", "topic/x") {
		t.Error("a variable without a context matched")
	}
}

func demoCtx(client string) Context {
	return Context{
		Region: region, Account: account, ClientID: client, CertificateID: "abc123",
		AttachedThings: map[string]Thing{"DemoThing": {Name: "DemoThing", TypeName: "Sensor", Attributes: map[string]string{"site": "pune", "floor": "3", "odd": "a*b"}}},
		Subject:        map[string][]string{"CommonName": {"DemoThing"}, "Country": {"IN"}, "Organization": {"AMZ", "Acme"}, "OrganizationalUnit": {"a*b"}, "Title": {`Dev, "A"=1`}},
		Issuer:         map[string][]string{"CommonName": {"Demo Root CA"}},
		SerialNumber:   "0a1b",
		SourceIP:       "192.0.2.10",
	}
}

func allow(resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"` + resource + `"}]}`
}

func TestVariables(t *testing.T) {
	topic := func(s string) string { return TopicARN(region, account, s) }
	cases := []struct {
		name, resource, client, topic string
		allowed                       bool
		explain                       string
	}{
		{"client id", "arn:aws:iot:us-east-2:123456789012:topic/${iot:ClientId}/*", "dev1", "dev1/x", true, ""},
		{"client id other topic", "arn:aws:iot:us-east-2:123456789012:topic/${iot:ClientId}/*", "dev1", "dev2/x", false,
			"topic 'dev2/x' does not match 'dev1/*' (from arn:aws:iot:us-east-2:123456789012:topic/${iot:ClientId}/* with ${iot:ClientId} = 'dev1')"},
		{"other region", "arn:aws:iot:us-east-1:123456789012:topic/*", "x", "a", false, "names region us-east-1, but the request is in region us-east-2"},
		{"other account", "arn:aws:iot:*:999999999999:topic/*", "x", "a", false, "names account 999999999999, but the request is in account 123456789012"},
		{"other kind", "arn:aws:iot:us-east-2:123456789012:topicfilter/*", "x", "a", false, "is a topicfilter resource, not a topic resource"},
		{"not an ARN", "topic/a", "x", "a", false, "does not match topic/a"},
		{"client id star is literal", "arn:aws:iot:us-east-2:123456789012:topic/${iot:ClientId}", "*", "anything", false, "does not match"},
		{"client id star literal match", "arn:aws:iot:us-east-2:123456789012:topic/${iot:ClientId}", "*", "*", true, ""},
		{"thing name resolves", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Connection.Thing.ThingName}", "DemoThing", "DemoThing", true, ""},
		{"thing name needs client id = thing", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Connection.Thing.ThingName}", "other", "DemoThing", false,
			"client ID 'other' is not the thing name 'DemoThing', so ${iot:Connection.Thing.ThingName} does not resolve"},
		{"thing type", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Connection.Thing.ThingTypeName}/*", "DemoThing", "Sensor/1", true, ""},
		{"thing attribute", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Connection.Thing.Attributes[site]}", "DemoThing", "pune", true, ""},
		{"missing thing attribute", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Connection.Thing.Attributes[room]}", "DemoThing", "pune", false, "has no attribute 'room'"},
		{"subject CN", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Certificate.Subject.CommonName}", "x", "DemoThing", true, ""},
		{"subject O second value", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Certificate.Subject.Organization.2}", "x", "Acme", true, ""},
		{"subject O third value", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Certificate.Subject.Organization.3}", "x", "Acme", false, "only 2"},
		{"subject value with * not substituted", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Certificate.Subject.OrganizationalUnit}", "x", "a*b", false, "does not substitute"},
		{"subject absent attribute", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Certificate.Subject.State}", "x", "KA", false, "has no State"},
		{"subject value special characters escaped", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Certificate.Subject.Title}", "x", `Dev\, \"A\"\=1`, true, ""},
		{"subject attribute case-insensitive", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Certificate.Subject.countrY}", "x", "IN", true, ""},
		{"issuer CN", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Certificate.Issuer.CommonName}", "x", "Demo Root CA", true, ""},
		{"certificate id", "arn:aws:iot:us-east-2:123456789012:topic/certs/${iot:CertificateId}", "x", "certs/abc123", true, ""},
		{"list in resource", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Certificate.Subject.Organization.List}", "x", "AMZ", false, "cannot be used in a resource"},
		{"unknown variable never wildcard", "arn:aws:iot:us-east-2:123456789012:topic/${iot:Nope}", "x", "${iot:Nope}", false, "is not a policy variable"},
		{"escaped dollar keeps variable text", "arn:aws:iot:us-east-2:123456789012:topic/$($){x}", "x", "${x}", true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Evaluate([]*Document{mustParse(t, allow(c.resource))}, demoCtx(c.client), Request{Action: "iot:Publish", Resource: topic(c.topic)})
			if d.Allowed != c.allowed || !strings.Contains(d.Explain, c.explain) {
				t.Errorf("allowed=%v explain=%q; want %v containing %q", d.Allowed, d.Explain, c.allowed, c.explain)
			}
		})
	}
}

func TestThingNameExplanations(t *testing.T) {
	doc := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-2:123456789012:client/${iot:Connection.Thing.ThingName}"}}`)
	doc.Name = "seed"
	for _, c := range []struct {
		things map[string]Thing
		client string
		want   string
	}{
		{nil, "x", "no thing is attached to the certificate"},
		{map[string]Thing{"A": {}, "B": {}}, "x", "client ID 'x' is not the name of a thing attached to the certificate (A, B)"},
		{map[string]Thing{"A": {}}, "", "the connection has no client ID"},
	} {
		ctx := Context{ClientID: c.client, AttachedThings: c.things}
		d := Evaluate([]*Document{doc}, ctx, Request{Action: "iot:Connect", Resource: ClientARN(region, account, c.client)})
		if d.Allowed || !strings.Contains(d.Explain, c.want) || !strings.Contains(d.Explain, "statement 1 of policy 'seed'") {
			t.Errorf("explain = %q, want denial mentioning %q", d.Explain, c.want)
		}
	}
	// A thing keyed by name without Name set still resolves.
	d := Evaluate([]*Document{doc}, Context{ClientID: "A", AttachedThings: map[string]Thing{"A": {}}}, Request{Action: "iot:Connect", Resource: ClientARN(region, account, "A")})
	if !d.Allowed {
		t.Errorf("denied: %s", d.Explain)
	}
}

func TestEvaluateIAMSemantics(t *testing.T) {
	allowAll := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`)
	allowAll.Name = "admin"
	denyFoo := mustParse(t, `{"Statement":[{"Sid":"nofoo","Effect":"Deny","Action":["iot:Publish","iot:Receive"],"Resource":"arn:aws:iot:*:*:topic/foo/*"}]}`)
	denyFoo.Name = "guard"
	notAction := mustParse(t, `{"Statement":[{"Effect":"Allow","NotAction":"iot:Publish","Resource":"*"}]}`)
	notResource := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"iot:Publish","NotResource":"arn:aws:iot:*:*:topic/secret/*"}]}`)
	pub := func(topic string) Request {
		return Request{Action: "iot:Publish", Resource: TopicARN(region, account, topic)}
	}
	cases := []struct {
		name    string
		docs    []*Document
		req     Request
		allowed bool
		explain string
	}{
		{"no policies", nil, pub("a"), false, "no policy is attached"},
		{"nil document ignored", []*Document{nil}, pub("a"), false, "no policy is attached"},
		{"allow", []*Document{allowAll}, pub("a"), true, "allowed by statement 1 of policy 'admin'"},
		{"explicit deny wins", []*Document{allowAll, denyFoo}, pub("foo/bar"), false, `explicitly denied by statement 1 (Sid "nofoo") of policy 'guard'`},
		{"deny elsewhere does not apply", []*Document{allowAll, denyFoo}, pub("bar/foo"), true, ""},
		{"union of policies, deny first", []*Document{denyFoo, allowAll}, pub("foo/x"), false, "explicit Deny wins"},
		{"default deny", []*Document{denyFoo}, pub("bar"), false, "no statement in the attached policies allows iot:Publish"},
		{"action case-insensitive", []*Document{allowAll}, Request{Action: "IOT:PUBLISH", Resource: "x"}, true, ""},
		{"NotAction excludes", []*Document{notAction}, pub("a"), false, "no statement"},
		{"NotAction includes others", []*Document{notAction}, Request{Action: "iot:Connect", Resource: "x"}, true, ""},
		{"NotResource excludes", []*Document{notResource}, pub("secret/x"), false, "excluded by NotResource"},
		{"NotResource includes others", []*Document{notResource}, pub("public/x"), true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Evaluate(c.docs, demoCtx("DemoThing"), c.req)
			if d.Allowed != c.allowed || !strings.Contains(d.Explain, c.explain) {
				t.Errorf("allowed=%v explain=%q; want %v containing %q", d.Allowed, d.Explain, c.allowed, c.explain)
			}
			if c.allowed != (d.MatchedAllow != nil && d.MatchedDeny == nil) {
				t.Errorf("matched allow %v deny %v inconsistent with allowed=%v", d.MatchedAllow, d.MatchedDeny, d.Allowed)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	cond := func(c string) *Document {
		return mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":`+c+`}]}`)
	}
	cases := []struct {
		name, cond, client string
		allowed            bool
	}{
		{"IsAttached true", `{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}`, "DemoThing", true},
		{"IsAttached list form", `{"Bool":{"iot:Connection.Thing.IsAttached":["true"]}}`, "DemoThing", true},
		{"IsAttached JSON bool", `{"Bool":{"iot:Connection.Thing.IsAttached":true}}`, "DemoThing", true},
		{"IsAttached false for other client", `{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}`, "other", false},
		{"StringEquals client", `{"StringEquals":{"iot:ClientId":["a","DemoThing"]}}`, "DemoThing", true},
		{"StringEquals no wildcard", `{"StringEquals":{"iot:ClientId":"Demo*"}}`, "DemoThing", false},
		{"StringEquals with variable", `{"StringEquals":{"iot:ClientId":"${iot:Connection.Thing.ThingName}"}}`, "DemoThing", true},
		{"StringEquals unresolved variable", `{"StringEquals":{"iot:ClientId":"${iot:Connection.Thing.ThingName}"}}`, "x", false},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"iot:ClientId":"demothing"}}`, "DemoThing", true},
		{"StringNotEquals", `{"StringNotEquals":{"iot:ClientId":"bad"}}`, "DemoThing", true},
		{"StringNotEquals hit", `{"StringNotEquals":{"iot:ClientId":"DemoThing"}}`, "DemoThing", false},
		{"StringNotEquals missing key", `{"StringNotEquals":{"iot:Connection.Thing.ThingTypeName":"x"}}`, "other", true},
		{"StringLike", `{"StringLike":{"iot:ClientId":"Demo*"}}`, "DemoThing", true},
		{"StringNotLike", `{"StringNotLike":{"iot:ClientId":"Demo*"}}`, "DemoThing", false},
		{"missing key fails", `{"StringEquals":{"iot:Connection.Thing.ThingName":"DemoThing"}}`, "other", false},
		{"IfExists missing key", `{"StringEqualsIfExists":{"iot:Connection.Thing.ThingName":"DemoThing"}}`, "other", true},
		{"IfExists present key", `{"StringEqualsIfExists":{"iot:Connection.Thing.ThingName":"Nope"}}`, "DemoThing", false},
		{"ArnLike", `{"ArnLike":{"iot:ClientId":"Demo?hing"}}`, "DemoThing", true},
		{"subject condition", `{"StringEquals":{"iot:Certificate.Subject.Country":"IN"}}`, "x", true},
		{"ForAnyValue list", `{"ForAnyValue:StringEquals":{"iot:Certificate.Subject.Organization.List":["Acme"]}}`, "x", true},
		{"ForAllValues list fails", `{"ForAllValues:StringEquals":{"iot:Certificate.Subject.Organization.List":["Acme"]}}`, "x", false},
		{"ForAllValues list ok", `{"ForAllValues:StringLike":{"iot:Certificate.Subject.Organization.List":["A*"]}}`, "x", true},
		{"ForAllValues missing key", `{"ForAllValues:StringEquals":{"iot:Certificate.Subject.Surname.List":["x"]}}`, "x", true},
		{"Null true", `{"Null":{"iot:Connection.Thing.ThingName":"true"}}`, "other", true},
		{"Null false", `{"Null":{"iot:Connection.Thing.ThingName":"false"}}`, "DemoThing", true},
		{"Null false absent", `{"Null":{"iot:Connection.Thing.ThingName":"false"}}`, "other", false},
		{"IpAddress", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "x", true},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, "x", false},
		{"Numeric", `{"NumericGreaterThan":{"iot:Connection.Thing.Attributes[n]":"3"}}`, "DemoThing", false},
		{"two conditions ANDed", `{"StringEquals":{"iot:ClientId":"DemoThing"},"Bool":{"iot:Connection.Thing.IsAttached":"false"}}`, "DemoThing", false},
		{"NumericEquals", `{"NumericEquals":{"iot:Connection.Thing.Attributes[floor]":"3"}}`, "DemoThing", true},
		{"NumericNotEquals", `{"NumericNotEquals":{"iot:Connection.Thing.Attributes[floor]":"3"}}`, "DemoThing", false},
		{"NumericLessThan", `{"NumericLessThan":{"iot:Connection.Thing.Attributes[floor]":"3.5"}}`, "DemoThing", true},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"iot:Connection.Thing.Attributes[floor]":"2"}}`, "DemoThing", false},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"iot:Connection.Thing.Attributes[floor]":3}}`, "DemoThing", true},
		{"Numeric non-number", `{"NumericEquals":{"iot:Connection.Thing.Attributes[site]":"3"}}`, "DemoThing", false},
		{"IpAddress single address", `{"IpAddress":{"aws:SourceIp":"192.0.2.10"}}`, "x", true},
		{"IpAddress other network", `{"IpAddress":{"aws:SourceIp":["198.51.100.0/24","2001:db8::/32"]}}`, "x", false},
		{"IpAddress bad value", `{"IpAddress":{"aws:SourceIp":"nope"}}`, "x", false},
		{"Bool false", `{"Bool":{"iot:Connection.Thing.IsAttached":"false"}}`, "other", true},
		{"ArnEquals with variable", `{"ArnEquals":{"iot:ClientId":"${iot:Certificate.Subject.CommonName}"}}`, "DemoThing", true},
		{"StringLike unresolved variable", `{"StringLike":{"iot:ClientId":"${iot:Certificate.Subject.Surname}*"}}`, "DemoThing", false},
		{"StringEquals escape", `{"StringEquals":{"iot:Connection.Thing.Attributes[odd]":"a$(*)b"}}`, "DemoThing", true},
		{"condition key names are case-insensitive", `{"StringEquals":{"IOT:clientid":"DemoThing","iot:certificate.subject.Country":"IN"}}`, "DemoThing", true},
		{"unsupported operator", `{"DateLessThan":{"aws:SourceIp":"2030-01-01"}}`, "x", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Evaluate([]*Document{cond(c.cond)}, demoCtx(c.client), Request{Action: "iot:Connect", Resource: ClientARN(region, account, c.client)})
			if d.Allowed != c.allowed {
				t.Errorf("allowed=%v, want %v (%s)", d.Allowed, c.allowed, d.Explain)
			}
			if !d.Allowed && !strings.Contains(d.Explain, "condition") {
				t.Errorf("explain %q does not mention the condition", d.Explain)
			}
		})
	}
}

func TestARNs(t *testing.T) {
	if got := ClientARN("us-east-2", account, "c"); got != "arn:aws:iot:us-east-2:123456789012:client/c" {
		t.Error(got)
	}
	if got := TopicARN("cn-north-1", account, "a/b"); got != "arn:aws-cn:iot:cn-north-1:123456789012:topic/a/b" {
		t.Error(got)
	}
	if got := TopicFilterARN("us-gov-west-1", account, "a/#"); got != "arn:aws-us-gov:iot:us-gov-west-1:123456789012:topicfilter/a/#" {
		t.Error(got)
	}
}

func TestSubjectAttributes(t *testing.T) {
	n := pkix.Name{CommonName: "DemoThing", Country: []string{"IN"}, Organization: []string{"AMZ"}, Province: []string{"KA"},
		Names: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 46}, Value: "q1"}, {Type: asn1.ObjectIdentifier{2, 5, 4, 12}, Value: "Eng"}}}
	got := SubjectAttributes(n)
	want := map[string][]string{"CommonName": {"DemoThing"}, "Country": {"IN"}, "Organization": {"AMZ"}, "State": {"KA"},
		"DistinguishedNameQualifier": {"q1"}, "Title": {"Eng"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestKnownNames(t *testing.T) {
	for _, v := range []string{"iot:ClientId", "iot:Connection.Thing.Attributes[x]", "iot:Certificate.Subject.CommonName", "*"} {
		if !KnownVariable(v) {
			t.Errorf("%s not known", v)
		}
	}
	for _, v := range []string{"iot:Clientid", "iot:Connection.Thing.Attributes[]", "aws:username"} {
		if KnownVariable(v) {
			t.Errorf("%s known", v)
		}
	}
	if !KnownAction("IoT:publish") || KnownAction("iot:Pubish") {
		t.Error("KnownAction")
	}
	if got := Variables("a/${x}/${y}/${z"); !reflect.DeepEqual(got, []string{"x", "y"}) {
		t.Error(got)
	}
}

func TestCountChars(t *testing.T) {
	if n := CountChars("{ \"a\" :\n\t\"b c\" }"); n != 10 {
		t.Errorf("CountChars = %d, want 10", n)
	}
}

func TestSetCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("spiffe://demo/thing")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x1a2b), Subject: pkix.Name{CommonName: "DemoThing", Country: []string{"IN"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"demo.example.com"}, EmailAddresses: []string{"ops@example.com"}, URIs: []*url.URL{u},
		IPAddresses: []net.IP{net.ParseIP("192.0.2.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	var ctx Context
	ctx.SetCertificate(cert)
	sum := sha256.Sum256(der)
	if ctx.CertificateID != hex.EncodeToString(sum[:]) || ctx.SerialNumber != "6699" {
		t.Errorf("id %s serial %s", ctx.CertificateID, ctx.SerialNumber)
	}
	for name, want := range map[string]string{
		"iot:Certificate.Subject.CommonName":                                "DemoThing",
		"iot:Certificate.Issuer.Country":                                    "IN",
		"iot:Certificate.Subject.AlternativeName.DNSName":                   "demo.example.com",
		"iot:Certificate.Subject.AlternativeName.RFC822Name":                "ops@example.com",
		"iot:Certificate.Subject.AlternativeName.UniformResourceIdentifier": "spiffe://demo/thing",
		"iot:Certificate.Subject.AlternativeName.IPAddress":                 "192.0.2.1",
		"iot:Certificate.SerialNumber":                                      "6699", // decimal, as AWS documents
	} {
		if got, why := ctx.resolve(name); got != want {
			t.Errorf("${%s} = %q (%s), want %q", name, got, why, want)
		}
	}
}

func TestParseStrictJSON(t *testing.T) {
	for _, doc := range []string{
		`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*",}]}`,
		`{"Statement":[{"Effect":"Allow","Action":["iot:Connect",],"Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Allow" "Action":"*","Resource":"*"}]}`,
		`{'Statement':[]}`,
	} {
		_, err := Parse(doc)
		var me *MalformedError
		if !errors.As(err, &me) || !strings.HasPrefix(me.Reason, "invalid JSON") {
			t.Errorf("%s: err = %v", doc, err)
			continue
		}
		// The position points at the offending character.
		if bad := strings.IndexAny(doc[me.Offset:], `}]"'`); bad != 0 {
			t.Errorf("%s: offset %d points at %q", doc, me.Offset, doc[me.Offset:])
		}
	}
}

// The broker caches parsed documents and evaluates them from many connections at once.
func TestEvaluateConcurrentUse(t *testing.T) {
	d := mustParse(t, scopedDoc)
	want := Evaluate([]*Document{d}, demoCtx("DemoThing"), Request{Action: "iot:Publish", Resource: TopicARN(region, account, "DemoThing/x")})
	done := make(chan Decision, 8)
	for range 8 {
		go func() {
			done <- Evaluate([]*Document{d}, demoCtx("DemoThing"), Request{Action: "iot:Publish", Resource: TopicARN(region, account, "DemoThing/x")})
		}()
	}
	for range 8 {
		if got := <-done; got.Allowed != want.Allowed || got.Explain != want.Explain {
			t.Fatalf("concurrent decision differs: %+v", got)
		}
	}
	if !want.Allowed {
		t.Fatalf("denied: %s", want.Explain)
	}
}

func TestValidRegion(t *testing.T) {
	for _, r := range []string{"us-east-1", "us-east-2", "eu-west-1", "us-gov-west-1", "cn-north-1", "ap-southeast-7", "il-central-1", "us-isob-east-1", "mx-central-1"} {
		if !ValidRegion(r) {
			t.Errorf("%s rejected", r)
		}
	}
	for _, r := range []string{"", "useast2", "US-EAST-2", "US East (Ohio)", "us-east", "us-east-123", "local", "mars-1", "us_east_1"} {
		if ValidRegion(r) {
			t.Errorf("%q accepted", r)
		}
	}
}
