package ui

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/steps"
)

// enterThrough presses enter on each step — run it, then continue — until step stop is done
// (stop "" = to the end of the plan). A failed step fails the test with the screen.
func enterThrough(t *testing.T, d *driver, stop steps.ID) {
	t.Helper()
	for i := 0; i < 40; i++ {
		cur := d.m.Active()
		switch cur.State() {
		case steps.StateEditing:
			d.press("enter")
			d.until(string(cur.ID())+" to finish", func() bool {
				p := cur.State()
				return p == steps.StateDone || p == steps.StateFailed
			})
		case steps.StateFailed:
			t.Fatalf("step %s failed: %v\n%s", cur.ID(), cur.Err(), d.screen())
		case steps.StateDone:
			checkFits(t, d)
			if cur.ID() == stop {
				return
			}
			d.press("enter")
			d.until("the next step", func() bool { return d.m.Active() != cur || d.m.Finished() })
			if d.m.Finished() {
				return
			}
		}
	}
	t.Fatalf("enterThrough did not reach %q:\n%s", stop, d.screen())
}

// TestWizardWholeRun drives every step of the real plan by keystrokes against the embedded
// local IoT Core, quits in the middle, resumes in a new wizard, and ends with the device's
// own message received.
func TestWizardWholeRun(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs the whole procedure")
	}
	dir := filepath.Join(t.TempDir(), "ws")
	s := openWorkspace(t, dir)
	d := drive(t, realWizard(s, nil), 120, 40)
	if got := d.m.Active().ID(); got != steps.IDCAKey {
		t.Fatalf("a new workspace opens on %s", got)
	}
	enterThrough(t, d, steps.IDRegisterCA)
	// quit in the middle: q when no step runs leaves at once
	d.press("q")
	d.until("quit", func() bool { return d.quit })
	if sum := d.m.Summary(); !strings.Contains(sum, "8 of 13 steps done") {
		t.Errorf("summary = %q", sum)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, steps.SessionFile)); err != nil {
		t.Fatalf("session file: %v", err)
	}

	// resume: a new process would open the same workspace
	s2 := openWorkspace(t, dir)
	d2 := drive(t, realWizard(s2, nil), 120, 40)
	if got := d2.m.Active().ID(); got != steps.IDDeviceCert {
		t.Fatalf("resume opens %s, want %s", got, steps.IDDeviceCert)
	}
	scr := d2.screen()
	if !regexp.MustCompile(`✓ +8 Register CA`).MatchString(scr) || !regexp.MustCompile(`● +9 Device cert`).MatchString(scr) {
		t.Fatalf("sidebar after resume:\n%s", scr)
	}
	enterThrough(t, d2, "")
	if !d2.m.Finished() {
		t.Fatalf("not finished:\n%s", d2.screen())
	}
	final := d2.screen()
	if n := len(regexp.MustCompile(`(?m)^\s*✓ +\d{1,2} \S`).FindAllString(final, -1)); n != 13 {
		t.Errorf("%d steps ✓, want 13:\n%s", n, final)
	}
	if !strings.Contains(final, "published and received as DemoThing") {
		t.Errorf("final screen lacks the received message:\n%s", final)
	}
	if !steps.NewPlan(s2).Complete() {
		t.Error("session not complete")
	}
}

// checkFits fails when the active step draws a line wider than the content pane (the
// viewport would cut it: a box would lose its right edge).
func checkFits(t *testing.T, d *driver) {
	t.Helper()
	for i, l := range strings.Split(d.m.Active().View(), "\n") {
		if w := ansi.StringWidth(l); w > d.m.vp.Width {
			t.Errorf("step %s: line %d is %d wide, the pane %d: %q", d.m.Active().ID(), i+1, w, d.m.vp.Width, ansi.Strip(l))
		}
	}
}
