package broker

import (
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The AWS walkthrough's steps 11–13 with mosquitto_pub, against a store seeded as
// steps 1–10 leave it.
func TestWalkthroughMosquitto(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.createRole("JITPRole", iotTrust)
	rc := walkthroughConfig(t, "scoped")
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, rc)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})

	// Step 11: first connect with the bundle: dropped while provisioning.
	r := e.mosquittoPub(t, dev.bundle, dev.keyF, "anyclientID", "foo/bar")
	if r.code != 7 || !strings.Contains(r.out, "Error: The connection was lost.") {
		t.Fatalf("first connect: want exit 7 and 'The connection was lost.', got %s", r)
	}
	if strings.Contains(r.out, "CONNACK") {
		t.Fatalf("first connect got a CONNACK:\n%s", r.out)
	}

	// Step 12: what the template made.
	c := e.cert(dev.id)
	if c == nil || c.Status != store.StatusActive || c.CAID != ca.id {
		t.Fatalf("certificate after first connect: %+v", c)
	}
	th := e.thing("DemoThing")
	if th == nil {
		t.Fatal("thing DemoThing not created")
	}
	if th.Attributes["version"] != "v1" || th.Attributes["country"] != "US" || len(th.Attributes) != 2 {
		t.Fatalf("thing attributes %v", th.Attributes)
	}
	if ps := e.thingPrincipals("DemoThing"); len(ps) != 1 || ps[0] != c.ARN {
		t.Fatalf("thing principals %v, want [%s]", ps, c.ARN)
	}
	pols := e.attachedPolicies(dev.id)
	if len(pols) != 1 {
		t.Fatalf("attached policies: %d", len(pols))
	}
	tpl, err := template.Parse(rc.TemplateBody)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := tpl.Evaluate(pki.JITPParameters(dev.cert))
	if err != nil {
		t.Fatal(err)
	}
	if pols[0].Name != plan.Policy.Name || pols[0].Document != plan.Policy.Document {
		t.Fatalf("policy %s, want the template's inline policy %s", pols[0].Name, plan.Policy.Name)
	}
	if !strings.Contains(pols[0].Document, "${iot:Connection.Thing.ThingName}") {
		t.Fatalf("policy variables not kept: %s", pols[0].Document)
	}
	prov := e.events(store.EventProvisioned)
	if len(prov) != 1 || prov[0].Thing != "DemoThing" || prov[0].CertID != dev.id || prov[0].Params["policyName"] != plan.Policy.Name || prov[0].Params["durationMs"] == "" {
		t.Fatalf("provisioning events %+v", prov)
	}

	// Step 13: client ID = thing name, device cert alone (SNI localhost), PUBACK.
	r = e.mosquittoPub(t, dev.crt, dev.keyF, "DemoThing", "DemoThing/test")
	if r.code != 0 || !strings.Contains(r.out, "received PUBACK") {
		t.Fatalf("second connect: want PUBACK, got %s", r)
	}

	if ev := lastEvent(t, e, store.EventConnected); ev.Client != "DemoThing" || ev.CertID != dev.id {
		t.Fatalf("connected event %+v", ev)
	}
	waitEvent(t, e, store.EventDisconnected, "client DemoThing disconnected: the client disconnected")

	// Publishing outside DemoThing/* is refused: connection closed after CONNACK.
	r = e.mosquittoPub(t, dev.crt, dev.keyF, "DemoThing", "foo/bar")
	if r.code != 7 || strings.Contains(r.out, "received PUBACK") || !strings.Contains(r.out, "received CONNACK (0)") ||
		!strings.Contains(r.out, "Error: The connection was lost.") {
		t.Fatalf("publish to foo/bar as DemoThing: want refusal after CONNACK, got %s", r)
	}
	// Client ID other than the thing name: ${iot:Connection.Thing.ThingName} does not
	// resolve, so iot:Connect is denied and there is no CONNACK.
	r = e.mosquittoPub(t, dev.crt, dev.keyF, "anyclientID", "DemoThing/test")
	if r.code != 7 || strings.Contains(r.out, "CONNACK") {
		t.Fatalf("connect as anyclientID: want no CONNACK and exit 7, got %s", r)
	}
	if len(e.events(store.EventProvisioned)) != 1 {
		t.Fatal("template ran again for an ACTIVE certificate")
	}
	refusals := e.events(store.EventAuthorizationFailure)
	if len(refusals) == 0 || !strings.Contains(refusals[len(refusals)-1].Message, "iot:Publish denied") {
		t.Fatalf("publish refusal not recorded: %+v", refusals)
	}
}
