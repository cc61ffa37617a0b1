package broker

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// The AWS walkthrough's steps 11–13 with mosquitto_pub, against a store seeded as
// steps 1–10 leave it.
func TestWalkthroughMosquitto(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCAKey(t, "deviceRootCA", pki.RSA2048) // as the walkthrough: openssl genrsa 2048
	e.createRole("JITPRole", iotTrust)
	rc := walkthroughConfig(t, "scoped")
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, rc)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})

	// Step 11: first connect with the bundle: dropped while provisioning.
	r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar")
	if r.code != 7 || !strings.Contains(r.out, "Error: The connection was lost.") {
		t.Fatalf("first connect: want exit 7 and 'The connection was lost.', got %s", r)
	}
	if strings.Contains(r.out, "CONNACK") {
		t.Fatalf("first connect got a CONNACK:\n%s", r.out)
	}

	// Step 12: what the template made.
	c := e.cert(dev.ID)
	if c == nil || c.Status != store.StatusActive || c.CAID != ca.ID {
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
	pols := e.attachedPolicies(dev.ID)
	if len(pols) != 1 {
		t.Fatalf("attached policies: %d", len(pols))
	}
	tpl, err := template.Parse(rc.TemplateBody)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := tpl.Evaluate(pki.JITPParameters(dev.Cert))
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
	if len(prov) != 1 || prov[0].Thing != "DemoThing" || prov[0].CertID != dev.ID || prov[0].Params["policyName"] != plan.Policy.Name || prov[0].Params["durationMs"] == "" {
		t.Fatalf("provisioning events %+v", prov)
	}

	// Step 13: client ID = thing name, device cert alone (SNI localhost), PUBACK.
	r = e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "DemoThing", "DemoThing/test")
	if r.code != 0 || !strings.Contains(r.out, "received PUBACK") {
		t.Fatalf("second connect: want PUBACK, got %s", r)
	}

	// Connected events are written in batches, not waited for: wait for it.
	if ev := waitEvent(t, e, store.EventConnected, "client DemoThing connected"); ev.Client != "DemoThing" || ev.CertID != dev.ID {
		t.Fatalf("connected event %+v", ev)
	}
	waitEvent(t, e, store.EventDisconnected, "client DemoThing disconnected: the client disconnected")

	// Publishing outside DemoThing/* is refused: connection closed after CONNACK.
	r = e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "DemoThing", "foo/bar")
	if r.code != 7 || strings.Contains(r.out, "received PUBACK") || !strings.Contains(r.out, "received CONNACK (0)") ||
		!strings.Contains(r.out, "Error: The connection was lost.") {
		t.Fatalf("publish to foo/bar as DemoThing: want refusal after CONNACK, got %s", r)
	}
	// Client ID other than the thing name: ${iot:Connection.Thing.ThingName} does not
	// resolve, so iot:Connect is denied and there is no CONNACK.
	r = e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "anyclientID", "DemoThing/test")
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

// The named-policy variant: provisioning fails while the policy is missing, and the
// next connect (PENDING_ACTIVATION re-runs the template) succeeds once it exists.
func TestNamedPolicyMissingThenCreated(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnvWith(t, "named-policy")
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "NamedThing"})

	e.firstConnect(t, ca, dev, "anyclientID")
	ev := e.wantPending(t, dev)
	if !strings.Contains(ev.Message, "Policy_Name") || ev.Error != store.CodeResourceNotFound || ev.Reason != store.ProvisionPolicyNotFound {
		t.Fatalf("failure event %+v", ev)
	}
	if e.thing("NamedThing") != nil {
		t.Fatal("thing created although provisioning failed")
	}

	if err := e.st.Update(func(st *store.State) error {
		_, err := st.CreatePolicy("Policy_Name", adminPolicy, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.firstConnect(t, ca, dev, "anyclientID")
	if c := e.cert(dev.ID); c.Status != store.StatusActive {
		t.Fatalf("after creating the policy: %s", c.Status)
	}
	if ps := e.attachedPolicies(dev.ID); len(ps) != 1 || ps[0].Name != "Policy_Name" {
		t.Fatalf("attached %+v", ps)
	}
	e.connected(t, ca, dev, "NamedThing")
}

func TestRoleProblemsFailProvisioning(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, trust, want string
		create            bool
		reason            string
	}{
		{"role missing", "", "the role does not exist", false, store.ProvisionRoleMissing},
		{"role not trusting IoT", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
			"does not allow iot.amazonaws.com", true, store.ProvisionRoleUntrusted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ca := newTestCA(t, "deviceRootCA")
			if tc.create {
				e.createRole("JITPRole", tc.trust)
			}
			e.registerCA(ca, store.StatusActive, store.AutoRegEnable, walkthroughConfig(t, "scoped"))
			dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})
			e.firstConnect(t, ca, dev, "anyclientID")
			ev := e.wantPending(t, dev)
			if !strings.Contains(ev.Message, tc.want) || !strings.Contains(ev.Message, roleARN) || ev.Reason != tc.reason {
				t.Fatalf("failure event %+v, want %q", ev, tc.want)
			}
			if e.thing("DemoThing") != nil {
				t.Fatal("thing created")
			}
		})
	}
}

