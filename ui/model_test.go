package ui

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/muesli/termenv"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	code := m.Run()
	removeBuilt()
	os.Exit(code)
}

// fourSteps is a small plan: a text input, a skipped step, a list input, a plain step.
func fourSteps(w *world) []steps.Step {
	return []steps.Step{
		&testStep{id: "one", title: "First step", w: w, inputs: []steps.Field{countryField(w)},
			results: []steps.ResultLine{{Kind: steps.ResultFile, Label: "key", Value: "ws/one.key"}}},
		&testStep{id: "two", title: "Skipped step", w: w, skip: true},
		&testStep{id: "three", title: "Choice step", w: w, inputs: []steps.Field{keyTypeField(w)}},
		&testStep{id: "four", title: "Last step", w: w,
			results: []steps.ResultLine{{Kind: steps.ResultCheck, Label: "message received", Value: "on DemoThing/test", OK: true}}},
	}
}

func TestWalkThroughPlanSkipsAndFinishes(t *testing.T) {
	w := newWorld()
	d := drive(t, newTestModel(fourSteps(w), nil), 100, 30)
	if got := d.m.Active().ID(); got != "one" {
		t.Fatalf("starts on %s, want one", got)
	}
	d.press("enter")
	d.until("step one done", func() bool { return d.m.Active().State() == steps.StateDone })
	if !strings.Contains(d.screen(), "ws/one.key") {
		t.Fatalf("result not shown:\n%s", d.screen())
	}
	d.press("enter")
	d.until("move to step three", func() bool { return d.m.Active().ID() == "three" })
	if w.runs["two"] != 0 {
		t.Fatal("skipped step ran")
	}
	if !strings.Contains(d.screen(), "Skipped step (skipped)") {
		t.Fatalf("sidebar does not mark the skipped step:\n%s", d.screen())
	}
	// j moves the list selection; the choice reaches the session through Field.Set
	d.press("j")
	if got := w.get("key-type"); got != "ec" {
		t.Fatalf("key type = %q, want ec", got)
	}
	d.press("enter")
	d.until("step three done", func() bool { return d.m.Active().State() == steps.StateDone })
	d.press("enter")
	d.until("step four", func() bool { return d.m.Active().ID() == "four" })
	d.press("enter")
	d.until("step four done", func() bool { return d.m.Active().State() == steps.StateDone })
	d.press("enter")
	d.until("finished", d.m.Finished)
	scr := d.screen()
	for _, want := range []string{"✓ message received", "All steps done", "✓  1 First step", "✓  4 Last step"} {
		if !strings.Contains(scr, want) {
			t.Errorf("final screen lacks %q:\n%s", want, scr)
		}
	}
	d.press("enter")
	d.until("quit", func() bool { return d.quit })
}

func TestBackAndResume(t *testing.T) {
	w := newWorld()
	w.done["one"] = true // an earlier run finished step one
	d := drive(t, newTestModel(fourSteps(w), nil), 100, 30)
	if got := d.m.Active().ID(); got != "three" {
		t.Fatalf("resume opens %s, want three (first applicable step not done)", got)
	}
	d.press("esc")
	d.until("back to one (two is skipped)", func() bool { return d.m.Active().ID() == "one" })
	if !strings.Contains(d.screen(), "reused") {
		t.Fatalf("a step done earlier should say it is reused:\n%s", d.screen())
	}
	d.press("shift+tab") // nothing before step one
	d.press("enter")
	d.until("forward to three", func() bool { return d.m.Active().ID() == "three" })
}

func TestValidationRefusesToRun(t *testing.T) {
	w := newWorld()
	d := drive(t, newTestModel(fourSteps(w), nil), 100, 30)
	// the country input has focus: q, r, c and ? are text, not shortcuts
	d.press("backspace", "backspace", "q")
	if d.quit || d.m.confirmQuit {
		t.Fatal("q in a text input must not quit")
	}
	if !strings.Contains(d.screen(), "must be 2 upper-case letters") {
		t.Fatalf("inline validation error not shown:\n%s", d.screen())
	}
	d.press("enter")
	if d.m.Active().State() != steps.StateEditing || w.runs["one"] != 0 {
		t.Fatal("an invalid input must keep the step from running")
	}
	d.send(steps.NextMsg{From: "one"}) // even a direct request to advance is refused
	if d.m.Active().ID() != "one" {
		t.Fatal("root advanced past invalid inputs")
	}
	d.press("backspace", "U", "S")
	if strings.Contains(d.screen(), "must be 2 upper-case letters") {
		t.Fatalf("error should clear once valid:\n%s", d.screen())
	}
	d.press("enter")
	d.until("done", func() bool { return d.m.Active().State() == steps.StateDone })
	if got := w.get("country"); got != "US" {
		t.Fatalf("country = %q, want US", got)
	}
	if !strings.Contains(d.screen(), "echo one US") {
		t.Fatalf("command box should show the value:\n%s", d.screen())
	}
}

