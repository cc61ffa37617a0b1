package ui

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// The live view of `jitpwiz fleet`: a progress bar, the devices by outcome (failures by
// cause, in plain words), the rate, the latency percentiles and the rate limiter, redrawn
// from the fleet's progress a few times a second. It draws inline (not on the alternate
// screen), so its last frame — the summary — stays in the terminal.

// FleetSource is the fleet the view shows (a *steps.Fleet; tests script one).
type FleetSource interface {
	Progress() steps.FleetProgress
	Run(ctx context.Context) (*steps.FleetReport, error)
}

// FleetOptions configure the live view.
type FleetOptions struct {
	Source   FleetSource
	Headline string // what the fleet does, in one line (steps.FleetHeadline)
	Notes    []string
	Renderer *lipgloss.Renderer
	ShowPath func(string) string
	// Interval is how often the view asks for progress (0: 200 ms).
	Interval time.Duration
}

// FleetModel is the live view's model.
type FleetModel struct {
	o        FleetOptions
	ctx      context.Context
	cancel   context.CancelFunc
	sty      theme.Styles
	keys     *theme.KeyMap
	bar      progress.Model
	p        steps.FleetProgress
	rep      *steps.FleetReport
	err      error
	stopping bool
	done     bool
	width    int
}

type (
	fleetTickMsg struct{}
	fleetDoneMsg struct {
		rep *steps.FleetReport
		err error
	}
)

// NewFleetModel makes the live view of o.Source; its Init starts the fleet.
func NewFleetModel(ctx context.Context, o FleetOptions) *FleetModel {
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.ShowPath == nil {
		o.ShowPath = func(p string) string { return p }
	}
	ctx, cancel := context.WithCancel(ctx)
	r := o.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	sty := theme.DefaultStyles(r)
	accent := sty.Palette.Accent.Dark
	if !r.HasDarkBackground() {
		accent = sty.Palette.Accent.Light
	}
	bar := progress.New(progress.WithSolidFill(accent), progress.WithoutPercentage(), progress.WithColorProfile(r.ColorProfile()))
	m := &FleetModel{o: o, ctx: ctx, cancel: cancel, sty: sty, keys: theme.DefaultKeyMap(), bar: bar}
	m.resize(80)
	m.p = o.Source.Progress()
	return m
}

// resize fits the view to a terminal width columns wide.
func (m *FleetModel) resize(width int) {
	m.width = width
	m.bar.Width = max(10, min(60, m.width-26))
}

func (m *FleetModel) tick() tea.Cmd {
	return tea.Tick(m.o.Interval, func(time.Time) tea.Msg { return fleetTickMsg{} })
}

// Init starts the fleet and the redraws.
func (m *FleetModel) Init() tea.Cmd {
	src, ctx := m.o.Source, m.ctx
	return tea.Batch(func() tea.Msg {
		rep, err := src.Run(ctx)
		return fleetDoneMsg{rep, err}
	}, m.tick())
}

// Update handles the redraw ticks, the fleet's end, q (stop starting devices; those in
// flight finish) and the terminal's size.
func (m *FleetModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case fleetTickMsg:
		if m.done {
			return m, nil
		}
		m.p = m.o.Source.Progress()
		return m, m.tick()
	case fleetDoneMsg:
		m.rep, m.err, m.done = msg.rep, msg.err, true
		m.p = m.o.Source.Progress()
		return m, tea.Quit
	case tea.WindowSizeMsg:
		m.resize(msg.Width)
		return m, nil
	case tea.KeyMsg:
		if key.Matches(msg, m.keys.Quit) && !m.done {
			m.stopping = true
			m.cancel()
		}
		return m, nil
	}
	return m, nil
}