// Two certificates with the same CN: the thing is reused and both are attached
// (non-exclusive), and each can connect as the thing.
func TestThingReusedBySecondCertificate(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	d1 := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "Shared"})
	d2 := e.provisionedDevice(t, ca, pki.Subject{Country: "IN", CommonName: "Shared"})
	th := e.thing("Shared")
	if th == nil || th.Attributes["country"] != "US" || th.Version != 1 {
		t.Fatalf("thing %+v: want the first certificate's attributes kept (no OverrideSettings = DO_NOTHING)", th)
	}
	if ps := e.thingPrincipals("Shared"); len(ps) != 2 {
		t.Fatalf("principals %v", ps)
	}
	e.connected(t, ca, d1, "Shared")
	e.connected(t, ca, d2, "Shared")
}

// A CA registered in SNI_ONLY mode: its devices must send SNI even with the CA in
// the chain.
func TestSNIOnlyCA(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	e.changeCA(ca, func(c *store.CA) { c.Mode = store.ModeSNIOnly })
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})
	c := e.rawDial(t, &tls.Config{ServerName: "127.0.0.1", Certificates: []tls.Certificate{dev.tlsCert(ca, true)}})
	if _, err := c.connect("anyclientID"); err == nil {
		t.Fatal("CONNACK without SNI")
	}
	if e.cert(dev.ID) != nil {
		t.Fatal("registered without SNI")
	}
	if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, "SNI_ONLY") {
		t.Fatalf("refusal %+v", ev)
	}
	e.provisioned(t, ca, dev) // SNI localhost
	if c := e.cert(dev.ID); c.Mode != store.ModeSNIOnly {
		t.Fatalf("certificate mode %s, want the CA's", c.Mode)
	}
}

// OpenSSL (what mosquitto uses) trusts the server certificate through
// awsRootCA.pem for every advertised name, and completes mutual TLS with a device
// certificate.
func TestOpenSSLVerifiesServer(t *testing.T) {
	t.Parallel()
	bin := testtool.Need(t, "openssl")
	e, ca := jitpEnv(t)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})
	for _, name := range []string{"localhost", endpointName} {
		args := []string{"s_client", "-connect", "127.0.0.1:" + e.port, "-servername", name, "-verify_hostname", name,
			"-CAfile", e.rootCA, "-cert", dev.CertFile, "-key", dev.KeyFile, "-verify_return_error", "-brief"}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), "Verification: OK") {
			t.Fatalf("openssl s_client -servername %s: %v\n%s", name, err, out)
		}
	}
	r := run(t, bin, "verify", "-CAfile", e.rootCA, "-purpose", "sslserver", filepath.Join(e.dir, serverCertFile))
	if r.code != 0 || !strings.Contains(r.out, ": OK") {
		t.Fatalf("openssl verify: %s", r)
	}
	fi, err := os.Stat(filepath.Join(e.dir, rootKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key mode: %v %v", fi.Mode(), err)
	}
}

// mosquitto_sub receives what mosquitto_pub sends (admin template: any client ID,
// any topic).
func TestMosquittoSubReceives(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "mosquitto_sub")
	e, ca := jitpEnvWith(t, "admin")
	dev := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "LabThing"})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd, out := e.mosquittoSub(t, ctx, dev, "listener", []string{"lab/#"}, "-q", "1", "-C", "1", "-d", "-v")
	if r := e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "talker", "lab/test"); r.code != 0 {
		t.Fatalf("mosquitto_pub: %s", r)
	}
	err := cmd.Wait()
	if err != nil || !strings.Contains(out.String(), "lab/test Hello") || !strings.Contains(out.String(), "received SUBACK") {
		t.Fatalf("mosquitto_sub: %v\n%s", err, out.String())
	}
}

// A template whose inline policy is over CreatePolicy's 2048-character limit fails
// provisioning: the certificate stays PENDING_ACTIVATION and nothing is created.
func TestTemplatePolicyTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.createRole("JITPRole", iotTrust)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:` + testRegion + `:` + testAccount + `:client/` +
		strings.Repeat("c", 2000) + `"}]}`
	tmpl, _ := json.Marshal(map[string]any{
		"Parameters": map[string]any{"AWS::IoT::Certificate::Id": map[string]string{"Type": "String"}},
		"Resources": map[string]any{
			"certificate": map[string]any{"Type": "AWS::IoT::Certificate", "Properties": map[string]any{"CertificateId": map[string]string{"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"}},
			"policy":      map[string]any{"Type": "AWS::IoT::Policy", "Properties": map[string]any{"PolicyDocument": doc}},
		},
	})
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, &store.RegistrationConfig{TemplateBody: string(tmpl), RoleArn: roleARN})
	dev := ca.issue(t, pki.Subject{CommonName: "LongPolicyThing"})
	e.firstConnect(t, ca, dev, "anyclientID")
	ev := e.wantPending(t, dev)
	if ev.Error != "MalformedPolicyException" || !strings.Contains(ev.Message, "at most 2048") {
		t.Fatalf("failure event %+v", ev)
	}
	if len(e.attachedPolicies(dev.ID)) != 0 {
		t.Fatal("a policy was attached")
	}
}
