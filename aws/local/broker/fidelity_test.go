package broker

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

// Provisioning as AWS does it, beyond the walkthrough: what the role's policies allow,
// templates by name, thing types, groups and billing groups, several policies, declared
// parameters, and the time it takes (jitp-spec.md §3).

const adminPolicyDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`

// templateBody builds a JITP template: the thing (extra properties, OverrideSettings),
// the certificate from AWS::IoT::Certificate::Id, and the policies given (PolicyName or
// PolicyDocument properties), with CommonName, Country and Id declared.
func templateBody(t testing.TB, thing map[string]any, override map[string]string, policies ...map[string]any) string {
	t.Helper()
	props := map[string]any{"ThingName": map[string]string{"Ref": "AWS::IoT::Certificate::CommonName"}}
	for k, v := range thing {
		props[k] = v
	}
	th := map[string]any{"Type": "AWS::IoT::Thing", "Properties": props}
	if override != nil {
		th["OverrideSettings"] = override
	}
	res := map[string]any{
		"thing":       th,
		"certificate": map[string]any{"Type": "AWS::IoT::Certificate", "Properties": map[string]any{"CertificateId": map[string]string{"Ref": "AWS::IoT::Certificate::Id"}, "Status": "ACTIVE"}},
	}
	for i, p := range policies {
		res["policy"+string(rune('A'+i))] = map[string]any{"Type": "AWS::IoT::Policy", "Properties": p}
	}
	b, err := json.Marshal(map[string]any{
		"Parameters": map[string]any{
			"AWS::IoT::Certificate::CommonName": map[string]string{"Type": "String"},
			"AWS::IoT::Certificate::Country":    map[string]string{"Type": "String"},
			"AWS::IoT::Certificate::Id":         map[string]string{"Type": "String"},
		},
		"Resources": res,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func inlinePolicy(doc string) map[string]any { return map[string]any{"PolicyDocument": doc} }

// roleWith seeds a role trusted by IoT with these inline policies and managed policy ARNs.
func (e *env) roleWith(name string, inline map[string]string, managed ...string) {
	e.t.Helper()
	err := e.st.Update(func(st *store.State) error {
		if _, err := st.Role(name); err != nil {
			if _, err := st.CreateRole(store.CreateRoleInput{Name: name, TrustPolicy: iotTrust}); err != nil {
				return err
			}
		}
		for n, doc := range inline {
			if err := st.PutRolePolicy(name, n, doc); err != nil {
				return err
			}
		}
		for _, arn := range managed {
			if err := st.AttachRolePolicy(name, arn); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) update(fn func(st *store.State) error) {
	e.t.Helper()
	if err := e.st.Update(fn); err != nil {
		e.t.Fatal(err)
	}
}

// changeCA changes the registered CA ca in the store (as UpdateCACertificate would).
func (e *env) changeCA(ca *testCA, fn func(c *store.CA)) {
	e.t.Helper()
	e.update(func(st *store.State) error {
		c, err := st.CA(ca.ID)
		if err != nil {
			return err
		}
		fn(c)
		return nil
	})
}

func (e *env) wantPending(t *testing.T, dev *device) store.Event {
	t.Helper()
	if c := e.cert(dev.ID); c == nil || c.Status != store.StatusPendingActivation {
		t.Fatalf("certificate %+v, want PENDING_ACTIVATION", c)
	}
	return lastEvent(t, e, store.EventProvisioningFailed)
}

// A role that only trusts iot.amazonaws.com cannot provision: the certificate stays
// PENDING_ACTIVATION and the failure carries IAM's wording for the first call the role's
// policies do not allow. Inline policies are evaluated as IAM does (Allow, an explicit
// Deny that wins, wildcards), and once they allow every call the device is provisioned.
func TestRolePermissionsDecideProvisioning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.roleWith("JITPRole", nil) // trust only
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, walkthroughConfig(t, "scoped"))
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "PermThing"})
	who := "User: arn:aws:sts::" + testAccount + ":assumed-role/JITPRole/JITP is not authorized to perform: "
	thingARN := iotARNPrefix + ":thing/PermThing"

	r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar")
	if r.code != 7 || strings.Contains(r.out, "CONNACK") {
		t.Fatalf("first connect: %s", r)
	}
	ev := e.wantPending(t, dev)
	want := who + "iot:CreateThing on resource: " + thingARN + " because no identity-based policy allows the iot:CreateThing action"
	if ev.Error != "AccessDeniedException" || ev.Message != want || !strings.Contains(ev.Params["why"], "no permission policies") || ev.Reason != store.ProvisionRoleDenied {
		t.Fatalf("trust-only role: %+v\nwant message %q", ev, want)
	}
	if e.thing("PermThing") != nil {
		t.Fatal("a thing was created with a role that may not create things")
	}

	// Allowed to create things only: the next call, CreatePolicy, is refused.
	e.roleWith("JITPRole", map[string]string{"things": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:CreateThing","Resource":"arn:aws:iot:*:*:thing/*"}}`})
	e.firstConnect(t, ca, dev, "anyclientID")
	if ev := e.wantPending(t, dev); !strings.HasPrefix(ev.Message, who+"iot:CreatePolicy on resource: arn:aws:iot:"+testRegion+":"+testAccount+":policy/") {
		t.Fatalf("after allowing CreateThing: %+v", ev)
	}
	// Everything allowed, but an explicit Deny on attaching the certificate to the thing.
	e.roleWith("JITPRole", map[string]string{
		"things": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*"}}`,
		"deny":   `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iot:AttachThing*","Resource":"*"}}`})
	e.firstConnect(t, ca, dev, "anyclientID")
	ev = e.wantPending(t, dev)
	want = who + "iot:AttachThingPrincipal on resource: " + thingARN + " with an explicit deny in an identity-based policy"
	if ev.Message != want || !strings.Contains(ev.Params["why"], "inline policy deny") {
		t.Fatalf("explicit deny: %+v\nwant %q", ev, want)
	}
	if e.thing("PermThing") != nil || len(e.attachedPolicies(dev.ID)) != 0 {
		t.Fatal("a failed provisioning left a thing or a policy behind")
	}
	e.update(func(st *store.State) error { return st.DeleteRolePolicy("JITPRole", "deny") })

	// Allowed now: provisioned, and the device connects (paho) as its thing.
	e.firstConnect(t, ca, dev, "anyclientID")
	if c := e.cert(dev.ID); c == nil || c.Status != store.StatusActive || e.thing("PermThing") == nil {
		t.Fatalf("not provisioned with every call allowed: %+v", c)
	}
	c, err := e.pahoClient(t, ca, dev, "PermThing", nil)
	if err != nil {
		t.Fatalf("paho connect after provisioning: %v", err)
	}
	if tok := c.Publish("PermThing/test", 1, false, "hi"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// The managed AWSIoTThingsRegistration is enough, and AWSIoTLogging alone is not.
func TestManagedPoliciesOfTheRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.roleWith("JITPRole", nil, "arn:aws:iam::aws:policy/service-role/AWSIoTLogging")
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, walkthroughConfig(t, "admin"))
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "Managed"})
	e.firstConnect(t, ca, dev, "anyclientID")
	if ev := e.wantPending(t, dev); ev.Error != "AccessDeniedException" || !strings.Contains(ev.Params["why"], "no permission policy of role JITPRole allows iot:CreateThing") {
		t.Fatalf("AWSIoTLogging only: %+v", ev)
	}
	e.roleWith("JITPRole", nil, "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")
	e.provisioned(t, ca, dev)
}

