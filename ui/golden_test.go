package ui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps"
)

// Golden screens: the program runs under teatest at a fixed size; once the screen shows what
// the test waits for, the program quits and FinalModel().View() is compared with
// testdata/<test>.golden (go test ./ui -run Golden -update rewrites them).

func waitScreen(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte(text))
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// requireGolden starts m in a width×height terminal, waits until it shows shown, and compares
// its screen with the test's golden file.
func requireGolden(t *testing.T, m tea.Model, width, height int, shown string) {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(width, height))
	waitScreen(t, tm, shown)
	golden.RequireEqual(t, finalScreen(t, tm))
}

func finalScreen(t *testing.T, tm *teatest.TestModel) []byte {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	out := ansi.Strip(m.View())
	lines := strings.Split(out, "\n")
	if len(lines) > m.height {
		t.Errorf("%d lines on a %d-line terminal", len(lines), m.height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > m.width {
			t.Errorf("line %d is %d cells wide on a %d-cell terminal: %q", i+1, w, m.width, l)
		}
	}
	return []byte(out)
}

func TestGoldenFirstStep(t *testing.T) {
	requireGolden(t, newTestModel(fourSteps(newWorld()), nil), 100, 30, "Country (2 letters)")
}

func TestGoldenErrorBanner(t *testing.T) {
	w := newWorld()
	plan := []steps.Step{
		&testStep{id: "one", title: "First step", w: w},
		&testStep{id: "reg", title: "Register CA", w: w, run: func(context.Context, func(steps.Event)) error {
			return &aws.Error{Kind: aws.KindCertificateValidation, Op: "RegisterCACertificate",
				Cause: "the verification certificate's Common Name is not this account's registration code",
				Fix:   "go back to step 5 and issue the verification certificate again with the current code"}
		}},
	}
	w.done["one"] = true
	tm := teatest.NewTestModel(t, newTestModel(plan, nil), teatest.WithInitialTermSize(100, 30))
	waitScreen(t, tm, "Register CA")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "Fix:")
	golden.RequireEqual(t, finalScreen(t, tm))
}

func TestGoldenCompact(t *testing.T) {
	w := newWorld()
	w.done["one"] = true
	requireGolden(t, newTestModel(fourSteps(w), nil), 70, 20, "Key type")
}

func TestGoldenRunning(t *testing.T) {
	w := newWorld()
	release := make(chan struct{})
	defer close(release)
	plan := []steps.Step{&testStep{id: "poll", title: "First connect", w: w, run: func(ctx context.Context, report func(steps.Event)) error {
		report(steps.Event{Message: "connected; publishing to foo/bar"})
		report(steps.Event{Line: &steps.ResultLine{Kind: steps.ResultCheck, Label: "connection dropped by the broker (expected)", OK: true}})
		report(steps.Event{Message: "certificate status PENDING_ACTIVATION"})
		select {
		case <-release:
		case <-ctx.Done():
		}
		return ctx.Err()
	}}}
	tm := teatest.NewTestModel(t, newTestModel(plan, nil), teatest.WithInitialTermSize(100, 30))
	waitScreen(t, tm, "First connect")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "PENDING_ACTIVATION")
	out := finalScreen(t, tm)
	if !strings.Contains(string(out), "* Running First connect") {
		t.Fatalf("spinner line missing:\n%s", out)
	}
	golden.RequireEqual(t, out)
}

// TestGoldenCAKey is the real plan's first screen in a new workspace (no back-end needed).
func TestGoldenCAKey(t *testing.T) {
	s := newSession(t, t.TempDir())
	requireGolden(t, realWizard(s, nil), 100, 30, "Key type")
}

// TestGoldenTemplatePreview shows the template step before it runs: the scoped variant's body
// pretty-printed with its policy decoded, then (scrolled down) its lint against the planned
// device subject. Account and role are fixed so the screen is the same on every machine.
func TestGoldenTemplatePreview(t *testing.T) {
	s := newSession(t, t.TempDir())
	s.Region, s.Account = "us-east-2", "123456789012"
	s.Role.ARN = "arn:aws:iam::123456789012:role/JITPRole"
	m := realWizard(s, nil)
	m.plan = m.plan[6:7] // the template step alone
	m.active = 0
	m.plan[0].Show()
	if m.Active().ID() != steps.IDTemplate {
		t.Fatalf("step 7 is %s", m.Active().ID())
	}
	t.Run("top", func(t *testing.T) {
		requireGolden(t, m, 100, 30, "Preview")
	})
	t.Run("lint", func(t *testing.T) {
		tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
		waitScreen(t, tm, "Preview")
		for i := 0; i < 6; i++ {
			tm.Send(tea.KeyMsg{Type: tea.KeyPgDown})
		}
		waitScreen(t, tm, "Lint against the planned device subject")
		out := finalScreen(t, tm)
		if !strings.Contains(string(out), "every parameter the template uses is in the device subject") {
			t.Fatalf("lint verdict missing:\n%s", out)
		}
		golden.RequireEqual(t, out)
	})
}

// TestGoldenCompactReal is the real first step on a 70×20 terminal: one column, the step list
// shrunk to a row of icons.
func TestGoldenCompactReal(t *testing.T) {
	s := newSession(t, t.TempDir())
	requireGolden(t, realWizard(s, nil), 70, 20, "Key type")
}

// TestGoldenQuitConfirm: q while a step runs asks before cancelling it.
func TestGoldenQuitConfirm(t *testing.T) {
	w := newWorld()
	release := make(chan struct{})
	defer close(release)
	plan := []steps.Step{&testStep{id: "reg", title: "Register CA", w: w, run: func(ctx context.Context, report func(steps.Event)) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return ctx.Err()
	}}}
	tm := teatest.NewTestModel(t, newTestModel(plan, nil), teatest.WithInitialTermSize(100, 30))
	waitScreen(t, tm, "Register CA")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "Running")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	waitScreen(t, tm, "Quit and cancel it?")
	golden.RequireEqual(t, finalScreen(t, tm))
}
