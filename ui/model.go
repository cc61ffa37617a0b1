// Package ui is the bubbletea shell of the wizard: the root model routes between the steps of
// the plan (each is its own model), drives their state (Show, Leave, Sync), draws the sidebar
// from it, the content pane, the footer help and the quit confirmation. It never performs a step
// itself: the steps call the same Step.Run the headless runner calls.
package ui

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// Terminal sizes below which the layout changes.
const (
	compactWidth, compactHeight = 80, 24 // below: single column, no sidebar
	minWidth, minHeight         = 60, 15 // below: one-line notice
)

// Options configure the wizard.
type Options struct {
	Ctx      context.Context // parent context; the wizard cancels its own child on quit
	Plan     *steps.Plan
	Renderer *lipgloss.Renderer // decides colour support; nil: lipgloss default
	Keys     *theme.KeyMap      // nil: theme.DefaultKeyMap()
	Spinner  spinner.Spinner    // zero: spinner.Dot
	// Copy puts a command on the clipboard and says where it went (Clipboard in the real
	// program).
	Copy     func(text string) (string, error)
	ShowPath func(path string) string
	Header   string // e.g. "target local · workspace ./jitp"
	Log      *log.Logger
	// Display rewrites run-specific text before layout (see steps.Shared.Display).
	Display func(string) string
	// Mouse says that the program reports the mouse (tea.WithMouseCellMotion): the wheel
	// scrolls the pane, and m hands the mouse back to the terminal for selecting text.
	Mouse bool
	// AskBackground, when set, asks the terminal for its background colour once the wizard
	// runs (see askBackground); the answer comes back as input and is never waited for.
	AskBackground tea.Cmd
}

// forceQuitMsg ends the program when a cancelled step does not return in time.
type forceQuitMsg struct{}

// cancelGrace is how long a cancelled step may take to return before the wizard quits anyway.
const cancelGrace = 5 * time.Second

// Model is the root model.
type Model struct {
	c       *steps.Shared
	cancel  context.CancelFunc
	p       *steps.Plan
	planned []steps.Step // p.Steps() as of the last update (the mode choice may change them)
	plan    []steps.Step // the steps shown: planned
	active  int

	width, height int
	vp            viewport.Model
	help          help.Model
	fullHelp      bool
	confirmQuit   bool
	quitting      bool
	finished      bool
	notice        string
	header        string
	lastState     steps.StepState
	toBottom      bool // scroll the content to its end at the next sync

	r          *lipgloss.Renderer // the styles' renderer (the background's answer changes it)
	bg         bgReply            // the terminal's answer to the background query, as it arrives
	askBg      tea.Cmd
	mouseAvail bool // the program reports the mouse
	mouse      bool // ... and it does now (m toggles)
	closingAt  int  // the line of the closing banner in the content (finished)
}

// New builds the wizard over a plan. It opens on the first step that applies and is not done
// (resume), or the last step when all are done.
func New(o Options) *Model {
	parent := o.Ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	styles := theme.DefaultStyles(o.Renderer)
	keys := o.Keys
	if keys == nil {
		keys = theme.DefaultKeyMap()
	}
	if len(o.Spinner.Frames) == 0 {
		o.Spinner = spinner.Dot
		if theme.Dumb() {
			o.Spinner = spinner.Line
		}
	}
	c := &steps.Shared{
		Ctx: ctx, Styles: &styles, Keys: keys,
		Spinner: o.Spinner, Copy: o.Copy, ShowPath: o.ShowPath, Log: o.Log, Display: o.Display,
	}
	var m *Model
	c.MouseCaptured = func() bool { return m != nil && m.mouse }
	o.Plan.Attach(c)
	m = &Model{c: c, cancel: cancel, p: o.Plan, plan: o.Plan.Steps(), header: o.Header, active: -1,
		r: o.Renderer, askBg: o.AskBackground, mouseAvail: o.Mouse, mouse: o.Mouse}
	if m.r == nil {
		m.r = lipgloss.DefaultRenderer()
	}
	m.bg.waiting = o.AskBackground != nil
	m.planned = m.plan
	m.help = help.New()
	m.help.ShortSeparator = styles.Icons.Separator
	m.help.Ellipsis = styles.Icons.Ellipsis
	m.help.Styles.ShortKey = styles.Footer.Bold(true)
	m.help.Styles.ShortDesc = styles.Footer
	m.help.Styles.ShortSeparator = styles.Footer
	m.help.Styles.Ellipsis = styles.Footer
	m.help.Styles.FullKey = styles.Footer.Bold(true)
	m.help.Styles.FullDesc = styles.Footer
	m.help.Styles.FullSeparator = styles.Footer
	m.vp = viewport.New(0, 0)
	m.vp.KeyMap = viewport.KeyMap{
		PageDown: key.NewBinding(key.WithKeys("pgdown")),
		PageUp:   key.NewBinding(key.WithKeys("pgup")),
	}
	if i := m.resumeIndex(); i >= 0 {
		m.show(i)
	}
	m.syncSteps()
	return m
}

