package ui

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps"
)

// TestWizardClosingSummary: the wizard's last screen opens on the closing banner and the
// summary under it — the round trip, the IDs and ARNs, the files — and scrolling down
// reaches the next commands; once the wizard has closed, the same summary is printed.
func TestWizardClosingSummary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	s := openWorkspace(t, dir)
	d := drive(t, realWizard(s, nil), 120, 40)
	enterThrough(t, d, "")
	if !d.m.Finished() {
		t.Fatalf("not finished:\n%s", d.screen())
	}
	dev := s.DeviceFor(steps.DefaultThing)
	scr := d.screen()
	for _, want := range []string{"All steps done", "What you have", "published and received as DemoThing", dev.CertID} {
		if !strings.Contains(scr, want) {
			t.Errorf("the last screen lacks %q:\n%s", want, scr)
		}
	}
	var seen strings.Builder
	for i := 0; i < 20 && !strings.Contains(seen.String(), "jitpwiz clean --dir"); i++ {
		d.press("pgdown")
		seen.WriteString(d.screen())
	}
	for _, want := range []string{"Next, by hand", "mosquitto_rr", "jitpwiz doctor --dir", "jitpwiz clean --dir", s.CA.RegisteredID} {
		if !strings.Contains(seen.String(), want) {
			t.Errorf("scrolling the last screen never shows %q:\n%s", want, seen.String())
		}
	}
	sum := d.m.Summary()
	for _, want := range []string{"all 13 steps done", "What you have", dev.CertARN, "Next, by hand", "mosquitto_rr ", "jitpwiz clean --dir"} {
		if !strings.Contains(sum, want) {
			t.Errorf("the summary printed after the wizard lacks %q:\n%s", want, sum)
		}
	}
}
