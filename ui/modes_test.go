package ui

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps"
)

// TestWizardJITR chooses JITR on the first screen by keystrokes, and the plan follows: the
// template step goes, the activate step (11a) comes, the role is skipped. Then every step
// runs by enter against the embedded local IoT Core: the first connect shows the registered
// event it received as an admin, the activation makes the certificate ACTIVE, and the device
// publishes as its thing.
func TestWizardJITR(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs the whole procedure")
	}
	s := openWorkspace(t, filepath.Join(t.TempDir(), "ws"))
	d := drive(t, realWizard(s, nil), 120, 40)
	scr := d.screen()
	if !strings.Contains(scr, "7 Template") || strings.Contains(scr, "Activate") {
		t.Fatalf("a new workspace opens in JITP mode:\n%s", scr)
	}
	d.press("tab", "tab", "j") // the onboarding choice, the CA key step's last field: JITR
	scr = d.screen()
	if s.Options.Mode != steps.ModeJITR || strings.Contains(scr, "7 Template") || !regexp.MustCompile(`11a Activate`).MatchString(scr) ||
		!regexp.MustCompile(`–\s+6 Provisioning role \(skipp`).MatchString(scr) {
		t.Fatalf("after choosing JITR (mode %q) the sidebar shows:\n%s", s.Options.Mode, scr)
	}
	enterThrough(t, d, steps.IDFirstConnect)
	scr = ansi.Strip(d.m.Active().View()) // the whole step, not only what the pane shows
	// (the topic and IDs wrap inside the pane; the event's lines are in its box)
	for _, want := range []string{"event on $aws/events/certificates/registered/", "registered event", `"certificateStatus": "PENDING_ACTIVATION"`, `"awsAccountId": "123456789012"`, "expected JITR behaviour"} {
		if !strings.Contains(strings.Join(strings.Fields(scr), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the first connect's screen lacks %q:\n%s", want, scr)
		}
	}
	desc, err := s.Client().DescribeCertificate(context.Background(), s.Device().CertID)
	if err != nil || desc.Status != aws.StatusPendingActivation {
		t.Fatalf("after the first connect: %v status %q, want PENDING_ACTIVATION", err, desc.Status)
	}
	enterThrough(t, d, "")
	if !d.m.Finished() {
		t.Fatalf("not finished:\n%s", d.screen())
	}
	final := d.screen()
	if n := len(regexp.MustCompile(`(?m)^\s*✓ +\d{1,2}a? \S`).FindAllString(final, -1)); n != 12 {
		t.Errorf("%d steps ✓, want 12 (13 less the skipped role):\n%s", n, final)
	}
	if !strings.Contains(final, "published and received as DemoThing") {
		t.Errorf("final screen lacks the received message:\n%s", final)
	}
	if !steps.NewPlan(s).Complete() {
		t.Error("session not complete")
	}
}

// TestGoldenEachStepJITR is TestGoldenEachStep for the steps JITR and SNI_ONLY adapt or add,
// on port 443: register CA (no template, SNI_ONLY), first connect (its expected outcome and
// the mosquitto_pub command with --tls-alpn) and activate (its commands), each before it runs.
func TestGoldenEachStepJITR(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs the whole procedure")
	}
	s, err := steps.Open(steps.Options{Dir: filepath.Join(t.TempDir(), "ws"), Thing: steps.DefaultThing, Country: steps.DefaultCountry,
		Mode: steps.ModeJITR, CAMode: steps.CAModeSNIOnly, Port: steps.Port443})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	shots := map[steps.ID]bool{steps.IDRegisterCA: true, steps.IDFirstConnect: true, steps.IDActivate: true}
	for _, st := range steps.NewPlan(s).Steps() {
		if st.Skip() != "" {
			continue
		}
		if shots[st.ID()] {
			name := steps.StepLabel(st.ID())
			if len(name) == 1 {
				name = "0" + name
			}
			t.Run(name+"-"+string(st.ID()), func(t *testing.T) { goldenStep(t, s, st) })
		}
		if err := st.Run(context.Background()); err != nil {
			t.Fatalf("step %s: %v", st.ID(), err)
		}
	}
}
