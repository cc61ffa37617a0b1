package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/stepstest"
)

// testStep is a small Step used only by these tests, to drive the shell through states the real
// plan reaches only with effort (a blocking action, a panic, a validation error). It embeds
// steps.Base, as every step does, and keeps its state in the world instead of a session.
type testStep struct {
	steps.Base
	id      steps.ID
	title   string
	skip    bool
	inputs  []steps.Field
	run     func(ctx context.Context, report func(steps.Event)) error
	w       *world
	results []steps.ResultLine
}

// world is the state the test steps share (the real steps keep theirs in the Session).
type world struct {
	mu     sync.Mutex
	done   map[steps.ID]bool
	values map[string]string
	runs   map[steps.ID]int
}

func newWorld() *world {
	return &world{done: map[steps.ID]bool{}, values: map[string]string{}, runs: map[steps.ID]int{}}
}

func (w *world) get(k string) string { w.mu.Lock(); defer w.mu.Unlock(); return w.values[k] }
func (w *world) set(k, v string)     { w.mu.Lock(); defer w.mu.Unlock(); w.values[k] = v }
func (w *world) isDone(id steps.ID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done[id]
}

func (t *testStep) ID() steps.ID               { return t.id }
func (t *testStep) Title() string              { return t.title }
func (t *testStep) Explain() string            { return "Explains " + t.title + " in plain words." }
func (t *testStep) Inputs() []steps.Field      { return t.inputs }
func (t *testStep) Result() []steps.ResultLine { return t.results }
func (t *testStep) Commands() []string {
	return []string{fmt.Sprintf("echo %s %s", t.id, t.w.get("country"))}
}
func (t *testStep) Skip() string {
	if t.skip {
		return "a test step that does not apply"
	}
	return ""
}
func (t *testStep) Status() steps.StepStatus {
	switch {
	case t.skip:
		return steps.StepStatus{State: steps.StateSkipped}
	case t.w.isDone(t.id):
		return steps.StepStatus{State: steps.StateDone}
	}
	return steps.StepStatus{State: steps.StatePending}
}
func (t *testStep) Run(ctx context.Context) error {
	t.w.mu.Lock()
	t.w.runs[t.id]++
	t.w.mu.Unlock()
	if t.run != nil {
		if err := t.run(ctx, t.Report); err != nil {
			return err
		}
	}
	t.w.mu.Lock()
	t.w.done[t.id] = true
	t.w.mu.Unlock()
	return nil
}

// countryField is a free-text input validated like the real one (2 upper-case letters).
func countryField(w *world) steps.Field {
	return steps.Field{
		Flag: "country", Label: "Country (2 letters)", Help: "ISO 3166 code, e.g. IN",
		Get: func() string {
			if v := w.get("country"); v != "" {
				return v
			}
			return "IN"
		},
		Set: func(v string) error {
			if len(v) != 2 || strings.ToUpper(v) != v {
				return fmt.Errorf("country %q must be 2 upper-case letters — use a code such as IN or US", v)
			}
			w.set("country", v)
			return nil
		},
	}
}

func keyTypeField(w *world) steps.Field {
	return steps.Field{
		Flag: "key-type", Label: "Key type",
		Choices: []steps.Option{{Value: "rsa", Label: "RSA 2048", Help: "what the walkthrough uses"}, {Value: "ec", Label: "EC P-256"}},
		Get: func() string {
			if v := w.get("key-type"); v != "" {
				return v
			}
			return "rsa"
		},
		Set: func(v string) error { w.set("key-type", v); return nil },
	}
}

// oneFrame is the spinner of every test: one frame, and a tick too slow to ever fire.
var oneFrame = spinner.Spinner{Frames: []string{"*"}, FPS: time.Hour}

// clip records what the wizard copied.
type clip struct {
	mu   sync.Mutex
	text []string
}

// copy records s and says where it went, as the real copy function does.
func (c *clip) copy(s string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.text = append(c.text, s)
	return "copied to the clipboard (the test's)", nil
}
func (c *clip) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.text) == 0 {
		return ""
	}
	return c.text[len(c.text)-1]
}

func newTestModel(plan []steps.Step, cp *clip) *Model {
	if cp == nil {
		cp = &clip{}
	}
	return New(Options{
		Plan: steps.PlanOf(plan...), Spinner: oneFrame, Copy: cp.copy,
		Header: "target test · workspace ./ws",
	})
}

// driver runs a root model by hand: it executes commands on goroutines, feeds their messages
// back, and waits for conditions with a deadline (never a sleep).
type driver struct {
	t    *testing.T
	m    *Model
	msgs chan tea.Msg
	quit bool
}

func drive(t *testing.T, m *Model, w, h int) *driver {
	t.Helper()
	d := &driver{t: t, m: m, msgs: make(chan tea.Msg, 256)}
	d.send(tea.WindowSizeMsg{Width: w, Height: h})
	return d
}

func (d *driver) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		if msg := cmd(); msg != nil {
			d.msgs <- msg
		}
	}()
}

func (d *driver) send(msg tea.Msg) {
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			d.exec(c)
		}
		return
	case tea.QuitMsg:
		d.quit = true
		return
	}
	_, cmd := d.m.Update(msg)
	d.exec(cmd)
}

// press sends keys by name ("enter", "esc", "q", "ctrl+c", ...) or typed text.
func (d *driver) press(keys ...string) {
	for _, k := range keys {
		d.send(stepstest.Key(k))
	}
}

// until feeds messages until cond holds, failing after a deadline.
func (d *driver) until(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case msg := <-d.msgs:
			d.send(msg)
		case <-deadline:
			d.t.Fatalf("timed out waiting for %s; screen:\n%s", what, d.screen())
		}
	}
}

func (d *driver) screen() string { return ansi.Strip(d.m.View()) }

// newSession is the session of a new workspace in dir, not connected to a back-end (what the
// screens before a step runs need).
func newSession(t *testing.T, dir string) *steps.Session {
	t.Helper()
	s, err := steps.Open(steps.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openWorkspace opens (or resumes) the session of dir on the embedded local IoT Core.
func openWorkspace(t *testing.T, dir string) *steps.Session {
	t.Helper()
	s, err := steps.Open(steps.Options{Dir: dir, Thing: steps.DefaultThing, Country: steps.DefaultCountry})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// realWizard is the wizard over the real plan, with the workspace path hidden from the screen.
func realWizard(s *steps.Session, cp *clip) *Model {
	if cp == nil {
		cp = &clip{}
	}
	dir := s.Dir()
	return New(Options{
		Plan: steps.NewPlan(s), Spinner: oneFrame, Copy: cp.copy,
		Header: "target local · ./ws",
		ShowPath: func(p string) string {
			if rel, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(rel, "..") {
				return rel
			}
			return p
		},
	})
}
