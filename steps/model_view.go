package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
)

// extraViews add a step-specific section to the generic view (between inputs and command).
// Each gets the model and the content width and returns "" when it has nothing to add.
var extraViews = map[ID]func(m *Model, width int) string{}

// View draws the step at the size given by the last WindowSizeMsg.
func (m *Model) View() string {
	st := m.c.Styles
	w := m.width
	if w <= 0 {
		w = 80
	}
	var parts []string
	title := st.Title.Render(m.step.Title())
	if m.total > 0 {
		title += st.StepNo.Render(fmt.Sprintf(" · step %d of %d", m.pos, m.total))
	}
	parts = append(parts, title)
	if ex := strings.TrimSpace(m.step.Explain()); ex != "" {
		parts = append(parts, st.Explain.Width(w).Render(reflow(ex, w)))
	}

	if m.phase == PhaseEdit && m.redo != "" {
		parts = append(parts, st.Warning.Width(w).Render("! Done in an earlier run, but "+m.redo+": enter runs it again."))
	}
	if m.phase == PhaseEdit && len(m.fields) > 0 {
		var fs []string
		for _, f := range m.fields {
			fs = append(fs, f.view())
		}
		parts = append(parts, strings.Join(fs, "\n"))
	}

	if fn := extraViews[m.step.ID()]; fn != nil {
		if s := fn(m, w); s != "" {
			parts = append(parts, s)
		}
	}

	if len(m.cmdText) > 0 {
		parts = append(parts, m.commandView(w))
	}

	switch m.phase {
	case PhaseRunning:
		parts = append(parts, m.runningView(w))
	case PhaseDone:
		parts = append(parts, m.resultView(w))
	case PhaseFailed:
		parts = append(parts, m.bannerView(w))
	}
	if m.status != "" {
		parts = append(parts, st.StatusLine.Render(m.status))
	}
	return strings.Join(parts, "\n\n")
}

func (m *Model) commandView(w int) string {
	st := m.c.Styles
	title := "Equivalent command"
	if len(m.cmdText) > 1 {
		title = "Equivalent commands"
	}
	box := st.Command.Width(w - st.Command.GetHorizontalBorderSize())
	inner := w - st.Command.GetHorizontalFrameSize()
	var lines []string
	for _, c := range m.cmdText {
		for _, l := range strings.Split(m.c.display(c), "\n") {
			lines = append(lines, wrapCommand(l, inner)...)
		}
	}
	return st.Section.Render(title) + "\n" + box.Render(st.CommandText.Render(strings.Join(lines, "\n")))
}

// hang indents a result or progress line by two cells and wraps it to width w with a hanging
// indent, so a long value reads as one item.
func hang(text string, w int) string {
	if w < 12 || ansi.StringWidth(text)+2 <= w {
		return "  " + text
	}
	lines := strings.Split(lipgloss.NewStyle().Width(w-4).Render(text), "\n")
	for i, l := range lines {
		if i == 0 {
			lines[i] = "  " + strings.TrimRight(l, " ")
		} else {
			lines[i] = "    " + strings.TrimRight(l, " ")
		}
	}
	return strings.Join(lines, "\n")
}

// wrapWords wraps prose at spaces only (never inside "--endpoint-url"), each paragraph on
// its own; a word wider than the line is cut.
func wrapWords(text string, width int) string {
	if width < 8 {
		return text
	}
	var out []string
	for _, para := range strings.Split(text, "\n") {
		cur := ""
		for _, word := range strings.Fields(para) {
			switch {
			case cur == "":
				cur = word
			case ansi.StringWidth(cur)+1+ansi.StringWidth(word) <= width:
				cur += " " + word
			default:
				out = append(out, cur)
				cur = word
			}
		}
		out = append(out, cur)
	}
	for i, l := range out {
		if ansi.StringWidth(l) > width {
			out[i] = ansi.Hardwrap(l, width, false)
		}
	}
	return strings.Join(out, "\n")
}

// wrapDocument cuts lines wider than the box at the box's edge (JSON and PEM must not be
// word-wrapped at hyphens: "us-east-2" would read as two values).
func wrapDocument(text string, width int) string {
	if width < 8 {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Hardwrap(l, width, true)
		}
	}
	return strings.Join(lines, "\n")
}

// reflow keeps the explanation's own line breaks when every line fits, and otherwise joins
// them into one paragraph so the wrap does not leave ragged half-lines.
func reflow(text string, width int) string {
	for _, l := range strings.Split(text, "\n") {
		if ansi.StringWidth(l) > width {
			return strings.Join(strings.Fields(text), " ")
		}
	}
	return text
}

// wrapCommand breaks a shell command line that is too wide at spaces, ending each continued
// line with " \\" so that the text on the screen still pastes into a shell. (lipgloss would
// also break at hyphens, splitting options like -extensions.) A word wider than the box is cut.
func wrapCommand(line string, width int) []string {
	if width < 12 || ansi.StringWidth(line) <= width {
		return []string{line}
	}
	var out []string
	cur := ""
	// A trailing shell comment must stay a comment when wrapped: its continuation
	// lines start with "#" again and get no backslash (inside a comment a backslash
	// does not continue the line, so the next line would run as a command).
	inComment := false
	flush := func(more bool) {
		if more && !inComment && ansi.StringWidth(cur)+2 <= width {
			cur += " \\"
		}
		out = append(out, cur)
	}
	for _, word := range strings.Split(line, " ") {
		indent := "    "
		if inComment {
			indent = "    # "
		}
		switch {
		case cur == "":
			cur = word
		case ansi.StringWidth(cur)+1+ansi.StringWidth(word)+2 <= width:
			cur += " " + word
		default:
			flush(true)
			cur = indent + word
			if ansi.StringWidth(cur)+2 > width {
				cur = word // a long word gets the whole line
				if inComment {
					cur = "#" + word
				}
			}
		}
		if strings.HasPrefix(word, "#") {
			inComment = true
		}
	}
	flush(false)
	var wrapped []string
	for _, l := range out {
		if ansi.StringWidth(l) > width {
			l = ansi.Hardwrap(l, width, true)
		}
		wrapped = append(wrapped, strings.Split(l, "\n")...)
	}
	return wrapped
}

