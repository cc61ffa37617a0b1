package ui

import (
	"go/parser"
	"go/token"
	"io"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// keyRecorder is a program that records the keys bubbletea makes of its input, until ctrl+d.
type keyRecorder struct{ keys []tea.KeyMsg }

func (k *keyRecorder) Init() tea.Cmd { return nil }
func (k *keyRecorder) View() string  { return "" }
func (k *keyRecorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if key, ok := msg.(tea.KeyMsg); ok {
		if key.Type == tea.KeyCtrlD {
			return k, tea.Quit
		}
		k.keys = append(k.keys, key)
	}
	return k, nil
}

// keysOf is what bubbletea v1's input reader makes of in (the terminal's bytes).
func keysOf(t *testing.T, in string) []tea.KeyMsg {
	t.Helper()
	r, w := io.Pipe()
	go func() { _, _ = io.WriteString(w, in+"\x04") }()
	rec := &keyRecorder{}
	p := tea.NewProgram(rec, tea.WithInput(r), tea.WithOutput(io.Discard), tea.WithoutRenderer(), tea.WithoutSignalHandler())
	if _, err := p.Run(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	return rec.keys
}

// TestBackgroundReply feeds bgReply the keys bubbletea makes of terminals' answers to the
// OSC 11 query (and of what a user types): an answer is swallowed whole and read; the user's
// keys never are, except a lone alt+] while the answer is awaited.
func TestBackgroundReply(t *testing.T) {
	cases := []struct {
		name, in      string
		done, dark    bool
		passed        []string // the keys that reach the wizard
		waitingBefore bool
	}{
		{"light, ST", "\x1b]11;rgb:ffff/ffff/ffff\x1b\\", true, false, nil, true},
		{"dark, BEL", "\x1b]11;rgb:0000/1111/2222\a", true, true, nil, true},
		{"two hex digits", "\x1b]11;rgb:f0/f0/f0\x1b\\", true, false, nil, true},
		{"keys after the answer", "\x1b]11;rgb:ffff/ffff/ffff\x1b\\jq", true, false, []string{"jq"}, true},
		{"not waiting: nothing swallowed", "\x1b]11;rgb:ffff/ffff/ffff\x1b\\", false, false, []string{"alt+]", "11;rgb:ffff/ffff/ffff", "alt+\\"}, false},
		{"the user's alt+] and text", "\x1b]hello", false, false, []string{"hello"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bgReply{waiting: c.waitingBefore}
			var passed []string
			done, dark := false, false
			for _, k := range keysOf(t, c.in) {
				swallow, d, dk := b.take(k)
				if d {
					done, dark = true, dk
				}
				if !swallow {
					passed = append(passed, k.String())
				}
			}
			if done != c.done || (done && dark != c.dark) || join(passed) != join(c.passed) {
				t.Errorf("done %v dark %v, passed %q; want done %v dark %v, passed %q", done, dark, passed, c.done, c.dark, c.passed)
			}
			if c.done && b.waiting {
				t.Error("still waiting after a complete answer")
			}
		})
	}
}

func join(s []string) string { return strings.Join(s, " ") }

func TestParseOSC11(t *testing.T) {
	for _, c := range []struct {
		in       string
		dark, ok bool
	}{
		{"11;rgb:0000/0000/0000", true, true},
		{"11;rgb:ffff/ffff/ffff", false, true},
		{"11;rgb:ff/ff/ff", false, true},
		{"11;rgba:2e2e/3434/4040/ffff", true, true},
		{"11;rgb:8/8/8", false, true}, // 8/15 is just over half
		{"11;rgb:7/7/7", true, true},
		{"11;rgb:zz/00/00", false, false},
		{"11;rgb:00/00", false, false},
		{"10;rgb:00/00/00", false, false},
	} {
		dark, ok := parseOSC11(c.in)
		if ok != c.ok || (ok && dark != c.dark) {
			t.Errorf("parseOSC11(%q) = %v, %v; want %v, %v", c.in, dark, ok, c.dark, c.ok)
		}
	}
}

func TestDarkBackgroundFromEnv(t *testing.T) {
	for v, want := range map[string]bool{"": true, "15;0": true, "0;15": false, "0;7": false, "15;default;0": true, "x": true, "0;8": true} {
		if got := theme.DarkBackground(func(string) string { return v }); got != want {
			t.Errorf("COLORFGBG=%q: dark %v, want %v", v, got, want)
		}
	}
}

// TestQuietInitImportsOnlyOS guards what ui/internal/quietinit relies on: it imports nothing
// but os, so that Go initialises it before termenv (import paths sorted, see its doc).
func TestQuietInitImportsOnlyOS(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "internal/quietinit/quietinit.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Imports) != 1 || f.Imports[0].Path.Value != `"os"` {
		t.Fatalf("quietinit imports %d packages; it must import os only", len(f.Imports))
	}
	const quiet, termenvPath = "github.com/jitpwiz/jitpwiz/ui/internal/quietinit", "github.com/muesli/termenv"
	if quiet >= termenvPath {
		t.Fatalf("%s must sort before %s", quiet, termenvPath)
	}
}
