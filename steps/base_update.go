package steps

import (
	"context"
	"fmt"
	"log"
	"runtime/debug"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// The step in the wizard: the root in ui/ drives it (Show, Leave, Sync, keys and messages
// through Update) and reads its State; every move of the state goes through State.next.

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
	how  string // where the text went, in the copy function's words
	err  error
}

// attach gives the step the wizard's Shared and its state from the session.
func (b *Base) attach(c *Shared) {
	b.c = c
	b.spin = spinner.New(spinner.WithSpinner(c.Spinner), spinner.WithStyle(c.Styles.Spinner))
	if len(c.Spinner.Frames) == 0 {
		b.spin.Spinner = spinner.Dot
	}
	b.state = b.self.Status().State
	b.reused = b.state == StateDone
	b.rebuild()
}

// Show is the wizard showing the step: its inputs, or its result when it is done.
func (b *Base) Show() { b.move(evShow) }

// Leave is the wizard moving to another step.
func (b *Base) Leave() { b.move(evLeave) }

// Sync follows the session when the step is not shown or not in use: another step's run, or
// an input, may have made it done, redo or skipped.
func (b *Base) Sync() { b.move(evSync) }

// move applies ev to the state; showing the step again (show, dismiss) also rebuilds its
// inputs, commands and result from the session. A running step is left alone.
func (b *Base) move(ev event) {
	if b.state == StateRunning {
		return
	}
	was := b.state
	st := b.self.Status()
	b.state = was.next(ev, st)
	if b.state == StateDone && was != StateDone {
		b.reused = true // done, and not by a run shown here (that is evSucceed, in handleRun)
	}
	if ev == evDismiss {
		b.err = nil
	}
	if ev != evShow && ev != evDismiss {
		return
	}
	b.rebuild()
	b.redo = ""
	if b.editing() && st.State == StateRedo {
		b.redo = st.Reason
	}
}

// rebuild re-reads the inputs, the commands and (done) the result.
func (b *Base) rebuild() {
	b.buildFields()
	b.cmdText = b.self.Commands()
	switch b.state {
	case StateDone:
		b.result = b.self.Result()
	case StateFailed:
	default:
		b.result = nil
	}
}

// SetPosition tells the step its place in the plan (shown next to the title; the first step
// hides "back").
func (b *Base) SetPosition(p Position) { b.place = p }

// Flash is the transient line of the step (what a copy did) for the footer.
func (b *Base) Flash() string { return b.status }

// Err returns the last error of Run (nil unless failed).
func (b *Base) Err() error { return b.err }

// Typing reports that a text input has focus: printable keys belong to it, not to shortcuts.
func (b *Base) Typing() bool {
	if !b.editing() || len(b.fields) == 0 {
		return false
	}
	return b.fields[b.focus].isText()
}

// Invalid returns the validation errors of the inputs, by field key (empty when all are valid).
func (b *Base) Invalid() map[string]string {
	out := map[string]string{}
	for _, f := range b.fields {
		if f.err != "" {
			out[f.field.Flag] = f.err
		}
	}
	return out
}

// Update handles a message and returns the step itself (typed, so the root needs no assertion).
func (b *Base) Update(msg tea.Msg) (Step, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		b.width, b.height = msg.Width, msg.Height
		for _, f := range b.fields {
			f.setWidth(b.inputWidth())
		}
		return b.self, nil
	case runMsg:
		return b.self, b.handleRun(msg)
	case copiedMsg:
		if msg.step != b.self.ID() {
			return b.self, nil
		}
		switch {
		case msg.err != nil:
			b.status = i18n.T(textCopyFailed, i18n.Args{"Err": msg.err})
		case msg.how != "":
			b.status = msg.how
		default:
			b.status = i18n.T(textCopied)
		}
		return b.self, nil
	case spinner.TickMsg:
		if b.state != StateRunning {
			return b.self, nil
		}
		var cmd tea.Cmd
		b.spin, cmd = b.spin.Update(msg)
		return b.self, cmd
	case tea.KeyMsg:
		return b.self, b.handleKey(msg)
	}
	if b.editing() && len(b.fields) > 0 {
		return b.self, b.fields[b.focus].update(msg)
	}
	return b.self, nil
}