// A CA whose registration config names a provisioning template of type JITP provisions
// from the template's default version with its role; a new default version applies to the
// next device. A FLEET_PROVISIONING template, or one deleted meanwhile, fails.
func TestProvisioningTemplateByName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.createRole("JITPRole", iotTrust)
	v1 := templateBody(t, map[string]any{"AttributePayload": map[string]string{"version": "v1"}}, nil, inlinePolicy(adminPolicyDoc))
	v2 := templateBody(t, map[string]any{"AttributePayload": map[string]string{"version": "v2"}}, nil, inlinePolicy(adminPolicyDoc))
	e.update(func(st *store.State) error {
		if _, err := st.CreateProvisioningTemplate(store.CreateTemplateInput{Name: "jitp-template", Type: store.TemplateTypeJITP, Body: v1, RoleARN: roleARN, Enabled: true}); err != nil {
			return err
		}
		_, err := st.CreateProvisioningTemplate(store.CreateTemplateInput{Name: "fleet-template", Type: store.TemplateTypeFleet, Body: v1, RoleARN: roleARN})
		return err
	})
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, &store.RegistrationConfig{TemplateName: "jitp-template"})

	d1 := ca.issue(t, pki.Subject{Country: "US", CommonName: "ByName1"})
	r := e.mosquittoPub(t, d1.BundleFile, d1.KeyFile, "anyclientID", "foo/bar")
	if r.code != 7 {
		t.Fatalf("first connect: %s", r)
	}
	if c := e.cert(d1.ID); c == nil || c.Status != store.StatusActive {
		t.Fatalf("not provisioned from the named template: %+v; events %+v", c, e.events(""))
	}
	if th := e.thing("ByName1"); th == nil || th.Attributes["version"] != "v1" {
		t.Fatalf("thing %+v", th)
	}
	if r := e.mosquittoPub(t, d1.CertFile, d1.KeyFile, "ByName1", "ByName1/test"); r.code != 0 || !strings.Contains(r.out, "received PUBACK") {
		t.Fatalf("second connect: %s", r)
	}

	e.update(func(st *store.State) error {
		_, err := st.CreateProvisioningTemplateVersion("jitp-template", v2, true)
		return err
	})
	e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "ByName2"})
	if th := e.thing("ByName2"); th == nil || th.Attributes["version"] != "v2" {
		t.Fatalf("the new default version did not apply: %+v", th)
	}

	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, &store.RegistrationConfig{TemplateName: "fleet-template"})
	d3 := ca.issue(t, pki.Subject{Country: "US", CommonName: "ByName3"})
	e.firstConnect(t, ca, d3, "anyclientID")
	if ev := e.wantPending(t, d3); ev.Error != "InvalidRequestException" || !strings.Contains(ev.Message, "of type FLEET_PROVISIONING") {
		t.Fatalf("fleet template: %+v", ev)
	}
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, &store.RegistrationConfig{TemplateName: "gone"})
	e.firstConnect(t, ca, d3, "anyclientID")
	if ev := e.wantPending(t, d3); ev.Error != "ResourceNotFoundException" || !strings.Contains(ev.Message, "gone") {
		t.Fatalf("missing template: %+v", ev)
	}
}

