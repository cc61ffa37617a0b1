package steps

import (
	"context"
	"fmt"
	"log"
	"runtime/debug"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// Common is what every step model shares (soft-serve's common.Common): the session, the
// context cancelled when the wizard quits, styles and keys. It is built once by ui and passed
// to each model's constructor; nothing here is global.
type Common struct {
	Ctx     context.Context
	Session *Session
	Styles  *theme.Styles
	Keys    *theme.KeyMap
	// Spinner is the spinner shown while a step runs (tests use a one-frame spinner).
	Spinner spinner.Spinner
	// Copy puts text on the user's clipboard (OSC 52 in the real program).
	Copy func(text string) error
	// ShowPath turns a file path into what the screen shows (e.g. relative to the current dir).
	ShowPath func(path string) string
	// Log receives debug lines (a file with --debug, otherwise discarded). May be nil.
	Log *log.Logger
	// Display, when set, rewrites run-specific text (commands, results, progress) before it is
	// laid out; golden tests use it to put fixed placeholders in place of IDs and ports.
	Display func(string) string
}

func (c *Common) display(s string) string {
	if c.Display == nil {
		return s
	}
	return c.Display(s)
}

func (c *Common) Logf(format string, args ...any) {
	if c != nil && c.Log != nil {
		c.Log.Printf(format, args...)
	}
}

func (c *Common) path(p string) string {
	if c.ShowPath == nil {
		return p
	}
	return c.ShowPath(p)
}

// Routing messages. A step model never changes which step is active: it returns one of these
// and the root model in ui/ moves (and refuses when it should).
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

// Phase is where a step model is in its life.
type Phase int

const (
	PhaseEdit    Phase = iota // showing explanation and inputs; enter runs
	PhaseRunning              // Run is executing; spinner and progress
	PhaseDone                 // Run succeeded (or was done before); enter continues
	PhaseFailed               // Run failed; banner, r retries, esc dismisses
)

func (p Phase) String() string {
	return [...]string{"edit", "running", "done", "failed"}[p]
}

// runMsg carries one item of a running step's stream: a progress event, or the end.
type runMsg struct {
	step ID
	run  int
	ev   *Event
	done bool
	err  error
	ch   <-chan runMsg
}

// copiedMsg reports the outcome of a copy to the clipboard.
type copiedMsg struct {
	step ID
	err  error
}

// Model is the tea.Model of one step: explanation, inputs, equivalent command, spinner while
// Run executes, the result, and an error banner. It works for every Step; steps that need more
// (the template preview, the first-connect expectation) add a section through extraViews.
type Model struct {
	c    *Common
	step Step

	phase   Phase
	reused  bool   // Done when the model was built: the result comes from an earlier run
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
	pos, total    int  // "step pos of total" (0: not shown)
	first         bool // no applicable step before this one: back has nowhere to go
}

// SetPosition tells the model its place among the applicable steps (shown next to the title;
// the first step hides "back").
func (m *Model) SetPosition(pos, total int) {
	m.pos, m.total, m.first = pos, total, pos == 1
}

// NewModel builds the model of step st.
func NewModel(c *Common, st Step) *Model {
	m := &Model{c: c, step: st}
	m.spin = spinner.New(spinner.WithSpinner(c.Spinner), spinner.WithStyle(c.Styles.Spinner))
	if len(c.Spinner.Frames) == 0 {
		m.spin.Spinner = spinner.Dot
	}
	m.Refresh()
	return m
}

// Refresh rebuilds the inputs, commands and phase from the session (after resume, or after
// another step changed what this one shows). A running step is left alone.
func (m *Model) Refresh() {
	if m.phase == PhaseRunning {
		return
	}
	m.buildFields()
	m.cmdText = m.step.Commands(m.c.Session)
	if m.phase != PhaseFailed {
		if m.step.Done(m.c.Session) {
			if m.phase != PhaseDone {
				m.reused = true
			}
			m.phase = PhaseDone
			m.result = m.step.Result(m.c.Session)
		} else {
			m.phase = PhaseEdit
			m.result = nil
		}
	}
	m.redo = ""
	if sv, ok := m.step.(interface{ Status(*Session) StepStatus }); ok && m.phase == PhaseEdit {
		if st := sv.Status(m.c.Session); st.State == StateRedo {
			m.redo = st.Reason
		}
	}
}

// Step returns the step this model shows.
func (m *Model) Step() Step { return m.step }

// Phase returns where the model is.
func (m *Model) Phase() Phase { return m.phase }

// Busy reports that the step's action is running: the root must not move away.
func (m *Model) Busy() bool { return m.phase == PhaseRunning }

// Err returns the last error of Run (nil unless PhaseFailed).
func (m *Model) Err() error { return m.err }

// Typing reports that a text input has focus: printable keys belong to it, not to shortcuts.
func (m *Model) Typing() bool {
	if m.phase != PhaseEdit || len(m.fields) == 0 {
		return false
	}
	return m.fields[m.focus].isText()
}

// Invalid returns the validation errors of the inputs, by field key (empty when all are valid).
func (m *Model) Invalid() map[string]string {
	out := map[string]string{}
	for _, f := range m.fields {
		if f.err != "" {
			out[f.field.Key] = f.err
		}
	}
	return out
}

// Cancel stops a running step's action (its context is cancelled; the result arrives as an error).
func (m *Model) Cancel() {
	if m.cancel != nil {
		m.cancel()
	}
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd { return nil }

// Update handles a message and returns the model itself (typed, so the root needs no assertion).
func (m *Model) Update(msg tea.Msg) (*Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		for _, f := range m.fields {
			f.setWidth(m.inputWidth())
		}
		return m, nil
	case runMsg:
		return m.handleRun(msg)
	case copiedMsg:
		if msg.step != m.step.ID() {
			return m, nil
		}
		if msg.err != nil {
			m.status = "could not copy: " + msg.err.Error()
		} else {
			m.status = "command copied to the clipboard (OSC 52)"
		}
		return m, nil
	case spinner.TickMsg:
		if m.phase != PhaseRunning {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	if m.phase == PhaseEdit && len(m.fields) > 0 {
		return m, m.fields[m.focus].update(msg)
	}
	return m, nil
}

func (m *Model) handleKey(msg tea.KeyMsg) (*Model, tea.Cmd) {
	k := m.c.Keys
	m.status = ""
	switch m.phase {
	case PhaseRunning:
		return m, nil // only the root's quit works while busy
	case PhaseFailed:
		switch {
		case key.Matches(msg, k.Retry), key.Matches(msg, k.Run):
			return m, m.start()
		case key.Matches(msg, k.Back):
			m.err = nil
			m.phase = PhaseEdit
			m.Refresh()
			return m, nil
		case key.Matches(msg, k.Copy):
			return m, m.copyCmd()
		}
		return m, nil
	case PhaseDone:
		switch {
		case key.Matches(msg, k.Run):
			return m, Next(m.step.ID())
		case key.Matches(msg, k.Back):
			return m, Prev(m.step.ID())
		case key.Matches(msg, k.Copy):
			return m, m.copyCmd()
		case key.Matches(msg, k.Retry):
			// show the inputs again: the user may change them and run the step once more
			// (the action itself decides what it can reuse)
			m.phase, m.reused, m.result = PhaseEdit, false, nil
			m.buildFields()
			return m, nil
		}
		return m, nil
	}
	// PhaseEdit
	switch {
	case key.Matches(msg, k.Run):
		if !m.applyAll() {
			return m, nil
		}
		if m.step.Skip(m.c.Session) {
			return m, nil // an input made the step not apply (e.g. an existing CA): the root moves on
		}
		return m, m.start()
	case key.Matches(msg, k.Back):
		return m, Prev(m.step.ID())
	case key.Matches(msg, k.Next):
		m.moveFocus(1)
		return m, nil
	}
	if len(m.fields) > 0 {
		f := m.fields[m.focus]
		if f.isText() {
			switch msg.Type {
			case tea.KeyUp:
				m.moveFocus(-1)
				return m, nil
			case tea.KeyDown:
				m.moveFocus(1)
				return m, nil
			}
			cmd := f.update(msg)
			f.edited = true
			if m.apply(f) {
				m.buildFields() // inputs not typed in show what the value changed (e.g. a template file drops the policy name)
			}
			return m, cmd
		}
		if key.Matches(msg, k.Up, k.Down) {
			cmd := f.update(msg)
			f.edited = true
			if m.apply(f) {
				m.buildFields() // a choice may bring other inputs (e.g. paths of existing files)
			}
			return m, cmd
		}
	}
	if key.Matches(msg, k.Copy) {
		return m, m.copyCmd()
	}
	return m, nil
}

// apply stores field f's value in the session; it reports whether the value changed.
func (m *Model) apply(f *fieldModel) bool {
	v := f.value()
	before := ""
	if f.field.Get != nil {
		before = f.field.Get(m.c.Session)
	}
	if f.field.Set == nil {
		return false
	}
	if f.field.Get != nil && v == before {
		f.err = "" // unchanged: nothing to store (the step's action validates what it uses)
		return false
	}
	if err := f.field.Set(m.c.Session, v); err != nil {
		f.err = err.Error()
		return false
	}
	f.err = ""
	m.cmdText = m.step.Commands(m.c.Session)
	return before != v
}

// applyAll stores every input; it reports whether all were valid.
func (m *Model) applyAll() bool {
	ok := true
	for i, f := range m.fields {
		m.apply(f)
		if f.err != "" {
			if ok {
				m.setFocus(i)
			}
			ok = false
		}
	}
	return ok
}

func (m *Model) moveFocus(d int) {
	if len(m.fields) == 0 {
		return
	}
	m.apply(m.fields[m.focus])
	m.setFocus((m.focus + d + len(m.fields)) % len(m.fields))
}

func (m *Model) setFocus(i int) {
	for j, f := range m.fields {
		if j == i {
			f.focus()
		} else {
			f.blur()
		}
	}
	m.focus = i
}

// buildFields (re)creates the input widgets from Step.Inputs, keeping what the user typed in
// fields that are still there.
func (m *Model) buildFields() {
	old := map[string]*fieldModel{}
	for _, f := range m.fields {
		old[f.field.Key] = f
	}
	var focusKey string
	if len(m.fields) > 0 && m.focus < len(m.fields) {
		focusKey = m.fields[m.focus].field.Key
	}
	m.fields = nil
	focus := 0
	for i, fd := range m.step.Inputs(m.c.Session) {
		var f *fieldModel
		if o, ok := old[fd.Key]; ok && o.isText() == (len(fd.Options) == 0) && o.edited {
			o.field = fd // keep what the user typed or chose
			f = o
		} else {
			f = newField(m.c, fd, m.c.Session)
		}
		f.setWidth(m.inputWidth())
		if fd.Key == focusKey {
			focus = i
		}
		m.fields = append(m.fields, f)
	}
	m.setFocus(focus)
}

func (m *Model) inputWidth() int {
	w := m.width - 4
	if w < 20 {
		w = 20
	}
	if w > 72 {
		w = 72
	}
	return w
}

// start runs the step's action off the UI goroutine. Progress (Session.Report) and the end
// arrive as runMsgs on one channel, read by a re-arming command, so events are never reordered
// after the result. A panic in the action becomes an error, never a crash.
func (m *Model) start() tea.Cmd {
	m.runID++
	m.phase = PhaseRunning
	m.err = nil
	m.events = nil
	m.status = ""
	m.reused = false
	m.cmdText = m.step.Commands(m.c.Session)
	m.setBusyKeys(true)

	parent := m.c.Ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	m.cancel = cancel
	ch := make(chan runMsg, 64)
	st, sess, run, c := m.step, m.c.Session, m.runID, m.c
	sess.Report = func(e Event) {
		e.Step = st.ID()
		c.Logf("step %s: %s", st.ID(), e.Message)
		ev := e
		select {
		case ch <- runMsg{step: st.ID(), run: run, ev: &ev, ch: ch}:
		case <-ctx.Done():
		}
	}
	c.Logf("step %s: run %d starts", st.ID(), run)
	go func() {
		err := runSafely(ctx, st, sess)
		c.Logf("step %s: run %d ends: %v", st.ID(), run, err)
		ch <- runMsg{step: st.ID(), run: run, done: true, err: err, ch: ch}
		close(ch)
	}()
	return tea.Batch(waitRun(ch), m.spin.Tick)
}

// runSafely calls st.Run and turns a panic into an error (the stack goes to the debug log).
func runSafely(ctx context.Context, st Step, s *Session) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("panic in step %s: %v\n%s", st.ID(), r, debug.Stack())
			err = &PanicError{Step: st.ID(), Value: fmt.Sprint(r)}
		}
	}()
	return st.Run(ctx, s)
}

