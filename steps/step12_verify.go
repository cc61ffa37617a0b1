package steps

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
)

// Step 12: check what JITP created, with evidence.
type verifyStep struct{ Base }

func (*verifyStep) ID() ID        { return IDVerify }
func (*verifyStep) Title() string { return "Verify" }
func (st *verifyStep) Explain() string {
	if st.s.Options.jitr() {
		return "Check what the activation made: the device certificate is ACTIVE, the thing named by its CN exists,\n" +
			"the certificate is attached to the thing and the JITR policy to the certificate.\n" +
			"Each line shows its evidence."
	}
	return "Check what JITP created from your template: the device certificate is ACTIVE, the thing exists with the\n" +
		"template's attributes, the certificate is attached to the thing and a policy to the certificate.\n" +
		"Each line shows its evidence."
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
	id := firstNonEmpty(d.CertID, "<certificate ID>")
	arn := firstNonEmpty(d.CertARN, "<certificate ARN>")
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
	return fmt.Sprintf("%d/%d checks ✓ (policy %s)", ok, n, strings.Join(abbrevAll(d.Policies), ", "))
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
	check("certificate "+want, fmt.Sprintf("describe-certificate %s: status %s", abbrev(d.CertID), status), status == want)
	switch {
	case status == aws.StatusPendingActivation && s.Options.jitr():
		lines = append(lines, noteLine("PENDING_ACTIVATION: JITR registered the certificate and nothing activated it — run step 11a (activate), or deploy the topic rule + Lambda it writes"))
	case status == aws.StatusPendingActivation:
		lines = append(lines, noteLine("PENDING_ACTIVATION means the template could not be applied: a parameter missing from the certificate subject, a missing policy, or a role problem"))
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
		check("thing "+thingName+" exists", "describe-thing: not found", false)
	case err != nil:
		return false, err
	default:
		check("thing "+thingName+" exists", "describe-thing: "+th.ARN, true)
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
			switch {
			case len(missing) == 0 && len(wantAttrs) == 0:
				check("thing has the template's attributes", "the template sets no attributes", true)
			case len(missing) == 0:
				check("thing has the template's attributes", "attributes "+strings.Join(wantAttrs, ", "), true)
			case others > 0:
				// The thing was provisioned before by another certificate: JITP attaches the new
				// certificate and leaves the existing thing's attributes alone — so the thing does
				// not say what this device's certificate says.
				check("thing has the template's attributes", "missing or different: "+strings.Join(missing, ", ")+
					" — the thing existed before this certificate (provisioned for an earlier one), and JITP does not change an existing thing unless OverrideSettings say REPLACE or MERGE; to provision it afresh, remove it (`jitpwiz clean`) and run again", false)
			default:
				check("thing has the template's attributes", "missing or different: "+strings.Join(missing, ", "), false)
			}
		}
	}
	check("certificate attached to the thing", fmt.Sprintf("list-thing-principals %s: %d principal(s)%s", thingName, len(principals), map[bool]string{true: ", including this certificate", false: ""}[attached]), attached)
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
		ev = "list-attached-policies: none"
	}
	check("policy attached to the certificate", ev, len(d.Policies) > 0 && hasWant)
	for _, name := range d.Policies {
		p, err := c.GetPolicy(ctx, name)
		if err != nil {
			return false, err
		}
		lines = append(lines, ResultLine{Kind: ResultDocument, Label: "policy " + abbrev(name), Value: prettyJSON(p.Document), OK: true})
	}
	d.Verify = lines
	if fail > 0 {
		return false, fmt.Errorf("%d of the checks failed: %s — see the evidence; `jitpwiz doctor` explains the usual causes", fail, failedLabels(lines))
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
		status := "status unknown"
		desc, err := c.DescribeCertificate(ctx, id)
		switch {
		case err == nil:
			status = desc.Status
		case aws.IsKind(err, aws.KindNotFound):
			status = "not found"
		}
		whose := "not issued by this workspace"
		if slices.ContainsFunc(d.EarlierCerts, func(e CertRecord) bool { return e.ID == id }) {
			whose = "an earlier certificate of this device, replaced when it was re-issued"
		}
		out = append(out, noteLine(fmt.Sprintf("also attached to %s: certificate %s — %s, %s", thing, id, status, whose)))
		if status == aws.StatusActive {
			out = append(out, ResultLine{Kind: ResultNote, Label: "warning", OK: false,
				Value: fmt.Sprintf("warning: certificate %s is still ACTIVE and attached to %s: its key can still connect as the thing — set it INACTIVE (%s), or remove it with `jitpwiz clean`",
					abbrev(id), thing, awsCmd(s, "iot", "update-certificate", "--certificate-id", id, "--new-status", aws.StatusInactive))})
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
			st.Report(Event{Message: "certificate status: " + o.Status})
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
