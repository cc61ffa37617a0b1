package steps

import (
	"context"
	"errors"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// The step's screen: title and explanation, its inputs (or what it made), the equivalent
// commands, the spinner and progress while it runs, the result lines, the error banner.

// previewer is a step that shows more with its inputs, before it runs (the template's body
// and lint, the first connect's expected outcome).
type previewer interface{ preview(width int) string }

// View draws the step at the size given by the last WindowSizeMsg.
func (b *Base) View() string {
	st := b.c.Styles
	w := b.width
	if w <= 0 {
		w = 80
	}
	var parts []string
	title := st.Title.Render(b.self.Title())
	if b.place.Label != "" {
		title += st.StepNo.Render(" · " + i18n.T(textStepOf, i18n.Args{"Step": b.place.Label, "Last": b.place.Last}))
	}
	parts = append(parts, title)
	if ex := strings.TrimSpace(b.self.Explain()); ex != "" {
		parts = append(parts, st.Explain.Render(wrapWords(reflow(ex, w), w)))
	}
	// A step that is done shows what it did first, then how to do it by hand: a long result
	// (the template, the verify checklist and policy) starts on the screen, not below it.
	if b.state == StateDone {
		parts = append(parts, b.resultView(w))
	}

	if b.editing() && b.redo != "" {
		parts = append(parts, st.Warning.Render(wrapWords("! Done in an earlier run, but "+b.redo+": enter runs it again.", w)))
	}
	if b.editing() && len(b.fields) > 0 {
		var fs []string
		for _, f := range b.fields {
			fs = append(fs, f.view())
		}
		parts = append(parts, strings.Join(fs, "\n"))
	}

	if p, ok := b.self.(previewer); ok && b.editing() {
		if s := p.preview(w); s != "" {
			parts = append(parts, s)
		}
	}

	if len(b.cmdText) > 0 {
		parts = append(parts, b.commandView(w))
	}

	switch b.state {
	case StateRunning:
		parts = append(parts, b.runningView(w))
	case StateFailed:
		if len(b.events) > 0 { // what the step saw before it failed is the evidence
			lines := make([]string, 0, len(b.events))
			for _, e := range b.events {
				lines = append(lines, b.eventLine(e, w))
			}
			parts = append(parts, strings.Join(lines, "\n"))
		}
		parts = append(parts, b.bannerView(w))
	}
	return strings.Join(parts, "\n\n")
}

func (b *Base) commandView(w int) string {
	st := b.c.Styles
	title := i18n.T("base.command-title")
	if len(b.cmdText) > 1 {
		title = i18n.T("base.commands-title")
	}
	box := st.Command.Width(w - st.Command.GetHorizontalBorderSize())
	inner := w - st.Command.GetHorizontalFrameSize()
	var lines []string
	for _, c := range b.cmdText {
		lines = append(lines, wrapShell(b.c.display(c), inner)...)
	}
	head := st.Section.Render(title)
	if b.c.MouseCaptured != nil && b.c.MouseCaptured() {
		hint := i18n.T(textSelectHint)
		if ansi.StringWidth(title+" · "+hint) <= w {
			head += st.Help.Render(" · " + hint)
		} else {
			head += "\n" + st.Help.Render(wrapWords(hint, w))
		}
	}
	return head + "\n" + box.Render(st.CommandText.Render(strings.Join(lines, "\n")))
}

func (b *Base) runningView(w int) string {
	st := b.c.Styles
	lines := []string{b.spin.View() + " " + st.Label.Render(i18n.T("base.running", i18n.Args{"Step": b.self.Title()}))}
	for _, e := range b.events {
		lines = append(lines, b.eventLine(e, w))
	}
	return strings.Join(lines, "\n")
}

func (b *Base) eventLine(e Event, w int) string {
	st := b.c.Styles
	if e.Line != nil {
		return b.resultLine(*e.Line, w)
	}
	return hang(st.Progress.Render(st.Icons.Bullet+" "+b.c.display(e.Message)), w)
}

func (b *Base) resultView(w int) string {
	st := b.c.Styles
	var lines []string
	head := st.Success.Render(st.Icons.Done + " " + i18n.T("base.done"))
	if b.reused {
		head += st.Help.Render("  " + i18n.T("base.reused"))
	}
	lines = append(lines, head)
	if len(b.events) > 0 && !b.reused {
		for _, e := range b.events {
			lines = append(lines, b.eventLine(e, w))
		}
	}
	for _, r := range b.result {
		lines = append(lines, b.resultLine(r, w))
	}
	return strings.Join(lines, "\n")
}

// resultLine draws one ResultLine by kind.
func (b *Base) resultLine(r ResultLine, w int) string {
	st := b.c.Styles
	r.Label, r.Value = b.c.display(r.Label), b.c.display(r.Value)
	label := func(s string) string {
		if s == "" {
			return ""
		}
		return st.ResultLabel.Render(s + ": ")
	}
	switch r.Kind {
	case ResultFile:
		return hang(label(r.Label)+st.ResultFile.Render(b.c.path(r.Value)), w)
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
		v := r.Value
		if !r.OK && r.Label != "" { // a warning says so: "warning: …"
			v = i18n.T("base.note.labelled", i18n.Args{"Label": r.Label, "Text": r.Value})
		}
		return hang(st.Note.Render(v), w)
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
func (b *Base) bannerView(w int) string {
	st := b.c.Styles
	cause, fix := ExplainError(b.err)
	if b.s != nil {
		fix = targetCommands(b.s, fix) // a command in the fix goes where this workspace's target is
	}
	cause, fix = b.c.display(cause), b.c.display(fix)
	inner := w - st.Banner.GetHorizontalFrameSize()
	body := st.BannerTitle.Render(st.Icons.Failed+" "+i18n.T("base.failed", i18n.Args{"Step": b.self.Title()})) + "\n" + wrapWords(cause, inner)
	if fix != "" {
		body += "\n" + st.BannerFix.Render(wrapWords(i18n.T("base.fix", i18n.Args{"Fix": fix}), inner))
	}
	body += "\n" + st.Help.Render(i18n.T("base.banner-keys"))
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
		return i18n.T("base.panic.cause", i18n.Args{"Err": pe.Error()}), i18n.T("base.panic.fix")
	case errors.Is(err, context.Canceled):
		return i18n.T("base.cancelled.cause"), i18n.T("base.cancelled.fix")
	case errors.Is(err, context.DeadlineExceeded):
		return i18n.T("base.deadline.cause"), i18n.T("base.deadline.fix")
	}
	s := err.Error()
	if i := strings.Index(s, " — "); i > 0 {
		return s[:i], s[i+len(" — "):]
	}
	return s, ""
}

func (f *fieldModel) view() string {
	st := f.styles
	var b strings.Builder
	label := st.Label.Render(f.field.Label)
	if f.focused {
		label = st.Focused.Render(st.Icons.Arrow + " " + f.field.Label)
	} else {
		label = "  " + label
	}
	b.WriteString(label + "\n")
	if f.text != nil {
		b.WriteString("  " + f.text.View() + "\n")
	} else {
		b.WriteString(padLines(f.choice.view(st, f.width), "  ") + "\n")
	}
	switch {
	case f.err != "":
		b.WriteString(padLines(st.Invalid.Render(wrapWords(st.Icons.Failed+" "+f.err, f.width)), "  ") + "\n")
	case f.field.Help != "":
		b.WriteString(padLines(st.Help.Render(wrapWords(f.field.Help, f.width)), "  ") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// view draws one option a line — marker, label, and the selected one's description — the
// description wrapped to the width under the label.
func (c *pickModel) view(st *theme.Styles, width int) string {
	var lines []string
	for i, o := range c.options {
		if i != c.sel {
			lines = append(lines, st.Option.Render(ansi.Truncate("( ) "+o.Label, width, st.Icons.Ellipsis)))
			continue
		}
		line := "(" + st.Icons.Active + ") " + o.Label
		if o.Help != "" {
			line += " — " + o.Help
		}
		for _, l := range strings.Split(hangWords(line, width, "    "), "\n") { // under the label, past the marker
			lines = append(lines, st.Selected.Render(l))
		}
	}
	return strings.Join(lines, "\n")
}

func padLines(s, pad string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n")
}
