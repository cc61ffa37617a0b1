package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// RunConfig is how the real program runs the wizard on a terminal.
type RunConfig struct {
	Options
	In  io.Reader // the terminal's input (os.Stdin)
	Out io.Writer // the terminal (os.Stdout); nothing else is written to it while the wizard runs
	// DebugLog, when set, is the file that receives the debug log (tea.LogToFile); otherwise
	// the standard logger is silenced while the wizard runs, so no stray line hits the screen.
	DebugLog string
	// NoAltScreen draws inline instead of on the alternate screen (tests, recordings).
	NoAltScreen bool
	// NoMouse leaves the mouse to the terminal from the start (m still takes it for the wheel).
	NoMouse bool
}

// Run shows the wizard until the user quits or ctx ends, and returns the final model. The
// terminal is restored on every exit, including a panic (bubbletea restores it; a panic inside
// a step's action never gets that far: the step model turns it into an error banner).
func Run(ctx context.Context, rc RunConfig) (*Model, error) {
	if rc.In == nil {
		rc.In = os.Stdin
	}
	if rc.Out == nil {
		rc.Out = os.Stdout
	}
	prevOut, prevFlags, prevPrefix := log.Writer(), log.Flags(), log.Prefix()
	defer func() {
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
		log.SetPrefix(prevPrefix)
	}()
	if rc.DebugLog != "" {
		// pki.OpenFile, not tea.LogToFile: the log is never appended through a planted link.
		f, err := pki.OpenFile(rc.DebugLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--debug: %w — choose a writable location", err)
		}
		defer f.Close()
		log.SetOutput(f)
		log.SetPrefix("jitpwiz ")
		log.SetFlags(log.LstdFlags | log.Lmicroseconds)
		rc.Log = log.Default()
	} else {
		log.SetOutput(io.Discard)
	}

	if rc.Renderer == nil {
		rc.Renderer = newRenderer(rc.Out) // it never asks the terminal (terminal.go)
	}
	if f, ok := rc.Out.(*os.File); ok {
		rc.Out = &frameLock{f: f} // what the wizard writes itself never lands inside a frame
	}
	if rc.Copy == nil {
		rc.Copy = Clipboard(rc.Out)
	}
	if rc.AskBackground == nil {
		rc.AskBackground = askBackground(rc.Out)
	}
	// The mouse is reported (cell motion: presses, releases, the wheel) so that the wheel
	// scrolls the pane. While a program takes the mouse, terminals select text with Shift held
	// (xterm, GNOME Terminal, Konsole, kitty, Windows Terminal; Option in iTerm2), and m hands
	// the mouse back for a plain selection. A dumb terminal gets no mouse sequences at all.
	rc.Mouse = !theme.Dumb()
	if rc.ShowPath == nil {
		rc.ShowPath = RelativeToCwd
	}
	if rc.Ctx == nil {
		rc.Ctx = ctx
	}
	m := New(rc.Options)
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(rc.In), tea.WithOutput(rc.Out)}
	if !rc.NoAltScreen {
		opts = append(opts, tea.WithAltScreen())
	}
	if rc.Mouse && !rc.NoMouse {
		opts = append(opts, tea.WithMouseCellMotion())
	}
	m.mouse = rc.Mouse && !rc.NoMouse
	final, err := tea.NewProgram(m, opts...).Run()
	m.cancel()
	if fm, ok := final.(*Model); ok && fm != nil {
		m = fm
	}
	if err != nil && errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		err = nil // interrupted from outside (signal): not an error of the wizard
	}
	if err != nil {
		log.Printf("wizard ended: %v", err)
		return m, i18n.WrapError(err, "ui.stopped")
	}
	return m, nil
}

// RelativeToCwd shows a path relative to the current directory when it lies below it.
func RelativeToCwd(p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}

// Summary is the one line printed after the wizard closed: how far the user got, the step
// to do next (by the sidebar's number) and how to go on.
func (m *Model) Summary() string {
	if m.active < 0 {
		return ""
	}
	done, total := 0, 0
	for _, st := range m.plan {
		switch st.Status().State {
		case steps.StateSkipped:
			continue
		case steps.StateDone:
			done++
		}
		total++
	}
	if done == total {
		out := i18n.T(textSummaryAllDone, i18n.Args{"Total": total})
		if sum := m.p.ClosingText(); sum != "" {
			out += "\n" + sum
		}
		return out
	}
	// the step to do next: the one on screen, or (when it is done) the first not done
	next := m.active
	if m.plan[next].Status().State == steps.StateDone {
		next = m.resumeIndex()
	}
	return i18n.T(textSummaryNext, i18n.Args{"Done": done, "Total": total, "Step": m.label(next), "Title": m.plan[next].Title()})
}