// The template's ThingTypeName, ThingGroups and BillingGroup must exist (the role may not
// create them); once they do, the thing gets them. A deprecated type fails too.
func TestThingTypeGroupsAndBillingGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.createRole("JITPRole", iotTrust)
	body := templateBody(t, map[string]any{
		"ThingTypeName": "lightBulb-versionA",
		"ThingGroups":   []any{"v1-lightbulbs", map[string]string{"Ref": "AWS::IoT::Certificate::Country"}},
		"BillingGroup":  "bulbs",
	}, nil, inlinePolicy(adminPolicyDoc))
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, &store.RegistrationConfig{TemplateBody: body, RoleArn: roleARN})
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "Bulb1"})
	fails := func(code, text string) {
		t.Helper()
		e.firstConnect(t, ca, dev, "anyclientID")
		ev := e.wantPending(t, dev)
		if ev.Error != code || !strings.Contains(ev.Message, text) {
			t.Fatalf("want %s %q, got %+v", code, text, ev)
		}
		if code == store.CodeResourceNotFound && ev.Reason != store.ProvisionResourceNotFound {
			t.Fatalf("reason %q, want %q", ev.Reason, store.ProvisionResourceNotFound)
		}
		if e.thing("Bulb1") != nil {
			t.Fatal("thing created although provisioning failed")
		}
	}
	fails("ResourceNotFoundException", "Thing type lightBulb-versionA")
	e.update(func(st *store.State) error {
		if _, err := st.CreateThingType(store.CreateThingTypeInput{Name: "lightBulb-versionA"}); err != nil {
			return err
		}
		return st.DeprecateThingType("lightBulb-versionA", false)
	})
	fails("InvalidRequestException", "depreated thing type")
	e.update(func(st *store.State) error { return st.DeprecateThingType("lightBulb-versionA", true) })
	fails("ResourceNotFoundException", "Thing group v1-lightbulbs")
	e.update(func(st *store.State) error {
		_, err := st.CreateThingGroup(store.CreateThingGroupInput{Name: "v1-lightbulbs"})
		return err
	})
	fails("ResourceNotFoundException", "Thing group US")
	e.update(func(st *store.State) error {
		if _, err := st.CreateThingGroup(store.CreateThingGroupInput{Name: "countries"}); err != nil {
			return err
		}
		_, err := st.CreateThingGroup(store.CreateThingGroupInput{Name: "US", Parent: "countries"})
		return err
	})
	fails("ResourceNotFoundException", "Billing group bulbs")
	e.update(func(st *store.State) error { _, err := st.CreateBillingGroup("bulbs", "", nil); return err })

	e.provisioned(t, ca, dev)
	th := e.thing("Bulb1")
	if th == nil || th.TypeName != "lightBulb-versionA" || th.BillingGroup != "bulbs" {
		t.Fatalf("thing %+v", th)
	}
	if g := e.groupsOf("Bulb1"); !slices.Equal(g, []string{"US", "v1-lightbulbs"}) {
		t.Fatalf("groups %v", g)
	}
	if ev := lastEvent(t, e, store.EventProvisioned); !strings.Contains(ev.Message, "groups US, v1-lightbulbs") {
		t.Errorf("provisioned event: %s", ev.Message)
	}
}

