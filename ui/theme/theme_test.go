package theme

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// env is a fake environment for termenv's detection.
type env map[string]string

func (e env) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}
func (e env) Getenv(k string) string { return e[k] }

func renderer(e env) *lipgloss.Renderer {
	return lipgloss.NewRenderer(&bytes.Buffer{}, termenv.WithTTY(true), termenv.WithEnvironment(e), termenv.WithUnsafe())
}

func TestColourFollowsTerminal(t *testing.T) {
	cases := []struct {
		name   string
		env    env
		colour bool
	}{
		{"truecolor", env{"TERM": "xterm-256color", "COLORTERM": "truecolor"}, true},
		{"NO_COLOR", env{"TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1"}, false},
		{"dumb", env{"TERM": "dumb"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := renderer(c.env)
			s := DefaultStyles(r)
			out := s.Title.Render("CA key") + s.CheckFailed.Render("x")
			if got := strings.Contains(out, "\x1b["); got != c.colour {
				t.Fatalf("escape codes = %v, want %v: %q", got, c.colour, out)
			}
			if Plain(r) == c.colour {
				t.Fatalf("Plain = %v", Plain(r))
			}
		})
	}
}

func TestDumbTerminalIcons(t *testing.T) {
	t.Setenv("TERM", "dumb")
	s := DefaultStyles(renderer(env{"TERM": "dumb"}))
	if s.Icons.Done != "+" || s.Icons.Failed != "x" {
		t.Fatalf("TERM=dumb should get ASCII icons, got %+v", s.Icons)
	}
	if box := s.Command.Render("x"); strings.ContainsAny(box, "│─╭╮") {
		t.Fatalf("TERM=dumb should get ASCII borders: %q", box)
	}
	t.Setenv("TERM", "xterm-256color")
	if s := DefaultStyles(nil); s.Icons.Done != "✓" {
		t.Fatalf("icons = %+v", s.Icons)
	}
}

func TestKeyMapHasHelp(t *testing.T) {
	k := DefaultKeyMap()
	for name, b := range map[string]key.Binding{"run": k.Run, "back": k.Back, "retry": k.Retry, "copy": k.Copy, "help": k.Help, "quit": k.Quit} {
		if b.Help().Key == "" || b.Help().Desc == "" || len(b.Keys()) == 0 {
			t.Errorf("%s binding lacks keys or help: %+v", name, b.Help())
		}
	}
	// shift+tab is a form's previous field (as in huh), never the previous step
	if !contains(k.Prev.Keys(), "shift+tab") || contains(k.Back.Keys(), "shift+tab") || !contains(k.Quit.Keys(), "ctrl+c") || !contains(k.Down.Keys(), "j") {
		t.Error("previous field must be shift+tab (and back must not be), quit ctrl+c, down j")
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
