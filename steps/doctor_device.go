package steps

import (
	"cmp"
	"context"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// The doctor's checks of the device as the target knows it — its certificate's registration
// and status, its things and the other certificates on them, its policies for its client ID
// and topic — and of what it sends when it connects (the endpoint name as SNI, its chain);
// with --connect (and in a workspace) a connection as the device, explained by mqttprobe.
// A connection is the one thing doctor does that changes the target: a first connect runs
// JITP.

// checkDeviceRegistration: the device certificate's registration and status.
func (d *doctorRun) checkDeviceRegistration(ctx context.Context) {
	if d.dev == nil {
		return
	}
	s := d.s
	id := pki.CertID(d.dev)
	jitrLabel := i18n.T("doctor.device-registered.label-jitr")
	label := i18n.T("doctor.device-registered.label")
	if d.jitr {
		label = jitrLabel
	}
	desc, err := d.c.DescribeCertificate(ctx, id)
	switch {
	case aws.IsKind(err, aws.KindNotFound):
		d.devKnown = true
		if d.jitr && d.in.workspace {
			d.fail("device-registered", jitrLabel, i18n.T("doctor.device-registered.not-yet-jitr", i18n.Args{"ID": abbrev(id)}), CauseWorkspace,
				i18n.T("doctor.device-registered.why-connect"), "jitpwiz run --dir "+pki.ShellQuote(s.dir))
			return
		}
		d.skip("device-registered", label, i18n.T("doctor.device-registered.not-yet", i18n.Args{"ID": abbrev(id)}))
		for _, e := range d.eventsOf(id) {
			d.note(e)
		}
		return
	case err != nil:
		d.lookupFailed("device-registered", label, err)
		return
	}
	d.devKnown, d.devDesc = true, &desc
	short := i18n.T("doctor.device-registered.short", i18n.Args{"ID": abbrev(id)})
	switch desc.Status {
	case aws.StatusActive:
		ev := i18n.T("doctor.device-registered.active", i18n.Args{"CA": abbrev(desc.CAID)})
		d.pass("device-registered", label, ev)
	case aws.StatusPendingActivation:
		if d.jitr {
			why := i18n.T("doctor.device-registered.why-jitr")
			fix := d.activateFix(id, desc.ARN)
			if d.in.workspace {
				why += i18n.T("doctor.device-registered.why-jitr-workspace", i18n.Args{"Dir": pki.ShellQuote(s.dir)})
				fix = append([]string{"jitpwiz run --dir " + pki.ShellQuote(s.dir)}, fix...)
			}
			d.fail("device-registered", jitrLabel, i18n.T("doctor.device-registered.pending-jitr", i18n.Args{"Cert": short}), CauseJITRPending, why, fix...)
			return
		}
		log := d.eventsOf(id)
		cause := d.pendingCause(d.provisioningReasons(id))
		why := i18n.T("doctor.device-registered.why-pending")
		if cause == CauseTemplateFailed {
			why += i18n.T("doctor.device-registered.why-pending-cloudtrail")
		} else {
			why += i18n.T("doctor.device-registered.why-pending-above")
		}
		d.fail("device-registered", label, i18n.T("doctor.device-registered.pending", i18n.Args{"Cert": short}), cause, why+i18n.T("doctor.device-registered.why-pending-again"),
			d.connectFix("anyclientID", "foo/bar")...)
		for _, e := range log {
			d.note(e)
		}
	case aws.StatusInactive:
		d.fail("device-registered", label, i18n.T("doctor.device-registered.status", i18n.Args{"Cert": short, "Status": aws.StatusInactive}), CauseCertNotActive,
			i18n.T("doctor.device-registered.why-inactive"),
			awsCmd(s, "iot", "update-certificate", "--certificate-id", id, "--new-status", aws.StatusActive))
	case aws.StatusRevoked:
		fix := []string{}
		for _, t := range d.principalThings(ctx, desc.ARN) {
			fix = append(fix, awsCmd(s, "iot", "detach-thing-principal", "--thing-name", t, "--principal", desc.ARN))
		}
		fix = append(fix, awsCmd(s, "iot", "delete-certificate", "--certificate-id", id, "--force-delete"))
		d.fail("device-registered", label, i18n.T("doctor.device-registered.status", i18n.Args{"Cert": short, "Status": aws.StatusRevoked}), CauseCertNotActive,
			i18n.T("doctor.device-registered.why-revoked"), fix...)
	default:
		d.fail("device-registered", label, i18n.T("doctor.device-registered.status", i18n.Args{"Cert": short, "Status": desc.Status}), CauseCertNotActive,
			i18n.T("doctor.device-registered.why-other", i18n.Args{"Status": desc.Status}), awsCmd(s, "iot", "describe-certificate", "--certificate-id", id))
	}
	if desc.CAID != "" && d.caID != "" && desc.CAID != d.caID {
		d.note(i18n.T("doctor.device-registered.other-ca", i18n.Args{"CA": abbrev(desc.CAID), "Given": abbrev(d.caID)}))
	}
}

// pendingCause is why provisioning failed: a failed check above, or what the local IoT Core
// logged (the reasons of its RegisterThingFailed events).
func (d *doctorRun) pendingCause(reasons []string) Cause {
	for _, c := range []struct {
		id    string
		cause Cause
	}{{"template-parse", CauseTemplateEscaping}, {"template-parameters", CauseTemplateParameter}, {"provisioning-template", CauseTemplateResource},
		{"role", CauseRoleMissing}, {"role-trust", CauseRoleNotTrusted}, {"role-permissions", CauseRolePermissions},
		{"template-policies", CausePolicyMissing}, {"thing-type", CauseTemplateResource}, {"thing-groups", CauseTemplateResource}, {"billing-group", CauseTemplateResource}} {
		if d.failed(c.id) {
			return c.cause
		}
	}
	// The first reason of this list that any event gives decides.
	for _, c := range []struct {
		reasons []string
		cause   Cause
	}{
		{[]string{store.ProvisionUnresolvedRef}, CauseTemplateParameter},
		{[]string{store.ProvisionPolicyNotFound}, CausePolicyMissing},
		{[]string{store.ProvisionResourceNotFound}, CauseTemplateResource},
		{[]string{store.ProvisionRoleDenied}, CauseRolePermissions},
		{[]string{store.ProvisionRoleMissing}, CauseRoleMissing},
		{[]string{store.ProvisionRoleUntrusted, store.ProvisionRoleNotReady}, CauseRoleNotTrusted},
	} {
		for _, r := range c.reasons {
			if slices.Contains(reasons, r) {
				return c.cause
			}
		}
	}
	return CauseTemplateFailed
}

// activateFix activates a JITR certificate by hand, as the JITR guide's Lambda does: the
// thing, the policy, both attached, then ACTIVE.
func (d *doctorRun) activateFix(id, arn string) []string {
	s := d.s
	thing := d.thingOr(d.dev.Subject.CommonName)
	var out []string
	if thing != "" {
		out = append(out, awsCmd(s, "iot", "create-thing", "--thing-name", thing))
	}
	if doc, err := scopedPolicyDocument(s); err == nil {
		out = append(out, awsCmd(s, "iot", "create-policy", "--policy-name", JITRPolicyName, "--policy-document", doc))
	}
	out = append(out, awsCmd(s, "iot", "attach-policy", "--policy-name", JITRPolicyName, "--target", arn))
	if thing != "" {
		out = append(out, awsCmd(s, "iot", "attach-thing-principal", "--thing-name", thing, "--principal", arn))
	}
	return append(out, awsCmd(s, "iot", "update-certificate", "--certificate-id", id, "--new-status", aws.StatusActive))
}

// principalThings are the things a certificate is attached to (asked once).
func (d *doctorRun) principalThings(ctx context.Context, arn string) []string {
	if d.things == nil {
		ts, err := d.c.ListPrincipalThings(ctx, arn)
		if err != nil {
			return nil
		}
		d.things = append([]string{}, ts...)
	}
	return d.things
}

// checkThings: the certificate is attached to its thing, and no other certificate is.
func (d *doctorRun) checkThings(ctx context.Context) {
	if d.devDesc == nil || d.devDesc.Status != aws.StatusActive {
		return
	}
	s := d.s
	arn := d.devDesc.ARN
	things := d.principalThings(ctx, arn)
	want := d.thingOr("")
	label := i18n.T("doctor.thing.label")
	attach := func(t string) []string {
		if t == "" {
			return nil
		}
		return []string{awsCmd(s, "iot", "attach-thing-principal", "--thing-name", t, "--principal", arn)}
	}
	why := i18n.T("doctor.thing.why")
	switch {
	case len(things) == 0:
		d.fail("thing", label, i18n.T("doctor.thing.none", i18n.Args{"ID": abbrev(d.devDesc.ID)}), CauseNoThing, why, attach(want)...)
		return
	case want != "" && !slices.Contains(things, want):
		d.fail("thing", label, i18n.T("doctor.thing.other", i18n.Args{"Things": strings.Join(things, ", "), "Want": want}), CauseNoThing, why, attach(want)...)
		return
	}
	if want == "" {
		want = things[0]
		d.thing = want
	}
	ev := i18n.T("doctor.thing.evidence", i18n.Args{"Thing": want})
	if th := d.describeThing(ctx, want); th != nil && len(th.Attributes) > 0 {
		ev += " " + fmtAttrs(th.Attributes)
	}
	d.pass("thing", label, ev)
	principals, err := d.c.ListThingPrincipals(ctx, want)
	if err != nil {
		d.lookupFailed("other-certificates", i18n.T("doctor.other-certs.label", i18n.Args{"Thing": want}), err)
		return
	}
	var others, fix []string
	for _, p := range principals {
		if p == arn {
			continue
		}
		desc := p
		oid := p[strings.LastIndex(p, "/")+1:]
		if od, err := d.c.DescribeCertificate(ctx, oid); err == nil {
			desc = i18n.T("doctor.other-certs.desc", i18n.Args{"ID": abbrev(oid), "Status": od.Status})
		}
		others = append(others, desc)
		fix = append(fix, awsCmd(s, "iot", "detach-thing-principal", "--thing-name", want, "--principal", p),
			awsCmd(s, "iot", "update-certificate", "--certificate-id", oid, "--new-status", aws.StatusInactive))
	}
	if len(others) == 0 {
		d.pass("other-certificates", i18n.T("doctor.other-certs.label", i18n.Args{"Thing": want}), i18n.T("doctor.other-certs.only", i18n.Args{"ID": abbrev(d.devDesc.ID)}))
		return
	}
	d.fail("other-certificates", i18n.T("doctor.other-certs.label", i18n.Args{"Thing": want}), i18n.T("doctor.other-certs.also", i18n.Args{"Others": strings.Join(others, ", ")}), CauseOtherCertOnThing,
		i18n.T("doctor.other-certs.why", i18n.Args{"Thing": want}),
		fix...)
}

func fmtAttrs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// checkAttachedPolicies: a policy is attached to the certificate; with JITP, the device is
// then provisioned and its first connection's drop was the expected one.
func (d *doctorRun) checkAttachedPolicies(ctx context.Context) {
	if d.devDesc == nil || d.devDesc.Status != aws.StatusActive {
		return
	}
	s := d.s
	refs, err := d.c.ListAttachedPolicies(ctx, d.devDesc.ARN)
	label := i18n.T("doctor.policies.label")
	if err != nil {
		d.lookupFailed("attached-policies", label, err)
		return
	}
	var names []string
	for _, r := range refs {
		p, err := d.c.GetPolicy(ctx, r.Name)
		if err != nil {
			continue
		}
		d.policies = append(d.policies, p)
		names = append(names, r.Name)
	}
	if len(refs) == 0 {
		var fix []string
		if d.plan != nil && len(d.plan.Policies) > 0 {
			fix = []string{awsCmd(s, "iot", "attach-policy", "--policy-name", d.plan.Policies[0].Name, "--target", d.devDesc.ARN)}
		}
		d.fail("attached-policies", label, i18n.T("doctor.policies.none"), CauseNoPolicy, i18n.T("doctor.policies.why-none"), fix...)
		return
	}
	d.pass("attached-policies", label, strings.Join(names, ", "))
	if !d.jitr && d.body != "" && !d.failed("thing") {
		d.add(DoctorCheck{ID: "first-connect", Status: CheckPass, Label: i18n.T("doctor.first-connect.label"),
			Evidence: i18n.T("doctor.first-connect.evidence", i18n.Args{"Thing": d.thingOr("?"), "Policies": strings.Join(names, ", ")}),
			Cause:    CauseFirstConnectDrop,
			Why:      i18n.T("doctor.first-connect.why", i18n.Args{"Client": d.thingOr(i18n.T("doctor.first-connect.client-default"))})})
	}
}

// connectionPolicies are the policies the device's connections are authorized with, and the
// things attached: what is attached now, or — not provisioned yet — what the template makes.
func (d *doctorRun) connectionPolicies(ctx context.Context) ([]*policy.Document, map[string]policy.Thing) {
	var docs []*policy.Document
	things := map[string]policy.Thing{}
	if d.devDesc != nil && d.devDesc.Status == aws.StatusActive {
		for _, p := range d.policies {
			if doc, err := policy.Parse(p.Document); err == nil {
				doc.Name = p.Name
				docs = append(docs, doc)
			}
		}
		for _, t := range d.principalThings(ctx, d.devDesc.ARN) {
			pt := policy.Thing{Name: t}
			if th := d.describeThing(ctx, t); th != nil {
				pt.TypeName, pt.Attributes = th.TypeName, th.Attributes
			}
			things[t] = pt
		}
		return docs, things
	}
	if d.plan == nil {
		return nil, nil
	}
	for _, pp := range d.plan.Policies {
		switch {
		case pp.Parsed != nil:
			docs = append(docs, pp.Parsed)
		case !pp.Inline:
			if p, err := d.c.GetPolicy(ctx, pp.Name); err == nil {
				if doc, err := policy.Parse(p.Document); err == nil {
					doc.Name = p.Name
					docs = append(docs, doc)
				}
			}
		}
	}
	if t := d.plan.Thing; t != nil {
		things[t.Name] = policy.Thing{Name: t.Name, TypeName: t.TypeName, Attributes: t.Attributes}
	}
	return docs, things
}

// checkClientAndTopic: the policy lets the device connect with its client ID and use its topic.
func (d *doctorRun) checkClientAndTopic(ctx context.Context) {
	if d.dev == nil || (d.devDesc != nil && d.devDesc.Status != aws.StatusActive) {
		return
	}
	docs, things := d.connectionPolicies(ctx)
	if docs == nil {
		return
	}
	s := d.s
	client := cmp.Or(d.in.clientID, d.thing)
	if client == "" {
		return
	}
	pctx := policy.Context{Region: s.Region, Account: s.Account, ClientID: client, CertificateID: pki.CertID(d.dev), AttachedThings: things}
	pctx.SetCertificate(d.dev)
	eval := func(action, resource string) policy.Decision {
		return policy.Evaluate(docs, pctx, policy.Request{Action: action, Resource: resource})
	}
	label := i18n.T("doctor.client-id.label", i18n.Args{"Client": client})
	if dec := eval("iot:Connect", policy.ClientARN(s.Region, s.Account, client)); !dec.Allowed {
		if d.thing != "" && client != d.thing {
			d.fail("client-id", label, dec.Explain, CauseClientID,
				i18n.T("doctor.client-id.why", i18n.Args{"Client": client, "Thing": d.thing}), d.connectFix(d.thing, d.thing+"/test")...)
		} else {
			d.fail("client-id", label, dec.Explain, CauseConnectDenied,
				i18n.T("doctor.client-id.why-denied"),
				awsCmd(s, "iot", "get-policy", "--policy-name", cmp.Or(docs[0].Name, "<policy>")))
		}
	} else {
		d.pass("client-id", label, dec.Explain)
	}
	topic := d.in.topic
	if topic == "" {
		d.skip("topic", i18n.T("doctor.topic.label-any"), i18n.T("doctor.topic.not-given"))
		return
	}
	label = i18n.T("doctor.topic.label", i18n.Args{"Topic": topic, "Client": client})
	var denied []string
	var explain string
	for _, r := range []policy.Request{
		{Action: "iot:Publish", Resource: policy.TopicARN(s.Region, s.Account, topic)},
		{Action: "iot:Subscribe", Resource: policy.TopicFilterARN(s.Region, s.Account, topic)},
		{Action: "iot:Receive", Resource: policy.TopicARN(s.Region, s.Account, topic)},
	} {
		if dec := eval(r.Action, r.Resource); !dec.Allowed {
			denied = append(denied, r.Action)
			if explain == "" {
				explain = dec.Explain
			}
		}
	}
	if len(denied) == 0 {
		d.pass("topic", label, i18n.T("doctor.topic.allowed"))
		return
	}
	why := i18n.T("doctor.topic.why")
	fix := []string{awsCmd(s, "iot", "get-policy", "--policy-name", cmp.Or(docs[0].Name, "<policy>"))}
	if d.thing != "" {
		alt := d.thing + "/" + topic[strings.LastIndex(topic, "/")+1:]
		if alt != topic && eval("iot:Publish", policy.TopicARN(s.Region, s.Account, alt)).Allowed {
			why += i18n.T("doctor.topic.why-alt", i18n.Args{"Thing": d.thing, "Alt": alt})
			fix = d.connectFix(client, alt)
		} else {
			why += i18n.T("doctor.topic.why-change")
		}
	}
	d.fail("topic", label, i18n.T("doctor.topic.denied", i18n.Args{"Actions": strings.Join(denied, ", "), "Explain": explain}), CauseTopic, why, fix...)
}

// checkConnect (--connect, and a workspace): a connection as the device, explained by
// mqttprobe; the device's own topic used once connected.
func (d *doctorRun) checkConnect(ctx context.Context) {
	if d.dev == nil {
		return
	}
	s := d.s
	client := cmp.Or(d.in.clientID, d.thing, d.dev.Subject.CommonName)
	o := mqttprobe.Options{Host: cmp.Or(d.in.mqttHost, s.Endpoint.Host), Port: s.Endpoint.Port, Addr: s.Endpoint.Addr,
		CertFile: d.in.devFile, KeyFile: d.in.devKeyFile, ClientID: client}
	if d.in.workspace {
		o = probeOptions(s, d.in.devFile, client)
	} else {
		if d.in.mqttGiven {
			o.Port, o.Addr = d.in.mqttPort, ""
		}
		if d.in.serverCAFile != "" {
			o.CAFile = d.in.serverCAFile
		} else {
			o.CAPEM = s.serverRoot
		}
		if o.Port == 443 || d.in.alpn443 {
			o.ALPN = []string{mqttprobe.ALPN}
		}
	}
	label := i18n.T("doctor.connect.label", i18n.Args{"Client": client, "Host": o.Host})
	if d.in.devKeyFile == "" || d.devKey == nil {
		d.skip("connect", label, i18n.T("doctor.connect.no-key"))
		return
	}
	id := pki.CertID(d.dev)
	before := ""
	switch {
	case d.devKnown && d.devDesc == nil:
		before = mqttprobe.StatusNotRegistered
	case d.devDesc != nil:
		before = d.devDesc.Status
	}
	outcome := mqttprobe.Probe(ctx, o)
	f := mqttprobe.Facts{Outcome: &outcome, Options: o, Chain: d.chain, CACert: d.ca, ThingName: d.thing, Region: s.Region, StatusBefore: before}
	if outcome.Class == mqttprobe.ClassDropped && !d.jitr && (before == mqttprobe.StatusNotRegistered || before == aws.StatusPendingActivation) {
		// A first connect: JITP provisions now (AWS: within seconds). Wait for it.
		d.loadEvents(ctx)
		if desc, _, err := mqttprobe.WaitActive(ctx, d.c, id, mqttprobe.PollOptions{Timeout: provisionTimeout(s),
			Failed: func() []string { d.loadEvents(ctx); return d.eventsOf(id) }}); err == nil && desc != nil {
			f.CertChecked, f.CertFound, f.Cert = true, true, desc
		}
	}
	d.loadEvents(ctx)
	f.ProvisioningErrors = d.eventsOf(id)
	mqttprobe.Gather(ctx, d.c, &f)
	dg := mqttprobe.Diagnose(f)
	why := dg.String()
	if d.jitr && dg.Class == mqttprobe.DiagCertPending {
		why = i18n.T("doctor.connect.pending-jitr", i18n.Args{"Class": string(dg.Class)})
	}
	c := DoctorCheck{ID: "connect", Label: label, Evidence: why, Notes: dg.Evidence}
	switch {
	case dg.OK || outcome.OK():
		c.Status = CheckPass
		if dg.Class == mqttprobe.DiagExpectedDrop {
			c.Cause = CauseFirstConnectDrop
			c.Why = i18n.T("doctor.connect.why-first")
		}
	default:
		c.Status = CheckFail
		c.Cause = d.diagCause(dg.Class)
		c.Why = dg.Cause
		if d.jitr && dg.Class == mqttprobe.DiagCertPending {
			c.Why = i18n.T("doctor.connect.why-jitr")
		}
		c.Fix = d.connectFix(cmp.Or(d.thing, client), cmp.Or(d.in.topic, d.thingOr(client)+"/test"))
	}
	d.add(c)
	if c.Status != CheckPass || dg.Class == mqttprobe.DiagExpectedDrop || d.in.topic == "" {
		return
	}
	res := mqttprobe.Use(ctx, o, d.in.topic, 0)
	if res.OK() {
		d.pass("connect-topic", i18n.T("doctor.connect-topic.label", i18n.Args{"Topic": d.in.topic, "Client": client}), i18n.T("doctor.connect-topic.ok", i18n.Args{"RTT": fmtDur(res.RTT)}))
		return
	}
	ug := mqttprobe.Diagnose(mqttprobe.Facts{Use: &res, Options: o, ThingName: d.thing, Region: s.Region})
	d.add(DoctorCheck{ID: "connect-topic", Status: CheckFail, Label: i18n.T("doctor.connect-topic.label", i18n.Args{"Topic": d.in.topic, "Client": client}), Evidence: ug.String(),
		Cause: d.diagCause(ug.Class), Why: ug.Cause, Notes: ug.Evidence, Fix: d.connectFix(client, d.thingOr(client)+"/test")})
}

// diagCause maps mqttprobe's diagnosis to a named cause.
func (d *doctorRun) diagCause(c mqttprobe.DiagClass) Cause {
	switch c {
	case mqttprobe.DiagExpectedDrop:
		return CauseFirstConnectDrop
	case mqttprobe.DiagNoSNI:
		if len(d.chain) == 1 {
			return CauseNoSNINoChain
		}
		return CauseNoSNI
	case mqttprobe.DiagWrongSNI, mqttprobe.DiagWrongRegion, mqttprobe.DiagWrongEndpointName:
		return CauseRegionEndpoint
	case mqttprobe.DiagWrongServerCA:
		return CauseServerCA
	case mqttprobe.DiagClientIDMismatch:
		return CauseClientID
	case mqttprobe.DiagConnectDenied:
		return CauseConnectDenied
	case mqttprobe.DiagTopicDenied:
		return CauseTopic
	case mqttprobe.DiagCertPending:
		if d.jitr {
			return CauseJITRPending
		}
		return d.pendingCause(d.provisioningReasons(pki.CertID(d.dev)))
	case mqttprobe.DiagCertNotActive:
		return CauseCertNotActive
	case mqttprobe.DiagCANotRegistered:
		return CauseCANotRegistered
	case mqttprobe.DiagCAInactive:
		return CauseCAInactive
	case mqttprobe.DiagAutoRegOff:
		return CauseAutoRegistration
	case mqttprobe.DiagOtherCA:
		return CauseOtherCA
	case mqttprobe.DiagConfig:
		return CauseInput
	}
	if d.dev != nil && pki.CheckValidity(d.dev, d.s.Now()) != nil {
		return CauseValidity
	}
	return CauseConnect
}

// eventsOf are the local IoT Core's words about a certificate that explain a failure:
// refused connections, failed provisioning, denied actions (the last five).
func (d *doctorRun) eventsOf(certID string) []string {
	var out []string
	for _, ev := range d.failureEvents(certID) {
		line := i18n.T("doctor.events.line", i18n.Args{"Time": ev.Time.UTC().Format(time.TimeOnly), "Kind": ev.Kind, "Message": ev.Message})
		if ev.Error != "" {
			line += " (" + ev.Error + ")"
		}
		if why := ev.Params["why"]; why != "" {
			line += " — " + why
		}
		out = append(out, line)
	}
	return out
}

// provisioningReasons are the reasons of the certificate's failures eventsOf shows.
func (d *doctorRun) provisioningReasons(certID string) []string {
	var out []string
	for _, ev := range d.failureEvents(certID) {
		if ev.Reason != "" {
			out = append(out, ev.Reason)
		}
	}
	return out
}

// failureEvents are the certificate's last five refusals and failures in the event log.
func (d *doctorRun) failureEvents(certID string) []store.Event {
	var out []store.Event
	for _, ev := range d.events {
		if ev.CertID != certID {
			continue
		}
		switch ev.Kind {
		case store.EventConnectRefused, store.EventProvisioningFailed, store.EventAuthorizationFailure:
			out = append(out, ev)
		}
	}
	if len(out) > 5 {
		out = out[len(out)-5:]
	}
	return out
}

// checkEndpoint: the device connects to this account's endpoint of the CA's region, by its
// name (sent as SNI), and — without SNI — with the CA in its chain (AWS refuses it anyway).
func (d *doctorRun) checkEndpoint() {
	ep := d.s.Endpoint.Host
	host := cmp.Or(d.in.mqttHost, ep)
	if host == "" {
		d.skip("mqtt-endpoint", i18n.T("doctor.endpoint.label"), i18n.T("doctor.endpoint.unknown"))
		return
	}
	ip := net.ParseIP(strings.Trim(host, "[]")) != nil
	where := host
	if d.in.mqttPort != 0 {
		where = net.JoinHostPort(host, strconv.Itoa(d.in.mqttPort))
	}
	switch {
	case !d.in.mqttGiven:
		d.pass("mqtt-endpoint", i18n.T("doctor.endpoint.label"), i18n.T("doctor.endpoint.describe", i18n.Args{"Endpoint": ep}))
	case ip:
		d.pass("mqtt-endpoint", i18n.T("doctor.endpoint.label"), i18n.T("doctor.endpoint.ip", i18n.Args{"Where": where}))
	case ep != "" && !strings.EqualFold(host, ep):
		r := mqttprobe.EndpointRegion(host)
		why := i18n.T("doctor.endpoint.why-other", i18n.Args{"Host": host, "Region": d.s.Region, "Endpoint": ep})
		if r != "" && r != d.s.Region {
			why = i18n.T("doctor.endpoint.why-region", i18n.Args{"Other": r, "Region": d.s.Region, "Endpoint": ep})
		}
		fix := d.connectFix(d.thingOr("anyclientID"), "foo/bar")
		if fix == nil {
			fix = []string{awsCmd(d.s, "iot", "describe-endpoint", "--endpoint-type", "iot:Data-ATS")}
		}
		d.fail("mqtt-endpoint", i18n.T("doctor.endpoint.label"), i18n.T("doctor.endpoint.mismatch", i18n.Args{"Where": where, "Region": d.s.Region, "Endpoint": ep}), CauseRegionEndpoint, why, fix...)
	default:
		d.pass("mqtt-endpoint", i18n.T("doctor.endpoint.label"), where)
	}
	if d.dev == nil {
		return
	}
	sniOnly := d.in.sniOnly || (d.caDesc != nil && d.caDesc.CertificateMode == "SNI_ONLY")
	leafOnly := len(d.chain) == 1
	label := i18n.T("doctor.sni.label")
	if !ip {
		ev := i18n.T("doctor.sni.evidence", i18n.Args{"Host": host})
		if leafOnly {
			ev += i18n.T("doctor.sni.leaf-only", i18n.Args{"File": d.name(d.in.devFile)})
		}
		d.pass("sni", label, ev)
		return
	}
	ev := i18n.T("doctor.sni.ip", i18n.Args{"Host": host})
	why := i18n.T("doctor.sni.why", i18n.Args{"Endpoint": cmp.Or(ep, i18n.T("doctor.sni.from-describe"))})
	cause := CauseNoSNI
	if leafOnly {
		ev += i18n.T("doctor.sni.ip-leaf", i18n.Args{"File": d.name(d.in.devFile)})
		why += i18n.T("doctor.sni.why-leaf")
		cause = CauseNoSNINoChain
	} else {
		why += i18n.T("doctor.sni.why-chain")
	}
	if sniOnly {
		why += i18n.T("doctor.sni.why-sni-only")
	}
	fix := d.connectFix(d.thingOr("anyclientID"), "foo/bar")
	if leafOnly && d.in.devFile != "" && !d.in.workspace {
		base := strings.TrimSuffix(d.name(d.in.devFile), filepath.Ext(d.name(d.in.devFile)))
		fix = append(fix, pki.BundleCommand(d.name(d.in.devFile), d.name(d.in.caFile), base+"AndCA.crt").Line)
	}
	d.fail("sni", label, ev, cause, why+i18n.T("doctor.sni.why-fix"), fix...)
}

// connectFix is the walkthrough's mosquitto_pub with the device's files, to the account's
// endpoint by name, as clientID on topic.
func (d *doctorRun) connectFix(clientID, topic string) []string {
	if d.in.devFile == "" {
		return nil
	}
	key := d.name(cmp.Or(d.in.devKeyFile, strings.TrimSuffix(d.in.devFile, filepath.Ext(d.in.devFile))+".key"))
	ca := pki.FileServerRootCA
	switch {
	case d.in.serverCAFile != "":
		ca = d.name(d.in.serverCAFile)
	case !d.in.workspace && d.s.serverRootPath != "":
		ca = d.s.serverRootPath // the local IoT Core's root CA
	}
	return []string{mosquittoPubWith(d.s, ca, d.name(d.in.devFile), key, topic, clientID, "Hello")}
}