// View draws the fleet.
func (m *FleetModel) View() string {
	s, p := m.sty, m.p
	w := max(40, m.width-2)
	var b strings.Builder
	line := func(v string) { b.WriteString(v + "\n") }
	// wrap fits v to the width, continuation lines indented like its first line.
	wrap := func(st lipgloss.Style, v string) string {
		trimmed := strings.TrimLeft(v, " ")
		indent := len(v) - len(trimmed)
		return st.PaddingLeft(indent).Width(w).Render(trimmed)
	}

	line(wrap(lipgloss.NewStyle(), s.Title.Render("jitpwiz fleet")+" "+s.HeaderNote.Render(m.o.Headline)))
	for _, n := range m.o.Notes {
		line(wrap(s.Help, n))
	}
	for _, warn := range p.Warnings {
		line(wrap(s.Warning, s.Icons.Bullet+" "+warn))
	}
	pct := 0.0
	if p.Devices > 0 {
		pct = float64(p.Done) / float64(p.Devices)
	}
	line("")
	line(m.bar.ViewAs(pct) + fmt.Sprintf("  %3.0f%%  ", 100*pct) + i18n.T("ui.fleet.done", i18n.Args{"Done": p.Done, "Devices": p.Devices}))
	line("")
	// The labels' column is as wide as the widest label (display width: a Korean, Japanese or
	// Chinese label is two columns a character).
	labels := []string{i18n.T("ui.fleet.provisioned"), i18n.T("ui.fleet.failed"), i18n.T("ui.fleet.in-flight"),
		i18n.T("ui.fleet.not-run"), i18n.T("ui.fleet.rate"), i18n.T("ui.fleet.latency"), i18n.T("ui.fleet.rate-limit"),
		i18n.T("ui.fleet.elapsed"), i18n.T("ui.fleet.keys"), i18n.T("ui.fleet.files")}
	labelW := 12
	for _, l := range labels {
		labelW = max(labelW, ansi.StringWidth(l))
	}
	label := func(l string) string {
		return s.Label.Render("  " + l + strings.Repeat(" ", labelW+1-ansi.StringWidth(l)))
	}
	line(label(labels[0]) + s.CheckOK.Render(fmt.Sprint(p.Provisioned)))
	failed := fmt.Sprint(p.Failed)
	if p.Failed > 0 {
		failed = s.CheckFailed.Render(failed)
	}
	line(label(labels[1]) + failed)
	for _, f := range p.Failures {
		line(wrap(lipgloss.NewStyle(), "    "+s.CheckFailed.Render(fmt.Sprintf("%d ×", f.Count))+" "+f.Cause))
	}
	inFlight := i18n.T("ui.fleet.in-flight-value", i18n.Args{"InFlight": p.InFlight, "Concurrency": p.Concurrency, "Issued": p.Issued})
	line(label(labels[2]) + inFlight)
	if p.Finished && p.NotRun > 0 {
		line(label(labels[3]) + fmt.Sprint(p.NotRun))
	}
	line("")
	lat := "—"
	if p.Provisioned > 0 {
		lat = fmt.Sprintf("p50 %s · p99 %s", fmtMs(p.P50), fmtMs(p.P99))
	}
	line(label(labels[4]) + i18n.T("ui.fleet.rate-value", i18n.Args{"Rate": fmt.Sprintf("%.1f", p.Rate)}))
	line(label(labels[5]) + lat + s.Help.Render("  "+i18n.T("ui.fleet.latency-what")))
	limit := i18n.T("ui.fleet.limit-none")
	if p.Limiter.Rate > 0 {
		limit = i18n.T("ui.fleet.limit-value", i18n.Args{"Rate": fmt.Sprintf("%g", p.Limiter.Rate), "Waiting": p.Limiter.Waiting, "Delayed": p.Limiter.Delayed})
	}
	line(label(labels[6]) + limit)
	line(label(labels[7]) + fmtMs(p.Elapsed))
	line(label(labels[8]) + p.Keys)
	if p.Dir != "" {
		line(label(labels[9]) + m.o.ShowPath(p.Dir))
	}
	line("")
	switch {
	case m.done && m.rep != nil:
		for _, l := range m.rep.SummaryLines(m.o.ShowPath) {
			st := s.Help
			if strings.HasPrefix(l, "✓") {
				st = s.Success
			} else if strings.HasPrefix(l, "✗") {
				st = s.CheckFailed
			}
			line(wrap(st, l))
		}
		if m.err != nil {
			line(wrap(s.CheckFailed, "✗ "+m.err.Error()))
		}
	case m.done:
		line(wrap(s.CheckFailed, "✗ "+errText(m.err)))
	case m.stopping:
		line(s.Warning.Render(i18n.T("ui.fleet.stopping")))
	default:
		line(s.Footer.Render(i18n.T("ui.fleet.stop-key")))
	}
	return b.String()
}

func errText(err error) string {
	if err == nil {
		return i18n.T("ui.fleet.stopped")
	}
	return err.Error()
}

// fmtMs shows a duration in milliseconds below a second, in seconds above.
func fmtMs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// Report is the fleet's report once it ended (nil before, or when it could not start).
func (m *FleetModel) Report() (*steps.FleetReport, error) { return m.rep, m.err }

// FleetRunConfig is how the real program shows a fleet on a terminal.
type FleetRunConfig struct {
	FleetOptions
	In  io.Reader
	Out io.Writer
}

// RunFleet shows the fleet until it ends and returns its report.
func RunFleet(ctx context.Context, rc FleetRunConfig) (*steps.FleetReport, error) {
	if rc.In == nil {
		rc.In = os.Stdin
	}
	if rc.Out == nil {
		rc.Out = os.Stdout
	}
	if rc.Renderer == nil {
		rc.Renderer = newRenderer(rc.Out) // it never asks the terminal, as the wizard's (terminal.go)
	}
	if rc.ShowPath == nil {
		rc.ShowPath = RelativeToCwd
	}
	m := NewFleetModel(ctx, rc.FleetOptions)
	// An interrupt from outside (SIGTERM; Ctrl+C arrives as a key) stops the fleet like q:
	// the program goes on until the fleet has written its report, then shows the summary.
	stop := context.AfterFunc(ctx, m.cancel)
	defer stop()
	final, err := tea.NewProgram(m, tea.WithInput(rc.In), tea.WithOutput(rc.Out)).Run()
	m.cancel()
	if fm, ok := final.(*FleetModel); ok && fm != nil {
		m = fm
	}
	if err != nil {
		return m.rep, i18n.WrapError(err, "ui.fleet.view-stopped")
	}
	if m.err != nil && m.rep != nil { // the last frame shows it
		return m.rep, &steps.ReportedError{Err: m.err}
	}
	return m.Report()
}