func TestBusyStepBlocksNavigationAndQuitCancels(t *testing.T) {
	w := newWorld()
	release := make(chan struct{})
	cancelled := make(chan struct{})
	plan := []steps.Step{&testStep{id: "slow", title: "Slow step", w: w, run: func(ctx context.Context, report func(steps.Event)) error {
		report(steps.Event{Message: "waiting for the broker"})
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			close(cancelled)
			return ctx.Err()
		}
	}}, &testStep{id: "after", title: "After", w: w}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	d.press("enter")
	d.until("progress event shown", func() bool { return strings.Contains(d.screen(), "waiting for the broker") })
	scr := d.screen()
	if !d.m.Busy() || !strings.Contains(scr, "* Running Slow step") {
		t.Fatalf("expected the spinner while running:\n%s", scr)
	}
	if strings.Contains(scr, "esc back") || strings.Contains(scr, "enter run") {
		t.Fatalf("back/run must be hidden while busy:\n%s", scr)
	}
	d.press("esc", "enter")
	d.send(steps.NextMsg{From: "slow"})
	if d.m.Active().ID() != "slow" || !d.m.Busy() {
		t.Fatal("navigation must be refused while busy")
	}
	d.press("q")
	if !d.m.confirmQuit || !strings.Contains(d.screen(), "Quit and cancel it?") {
		t.Fatalf("q while busy must ask:\n%s", d.screen())
	}
	d.press("n")
	if d.m.confirmQuit || d.quit {
		t.Fatal("n must keep running")
	}
	d.press("ctrl+c", "y")
	d.until("step context cancelled", func() bool {
		select {
		case <-cancelled:
			return true
		default:
			return false
		}
	})
	d.until("quit after the step returned", func() bool { return d.quit })
	close(release)
}

