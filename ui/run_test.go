package ui

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
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

func TestOSC52(t *testing.T) {
	t.Setenv("TMUX", "")
	t.Setenv("TERM", "xterm-256color")
	var out bytes.Buffer
	if err := OSC52(&out)("openssl genrsa -out deviceRootCA.key 2048"); err != nil {
		t.Fatal(err)
	}
	// base64 of the command, in an OSC 52 clipboard sequence
	want := "\x1b]52;c;b3BlbnNzbCBnZW5yc2EgLW91dCBkZXZpY2VSb290Q0Eua2V5IDIwNDg=\a"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	t.Setenv("TMUX", "/tmp/tmux-0/default,1,0")
	_ = OSC52(&out)("x")
	if !strings.HasPrefix(out.String(), "\x1bPtmux;") {
		t.Fatalf("inside tmux the sequence must be wrapped: %q", out.String())
	}
}