func (b *Base) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := b.c.Keys
	b.status = ""
	id := b.self.ID()
	switch b.state {
	case StateRunning:
		return nil // only the root's quit works while busy
	case StateFailed:
		switch {
		case key.Matches(msg, k.Retry), key.Matches(msg, k.Run):
			return b.start()
		case key.Matches(msg, k.Back):
			b.move(evDismiss)
			return nil
		case key.Matches(msg, k.Copy):
			return b.copyCmd()
		}
		return nil
	case StateDone:
		switch {
		case key.Matches(msg, k.Run):
			return Next(id)
		case key.Matches(msg, k.Back):
			return Prev(id)
		case key.Matches(msg, k.Copy):
			return b.copyCmd()
		case key.Matches(msg, k.Retry):
			// show the inputs again: the user may change them and run the step once more
			// (the action itself decides what it can reuse)
			b.state = b.state.next(evEdit, StepStatus{})
			b.reused, b.result = false, nil
			b.buildFields()
			return nil
		}
		return nil
	}
	// editing
	switch {
	case key.Matches(msg, k.Run):
		if !b.applyAll() {
			return nil
		}
		if b.self.Skip() != "" {
			return nil // an input made the step not apply (e.g. an existing CA): the root moves on
		}
		return b.start()
	case key.Matches(msg, k.Back):
		if p := b.parentField(); p >= 0 {
			// out of a field a choice revealed, back to that choice: the field left is not
			// checked (the user may be about to choose otherwise, which removes it)
			b.setFocus(p)
			return nil
		}
		return Prev(id)
	case key.Matches(msg, k.Next):
		b.moveFocus(1)
		return nil
	case key.Matches(msg, k.Prev):
		b.moveFocus(-1)
		return nil
	}
	if len(b.fields) > 0 {
		f := b.fields[b.focus]
		if f.isText() {
			switch msg.Type {
			case tea.KeyUp:
				b.moveFocus(-1)
				return nil
			case tea.KeyDown:
				b.moveFocus(1)
				return nil
			}
			cmd := f.update(msg)
			f.edited = true
			was := f.err
			if b.apply(f) || f.err != was {
				// inputs not typed in show what the value changed (e.g. a template file drops
				// the policy name), or what its problem asks for (the subject fields it needs)
				b.buildFields()
			}
			return cmd
		}
		if key.Matches(msg, k.Up, k.Down) {
			cmd := f.update(msg)
			f.edited = true
			if b.apply(f) {
				b.buildFields() // a choice may bring other inputs (e.g. paths of existing files)
			}
			return cmd
		}
	}
	if key.Matches(msg, k.Copy) {
		return b.copyCmd()
	}
	return nil
}

// apply stores field f's value; it reports whether the value changed.
func (b *Base) apply(f *fieldModel) bool {
	v := f.value()
	before := ""
	if f.field.Get != nil {
		before = f.field.Get()
	}
	if f.field.Set == nil {
		return false
	}
	if f.field.Get != nil && v == before {
		f.err = "" // unchanged: nothing to store (the step's action validates what it uses)
		return false
	}
	if err := f.field.Set(v); err != nil {
		f.err = err.Error()
		return false
	}
	f.err = ""
	b.cmdText = b.self.Commands()
	return before != v
}

// applyAll stores every input; it reports whether all were valid.
func (b *Base) applyAll() bool {
	ok := true
	for i, f := range b.fields {
		b.apply(f)
		if f.err != "" {
			if ok {
				b.setFocus(i)
			}
			ok = false
		}
	}
	return ok
}

func (b *Base) moveFocus(d int) {
	if len(b.fields) == 0 {
		return
	}
	f := b.fields[b.focus]
	had := f.err
	b.apply(f)
	if d < 0 && !f.edited && had == "" {
		f.err = "" // going back past an input left untouched does not flag it (tab and enter do)
	}
	b.setFocus((b.focus + d + len(b.fields)) % len(b.fields))
}

