package policy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

const scopedDoc = `{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": [ "iot:Connect" ], "Resource": [ "arn:aws:iot:us-east-2:123456789012:client/${iot:Connection.Thing.ThingName}" ] }, { "Effect": "Allow", "Action": [ "iot:Publish", "iot:Receive" ], "Resource": [ "arn:aws:iot:us-east-2:123456789012:topic/${iot:Connection.Thing.ThingName}/*" ] }, { "Effect": "Allow", "Action": [ "iot:Subscribe" ], "Resource": [ "arn:aws:iot:us-east-2:123456789012:topicfilter/${iot:Connection.Thing.ThingName}/*" ] } ] }`

func FuzzParse(f *testing.F) {
	f.Add(scopedDoc)
	f.Add(`{"Statement":{"Effect":"Deny","NotAction":"iot:*","NotResource":["$(*)","${*}"],"Condition":{"ForAllValues:StringLikeIfExists":{"k":[1,true,"x"]}}}}`)
	f.Add(`{"Statement":[`)
	f.Add(`[[[[[[[[[[[[]]]]]]]]]]]]`)
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := Parse(doc)
		if err != nil {
			var me *MalformedError
			if !asMalformed(err, &me) || me.Line < 1 || me.Column < 1 || me.Offset < 0 || me.Offset > len(doc) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if len(d.Statements) == 0 {
			t.Fatal("parsed a document without statements")
		}
		for _, s := range d.Statements {
			if len(s.Actions) == 0 || len(s.Resources) == 0 || (s.Effect != Allow && s.Effect != Deny) {
				t.Fatalf("invalid statement accepted: %+v", s)
			}
		}
	})
}

func asMalformed(err error, me **MalformedError) bool {
	e, ok := err.(*MalformedError)
	*me = e
	return ok
}

func FuzzEvaluate(f *testing.F) {
	f.Add("arn:aws:iot:us-east-2:123456789012:topic/${iot:Connection.Thing.ThingName}/*", "DemoThing", "DemoThing/x", "iot:Publish")
	f.Add("*a?$(*)${iot:ClientId}${iot:Certificate.Subject.Organization.2}", "*", "**", "iot:*")
	f.Add("${", "$", "${", "iot:Receive")
	f.Fuzz(func(t *testing.T, pattern, client, topic, action string) {
		doc := &Document{Statements: []Statement{
			{Effect: Allow, Actions: []string{action, "iot:Publish"}, Resources: []string{pattern}, Conditions: []Condition{{Operator: "StringLike", Key: "iot:ClientId", Values: []string{pattern}}}},
			{Index: 1, Effect: Deny, Actions: []string{"iot:Connect"}, NotResource: true, Resources: []string{pattern}},
		}}
		ctx := demoCtx(client)
		ctx.AttachedThings[client] = Thing{Attributes: map[string]string{"a": topic}}
		d := Evaluate([]*Document{doc}, ctx, Request{Action: "iot:Publish", Resource: TopicARN(region, account, topic)})
		if d.Allowed && (d.MatchedAllow == nil || d.MatchedDeny != nil) {
			t.Fatalf("inconsistent decision %+v", d)
		}
		if d.Explain == "" {
			t.Fatal("no explanation")
		}
		// A pattern without wildcards, escapes or variables matches exactly itself (UTF-8 values).
		if !strings.ContainsAny(pattern, "*?$") && utf8.ValidString(topic) && Match(pattern, topic) != (pattern == topic) {
			t.Fatalf("literal pattern %q vs %q", pattern, topic)
		}
	})
}

func BenchmarkEvaluateScoped(b *testing.B) {
	d, err := Parse(scopedDoc)
	if err != nil {
		b.Fatal(err)
	}
	docs := []*Document{d}
	ctx := demoCtx("DemoThing")
	reqs := []Request{
		{Action: "iot:Connect", Resource: ClientARN(region, account, "DemoThing")},
		{Action: "iot:Publish", Resource: TopicARN(region, account, "DemoThing/telemetry/temperature")},
		{Action: "iot:Subscribe", Resource: TopicFilterARN(region, account, "other/#")},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Evaluate(docs, ctx, reqs[i%len(reqs)])
	}
}

func BenchmarkEvaluateDenyExplain(b *testing.B) {
	d, err := Parse(scopedDoc)
	if err != nil {
		b.Fatal(err)
	}
	docs := []*Document{d}
	ctx := demoCtx("anyclientID")
	req := Request{Action: "iot:Connect", Resource: ClientARN(region, account, "anyclientID")}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(docs, ctx, req)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(scopedDoc); err != nil {
			b.Fatal(err)
		}
	}
}
