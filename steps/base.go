package steps

import (
	"context"
	"fmt"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// Step is one documented step of the plan, as one value: what it is (ID, Title, Explain),
// what it asks (Inputs), would run by hand (Commands), does (Run) and made (Result), and the
// step's model in the wizard (Update, View, State). Each step file defines a type that embeds
// Base, which gives the common part — the bookkeeping around Run, the wizard's chrome and the
// state machine — so a step writes only what is its own.
type Step interface {
	ID() ID
	Title() string
	// Explain says what the step does and why, in 2–4 short lines.
	Explain() string
	// Inputs are the values the user may set before Run, with defaults and validation.
	Inputs() []Field
	// Commands are the equivalent commands a user could run by hand, with their values.
	Commands() []string
	// Skip says why the step does not apply to this workspace ("" when it does), e.g. the CA
	// steps when the user brings a CA.
	Skip() string
	// Status is where the step stands in the session (pending, redo, done or skipped).
	Status() StepStatus
	// Run performs the step and saves the session; progress goes to whoever listens.
	Run(ctx context.Context) error
	// Result describes what the step produced, for display (files, IDs, evidence).
	Result() []ResultLine
	// Summary is the step's key result on one line (the runner's step line).
	Summary() string

	// The step in the wizard: a model the root drives and draws.
	Update(tea.Msg) (Step, tea.Cmd)
	View() string
	State() StepState
	Show()  // the wizard shows the step
	Leave() // the wizard shows another step
	Sync()  // the session may have changed
	SetPosition(Position)
	// Flash is the step's transient line for the footer (what a copy did), "" when none.
	Flash() string
	Typing() bool
	Invalid() map[string]string
	Err() error
	ShortHelp() []key.Binding

	base() *Base
}

// Shared is what the wizard gives every step (soft-serve's common.Common): the context it
// cancels when it quits, styles and keys, how paths show and commands are copied. ui builds
// it once and attaches it to the plan (Plan.Attach); nothing here is global. The headless
// runner attaches none.
type Shared struct {
	Ctx    context.Context
	Styles *theme.Styles
	Keys   *theme.KeyMap
	// Spinner is the spinner shown while a step runs (tests use a one-frame spinner).
	Spinner spinner.Spinner
	// Copy puts text on the user's clipboard (OSC 52 in the real program) and says in plain
	// words where it went ("" for the steps' own wording).
	Copy func(text string) (string, error)
	// ShowPath turns a file path into what the screen shows (e.g. relative to the current dir).
	ShowPath func(path string) string
	// Log receives debug lines (a file with --debug, otherwise discarded). May be nil.
	Log *log.Logger
	// Display, when set, rewrites run-specific text (commands, results, progress) before it is
	// laid out; golden tests use it to put fixed placeholders in place of IDs and ports.
	Display func(string) string
	// MouseCaptured, when set, says that the wizard has the mouse now (for the wheel): the
	// terminal then selects text only with Shift held, which the command box says.
	MouseCaptured func() bool
}

func (c *Shared) display(s string) string {
	if c.Display == nil {
		return s
	}
	return c.Display(s)
}

func (c *Shared) Logf(format string, args ...any) {
	if c != nil && c.Log != nil {
		c.Log.Printf(format, args...)
	}
}

func (c *Shared) path(p string) string {
	if c.ShowPath == nil {
		return p
	}
	return c.ShowPath(p)
}

// Event is progress reported by a running step (e.g. "cert status PENDING_ACTIVATION").
type Event struct {
	Step    ID
	Message string
	Line    *ResultLine // optional structured line
}

// Routing messages. A step never changes which step is active: it returns one of these and
// the root model in ui/ moves (and refuses when it should).
type (
	// NextMsg asks to move to the next step that applies.
	NextMsg struct{ From ID }
	// PrevMsg asks to move back to the previous step that applies.
	PrevMsg struct{ From ID }
	// GotoMsg asks to show step ID.
	GotoMsg struct{ ID ID }
)

// Next, Prev and Goto are commands returning the routing messages.
func Next(from ID) tea.Cmd { return func() tea.Msg { return NextMsg{From: from} } }
func Prev(from ID) tea.Cmd { return func() tea.Msg { return PrevMsg{From: from} } }
func Goto(id ID) tea.Cmd   { return func() tea.Msg { return GotoMsg{ID: id} } }

// Plan is the ordered steps of one workspace (NewPlan), or of steps of one's own (PlanOf).
// A workspace's plan holds the steps of every mode; Steps are those of the session's mode
// now (the wizard's mode choice changes them while it runs).
type Plan struct {
	s   *Session
	all []Step
	// in says whether a step is in the plan for the session's options now (nil: all are).
	in func(Step) bool
}

// PlanOf makes a plan of the given steps, each embedding Base (tests drive the wizard so).
func PlanOf(sts ...Step) *Plan { return newPlan(nil, sts...) }

func newPlan(s *Session, sts ...Step) *Plan {
	p := &Plan{s: s, all: sts}
	for _, st := range sts {
		b := st.base()
		b.self, b.plan, b.s = st, p, s
	}
	return p
}

// Steps are the plan's steps in order, for the session's mode.
func (p *Plan) Steps() []Step {
	if p.in == nil {
		return p.all
	}
	out := make([]Step, 0, len(p.all))
	for _, st := range p.all {
		if p.in(st) {
			out = append(out, st)
		}
	}
	return out
}

// Lookup returns the step with this ID, or nil (also for a step of another mode).
func (p *Plan) Lookup(id ID) Step {
	for _, st := range p.Steps() {
		if st.ID() == id {
			return st
		}
	}
	return nil
}

// ParseID accepts a step ID ("device-cert") or its number ("9", "11a" for activate).
func ParseID(v string) (ID, error) {
	for _, id := range append(append([]ID(nil), documented...), IDActivate) {
		if string(id) == v || StepLabel(id) == v {
			return id, nil
		}
	}
	ids := make([]string, 0, len(documented)+1)
	for _, id := range documented {
		ids = append(ids, string(id))
	}
	ids = append(ids, string(IDActivate))
	return "", i18n.NewError("ids.unknown", i18n.Args{"Step": strconv.Quote(v), "Last": len(documented), "IDs": strings.Join(ids, ", ")})
}

// ParseID is the package's ParseID for this plan: a step of another mode (the template
// step with --mode jitr, activate with jitp) is an error that says so.
func (p *Plan) ParseID(v string) (ID, error) {
	id, err := ParseID(v)
	if err != nil {
		return "", err
	}
	if p.Lookup(id) == nil {
		mode := ModeJITP
		if p.s != nil {
			mode = p.s.Options.Mode
		}
		return "", i18n.NewError("base.not-in-plan", i18n.Args{"Step": StepLabel(id), "ID": id, "Mode": mode})
	}
	return id, nil
}

// Label is the number step id goes by in this plan: the walkthrough's (StepLabel) in a
// workspace's plan, its position in a plan of one's own (PlanOf).
func (p *Plan) Label(id ID) string {
	if l := StepLabel(id); l != "" && p.in != nil {
		return l
	}
	for i, st := range p.Steps() {
		if st.ID() == id {
			return fmt.Sprint(i + 1)
		}
	}
	return ""
}

// Status reports one step's state in the session (pending for a step not in the plan).
func (p *Plan) Status(id ID) StepStatus {
	if st := p.Lookup(id); st != nil {
		return st.Status()
	}
	return StepStatus{State: StatePending}
}

// Statuses reports every step's state, in order.
func (p *Plan) Statuses() []StepStatus {
	sts := p.Steps()
	out := make([]StepStatus, len(sts))
	for i, st := range sts {
		out[i] = st.Status()
	}
	return out
}

// Complete reports that every step is done or skipped for the current thing: the device has
// published as the thing.
func (p *Plan) Complete() bool {
	for _, st := range p.Statuses() {
		if st.State != StateDone && st.State != StateSkipped {
			return false
		}
	}
	return true
}

// Attach gives every step the wizard's Shared and sets each one's state from the session.
func (p *Plan) Attach(c *Shared) {
	for _, st := range p.all {
		st.base().attach(c)
	}
}

// Base is what every step embeds: the defaults of Step, the step's records in the session
// (Status, Run), and — base_update.go, base_view.go — its model in the wizard: the inputs
// with their focus, the command box, the spinner and progress while it runs, the result
// lines and the error banner. Steps whose screen shows more (the template preview, the first
// connect's expectation) add it with a preview method; everything else is shared.
type Base struct {
	self Step
	plan *Plan
	s    *Session // nil in a plan of steps of one's own
	c    *Shared  // nil when headless
	// onEvent receives the progress of a running step (the runner's lines, the wizard's
	// stream); nil when nobody listens.
	onEvent func(Event)

	// The step in the wizard.
	state   StepState
	reused  bool   // done, but not by a run of this wizard: the result comes from an earlier run
	redo    string // why a step finished earlier must run again (an input changed, a file is missing)
	err     error
	fields  []*fieldModel
	focus   int
	runID   int
	cancel  context.CancelFunc
	events  []Event
	spin    spinner.Model
	status  string   // transient line, e.g. "copied"
	cmdText []string // equivalent commands, cached (Run must not race with View)
	result  []ResultLine

	width, height int
	place         Position // "step 4 of 13" (Label "": not shown)
}

// Position is a step's place in the wizard: its number in the plan (the sidebar's: "4",
// "11a") and the last step's, and whether an applicable step comes before it.
type Position struct {
	Label, Last string
	First       bool // no applicable step before this one: back has nowhere to go
}

func (b *Base) base() *Base { return b }

// State is where the step stands now.
func (b *Base) State() StepState { return b.state }

// editing reports that the step shows its inputs (it is not done, failed or running).
func (b *Base) editing() bool {
	switch b.state {
	case StateDone, StateFailed, StateRunning, StateSkipped:
		return false
	}
	return true
}

// The defaults of a step with nothing of its own to say.
func (b *Base) Inputs() []Field      { return nil }
func (b *Base) Commands() []string   { return nil }
func (b *Base) Skip() string         { return "" }
func (b *Base) Result() []ResultLine { return nil }
func (b *Base) Summary() string      { return "" }

// Report sends progress of the running step to whoever listens.
func (b *Base) Report(e Event) {
	if b.onEvent != nil {
		if e.Step == "" {
			e.Step = b.self.ID()
		}
		b.onEvent(e)
	}
}

// reportf reports a plain progress message.
func (b *Base) reportf(format string, args ...any) {
	b.Report(Event{Message: fmt.Sprintf(format, args...)})
}

// record is what the bookkeeping needs to know of a step: whether it is kept per thing, the
// steps whose results it uses, the values it consumes, the files it makes, and a reason to
// run it again once in this process (e.g. --force-new-keys).
type record struct {
	perDevice bool
	after     []ID
	inputs    map[string]string // by label ("country" → "IN"); a change means it runs again
	outputs   []string          // files that must exist for the step to count as done
	redo      string
}

// recorder is a step with records; actor a step with an action. Every step of NewPlan is both.
type (
	recorder interface{ record() record }
	actor    interface {
		act(ctx context.Context) (reused bool, err error)
	}
)

func (b *Base) spec() record {
	if r, ok := b.self.(recorder); ok {
		return r.record()
	}
	return record{}
}

// key is the step's key in the session's records (step ID, or "ID@thing" for device steps).
func (b *Base) key(r record) string {
	if r.perDevice {
		return string(b.self.ID()) + "@" + b.s.Options.Thing
	}
	return string(b.self.ID())
}

// Status reports where the step stands for the current options and thing: done when it
// finished with the current inputs, its files exist and every step it depends on is done.
func (b *Base) Status() StepStatus {
	if why := b.self.Skip(); why != "" {
		return StepStatus{State: StateSkipped, Reason: why}
	}
	s, r := b.s, b.spec()
	key := b.key(r)
	rec, ok := s.Finished[key]
	if !ok {
		return StepStatus{State: StatePending}
	}
	out := StepStatus{State: StateRedo}
	if why := s.Redo[key]; why != "" {
		out.Reason = why
		return out
	}
	if r.redo != "" && !s.ran[key] {
		out.Reason = r.redo
		return out
	}
	if why := inputChanges(rec.Inputs, consumed(r)); why != "" {
		out.Reason = why
		return out
	}
	for _, f := range r.outputs {
		if _, err := os.Stat(s.Path(f)); err != nil {
			out.Reason = i18n.T("base.again.missing", i18n.Args{"File": f})
			return out
		}
	}
	for _, dep := range r.after {
		d := b.plan.Lookup(dep)
		if d == nil {
			continue // not in this plan
		}
		if ds := d.Status(); ds.State == StatePending || ds.State == StateRedo {
			out.Reason = i18n.T("base.again.after", i18n.Args{"Step": b.plan.Label(dep), "Title": d.Title()})
			return out
		}
	}
	out.State = StateDone
	return out
}

// consumed is the step's inputs without the empty ones.
func consumed(r record) map[string]string {
	m := map[string]string{}
	for k, v := range r.inputs {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// Run performs the step's action with the same bookkeeping for whoever runs it (the runner
// or the wizard): timing, the finished record with the inputs it ran with (or the failure),
// and an atomic save of the session file.
func (b *Base) Run(ctx context.Context) error {
	a, ok := b.self.(actor)
	if !ok {
		return fmt.Errorf("step %s has no action", b.self.ID())
	}
	if err := checkContext(ctx); err != nil {
		return err
	}
	s := b.s
	started := s.Now()
	reused, err := a.act(ctx)
	if err == nil {
		err = checkContext(ctx)
	}
	r := b.spec()
	key := b.key(r)
	if err != nil {
		if s.Failures == nil {
			s.Failures = map[string]string{}
		}
		s.Failures[key] = err.Error()
		if saveErr := s.Save(); saveErr != nil {
			return i18n.WrapError(err, "base.not-saved", i18n.Args{"SaveErr": saveErr})
		}
		return err
	}
	if s.Finished == nil {
		s.Finished = map[string]Finished{}
	}
	if s.ran == nil {
		s.ran = map[string]bool{}
	}
	s.ran[key] = true
	s.Finished[key] = Finished{At: s.Now().UTC(), Duration: s.Now().Sub(started), Inputs: consumed(r), Reused: reused}
	delete(s.Failures, key)
	delete(s.Redo, key)
	return s.Save()
}

// lastRun is the step's finished record for the current thing.
func (b *Base) lastRun() (Finished, bool) {
	f, ok := b.s.Finished[b.key(b.spec())]
	return f, ok
}

// requestRedo makes step id of the plan run again on the next run, saying why.
func (b *Base) requestRedo(id ID, reason string) {
	st := b.plan.Lookup(id)
	if st == nil {
		return
	}
	if b.s.Redo == nil {
		b.s.Redo = map[string]string{}
	}
	ob := st.base()
	b.s.Redo[ob.key(ob.spec())] = reason
}

// inputChanges says in plain words which inputs differ ("" when none).
func inputChanges(was, now map[string]string) string {
	keys := map[string]bool{}
	for k := range was {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var diffs []string
	for _, k := range names {
		a, b := was[k], now[k]
		if a == b {
			continue
		}
		switch {
		case a == "":
			diffs = append(diffs, i18n.T("base.again.set", i18n.Args{"Input": k, "Value": abbrev(b)}))
		case b == "":
			diffs = append(diffs, i18n.T("base.again.unset", i18n.Args{"Input": k, "Value": abbrev(a)}))
		default:
			diffs = append(diffs, i18n.T("base.again.changed", i18n.Args{"Input": k, "Was": abbrev(a), "Now": abbrev(b)}))
		}
	}
	return strings.Join(diffs, "; ")
}

// checkContext returns ctx's error in plain words.
func checkContext(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return i18n.WrapError(err, "text.cancelled")
	}
	return nil
}
