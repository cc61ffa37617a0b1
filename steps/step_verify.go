package steps

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 12: check what JITP created, with evidence.

func stepVerify() *step {
	return &step{
		id:        IDVerify,
		title:     "Verify",
		perDevice: true,
		explain: "Check what JITP created from your template: the device certificate is ACTIVE, the thing exists with the\n" +
			"template's attributes, the certificate is attached to the thing and a policy to the certificate.\n" +
			"Each line shows its evidence.",
		after: []ID{IDFirstConnect},
		inputs: func(s *Session) map[string]string {
			return map[string]string{"device certificate": s.Device().CertID, "thing": s.Options.Thing}
		},
		cmds: func(s *Session) []string {
			d := s.Device()
			id := firstNonEmpty(d.CertID, "<certificate ID>")
			arn := firstNonEmpty(d.CertARN, "<certificate ARN>")
			out := []string{
				s.awsCmd("iot", "describe-certificate", "--certificate-id", id),
				s.awsCmd("iot", "describe-thing", "--thing-name", s.provisionedThing(d)),
				s.awsCmd("iot", "list-thing-principals", "--thing-name", s.provisionedThing(d)),
				s.awsCmd("iot", "list-attached-policies", "--target", arn),
			}
			for _, p := range d.Policies {
				out = append(out, s.awsCmd("iot", "get-policy", "--policy-name", p))
			}
			return out
		},
		run: runVerify,
		result: func(s *Session) []ResultLine {
			return append([]ResultLine(nil), s.Device().Verify...)
		},
	}
}

// expectedPlan evaluates the registered template against the device certificate: what JITP
// should have created.
func (s *Session) expectedPlan(d *Device) (*template.Plan, error) {
	b, err := os.ReadFile(s.Path(FileTemplate))
	if err != nil {
		return nil, fmt.Errorf("%s: %v — run step 7 again", FileTemplate, err)
	}
	rc, err := template.ParseRegistrationConfig(b)
	if err != nil {
		return nil, err
	}
	t, err := template.Parse(rc.TemplateBody)
	if err != nil {
		return nil, err
	}
	c, err := pki.LoadCertFile(s.Path(d.CertFile))
	if err != nil {
		return nil, err
	}
	return t.Evaluate(pki.JITPParameters(c))
}

// provisionedThing is the thing the template makes for device d (its CN with the
// walkthrough's templates); the --thing option when that cannot be worked out yet.
func (s *Session) provisionedThing(d *Device) string {
	if plan, err := s.expectedPlan(d); err == nil && plan.Thing != nil && plan.Thing.Name != "" {
		return plan.Thing.Name
	}
	return s.Options.Thing
}

func runVerify(ctx context.Context, s *Session) (bool, error) {
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	d := s.Device()
	plan, err := s.expectedPlan(d)
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
	status, err := s.pollCertStatus(ctx, IDVerify, d.CertID, s.provisionTimeout())
	if err != nil {
		return false, err
	}
	want := aws.StatusActive
	if plan.Certificate != nil && plan.Certificate.Status != "" {
		want = plan.Certificate.Status
	}
	check("certificate "+want, fmt.Sprintf("describe-certificate %s: status %s", short(d.CertID), status), status == want)
	if status == aws.StatusPendingActivation {
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
				// certificate and leaves the existing thing's attributes alone.
				check("thing kept its attributes (it existed before this certificate)",
					"the template would set "+strings.Join(missing, ", ")+"; JITP does not change an existing thing unless OverrideSettings say REPLACE or MERGE", true)
			default:
				check("thing has the template's attributes", "missing or different: "+strings.Join(missing, ", "), false)
			}
		}
	}
	check("certificate attached to the thing", fmt.Sprintf("list-thing-principals %s: %d principal(s)%s", thingName, len(principals), map[bool]string{true: ", including this certificate", false: ""}[attached]), attached)

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
	ev := "list-attached-policies: " + strings.Join(shortAll(d.Policies), ", ")
	if len(d.Policies) == 0 {
		ev = "list-attached-policies: none"
	}
	check("policy attached to the certificate", ev, len(d.Policies) > 0 && hasWant)
	for _, name := range d.Policies {
		p, err := c.GetPolicy(ctx, name)
		if err != nil {
			return false, err
		}
		lines = append(lines, ResultLine{Kind: ResultDocument, Label: "policy " + short(name), Value: prettyJSON(p.Document), OK: true})
	}
	d.Verify = lines
	if fail > 0 {
		return false, fmt.Errorf("%d of the checks failed: %s — see the evidence; `jitpwiz doctor` explains the usual causes", fail, failedLabels(lines))
	}
	return false, nil
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

func shortAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = short(v)
	}
	return out
}

// pollCertStatus waits until the certificate is ACTIVE (or in a state JITP will not change,
// or the timeout passes), reporting each status through s.Report; it returns the last status.
func (s *Session) pollCertStatus(ctx context.Context, id ID, certID string, timeout time.Duration) (string, error) {
	c, err := s.requireClient()
	if err != nil {
		return "", err
	}
	last := ""
	d, obs, err := mqttprobe.WaitActive(ctx, c, certID, mqttprobe.PollOptions{Timeout: timeout, OnStatus: func(o mqttprobe.Observation) {
		if o.Status != last && o.Status != "" {
			s.report(Event{Step: id, Message: "certificate status: " + o.Status})
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