func (e *env) groupsOf(thing string) []string {
	var out []string
	_ = e.st.View(func(st *store.State) error { out = st.GroupsOfThing(thing); return nil })
	return out
}

// A second certificate for an existing thing: its groups follow the ThingGroups
// OverrideSettings (DO_NOTHING when omitted, MERGE, REPLACE, FAIL).
func TestThingGroupsOverrideSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		override string
		want     []string
		fail     bool
	}{
		{"", []string{"old"}, false},
		{"DO_NOTHING", []string{"old"}, false},
		{"MERGE", []string{"new", "old"}, false},
		{"REPLACE", []string{"new"}, false},
		{"FAIL", nil, true},
	}
	for _, c := range cases {
		t.Run("override "+c.override, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ca := newTestCA(t, "deviceRootCA")
			e.createRole("JITPRole", iotTrust)
			e.update(func(st *store.State) error {
				for _, g := range []string{"old", "new"} {
					if _, err := st.CreateThingGroup(store.CreateThingGroupInput{Name: g}); err != nil {
						return err
					}
				}
				if _, err := st.CreateThing("Shared", "", nil); err != nil {
					return err
				}
				return st.AddThingToThingGroup("old", "Shared")
			})
			var ov map[string]string
			if c.override != "" {
				ov = map[string]string{"ThingGroups": c.override}
			}
			body := templateBody(t, map[string]any{"ThingGroups": []string{"new"}}, ov, inlinePolicy(adminPolicyDoc))
			e.registerCA(ca, store.StatusActive, store.AutoRegEnable, &store.RegistrationConfig{TemplateBody: body, RoleArn: roleARN})
			dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "Shared"})
			e.firstConnect(t, ca, dev, "anyclientID")
			if c.fail {
				if ev := e.wantPending(t, dev); ev.Error != "ResourceConflictsException" || !strings.Contains(ev.Message, "OverrideSettings say FAIL") {
					t.Fatalf("FAIL: %+v", ev)
				}
				c.want = []string{"old"}
			} else if crt := e.cert(dev.ID); crt == nil || crt.Status != store.StatusActive {
				t.Fatalf("not provisioned: %+v %+v", crt, e.events(store.EventProvisioningFailed))
			}
			if g := e.groupsOf("Shared"); !slices.Equal(g, c.want) {
				t.Fatalf("groups %v, want %v", g, c.want)
			}
		})
	}
}