// parentField is the index of the choice that revealed the focused field (Field.Within), or
// -1.
func (b *Base) parentField() int {
	if len(b.fields) == 0 {
		return -1
	}
	within := b.fields[b.focus].field.Within
	if within == "" {
		return -1
	}
	for i, f := range b.fields {
		if f.field.Flag == within {
			return i
		}
	}
	return -1
}

func (b *Base) setFocus(i int) {
	for j, f := range b.fields {
		if j == i {
			f.focus()
		} else {
			f.blur()
		}
	}
	b.focus = i
}

// buildFields (re)creates the input widgets from Step.Inputs, keeping what the user typed in
// fields that are still there.
func (b *Base) buildFields() {
	old := map[string]*fieldModel{}
	for _, f := range b.fields {
		old[f.field.Flag] = f
	}
	var focusKey string
	if len(b.fields) > 0 && b.focus < len(b.fields) {
		focusKey = b.fields[b.focus].field.Flag
	}
	b.fields = nil
	focus := 0
	for i, fd := range b.self.Inputs() {
		var f *fieldModel
		if o, ok := old[fd.Flag]; ok && o.isText() == (len(fd.Choices) == 0) && o.edited {
			o.field = fd // keep what the user typed or chose
			f = o
		} else {
			f = newField(b.c.Styles, b.c.Keys, fd)
		}
		f.setWidth(b.inputWidth())
		if fd.Flag == focusKey {
			focus = i
		}
		b.fields = append(b.fields, f)
	}
	b.setFocus(focus)
}

// inputWidth is the width of the inputs: the pane's, less their indent (a text input caps
// its own, see fieldModel.setWidth).
func (b *Base) inputWidth() int {
	return max(b.width-4, 20)
}

// start runs the step's action off the UI goroutine. Progress (Report) and the end arrive as
// runMsgs on one channel, read by a re-arming command, so events are never reordered after
// the result. A panic in the action becomes an error, never a crash.
func (b *Base) start() tea.Cmd {
	b.runID++
	b.state = b.state.next(evStart, StepStatus{})
	b.err = nil
	b.events = nil
	b.status = ""
	b.reused = false
	b.cmdText = b.self.Commands()
	b.setBusyKeys(true)

	parent := b.c.Ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	b.cancel = cancel
	ch := make(chan runMsg, 64)
	st, run, c, id := b.self, b.runID, b.c, b.self.ID()
	b.onEvent = func(e Event) {
		c.Logf("step %s: %s", id, e.Message)
		ev := e
		select {
		case ch <- runMsg{step: id, run: run, ev: &ev, ch: ch}:
		case <-ctx.Done():
		}
	}
	c.Logf("step %s: run %d starts", id, run)
	go func() {
		err := runSafely(ctx, st)
		c.Logf("step %s: run %d ends: %v", id, run, err)
		ch <- runMsg{step: id, run: run, done: true, err: err, ch: ch}
		close(ch)
	}()
	return tea.Batch(waitRun(ch), b.spin.Tick)
}

// PanicError is a step action that crashed: a bug in jitpwiz, reported instead of a stack trace.
type PanicError struct {
	Step  ID
	Value string
}

func (e *PanicError) Error() string {
	return i18n.T("base.panic", i18n.Args{"Step": e.Step, "Value": e.Value})
}

// runSafely calls st.Run and turns a panic into an error (the stack goes to the debug log).
func runSafely(ctx context.Context, st Step) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("panic in step %s: %v\n%s", st.ID(), r, debug.Stack())
			err = &PanicError{Step: st.ID(), Value: fmt.Sprint(r)}
		}
	}()
	return st.Run(ctx)
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