func (m *Model) runningView(w int) string {
	st := m.c.Styles
	lines := []string{m.spin.View() + " " + st.Label.Render("Running "+m.step.Title()+"…")}
	for _, e := range m.events {
		lines = append(lines, m.eventLine(e, w))
	}
	return strings.Join(lines, "\n")
}

func (m *Model) eventLine(e Event, w int) string {
	st := m.c.Styles
	if e.Line != nil {
		return m.resultLine(*e.Line, w)
	}
	return hang(st.Progress.Render(st.Icons.Bullet+" "+m.c.display(e.Message)), w)
}

func (m *Model) resultView(w int) string {
	st := m.c.Styles
	var lines []string
	head := st.Success.Render(st.Icons.Done + " Done")
	if m.reused {
		head += st.Help.Render("  (from an earlier run in this workspace — reused)")
	}
	lines = append(lines, head)
	if len(m.events) > 0 && !m.reused {
		for _, e := range m.events {
			lines = append(lines, m.eventLine(e, w))
		}
	}
	for _, r := range m.result {
		lines = append(lines, m.resultLine(r, w))
	}
	return strings.Join(lines, "\n")
}

// resultLine draws one ResultLine by kind.
func (m *Model) resultLine(r ResultLine, w int) string {
	st := m.c.Styles
	r.Label, r.Value = m.c.display(r.Label), m.c.display(r.Value)
	label := func(s string) string {
		if s == "" {
			return ""
		}
		return st.ResultLabel.Render(s + ": ")
	}
	switch r.Kind {
	case ResultFile:
		return hang(label(r.Label)+st.ResultFile.Render(m.c.path(r.Value)), w)
	case ResultCheck:
		icon, style := st.Icons.Done, st.CheckOK
		if !r.OK {
			icon, style = st.Icons.Failed, st.CheckFailed
		}
		s := style.Render(icon + " " + r.Label)
		if r.Value != "" {
			s += st.Help.Render(" — " + r.Value)
		}
		return hang(s, w)
	case ResultNote:
		return hang(st.Note.Render(r.Value), w)
	case ResultDocument:
		box := st.Document.Width(w - st.Document.GetHorizontalBorderSize())
		head := ""
		if r.Label != "" {
			head = st.Section.Render(r.Label) + "\n"
		}
		return head + box.Render(wrapDocument(strings.TrimRight(r.Value, "\n"), w-st.Document.GetHorizontalFrameSize()))
	default:
		return hang(label(r.Label)+st.ResultValue.Render(r.Value), w)
	}
}

// bannerView is the error banner: what went wrong in plain words, and the fix.
func (m *Model) bannerView(w int) string {
	st := m.c.Styles
	cause, fix := ExplainError(m.err)
	cause, fix = m.c.display(cause), m.c.display(fix)
	inner := w - st.Banner.GetHorizontalFrameSize()
	body := st.BannerTitle.Render(st.Icons.Failed+" "+m.step.Title()+" failed") + "\n" + wrapWords(cause, inner)
	if fix != "" {
		body += "\n" + st.BannerFix.Render(wrapWords("Fix: "+fix, inner))
	}
	body += "\n" + st.Help.Render("r retry · esc edit the inputs")
	return st.Banner.Width(w - st.Banner.GetHorizontalBorderSize()).Render(body)
}

// ExplainError splits an error into a plain-words cause and a fix, using the structured error
// types of aws, mqttprobe and pki, and the " — " convention (cause — fix) of every other error message.
func ExplainError(err error) (cause, fix string) {
	if err == nil {
		return "", ""
	}
	var ae *aws.Error
	var fe *pki.FieldError
	var pe *PanicError
	var ce *mqttprobe.ConfigError
	switch {
	case errors.As(err, &ce):
		return ce.Field + ": " + ce.Cause, ce.Fix
	case errors.As(err, &ae):
		cause = ae.Cause
		if cause == "" {
			cause = ae.Message
		}
		if ae.Op != "" {
			cause = ae.Op + ": " + cause
		}
		return cause, ae.Fix
	case errors.As(err, &fe):
		v := fe.Value
		if v != "" {
			v = " " + `"` + v + `"`
		}
		return fe.Field + v + ": " + fe.Problem, fe.Fix
	case errors.As(err, &pe):
		return pe.Error() + " — this is a bug in jitpwiz.", "press r to try again; run with --debug and report the log file if it happens again"
	case errors.Is(err, context.Canceled):
		return "the step was cancelled before it finished", "press r to run it again"
	case errors.Is(err, context.DeadlineExceeded):
		return "the step ran out of time", "check that the endpoint is reachable, then press r to try again"
	}
	s := err.Error()
	if i := strings.Index(s, " — "); i > 0 {
		return s[:i], s[i+len(" — "):]
	}
	return s, ""
}
