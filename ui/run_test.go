package ui

import (
	"bytes"
	"context"
	"errors"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jitpwiz/jitpwiz/steps"
)

// panicky panics in a command, like a bug in code run by the event loop.
type panicky struct{}

func (panicky) Init() tea.Cmd                         { return func() tea.Msg { panic("boom") } }
func (p panicky) Update(tea.Msg) (tea.Model, tea.Cmd) { return p, nil }
func (panicky) View() string                          { return "x" }

// TestPanicRestoresAltScreen checks what the wizard relies on: bubbletea leaves the alternate
// screen when a command panics (panics in step actions are caught earlier, see
// TestPanicInStepBecomesBanner).
func TestPanicRestoresAltScreen(t *testing.T) {
	var out bytes.Buffer
	p := tea.NewProgram(panicky{}, tea.WithInput(strings.NewReader("")), tea.WithOutput(&out), tea.WithAltScreen())
	_, err := p.Run()
	if !errors.Is(err, tea.ErrProgramPanic) {
		t.Fatalf("err = %v, want ErrProgramPanic", err)
	}
	s := out.String()
	enter, exit := strings.Index(s, "\x1b[?1049h"), strings.LastIndex(s, "\x1b[?1049l")
	if enter < 0 || exit < enter {
		t.Fatalf("alt screen not restored after the panic: %q", s)
	}
}

// TestClipboard: outside tmux, c writes a plain OSC 52 sequence (GNU screen gets it wrapped in
// DCS passthrough, which screen needs). Inside tmux it is never DCS-wrapped: tmux 3.3 drops
// that form unless allow-passthrough is on (TestTmuxCopy is the real thing, in tmux); a tmux
// that does not say its set-clipboard gets the plain sequence, and the words say that tmux
// keeps it only with set-clipboard on. No status claims that the text arrived.
func TestClipboard(t *testing.T) {
	const cmd = "openssl genrsa -out deviceRootCA.key 2048"
	plain := "\x1b]52;c;b3BlbnNzbCBnZW5yc2EgLW91dCBkZXZpY2VSb290Q0Eua2V5IDIwNDg=\a" // base64 of cmd
	cases := []struct {
		name, tmux, term, want, how string
	}{
		{"terminal", "", "xterm-256color", plain, i18n.T(copiedOSC52)},
		{"screen", "", "screen", "\x1bP\x1b]52;c;b3BlbnNzbCBnZW5yc2EgLW91dCBkZXZpY2VSb290Q0Eua2V5IDIwNDg=\a\x1b\\", i18n.T(copiedScreen)},
		{"tmux that does not answer", filepath.Join(t.TempDir(), "no-such-tmux-socket") + ",1,0", "tmux-256color", plain, i18n.T(copiedTmuxUnknown)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TMUX", c.tmux)
			t.Setenv("TERM", c.term)
			var out bytes.Buffer
			how, err := Clipboard(&out)(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Fatalf("wrote %q, want %q", out.String(), c.want)
			}
			if how != c.how {
				t.Fatalf("says %q, want %q", how, c.how)
			}
			if strings.Contains(how, "copied to the clipboard") {
				t.Fatalf("%q claims what no terminal confirms", how)
			}
		})
	}
}

// TestRunKeepsLogsOffTheScreen: while the wizard runs, a stray log line from a step (or a
// library) never reaches the terminal; with --debug it goes to the log file.
func TestRunKeepsLogsOffTheScreen(t *testing.T) {
	for _, debug := range []bool{false, true} {
		t.Run(map[bool]string{false: "silenced", true: "debug-file"}[debug], func(t *testing.T) {
			w := newWorld()
			logged := make(chan struct{})
			var during io.Writer
			before := log.Writer()
			plan := []steps.Step{&testStep{id: "noisy", title: "Noisy step", w: w, run: func(context.Context, func(steps.Event)) error {
				during = log.Writer() // where the standard logger (and slog's default) write now
				log.Printf("stray log line from a step")
				close(logged)
				return nil
			}}}
			inR, inW := io.Pipe()
			var out bytes.Buffer
			rc := RunConfig{Options: Options{Plan: steps.PlanOf(plan...), Spinner: oneFrame, Copy: (&clip{}).copy},
				In: inR, Out: &out, NoAltScreen: true}
			logFile := filepath.Join(t.TempDir(), "debug.log")
			if debug {
				rc.DebugLog = logFile
			}
			done := make(chan error, 1)
			go func() { _, err := Run(context.Background(), rc); done <- err }()
			go func() {
				_, _ = inW.Write([]byte("\r"))
				<-logged
				// q quits; if the step is still finishing, q asks and y confirms
				_, _ = inW.Write([]byte("q"))
				_, _ = inW.Write([]byte("y"))
			}()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			inW.Close()
			if strings.Contains(out.String(), "stray log line") {
				t.Fatalf("a log line reached the terminal:\n%q", out.String())
			}
			if !debug && during != io.Discard {
				t.Fatalf("the standard logger wrote to %T while the wizard ran (the terminal's stderr)", during)
			}
			if log.Writer() != before {
				t.Fatal("the standard logger's output was not restored after the wizard")
			}
			b, _ := os.ReadFile(logFile)
			if debug != strings.Contains(string(b), "stray log line from a step") {
				t.Fatalf("debug log (debug=%v): %q", debug, b)
			}
			if debug {
				if fi, err := os.Stat(logFile); err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("debug log mode: %v %v", fi.Mode(), err)
				}
			}
		})
	}
}
