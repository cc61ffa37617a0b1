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
	Copy     func(text string) error
	ShowPath func(path string) string
	Header   string // e.g. "target local · workspace ./jitp"
	Log      *log.Logger
	// Display rewrites run-specific text before layout (see steps.Shared.Display).
	Display func(string) string
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
	closingAt     int  // the line of the closing banner in the content (finished)
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
	o.Plan.Attach(c)
	m := &Model{c: c, cancel: cancel, p: o.Plan, plan: o.Plan.Steps(), header: o.Header, active: -1}
	m.planned = m.plan
	m.help = help.New()
	m.help.Styles.ShortKey = styles.Footer.Bold(true)
	m.help.Styles.ShortDesc = styles.Footer
	m.help.Styles.ShortSeparator = styles.Footer
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

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
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

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m.resize()
	case tea.KeyMsg:
		return m.handleKey(msg)
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
	if m.confirmQuit {
		switch {
		case key.Matches(msg, k.Yes), msg.Type == tea.KeyCtrlC: // ctrl+c twice: leave
			return m.quit()
		case key.Matches(msg, k.No):
			m.confirmQuit = false
		}
		return nil
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
		return nil
	}
	if bad := cur.Invalid(); len(bad) > 0 {
		m.notice = "Fix the highlighted input first."
		return nil
	}
	if cur.State() != steps.StateDone {
		m.notice = "Run this step first (enter)."
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
				m.notice = fmt.Sprintf("%s is not available yet.", st.Title())
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
	if m.toBottom {
		m.vp.GotoBottom()
		if m.finished {
			m.vp.SetYOffset(m.closingAt) // the closing banner and summary from their start
		}
		m.toBottom = false
	}
	st := cur.State()
	if st != m.lastState || st == steps.StateRunning {
		if st != steps.StateEditing {
			m.vp.GotoBottom()
		}
		m.lastState = st
	}
}

func (m *Model) contentView() string {
	s := m.Active().View()
	st := m.c.Styles
	if m.finished {
		m.closingAt = lipgloss.Height(s) + 1
		done := st.Success.Render(st.Icons.Done+" All steps done.") + " " +
			st.Explain.Render("The device was provisioned Just-in-Time from your CA and its message came back. Press enter or q to leave.")
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
	l := m.layout()
	if l.tooSmall {
		return st.Notice.Render(ansi.Truncate(fmt.Sprintf("jitpwiz needs at least %d×%d — this terminal is %d×%d; make it larger.", minWidth, minHeight, m.width, m.height), m.width, "…"))
	}
	if m.active < 0 {
		return st.App.Render("Nothing to do: every step of this plan is skipped.")
	}
	inner := m.width - st.App.GetHorizontalFrameSize()
	body := st.Content.Width(l.contentW).Render(m.vp.View())
	if !l.compact {
		body = lipgloss.JoinHorizontal(lipgloss.Top, m.sidebarView(l.bodyH), body)
	}
	return st.App.Render(lipgloss.JoinVertical(lipgloss.Left,
		m.headerView(l, inner), "", body, "", m.footerView(inner)))
}

func (m *Model) headerView(l layout, width int) string {
	st := m.c.Styles
	title := st.Header.Render("jitpwiz") + st.HeaderNote.Render(" · AWS IoT Just-in-Time Provisioning")
	if l.compact {
		// single column: the step list shrinks to a row of state icons
		var b strings.Builder
		for i := range m.plan {
			b.WriteString(m.stateIcon(i))
		}
		n, total := m.position()
		title = st.Header.Render("jitpwiz") + " " + b.String() + st.HeaderNote.Render(fmt.Sprintf(" %d/%d", n, total))
		return ansi.Truncate(title, width, "…")
	}
	if m.header != "" {
		title += st.HeaderNote.Render(" · " + m.header)
	}
	return ansi.Truncate(title, width, "…")
}

// position is the active step's number among the applicable steps, and their count.
func (m *Model) position() (n, total int) {
	for i, st := range m.plan {
		if st.State() == steps.StateSkipped {
			continue
		}
		total++
		if i <= m.active {
			n = total
		}
	}
	return n, total
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
	n := 0
	_, total := m.position()
	for _, st := range m.plan {
		if st.State() != steps.StateSkipped {
			n++
			st.SetPosition(n, total)
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

// sidebarView lists the steps with their state; height 0 means "natural height".
func (m *Model) sidebarView(height int) string {
	st := m.c.Styles
	var lines []string
	for i, s := range m.plan {
		name := fmt.Sprintf("%2s %s", m.label(i), s.Title())
		style := st.SidebarPending
		switch s.State() {
		case steps.StateSkipped:
			style = st.SidebarSkipped
			name += " (skipped)"
		case steps.StateFailed:
			style = st.SidebarFailed
		case steps.StateDone:
			style = st.SidebarDone
		}
		if i == m.active {
			style = st.SidebarActive
		}
		lines = append(lines, m.stateIcon(i)+" "+style.Render(ansi.Truncate(name, 28, "…")))
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
		return st.Dialog.Render(st.Warning.Render(m.Active().Title()+" is still running. Quit and cancel it?") + "  y yes · n no")
	}
	var lines []string
	if m.notice != "" {
		lines = append(lines, st.Notice.Render(m.notice))
	}
	if m.quitting {
		lines = append(lines, st.Notice.Render("Cancelling the running step…"))
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
			appKeys = []key.Binding{key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit"))}
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
		lines[i] = ansi.Truncate(l, width, "…") // help.Model can overflow its Width
	}
	return strings.Join(lines, "\n")
}

// ShortHelp implements help.KeyMap: the active step's bindings (the footer adds help and quit).
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	var out []key.Binding
	if cur := m.Active(); cur != nil && !m.finished {
		out = cur.ShortHelp()
	}
	if m.finished {
		out = append(out, k.Back)
	}
	return out
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	var stepKeys []key.Binding
	if cur := m.Active(); cur != nil {
		stepKeys = cur.ShortHelp()
	}
	return [][]key.Binding{
		stepKeys,
		{k.Up, k.Down, k.Next, k.Scroll},
		{k.Help, k.Quit},
	}
}