// Several AWS::IoT::Policy resources: each is created if inline, and all are attached.
func TestSeveralPoliciesAttached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.createRole("JITPRole", iotTrust)
	e.update(func(st *store.State) error {
		_, err := st.CreatePolicy("Existing", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`, nil)
		return err
	})
	body := templateBody(t, nil, nil, map[string]any{"PolicyName": "Existing"}, inlinePolicy(adminPolicyDoc))
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, &store.RegistrationConfig{TemplateBody: body, RoleArn: roleARN})
	dev := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "TwoPolicies"})
	var names []string
	for _, p := range e.attachedPolicies(dev.ID) {
		names = append(names, p.Name)
	}
	if len(names) != 2 || !slices.Contains(names, "Existing") {
		t.Fatalf("attached policies %v", names)
	}
	if ev := lastEvent(t, e, store.EventProvisioned); !strings.Contains(ev.Params["policyName"], "Existing, ") {
		t.Errorf("provisioned event policyName %q", ev.Params["policyName"])
	}
}

// A parameter declared without a Default that the certificate lacks fails provisioning
// even though no resource refers to it (jit-provisioning.md).
func TestDeclaredParameterTheCertificateLacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.createRole("JITPRole", iotTrust)
	var doc map[string]any
	_ = json.Unmarshal([]byte(templateBody(t, nil, nil, inlinePolicy(adminPolicyDoc))), &doc)
	doc["Parameters"].(map[string]any)["AWS::IoT::Certificate::OrganizationalUnit"] = map[string]string{"Type": "String"}
	body, _ := json.Marshal(doc)
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, &store.RegistrationConfig{TemplateBody: string(body), RoleArn: roleARN})
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "NoOU"})
	r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar")
	if r.code != 7 {
		t.Fatalf("first connect: %s", r)
	}
	ev := e.wantPending(t, dev)
	if ev.Error != "InvalidRequestException" || !strings.Contains(ev.Message, "AWS::IoT::Certificate::OrganizationalUnit is declared in Parameters without a Default") || ev.Reason != store.ProvisionMissingParameter {
		t.Fatalf("failure %+v", ev)
	}
	e.provisionedDevice(t, ca, pki.Subject{Country: "US", OrganizationalUnit: "Lab", CommonName: "WithOU"})
}

// With a provisioning delay the first connect is closed at once and the certificate
// stays PENDING_ACTIVATION until the template has run; a connect meanwhile is refused
// and does not start provisioning again. The test holds provisioning back itself, so it
// does not depend on how fast the machine is.
func TestProvisioningTakesTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.ProvisioningDelay = time.Hour })
	release := make(chan time.Time)
	var waited []time.Duration
	var mu sync.Mutex
	e.b.delayed.mu.Lock()
	e.b.delayed.wait = func(d time.Duration) <-chan time.Time {
		mu.Lock()
		waited = append(waited, d)
		mu.Unlock()
		return release
	}
	e.b.delayed.mu.Unlock()
	ca := newTestCA(t, "deviceRootCA")
	e.createRole("JITPRole", iotTrust)
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, walkthroughConfig(t, "admin"))
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "Slow"})

	r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar")
	if r.code != 7 || strings.Contains(r.out, "CONNACK") {
		t.Fatalf("first connect: %s", r)
	}
	if c := e.cert(dev.ID); c == nil || c.Status != store.StatusPendingActivation || e.thing("Slow") != nil {
		t.Fatalf("provisioned before the delay: %+v", c)
	}
	// A script that reconnects at once: refused, as the certificate is not ACTIVE yet.
	r = e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "Slow", "Slow/test")
	if r.code != 7 || strings.Contains(r.out, "CONNACK") {
		t.Fatalf("reconnect during provisioning: %s", r)
	}
	if ev := waitEvent(t, e, store.EventConnectRefused, "JITP is still provisioning it"); ev.CertID != dev.ID {
		t.Fatalf("refusal %+v", ev)
	}
	mu.Lock()
	if len(waited) != 1 || waited[0] != time.Hour {
		t.Fatalf("provisioning scheduled %v, want once for 1h", waited)
	}
	mu.Unlock()

	release <- time.Now()
	waitEvent(t, e, store.EventProvisioned, "thing Slow")
	if c := e.cert(dev.ID); c.Status != store.StatusActive {
		t.Fatalf("status %s after provisioning", c.Status)
	}
	if r := e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "Slow", "Slow/test"); r.code != 0 || !strings.Contains(r.out, "received PUBACK") {
		t.Fatalf("connect after provisioning: %s", r)
	}
}

// Provisioning not run when the broker closes runs on the next connect.
func TestDelayedProvisioningAfterRestart(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnvWith(t, "admin", func(o *Options) { o.ProvisioningDelay = time.Hour })
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "Restart"})
	e.firstConnect(t, ca, dev, "anyclientID")
	if err := e.b.Close(); err != nil {
		t.Fatal(err)
	}
	e.start() // no delay
	e.provisioned(t, ca, dev)
}

// A role created a moment ago is not usable yet (IAM is eventually consistent); the store's
// clock decides when it is.
func TestNewRoleNotUsableYet(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var mu sync.Mutex
	clk := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	dir := filepath.Join(t.TempDir(), ".local-iot")
	st, err := store.Open(dir, store.Options{Account: testAccount, Region: testRegion, Now: clk, Latency: store.Latency{RoleUsable: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st}
	e.start()
	ca := newTestCA(t, "deviceRootCA")
	e.roleWith("JITPRole", nil, "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, walkthroughConfig(t, "admin"))
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "Fresh"})
	e.firstConnect(t, ca, dev, "anyclientID")
	if ev := e.wantPending(t, dev); ev.Error != "InvalidRequestException" || !strings.Contains(ev.Message, "AWS IoT cannot use it yet") || ev.Reason != store.ProvisionRoleNotReady {
		t.Fatalf("fresh role: %+v", ev)
	}
	mu.Lock()
	now = now.Add(10 * time.Second)
	mu.Unlock()
	e.provisioned(t, ca, dev)
}
