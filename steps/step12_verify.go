package steps

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 12: check what JITP created, with evidence.
type verifyStep struct{ Base }

func (*verifyStep) ID() ID        { return IDVerify }
func (*verifyStep) Title() string { return i18n.T("step12.title") }
func (st *verifyStep) Explain() string {
	if st.s.Options.jitr() {
		return i18n.T("step12.explain-jitr")
	}
	return i18n.T("step12.explain")
}

func (st *verifyStep) record() record {
	s := st.s
	return record{
		perDevice: true,
		after:     []ID{IDFirstConnect, IDActivate},
		inputs:    map[string]string{"device certificate": s.Device().CertID, "thing": s.Options.Thing},
	}
}

func (st *verifyStep) Commands() []string {
	s := st.s
	d := s.Device()
	id := cmp.Or(d.CertID, "<certificate ID>")
	arn := cmp.Or(d.CertARN, "<certificate ARN>")
	thing := provisionedThing(s, d)
	out := []string{
		awsCmd(s, "iot", "describe-certificate", "--certificate-id", id),
		awsCmd(s, "iot", "describe-thing", "--thing-name", thing),
		awsCmd(s, "iot", "list-thing-principals", "--thing-name", thing),
		awsCmd(s, "iot", "list-attached-policies", "--target", arn),
	}
	for _, p := range d.Policies {
		out = append(out, awsCmd(s, "iot", "get-policy", "--policy-name", p))
	}
	return out
}

func (st *verifyStep) Result() []ResultLine {
	return append([]ResultLine(nil), st.s.Device().Verify...)
}

func (st *verifyStep) Summary() string {
	d := st.s.Device()
	ok, n := 0, 0
	for _, l := range d.Verify {
		if l.Kind == ResultCheck {
			n++
			if l.OK {
				ok++
			}
		}
	}
	return i18n.T("step12.summary", i18n.Args{"OK": ok, "N": n, "Policies": strings.Join(abbrevAll(d.Policies), ", ")})
}

func (st *verifyStep) act(ctx context.Context) (bool, error) {
	s := st.s
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	d := s.Device()
	plan, err := expectedPlan(s, d)
	if err != nil {
		return false, err
	}
	var lines []ResultLine
	fail := 0
	check := func(label, evidence string, ok bool) {
		lines = append(lines, checkLine(label, evidence, ok))
		if !ok {
			fail++
		}
	}

	// 1. certificate ACTIVE (poll: provisioning may still be running).
	status, err := st.pollCertStatus(ctx, d.CertID, provisionTimeout(s))
	if err != nil {
		return false, err
	}
	want := aws.StatusActive
	if plan.Certificate != nil && plan.Certificate.Status != "" {
		want = plan.Certificate.Status
	}
	check(i18n.T("step12.check.cert", i18n.Args{"Status": want}), i18n.T("step12.ev.cert", i18n.Args{"ID": abbrev(d.CertID), "Status": status}), status == want)
	switch {
	case status == aws.StatusPendingActivation && s.Options.jitr():
		lines = append(lines, noteLine(i18n.T("step12.note.pending-jitr")))
	case status == aws.StatusPendingActivation:
		lines = append(lines, noteLine(i18n.T("step12.note.pending")))
	}

	// 2. thing exists with the template's attributes; 3. certificate attached to the thing.
	thingName := s.Options.Thing
	if plan.Thing != nil && plan.Thing.Name != "" {
		thingName = plan.Thing.Name
	}
	principals, err := c.ListThingPrincipals(ctx, thingName)
	if err != nil && !aws.IsKind(err, aws.KindNotFound) {
		return false, err
	}
	attached, others := false, 0
	for _, p := range principals {
		if p == d.CertARN || strings.HasSuffix(p, "/"+d.CertID) {
			attached = true
		} else {
			others++
		}
	}
	th, err := c.DescribeThing(ctx, thingName)
	switch {
	case aws.IsKind(err, aws.KindNotFound):
		check(i18n.T("step12.check.thing", i18n.Args{"Thing": thingName}), i18n.T("step12.ev.thing-not-found"), false)
	case err != nil:
		return false, err
	default:
		check(i18n.T("step12.check.thing", i18n.Args{"Thing": thingName}), "describe-thing: "+th.ARN, true)
		if plan.Thing != nil {
			var wantAttrs []string
			for k, v := range plan.Thing.Attributes {
				wantAttrs = append(wantAttrs, k+"="+v)
			}
			sort.Strings(wantAttrs)
			var missing []string
			for k, v := range plan.Thing.Attributes {
				if th.Attributes[k] != v {
					missing = append(missing, fmt.Sprintf("%s=%q (got %q)", k, v, th.Attributes[k]))
				}
			}
			sort.Strings(missing)
			attrs := i18n.T("step12.check.attrs")
			switch {
			case len(missing) == 0 && len(wantAttrs) == 0:
				check(attrs, i18n.T("step12.ev.no-attrs"), true)
			case len(missing) == 0:
				check(attrs, i18n.T("step12.ev.attrs", i18n.Args{"Attrs": strings.Join(wantAttrs, ", ")}), true)
			case others > 0:
				// The thing was provisioned before by another certificate: JITP attaches the new
				// certificate and leaves the existing thing's attributes alone — so the thing does
				// not say what this device's certificate says.
				check(attrs, i18n.T("step12.ev.attrs-existing", i18n.Args{"Missing": strings.Join(missing, ", ")}), false)
			default:
				check(attrs, i18n.T("step12.ev.attrs-missing", i18n.Args{"Missing": strings.Join(missing, ", ")}), false)
			}
		}
	}
	check(i18n.T("step12.check.attached"), i18n.T("step12.ev.principals", i18n.Args{"Thing": thingName, "N": len(principals), "Including": attached}), attached)
	lines = append(lines, st.otherCerts(ctx, c, d, thingName, principals)...)

	// 4. policy attached to the certificate, and shown.
	pols, err := c.ListAttachedPolicies(ctx, d.CertARN)
	if err != nil {
		return false, err
	}
	d.Policies = nil
	for _, p := range pols {
		d.Policies = append(d.Policies, p.Name)
	}
	wantPolicy := ""
	if plan.Policy != nil {
		wantPolicy = plan.Policy.Name
	}
	hasWant := wantPolicy == ""
	for _, p := range d.Policies {
		if p == wantPolicy {
			hasWant = true
		}
	}
	ev := "list-attached-policies: " + strings.Join(abbrevAll(d.Policies), ", ")
	if len(d.Policies) == 0 {
		ev = i18n.T("step12.ev.no-policies")
	}
	check(i18n.T("step12.check.policy"), ev, len(d.Policies) > 0 && hasWant)
	for _, name := range d.Policies {
		p, err := c.GetPolicy(ctx, name)
		if err != nil {
			return false, err
		}
		lines = append(lines, ResultLine{Kind: ResultDocument, Label: i18n.T("step12.result.policy", i18n.Args{"Policy": abbrev(name)}), Value: prettyJSON(p.Document), OK: true})
	}
	d.Verify = lines
	if fail > 0 {
		return false, i18n.NewError("step12.err.failed", i18n.Args{"N": fail, "Failed": failedLabels(lines)})
	}
	return false, nil
}

