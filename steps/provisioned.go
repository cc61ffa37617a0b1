package steps

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// What JITP provisions for a device (steps 11–13, clean and the runner's last line): the
// registered template evaluated against the device certificate, and how long it may take.

// How long the first connect waits for JITP to activate the certificate: AWS usually needs
// 1–3 s; the embedded IoT Core provisions before it drops the connection.
const (
	ProvisionTimeoutAWS   = 30 * time.Second
	ProvisionTimeoutLocal = 5 * time.Second
)

// provisionTimeout is how long steps 11 and 12 wait for a certificate to turn ACTIVE.
func provisionTimeout(s *Session) time.Duration {
	if s.Options.Target == TargetLocal {
		return ProvisionTimeoutLocal
	}
	return ProvisionTimeoutAWS
}

// expectedPlan evaluates the registered template against the device certificate: what JITP
// should have created (with JITR: what the activate step makes).
func expectedPlan(s *Session, d *Device) (*template.Plan, error) {
	if s.Options.jitr() {
		return jitrPlan(s, d)
	}
	t, err := registeredTemplate(s)
	if err != nil {
		return nil, err
	}
	c, err := pki.LoadCertFile(s.Path(d.CertFile))
	if err != nil {
		return nil, err
	}
	return t.Evaluate(pki.JITPParameters(c))
}

// registeredTemplate is the template of the workspace's registration config (step 7's
// jitp_template.json), parsed.
func registeredTemplate(s *Session) (*template.Template, error) {
	b, err := os.ReadFile(s.Path(FileTemplate))
	if err != nil {
		return nil, fmt.Errorf("%s: %v — run step 7 again", FileTemplate, err)
	}
	rc, err := template.ParseRegistrationConfig(b)
	if err != nil {
		return nil, err
	}
	return template.Parse(rc.TemplateBody)
}

// templateThing is the thing the registered template makes for device d (its CN with the
// walkthrough's templates); the --thing option when that cannot be worked out yet.
func templateThing(s *Session, d *Device) string {
	if plan, err := expectedPlan(s, d); err == nil && plan.Thing != nil && plan.Thing.Name != "" {
		return plan.Thing.Name
	}
	return s.Options.Thing
}

// provisionedThing is the thing JITP made for device d: the name step 11 recorded, else (a
// record from before step 11 ran) templateThing.
func provisionedThing(s *Session, d *Device) string {
	if d.ProvisionedThing != "" {
		return d.ProvisionedThing
	}
	return templateThing(s, d)
}

// scopedPolicyDocument is the scoped template's policy document for this account and region
// (the named template's policy jitpwiz creates, and JITR's).
func scopedPolicyDocument(s *Session) (string, error) {
	rc, err := template.RenderConfig(template.Scoped, s.Region, s.Account, s.Role.ARN, "")
	if err != nil {
		return "", err
	}
	t, err := template.Parse(rc.TemplateBody)
	if err != nil {
		return "", err
	}
	// Any subject gives the same document: it names the thing by policy variable.
	plan, err := t.Evaluate(map[string]string{template.ParamCountry: "IN", template.ParamCommonName: "x", template.ParamID: strings.Repeat("0", 64)})
	if err != nil {
		return "", err
	}
	return plan.Policy.Document, nil
}

// jitrPlan is what activating a JITR certificate makes, in the shape of a template's plan so
// that verify, use and clean read one thing: the thing named by the certificate's CN, the
// certificate ACTIVE and the JITR policy attached.
func jitrPlan(s *Session, d *Device) (*template.Plan, error) {
	c, err := pki.LoadCertFile(s.Path(d.CertFile))
	if err != nil {
		return nil, err
	}
	doc, err := scopedPolicyDocument(s)
	if err != nil {
		return nil, err
	}
	return &template.Plan{
		Thing:       &template.ThingPlan{Name: c.Subject.CommonName},
		Certificate: &template.CertPlan{ID: pki.CertID(c), Status: aws.StatusActive},
		Policy:      &template.PolicyPlan{Name: JITRPolicyName, Document: doc},
	}, nil
}