// replan follows a change of the plan's steps (the mode chosen on the first screen swaps the
// template step for the activate step): the active step stays active, newly shown steps get
// the content size.
func (m *Model) replan() {
	sts := m.p.Steps()
	if sameSteps(sts, m.planned) || m.Busy() {
		return
	}
	m.planned = sts
	var active steps.Step
	if m.active >= 0 {
		active = m.plan[m.active]
	}
	m.plan, m.active = sts, -1
	for i, st := range sts {
		if st == active {
			m.active = i
		}
	}
	if m.active < 0 {
		if i := m.resumeIndex(); i >= 0 {
			m.show(i)
		}
	}
	if m.width > 0 {
		m.resize()
	}
}

func sameSteps(a, b []steps.Step) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// label is step i's number in the sidebar: the plan's (the walkthrough's, 11a for activate)
// when the wizard shows the plan's steps, else its position.
func (m *Model) label(i int) string {
	if sameSteps(m.plan, m.planned) {
		return m.p.Label(m.plan[i].ID())
	}
	return fmt.Sprint(i + 1)
}

// resumeIndex is the first applicable step not done yet, else the last applicable step.
func (m *Model) resumeIndex() int {
	last := -1
	for i, st := range m.plan {
		switch st.Status().State {
		case steps.StateSkipped:
			continue
		case steps.StateDone:
			last = i
			continue
		}
		return i
	}
	return last
}

// Active returns the step shown now.
func (m *Model) Active() steps.Step {
	if m.active < 0 {
		return nil
	}
	return m.plan[m.active]
}

// Finished reports that the last step is done and the user continued past it.
func (m *Model) Finished() bool { return m.finished }

// Busy reports that a step's action is running.
func (m *Model) Busy() bool {
	for _, st := range m.plan {
		if st.State() == steps.StateRunning {
			return true
		}
	}
	return false
}

// Init implements tea.Model: it asks the terminal for its background (when told to), after
// the terminal is set up for the wizard, without waiting for the answer.
func (m *Model) Init() tea.Cmd { return m.askBg }

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && k.Type == tea.KeyRunes && len(k.Runes) > 1 && !k.Paste && !m.bg.in {
		if cur := m.Active(); cur == nil || !cur.Typing() {
			return m, m.keyBurst(k)
		}
	}
	cmd := m.update(msg)
	m.replan()
	m.syncSteps()
	m.leaveSkipped()
	if l := m.layout(); !l.tooSmall && (l.contentW != m.vp.Width || l.bodyH != m.vp.Height) {
		m.resize() // the footer grew or shrank (help, notice, quit question)
	}
	m.syncContent()
	if m.quitting && !m.Busy() {
		return m, tea.Quit
	}
	return m, cmd
}