// otherCerts lists the certificates attached to the thing besides the device's own, with
// their status; one still ACTIVE is flagged: its key can still connect as the thing.
func (st *verifyStep) otherCerts(ctx context.Context, c aws.Client, d *Device, thing string, principals []string) []ResultLine {
	s := st.s
	var out []ResultLine
	for _, p := range principals {
		if p == d.CertARN || strings.HasSuffix(p, "/"+d.CertID) {
			continue
		}
		id := p[strings.LastIndex(p, "/")+1:]
		status := i18n.T("step12.other.status-unknown")
		desc, err := c.DescribeCertificate(ctx, id)
		switch {
		case err == nil:
			status = desc.Status
		case aws.IsKind(err, aws.KindNotFound):
			status = i18n.T("step12.other.not-found")
		}
		whose := i18n.T("step12.other.not-ours")
		if slices.ContainsFunc(d.EarlierCerts, func(e CertRecord) bool { return e.CertID == id }) {
			whose = i18n.T("step12.other.earlier")
		}
		out = append(out, noteLine(i18n.T("step12.other.attached", i18n.Args{"Thing": thing, "ID": id, "Status": status, "Whose": whose})))
		if status == aws.StatusActive {
			out = append(out, ResultLine{Kind: ResultNote, Label: i18n.T("step07.result.warning"), OK: false,
				Value: i18n.T("step12.other.active", i18n.Args{"ID": abbrev(id), "Thing": thing,
					"Command": awsCmd(s, "iot", "update-certificate", "--certificate-id", id, "--new-status", aws.StatusInactive)})})
		}
	}
	return out
}

func failedLabels(lines []ResultLine) string {
	var out []string
	for _, l := range lines {
		if l.Kind == ResultCheck && !l.OK {
			out = append(out, l.Label+" ("+l.Value+")")
		}
	}
	return strings.Join(out, "; ")
}

// pollCertStatus waits until the certificate is ACTIVE (or in a state JITP will not change,
// or the timeout passes), reporting each new status as progress; it returns the last status.
func (st *verifyStep) pollCertStatus(ctx context.Context, certID string, timeout time.Duration) (string, error) {
	c, err := st.s.requireClient()
	if err != nil {
		return "", err
	}
	last := ""
	d, obs, err := mqttprobe.WaitActive(ctx, c, certID, mqttprobe.PollOptions{Timeout: timeout, OnStatus: func(o mqttprobe.Observation) {
		if o.Status != last && o.Status != "" {
			st.Report(Event{Message: i18n.T("step11.status", i18n.Args{"Status": o.Status})})
			last = o.Status
		}
	}})
	if err := checkContext(ctx); err != nil {
		return "", err
	}
	if d != nil {
		return d.Status, nil
	}
	if len(obs) > 0 && obs[len(obs)-1].Status != "" {
		return obs[len(obs)-1].Status, nil
	}
	return "", err
}