// PanicError is a step action that crashed: a bug in jitpwiz, reported instead of a stack trace.
type PanicError struct {
	Step  ID
	Value string
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("step %s stopped unexpectedly (%s)", e.Step, e.Value)
}

// waitRun returns the next item of a run's stream.
func waitRun(ch <-chan runMsg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

func (m *Model) handleRun(msg runMsg) (*Model, tea.Cmd) {
	if msg.step != m.step.ID() || msg.run != m.runID {
		return m, nil // a late message from an earlier run
	}
	if msg.ev != nil {
		m.events = append(m.events, *msg.ev)
		return m, waitRun(msg.ch)
	}
	m.cancel()
	m.cancel = nil
	m.c.Session.Report = nil
	m.setBusyKeys(false)
	m.cmdText = m.step.Commands(m.c.Session)
	if msg.err != nil {
		m.phase = PhaseFailed
		m.err = msg.err
		m.result = nil
		return m, nil
	}
	m.phase = PhaseDone
	m.result = m.step.Result(m.c.Session)
	return m, nil
}

// setBusyKeys disables the bindings that must not work while the action runs (help hides them).
func (m *Model) setBusyKeys(busy bool) {
	k := m.c.Keys
	for _, b := range []*key.Binding{&k.Run, &k.Back, &k.Retry, &k.Copy, &k.Next} {
		b.SetEnabled(!busy)
	}
}

func (m *Model) copyCmd() tea.Cmd {
	text := strings.Join(m.cmdText, "\n")
	if text == "" || m.c.Copy == nil {
		return nil
	}
	id, cp := m.step.ID(), m.c.Copy
	return func() tea.Msg { return copiedMsg{step: id, err: cp(text)} }
}

// ShortHelp returns the step's bindings that apply right now.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	run := k.Run
	switch m.phase {
	case PhaseRunning:
		return nil
	case PhaseEdit:
		run.SetHelp("enter", "run")
		out := []key.Binding{run}
		if len(m.fields) > 1 {
			out = append(out, k.Next)
		}
		if len(m.fields) > 0 && !m.fields[m.focus].isText() {
			out = append(out, k.Up, k.Down)
		}
		if len(m.cmdText) > 0 && !m.Typing() { // while typing, c is a letter
			out = append(out, k.Copy)
		}
		return m.withBack(out)
	case PhaseFailed:
		return []key.Binding{k.Retry, withHelp(k.Back, "esc", "edit inputs"), k.Copy}
	default:
		run.SetHelp("enter", "continue")
		out := []key.Binding{run, withHelp(k.Retry, "r", "redo")}
		if len(m.cmdText) > 0 {
			out = append(out, k.Copy)
		}
		return m.withBack(out)
	}
}

func (m *Model) withBack(b []key.Binding) []key.Binding {
	if m.first {
		return b
	}
	return append(b, m.c.Keys.Back)
}

func withHelp(b key.Binding, k, desc string) key.Binding {
	b.SetHelp(k, desc)
	return b
}