func (b *Base) handleRun(msg runMsg) tea.Cmd {
	if msg.step != b.self.ID() || msg.run != b.runID {
		return nil // a late message from an earlier run
	}
	if msg.ev != nil {
		b.events = append(b.events, *msg.ev)
		return waitRun(msg.ch)
	}
	b.cancel()
	b.cancel = nil
	b.onEvent = nil
	b.setBusyKeys(false)
	b.cmdText = b.self.Commands()
	if msg.err != nil {
		b.state = b.state.next(evFail, StepStatus{})
		b.err = msg.err
		b.result = nil
		return nil
	}
	b.state = b.state.next(evSucceed, StepStatus{})
	b.result = b.self.Result()
	return nil
}

// setBusyKeys disables the bindings that must not work while the action runs (help hides them).
func (b *Base) setBusyKeys(busy bool) {
	k := b.c.Keys
	for _, kb := range []*key.Binding{&k.Run, &k.Back, &k.Retry, &k.Copy, &k.Next, &k.Prev} {
		kb.SetEnabled(!busy)
	}
}

func (b *Base) copyCmd() tea.Cmd {
	text := strings.Join(b.cmdText, "\n")
	if text == "" || b.c.Copy == nil {
		return nil
	}
	id, c := b.self.ID(), b.c
	return func() tea.Msg {
		how, err := c.Copy(text)
		c.Logf("step %s: copy: %s %v", id, how, err)
		return copiedMsg{step: id, how: how, err: err}
	}
}

// ShortHelp returns the step's bindings that apply right now.
func (b *Base) ShortHelp() []key.Binding {
	k := b.c.Keys
	run := k.Run
	switch b.state {
	case StateRunning:
		return nil
	case StateFailed:
		return []key.Binding{withHelp(k.Retry, "r", i18n.T("base.key.retry")), withHelp(k.Back, "esc", i18n.T("base.key.edit-inputs")), k.Copy}
	case StateDone:
		run.SetHelp("enter", i18n.T("base.key.continue"))
		out := []key.Binding{run, withHelp(k.Retry, "r", i18n.T("base.key.redo"))}
		if len(b.cmdText) > 0 {
			out = append(out, k.Copy)
		}
		return b.withBack(out)
	}
	run.SetHelp("enter", i18n.T("base.key.run"))
	out := []key.Binding{run}
	if len(b.fields) > 1 {
		out = append(out, k.Next) // shift+tab is in the full help: the footer has no room for it
	}
	if len(b.fields) > 0 && !b.fields[b.focus].isText() {
		out = append(out, k.Up, k.Down)
	}
	if len(b.cmdText) > 0 && !b.Typing() { // while typing, c is a letter
		out = append(out, k.Copy)
	}
	return b.withBack(out)
}

func (b *Base) withBack(bs []key.Binding) []key.Binding {
	if b.editing() && b.parentField() >= 0 {
		return append(bs, withHelp(b.c.Keys.Back, "esc", i18n.T("base.key.back-to-choice")))
	}
	if b.place.First {
		return bs
	}
	return append(bs, b.c.Keys.Back)
}

func withHelp(kb key.Binding, k, desc string) key.Binding {
	kb.SetHelp(k, desc)
	return kb
}

func newField(st *theme.Styles, keys *theme.KeyMap, fd Field) *fieldModel {
	f := &fieldModel{field: fd, styles: st, keys: keys}
	cur := ""
	if fd.Get != nil {
		cur = fd.Get()
	}
	if len(fd.Choices) == 0 {
		ti := textinput.New()
		ti.Prompt = "> "
		ti.SetValue(cur)
		ti.CursorEnd()
		ti.PromptStyle = st.Help
		ti.TextStyle = st.Label
		if fd.Secret {
			ti.EchoMode = textinput.EchoPassword
		}
		f.text = &ti
		return f
	}
	opts := fd.Choices
	known := false
	for _, o := range opts {
		known = known || o.Value == cur
	}
	if !known && cur != "" {
		// the current value came from elsewhere (a flag, e.g. --template FILE): offer it first,
		// so that running with the defaults keeps it instead of silently picking option one
		opts = append([]Option{{Value: cur, Label: cur, Help: i18n.T("base.current-value")}}, opts...)
	}
	c := &pickModel{options: opts}
	for i, o := range opts {
		if o.Value == cur {
			c.sel = i
		}
	}
	f.choice = c
	return f
}