// keyBurst handles keys that arrived together (typed fast, over a slow link, or sent by a
// script), which bubbletea reports as one message of several runes: one key after the other,
// as if typed apart; once a text input has focus, the rest is its text.
func (m *Model) keyBurst(k tea.KeyMsg) tea.Cmd {
	var cmds []tea.Cmd
	for i, r := range k.Runes {
		one := k
		one.Runes = []rune{r}
		if cur := m.Active(); cur != nil && cur.Typing() {
			one.Runes = k.Runes[i:]
		}
		_, cmd := m.Update(one)
		cmds = append(cmds, cmd)
		if len(one.Runes) > 1 {
			break
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m.resize()
	case tea.KeyMsg:
		if swallow, done, dark := m.bg.take(msg); swallow {
			if done {
				m.r.SetHasDarkBackground(dark) // the next frame has the colours of this background
			}
			return nil
		}
		return m.handleKey(msg)
	case tea.MouseMsg:
		return m.handleMouse(msg)
	case steps.NextMsg:
		return m.next(msg.From)
	case steps.PrevMsg:
		return m.prev()
	case steps.GotoMsg:
		return m.gotoStep(msg.ID)
	case forceQuitMsg:
		m.c.Logf("quitting although a step did not stop in %s", cancelGrace)
		return tea.Quit
	}
	// Everything else (run progress, spinner ticks, copy results) goes to every step; each
	// ignores what is not its own.
	var cmds []tea.Cmd
	for i, st := range m.plan {
		var cmd tea.Cmd
		m.plan[i], cmd = st.Update(msg)
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	m.notice = ""
	if msg.Type != tea.KeyRunes { // what is typed stays out of the log (a passphrase may be)
		m.c.Logf("key %s", msg)
	}
	if m.confirmQuit {
		switch {
		case key.Matches(msg, k.Yes), msg.Type == tea.KeyCtrlC: // ctrl+c twice: leave
			return m.quit()
		case key.Matches(msg, k.No):
			m.confirmQuit = false
		}
		return nil
	}
	if m.mouseAvail && key.Matches(msg, k.Mouse) && !(m.Active() != nil && m.Active().Typing()) {
		m.mouse = !m.mouse
		if m.mouse {
			m.notice = i18n.T(textMouseOn)
			return tea.EnableMouseCellMotion
		}
		m.notice = i18n.T(textMouseOff)
		return tea.DisableMouse
	}
	if m.width > 0 && m.layout().tooSmall {
		// nothing is visible: only leaving works, nothing runs unseen
		if key.Matches(msg, k.Quit) {
			if m.Busy() {
				m.confirmQuit = true
				return nil
			}
			return m.quit()
		}
		return nil
	}
	cur := m.Active()
	typing := cur != nil && cur.Typing()
	// While a text input has focus, printable keys are text; only ctrl+c stays a shortcut.
	if typing && msg.Type != tea.KeyCtrlC && (msg.Type == tea.KeyRunes || msg.Type == tea.KeySpace) {
		return m.forward(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		if m.Busy() {
			m.confirmQuit = true
			return nil
		}
		return m.quit()
	case key.Matches(msg, k.Help):
		m.fullHelp = !m.fullHelp
		return m.resize()
	case key.Matches(msg, k.Scroll):
		var cmd tea.Cmd
		m.vp, cmd = m.vp.Update(msg)
		return cmd
	case cur != nil && cur.State() != steps.StateEditing && key.Matches(msg, k.Up):
		m.vp.ScrollUp(1) // no input to move in: arrows scroll the content
		return nil
	case cur != nil && cur.State() != steps.StateEditing && key.Matches(msg, k.Down):
		m.vp.ScrollDown(1)
		return nil
	}
	if m.finished {
		if key.Matches(msg, k.Back) {
			m.finished = false
			return nil
		}
		if key.Matches(msg, k.Run) {
			return m.quit()
		}
	}
	return m.forward(msg)
}

// handleMouse scrolls the content with the wheel; clicks do nothing (the mouse is only
// reported so that the wheel works, see Options.Mouse).
func (m *Model) handleMouse(msg tea.MouseMsg) tea.Cmd {
	if m.width == 0 || m.layout().tooSmall || msg.Action != tea.MouseActionPress {
		return nil
	}
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		m.vp.ScrollUp(m.vp.MouseWheelDelta)
	case tea.MouseButtonWheelDown:
		m.vp.ScrollDown(m.vp.MouseWheelDelta)
	}
	return nil
}

func (m *Model) forward(msg tea.Msg) tea.Cmd {
	cur := m.Active()
	if cur == nil {
		return nil
	}
	var cmd tea.Cmd
	m.plan[m.active], cmd = cur.Update(msg)
	return cmd
}

// quit cancels the wizard's context (a running step sees it and returns) and ends the program
// once no step is busy any more, or after cancelGrace.
func (m *Model) quit() tea.Cmd {
	m.confirmQuit = false
	m.quitting = true
	m.cancel()
	if m.Busy() {
		return tea.Tick(cancelGrace, func(time.Time) tea.Msg { return forceQuitMsg{} })
	}
	return tea.Quit
}

// next moves to the next applicable step; it refuses while busy or when the step is not done
// or reports invalid inputs.
func (m *Model) next(from steps.ID) tea.Cmd {
	cur := m.Active()
	if cur == nil || m.Busy() || from != cur.ID() {
		m.c.Logf("next from %s: not now (busy %v)", from, m.Busy())
		return nil
	}
	if bad := cur.Invalid(); len(bad) > 0 {
		m.notice = i18n.T(textFixInput)
		return nil
	}
	if cur.State() != steps.StateDone {
		m.notice = i18n.T(textRunFirst)
		return nil
	}
	for i := m.active + 1; i < len(m.plan); i++ {
		if m.plan[i].Skip() != "" {
			continue
		}
		return m.show(i)
	}
	m.finished = true
	m.toBottom = true // show the closing banner under the last result
	return nil
}

func (m *Model) prev() tea.Cmd {
	if m.Busy() {
		return nil
	}
	m.finished = false
	for i := m.active - 1; i >= 0; i-- {
		if m.plan[i].Skip() != "" {
			continue
		}
		return m.show(i)
	}
	return nil
}

// leaveSkipped moves on when an input of the active step made it not apply any more (e.g. the
// user chose to bring an existing CA on the CA key step): the first applicable step after it,
// else before it.
func (m *Model) leaveSkipped() {
	if m.active < 0 || m.Busy() || m.plan[m.active].State() != steps.StateSkipped {
		return
	}
	for i := m.active + 1; i < len(m.plan); i++ {
		if m.plan[i].State() != steps.StateSkipped {
			m.show(i)
			m.syncSteps()
			return
		}
	}
	for i := m.active - 1; i >= 0; i-- {
		if m.plan[i].State() != steps.StateSkipped {
			m.show(i)
			m.syncSteps()
			return
		}
	}
}

// gotoStep shows step id when it applies and every applicable step before it is done.
func (m *Model) gotoStep(id steps.ID) tea.Cmd {
	if m.Busy() {
		return nil
	}
	for i, st := range m.plan {
		if st.ID() == id {
			if st.Skip() != "" || i > m.resumeIndex() {
				m.notice = i18n.T(textNotYet, i18n.Args{"Step": st.Title()})
				return nil
			}
			m.finished = false
			return m.show(i)
		}
	}
	return nil
}

// show makes step i the active one: the step shown before leaves, step i is shown.
func (m *Model) show(i int) tea.Cmd {
	if m.active >= 0 && m.active != i {
		m.plan[m.active].Leave()
	}
	m.active = i
	m.c.Logf("show step %s", m.plan[i].ID())
	m.plan[i].Show()
	m.lastState = m.plan[i].State()
	m.vp.GotoTop()
	return nil
}

// syncContent puts the active step's view into the content viewport, following the output
// when a run progresses or ends.
func (m *Model) syncContent() {
	cur := m.Active()
	if cur == nil {
		return
	}
	m.vp.SetContent(m.contentView())
	m.vp.SetYOffset(m.vp.YOffset) // shorter content, or a taller pane: no blank rows below the end
	if m.toBottom {
		m.vp.GotoBottom()
		if m.finished {
			m.vp.SetYOffset(m.closingAt) // the closing banner and summary from their start
		}
		m.toBottom = false
	}
	st := cur.State()
	if st != m.lastState || st == steps.StateRunning {
		switch st {
		case steps.StateDone:
			m.vp.GotoTop() // the result comes first (steps.Base.View)
		case steps.StateRunning, steps.StateFailed:
			m.vp.GotoBottom() // the progress as it comes, the error banner under it
		}
		m.lastState = st
	}
}

func (m *Model) contentView() string {
	s := m.Active().View()
	st := m.c.Styles
	if m.finished {
		m.closingAt = lipgloss.Height(s) + 1
		done := st.Success.Render(st.Icons.Done+" "+i18n.T(textAllDone)) + " " + st.Explain.Render(i18n.T(textAllDoneNext))
		s += "\n\n" + st.Banner.BorderForeground(st.Palette.Success).Width(m.vp.Width-st.Banner.GetHorizontalBorderSize()).Render(done)
		if sum := m.p.ClosingView(m.vp.Width); sum != "" {
			s += "\n\n" + sum
		}
	}
	return s
}

// layout is the geometry of one frame, computed from the styles.
type layout struct {
	tooSmall, compact bool
	sidebarW          int // outer width of the sidebar (0 when compact)
	contentW, bodyH   int
}

func (m *Model) layout() layout {
	st := m.c.Styles
	l := layout{}
	if m.width < minWidth || m.height < minHeight {
		l.tooSmall = true
		return l
	}
	l.compact = m.width < compactWidth || m.height < compactHeight
	inner := m.width - st.App.GetHorizontalFrameSize()
	if !l.compact {
		l.sidebarW = lipgloss.Width(m.sidebarView(0))
	}
	l.contentW = inner - l.sidebarW - st.Content.GetHorizontalFrameSize()
	head := lipgloss.Height(m.headerView(l, inner))
	foot := lipgloss.Height(m.footerView(inner))
	l.bodyH = m.height - st.App.GetVerticalFrameSize() - head - foot - st.Content.GetVerticalFrameSize() - 2
	if l.bodyH < 3 {
		l.bodyH = 3
	}
	return l
}

// resize sends the content size to every step and sizes the viewport.
func (m *Model) resize() tea.Cmd {
	l := m.layout()
	if l.tooSmall {
		return nil
	}
	m.vp.Width, m.vp.Height = l.contentW, l.bodyH
	m.vp.SetYOffset(m.vp.YOffset) // a taller pane shows more of the end, not blank rows
	size := tea.WindowSizeMsg{Width: l.contentW, Height: l.bodyH}
	for i, st := range m.plan {
		m.plan[i], _ = st.Update(size)
	}
	return nil
}

// View implements tea.Model.
func (m *Model) View() string {
	st := m.c.Styles
	if m.width == 0 {
		return ""
	}
	out := m.view()
	if st.ASCII {
		out = theme.ASCII(out) // a dumb terminal: no glyph outside ASCII, whoever wrote the text
	}
	return out
}

func (m *Model) view() string {
	st := m.c.Styles
	l := m.layout()
	if l.tooSmall {
		return m.tooSmallView()
	}
	if m.active < 0 {
		return st.App.Render(i18n.T(textNothingToDo))
	}
	inner := m.width - st.App.GetHorizontalFrameSize()
	body := st.Content.Width(l.contentW).Render(m.vp.View())
	more := m.scrollView(l)
	if !l.compact {
		body = lipgloss.JoinHorizontal(lipgloss.Top, m.sidebarView(l.bodyH), body)
		if more != "" {
			more = strings.Repeat(" ", l.sidebarW) + more
		}
	}
	return st.App.Render(lipgloss.JoinVertical(lipgloss.Left,
		m.headerView(l, inner), "", body, more, m.footerView(inner)))
}

// tooSmallView is the notice of a terminal below the minimum size, laid out to fit it.
func (m *Model) tooSmallView() string {
	st := m.c.Styles
	text := i18n.T(textTooSmall, i18n.Args{"MinWidth": minWidth, "MinHeight": minHeight, "Width": m.width, "Height": m.height})
	lines := strings.Split(lipgloss.NewStyle().Width(m.width).Render(text), "\n")
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	for i, l := range lines {
		lines[i] = st.Notice.Render(ansi.Truncate(strings.TrimRight(l, " "), m.width, ""))
	}
	return strings.Join(lines, "\n")
}

// scrollView is the line under the content that says there is more above or below it and
// how to get there ("" when it all fits).
func (m *Model) scrollView(l layout) string {
	total := m.vp.TotalLineCount()
	if total <= m.vp.Height {
		return ""
	}
	st := m.c.Styles
	first, last := m.vp.YOffset+1, min(m.vp.YOffset+m.vp.Height, total)
	how := textScrollKeys
	if m.mouse {
		how = i18n.T(textScrollKeysWheel)
	}
	var s string
	switch {
	case m.vp.AtTop():
		s = i18n.T(textMoreBelow, i18n.Args{"Arrow": st.Icons.Below, "First": first, "Last": last, "Total": total, "Keys": how})
	case m.vp.AtBottom():
		s = i18n.T(textMoreAbove, i18n.Args{"Arrow": st.Icons.Above, "First": first, "Last": last, "Total": total, "Keys": how})
	default:
		s = i18n.T(textMoreBoth, i18n.Args{"Arrow": st.Icons.Above + st.Icons.Below, "First": first, "Last": last, "Total": total, "Keys": how})
	}
	return st.Footer.Render(ansi.Truncate(s, l.contentW, st.Icons.Ellipsis))
}

// headerView is the app's name, then (on a line of its own, two when it needs them) where it
// works: target, account, region, profile or endpoint, ports, workspace.
func (m *Model) headerView(l layout, width int) string {
	st := m.c.Styles
	title := st.Header.Render(headerTitle) + st.HeaderNote.Render(headerSep+i18n.T(headerSubtitle))
	where, maxLines := fitParts(m.header, width, st.Icons.Ellipsis), 2
	if l.compact {
		// single column: the step list shrinks to a row of state icons
		var b strings.Builder
		for i := range m.plan {
			b.WriteString(m.stateIcon(i))
		}
		title = st.Header.Render(headerTitle) + " " + b.String() + st.HeaderNote.Render(" "+m.label(m.active)+"/"+m.label(len(m.plan)-1))
		maxLines = 1
	}
	if one := title + st.HeaderNote.Render(headerSep+m.header); !l.compact && m.header != "" && ansi.StringWidth(one) <= width {
		return one // a wide terminal: all on the title's line
	}
	lines := []string{ansi.Truncate(title, width, st.Icons.Ellipsis)}
	if m.header != "" {
		for _, w := range where[:min(len(where), maxLines)] {
			lines = append(lines, st.HeaderNote.Render(w))
		}
	}
	return strings.Join(lines, "\n")
}

// syncSteps lets every step follow the session (another step ran, an input changed what
// applies) and tells each its place among the applicable steps. It does nothing while a step
// runs: its action owns the session until it returns (reading it now would race).
func (m *Model) syncSteps() {
	if m.Busy() {
		return
	}
	for _, st := range m.plan {
		st.Sync()
	}
	first := true
	last := m.label(len(m.plan) - 1)
	for i, st := range m.plan {
		if st.State() != steps.StateSkipped {
			st.SetPosition(steps.Position{Label: m.label(i), Last: last, First: first})
			first = false
		}
	}
}

// stateIcon is step i's state in the sidebar: the active one (its inputs on screen, or running) ●.
func (m *Model) stateIcon(i int) string {
	st := m.c.Styles
	switch m.plan[i].State() {
	case steps.StateSkipped:
		return st.SidebarSkipped.Render(st.Icons.Skipped)
	case steps.StateFailed:
		return st.SidebarFailed.Render(st.Icons.Failed)
	case steps.StateDone:
		return st.SidebarDone.Render(st.Icons.Done)
	case steps.StateEditing, steps.StateRunning:
		return st.SidebarActive.Render(st.Icons.Active)
	}
	return st.SidebarPending.Render(st.Icons.Pending)
}

// sidebarView lists the steps with their state, the step on screen marked after its name (a
// mark that stays with NO_COLOR, where bold and colour do not); height 0 means "natural
// height".
func (m *Model) sidebarView(height int) string {
	st := m.c.Styles
	var lines []string
	labelW := 2
	for i := range m.plan {
		labelW = max(labelW, len(m.label(i)))
	}
	for i, s := range m.plan {
		name := fmt.Sprintf("%*s %s", labelW, m.label(i), s.Title())
		style := st.SidebarPending
		switch s.State() {
		case steps.StateSkipped:
			style = st.SidebarSkipped
			name += " " + i18n.T(textSkipped)
		case steps.StateFailed:
			style = st.SidebarFailed
		case steps.StateDone:
			style = st.SidebarDone
		}
		mark := "  " // as wide as the mark, so that moving does not change the sidebar's width
		if i == m.active {
			style, mark = st.SidebarActive, " "+st.SidebarActive.Render(st.Icons.Here)
		}
		lines = append(lines, m.stateIcon(i)+" "+style.Render(ansi.Truncate(name, 26+labelW, st.Icons.Ellipsis))+mark)
	}
	sb := st.Sidebar
	if height > 0 {
		sb = sb.Height(height)
	}
	return sb.Render(strings.Join(lines, "\n"))
}

func (m *Model) footerView(width int) string {
	st := m.c.Styles
	if m.confirmQuit {
		return st.Dialog.Render(st.Warning.Render(i18n.T(textQuitRunning, i18n.Args{"Step": m.Active().Title()})) + "  " + i18n.T(textQuitKeys))
	}
	var lines []string
	if cur := m.Active(); cur != nil && cur.Flash() != "" {
		lines = append(lines, wrapped(st.StatusLine, cur.Flash(), width, 2)...)
	}
	if m.notice != "" {
		lines = append(lines, wrapped(st.Notice, m.notice, width, 2)...)
	}
	if m.quitting {
		lines = append(lines, st.Notice.Render(i18n.T(textCancelling)))
	}
	if m.fullHelp {
		m.help.Width = width
		lines = append(lines, strings.Split(m.help.FullHelpView(m.FullHelp()), "\n")...)
	} else {
		// the app's keys (help, quit) always show; the step's keys get the rest of the line
		k := m.c.Keys
		appKeys := []key.Binding{k.Help, k.Quit}
		if cur := m.Active(); cur != nil && cur.Typing() {
			// while a text input has focus, ? and q are letters: only ctrl+c leaves
			appKeys = []key.Binding{key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", i18n.T(textQuit)))}
		}
		app := m.help.ShortHelpView(appKeys)
		sep := m.help.Styles.ShortSeparator.Render(m.help.ShortSeparator)
		m.help.Width = width - lipgloss.Width(app) - lipgloss.Width(sep)
		line := app
		if own := m.help.ShortHelpView(m.ShortHelp()); own != "" {
			line = own + sep + app
		}
		lines = append(lines, line)
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, width, m.c.Styles.Icons.Ellipsis) // help.Model can overflow its Width
	}
	return strings.Join(lines, "\n")
}

// wrapped lays text in style on at most n lines of width w.
func wrapped(style lipgloss.Style, text string, w, n int) []string {
	lines := strings.Split(lipgloss.NewStyle().Width(w).Render(text), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	for i, l := range lines {
		lines[i] = style.Render(strings.TrimRight(l, " "))
	}
	return lines
}

// ShortHelp implements help.KeyMap: the active step's bindings (the footer adds help and
// quit); on the closing screen, what its text says: enter leaves, esc goes back.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	if m.finished {
		leave := k.Run
		leave.SetHelp(k.Run.Help().Key, i18n.T(textLeave))
		return []key.Binding{leave, k.Back}
	}
	if cur := m.Active(); cur != nil {
		return cur.ShortHelp()
	}
	return nil
}

// FullHelp implements help.KeyMap: every binding of the key map (those that work now: a busy
// step disables its own), grouped — the step, its inputs, the pane, the app — each key once.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	view := []key.Binding{k.Scroll}
	if m.mouseAvail {
		view = append(view, k.Mouse)
	}
	groups := [][]key.Binding{
		{k.Run, k.Retry, k.Copy, k.Back},
		{k.Next, k.Prev, k.Up, k.Down},
		view,
		{k.Help, k.Quit},
	}
	seen := map[string]bool{}
	var out [][]key.Binding
	for _, g := range groups {
		var keep []key.Binding
		for _, b := range g {
			id := strings.Join(b.Keys(), " ")
			if seen[id] {
				continue
			}
			seen[id] = true
			keep = append(keep, b)
		}
		if len(keep) > 0 {
			out = append(out, keep)
		}
	}
	return out
}