func TestBusyStepReleasesToResult(t *testing.T) {
	w := newWorld()
	release := make(chan struct{})
	plan := []steps.Step{&testStep{id: "slow", title: "Slow step", w: w,
		results: []steps.ResultLine{{Kind: steps.ResultValue, Label: "certificate ID", Value: "abc123"}},
		run:     func(ctx context.Context, report func(steps.Event)) error { <-release; return nil }}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	d.press("enter")
	d.until("running", d.m.Busy)
	close(release)
	d.until("result", func() bool { return strings.Contains(d.screen(), "certificate ID: abc123") })
	if !d.m.c.Keys.Back.Enabled() || !d.m.c.Keys.Run.Enabled() {
		t.Fatal("bindings must be re-enabled after the run")
	}
}

func TestErrorBannerRetry(t *testing.T) {
	w := newWorld()
	fail := true
	plan := []steps.Step{&testStep{id: "reg", title: "Register CA", w: w, run: func(context.Context, func(steps.Event)) error {
		if fail {
			fail = false
			return &aws.Error{Kind: aws.KindAlreadyExists, Op: "RegisterCACertificate",
				Cause: "this CA certificate is already registered in the account",
				Fix:   "reuse it (the wizard found its ID) or delete it first"}
		}
		return nil
	}}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	d.press("enter")
	d.until("banner", func() bool { return d.m.Active().State() == steps.StateFailed })
	checkFits(t, d)
	scr := d.screen()
	for _, want := range []string{"✗ Register CA failed", "RegisterCACertificate: this CA certificate is already registered", "Fix: reuse it", "✗  1 Register CA"} {
		if !strings.Contains(scr, want) {
			t.Errorf("banner lacks %q:\n%s", want, scr)
		}
	}
	d.press("r")
	d.until("retry succeeds", func() bool { return d.m.Active().State() == steps.StateDone })
	if w.runs["reg"] != 2 {
		t.Fatalf("runs = %d, want 2", w.runs["reg"])
	}
}

func TestPanicInStepBecomesBanner(t *testing.T) {
	w := newWorld()
	plan := []steps.Step{&testStep{id: "boom", title: "Boom", w: w, run: func(context.Context, func(steps.Event)) error {
		var m map[string]int
		m["x"] = 1 // a bug in a step
		return nil
	}}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	d.press("enter")
	d.until("banner", func() bool { return d.m.Active().State() == steps.StateFailed })
	var pe *steps.PanicError
	if !errors.As(d.m.Active().Err(), &pe) {
		t.Fatalf("err = %v, want PanicError", d.m.Active().Err())
	}
	if scr := d.screen(); !strings.Contains(scr, "stopped unexpectedly") || strings.Contains(scr, "goroutine") {
		t.Fatalf("panic must be a plain banner, no stack:\n%s", scr)
	}
	d.press("esc") // dismiss the banner: back to the inputs
	if d.m.Active().State() != steps.StateEditing {
		t.Fatal("esc should dismiss the banner")
	}
}

func TestCopyCommand(t *testing.T) {
	w := newWorld()
	cp := &clip{}
	plan := []steps.Step{&testStep{id: "three", title: "Choice step", w: w, inputs: []steps.Field{keyTypeField(w)}}}
	d := drive(t, newTestModel(plan, cp), 100, 30)
	d.press("c")
	d.until("copied", func() bool { return strings.Contains(d.screen(), "copied to the clipboard") })
	if got := cp.last(); got != "echo three " {
		t.Fatalf("copied %q", got)
	}
}

func TestLayouts(t *testing.T) {
	cases := []struct {
		name          string
		w, h          int
		want, notWant []string
	}{
		{"full", 100, 30, []string{"○  4 Last step", "Explains First step", "enter run"}, nil},
		// the step's number and the last one's, as the sidebar and the title number them
		{"compact", 70, 20, []string{"jitpwiz ●–○○ 1/4", "First step · step 1 of 4", "Explains First step"}, []string{"4 Last step"}},
		{"notice", 50, 10, []string{"jitpwiz needs at least 60×15"}, []string{"First step"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := drive(t, newTestModel(fourSteps(newWorld()), nil), tc.w, tc.h)
			scr := d.screen()
			for _, s := range tc.want {
				if !strings.Contains(scr, s) {
					t.Errorf("missing %q:\n%s", s, scr)
				}
			}
			for _, s := range tc.notWant {
				if strings.Contains(scr, s) {
					t.Errorf("unexpected %q:\n%s", s, scr)
				}
			}
			lines := strings.Split(scr, "\n")
			if len(lines) > tc.h {
				t.Errorf("%d lines for a %d-line terminal", len(lines), tc.h)
			}
			for i, l := range lines {
				if n := lipgloss.Width(l); n > tc.w {
					t.Errorf("line %d is %d wide (terminal %d): %q", i, n, tc.w, l)
				}
			}
		})
	}
}

func TestHelpToggle(t *testing.T) {
	w := newWorld()
	plan := []steps.Step{&testStep{id: "three", title: "Choice step", w: w, inputs: []steps.Field{keyTypeField(w)}}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	if strings.Contains(d.screen(), "pgup/pgdn") {
		t.Fatal("full help shown before ?")
	}
	d.press("?")
	if !strings.Contains(d.screen(), "pgup/pgdn") {
		t.Fatalf("? should show full help:\n%s", d.screen())
	}
	if n := len(strings.Split(d.screen(), "\n")); n > 30 {
		t.Fatalf("with full help the screen has %d lines on a 30-line terminal", n)
	}
}

func TestLongResultScrolls(t *testing.T) {
	w := newWorld()
	var doc []string
	for i := 1; i <= 60; i++ {
		doc = append(doc, "line "+strconv.Itoa(i))
	}
	plan := []steps.Step{&testStep{id: "doc", title: "Document step", w: w,
		results: []steps.ResultLine{{Kind: steps.ResultDocument, Label: "policy", Value: strings.Join(doc, "\n")}}}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	d.press("enter")
	d.until("done", func() bool { return d.m.Active().State() == steps.StateDone })
	// the result first: its "Done" and the start of the document, and a sign that more follows
	if scr := d.screen(); !strings.Contains(scr, "✓ Done") || !strings.Contains(scr, "line 1\n") && !strings.Contains(scr, "line 1 ") ||
		strings.Contains(scr, "line 60") || !strings.Contains(scr, "↓ more below · lines 1–") {
		t.Fatalf("after the run the result should show from its start, with more below:\n%s", scr)
	}
	d.press("pgdown", "pgdown", "pgdown")
	if scr := d.screen(); !strings.Contains(scr, "line 60") || !strings.Contains(scr, "↑ more above") {
		t.Fatalf("pgdown should reach the end:\n%s", scr)
	}
	for i := 0; i < 80; i++ {
		d.press("k")
	}
	if scr := d.screen(); !strings.Contains(scr, "Explains Document step") || strings.Contains(scr, "line 60") {
		t.Fatalf("k should scroll back to the top:\n%s", scr)
	}
	// the mouse wheel scrolls too (three lines a notch, bubbles' default)
	for i := 0; i < 30; i++ {
		d.send(tea.MouseMsg{Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	}
	if scr := d.screen(); !strings.Contains(scr, "line 60") {
		t.Fatalf("the wheel should reach the end:\n%s", scr)
	}
	for i := 0; i < 10; i++ {
		d.send(tea.MouseMsg{Button: tea.MouseButtonWheelUp, Action: tea.MouseActionPress})
	}
	if scr := d.screen(); strings.Contains(scr, "line 60") {
		t.Fatalf("the wheel up should scroll back:\n%s", scr)
	}
}

// TestChoiceThatSkipsTheStepMovesOn: an input that makes the active step not apply (as
// bringing your own CA does for the CA steps) moves the wizard to the next step that applies.
func TestChoiceThatSkipsTheStepMovesOn(t *testing.T) {
	w := newWorld()
	byo := &testStep{id: "ca", title: "CA key", w: w, inputs: []steps.Field{{
		Flag: "ca", Label: "CA",
		Choices: []steps.Option{{Value: "new", Label: "generate new"}, {Value: "existing", Label: "use existing files"}},
		Get:     func() string { return "new" },
		Set:     func(v string) error { w.set("ca", v); return nil },
	}}}
	plan := []steps.Step{byo, &testStep{id: "next", title: "Next step", w: w}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	byo.skip = false
	d.press("j") // choose "use existing files"
	if w.get("ca") != "existing" {
		t.Fatal("choice not stored")
	}
	byo.skip = true // the step's Skip now reports true, as for a supplied CA
	d.press("k", "j")
	if d.m.Active().ID() != "next" {
		t.Fatalf("active = %s, want next:\n%s", d.m.Active().ID(), d.screen())
	}
	if !strings.Contains(d.screen(), "CA key (skipped)") {
		t.Fatalf("sidebar should mark the step skipped:\n%s", d.screen())
	}
}

// TestResizeWhileRunning: the terminal may change size at any time, even mid-step.
func TestResizeWhileRunning(t *testing.T) {
	w := newWorld()
	release := make(chan struct{})
	plan := []steps.Step{&testStep{id: "slow", title: "Slow step", w: w, run: func(ctx context.Context, report func(steps.Event)) error {
		<-release
		return nil
	}}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	d.press("enter")
	d.until("running", d.m.Busy)
	for _, sz := range []struct {
		w, h int
		want string
	}{{70, 20, "jitpwiz ● 1/1"}, {50, 10, "needs at least"}, {120, 40, "●  1 Slow step"}} {
		d.send(tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
		scr := d.screen()
		if !strings.Contains(scr, sz.want) {
			t.Fatalf("at %dx%d want %q:\n%s", sz.w, sz.h, sz.want, scr)
		}
		for i, l := range strings.Split(scr, "\n") {
			if lipgloss.Width(l) > sz.w {
				t.Fatalf("at %dx%d line %d is %d wide", sz.w, sz.h, i, lipgloss.Width(l))
			}
		}
	}
	close(release)
	d.until("done", func() bool { return d.m.Active().State() == steps.StateDone })
	if !strings.Contains(d.screen(), "✓  1 Slow step") {
		t.Fatalf("after resizes the result shows at the new size:\n%s", d.screen())
	}
}

// TestListKeepsValueFromElsewhere: a list whose current value is not one of its options (a
// template file given with --template) shows that value first and keeps it.
func TestListKeepsValueFromElsewhere(t *testing.T) {
	w := newWorld()
	w.set("key-type", "/home/me/my_template.json")
	plan := []steps.Step{&testStep{id: "t", title: "Template", w: w, inputs: []steps.Field{keyTypeField(w)}}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	if !strings.Contains(d.screen(), "(●) /home/me/my_template.json") {
		t.Fatalf("current value not offered first:\n%s", d.screen())
	}
	d.press("enter")
	d.until("done", func() bool { return d.m.Active().State() == steps.StateDone })
	if got := w.get("key-type"); got != "/home/me/my_template.json" {
		t.Fatalf("value replaced by %q", got)
	}
}

// TestDependentDefaultFollowsChoice: choosing an option that sets another input's default
// (the named template sets the policy name) shows that default in the other input.
func TestDependentDefaultFollowsChoice(t *testing.T) {
	w := newWorld()
	variant := steps.Field{Flag: "template", Label: "Template",
		Choices: []steps.Option{{Value: "scoped", Label: "scoped"}, {Value: "named", Label: "named"}},
		Get: func() string {
			if v := w.get("template"); v != "" {
				return v
			}
			return "scoped"
		},
		Set: func(v string) error {
			w.set("template", v)
			if v == "named" {
				w.set("policy", "JITPDevicePolicy")
			}
			return nil
		}}
	policy := steps.Field{Flag: "policy", Label: "Policy name",
		Get: func() string { return w.get("policy") },
		Set: func(v string) error {
			if v == "" {
				return errors.New("policy name is empty — enter a name")
			}
			w.set("policy", v)
			return nil
		}}
	plan := []steps.Step{&testStep{id: "t", title: "Template", w: w, inputs: []steps.Field{variant, policy}}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	d.press("j")
	if !strings.Contains(d.screen(), "> JITPDevicePolicy") {
		t.Fatalf("the policy input should show the new default:\n%s", d.screen())
	}
	d.press("enter")
	d.until("done", func() bool { return d.m.Active().State() == steps.StateDone })
}

// TestRedoDoneStep: r on a finished step shows its inputs again; a changed input and enter
// run it once more.
func TestRedoDoneStep(t *testing.T) {
	w := newWorld()
	w.done["one"] = true
	d := drive(t, newTestModel(fourSteps(w)[:1], nil), 100, 30)
	if d.m.Active().State() != steps.StateDone || !strings.Contains(d.screen(), "r redo") {
		t.Fatalf("a done step offers r redo:\n%s", d.screen())
	}
	d.press("r")
	if d.m.Active().State() != steps.StateEditing || !strings.Contains(d.screen(), "Country (2 letters)") {
		t.Fatalf("r should show the inputs:\n%s", d.screen())
	}
	d.press("backspace", "backspace", "U", "S", "enter")
	d.until("run again", func() bool { return d.m.Active().State() == steps.StateDone })
	if w.runs["one"] != 1 || w.get("country") != "US" {
		t.Fatalf("runs=%d country=%q", w.runs["one"], w.get("country"))
	}
}

// TestGotoOnlyReachedSteps: Goto shows a step already reached, and refuses one beyond the
// first step not done yet.
func TestGotoOnlyReachedSteps(t *testing.T) {
	w := newWorld()
	w.done["one"] = true
	d := drive(t, newTestModel(fourSteps(w), nil), 100, 30)
	if d.m.Active().ID() != "three" {
		t.Fatalf("starts on %s", d.m.Active().ID())
	}
	d.send(steps.GotoMsg{ID: "four"})
	if d.m.Active().ID() != "three" || !strings.Contains(d.screen(), "Last step is not available yet") {
		t.Fatalf("goto a step not reached must be refused:\n%s", d.screen())
	}
	d.send(steps.GotoMsg{ID: "two"})
	if d.m.Active().ID() != "three" {
		t.Fatal("goto a skipped step must be refused")
	}
	d.send(steps.GotoMsg{ID: "one"})
	if d.m.Active().ID() != "one" {
		t.Fatalf("goto a done step: active = %s", d.m.Active().ID())
	}
}

// TestTooSmallRunsNothing: on a terminal below 60×15 only quitting works.
func TestTooSmallRunsNothing(t *testing.T) {
	w := newWorld()
	d := drive(t, newTestModel(fourSteps(w), nil), 50, 10)
	d.press("enter")
	if d.m.Busy() || w.runs["one"] != 0 {
		t.Fatal("enter ran a step on a screen too small to show it")
	}
	d.press("q")
	d.until("quit", func() bool { return d.quit })
}
