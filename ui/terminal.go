package ui

import (
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"github.com/jitpwiz/jitpwiz/ui/internal/quietinit"
	"github.com/jitpwiz/jitpwiz/ui/theme"
	"github.com/muesli/termenv"
)

// What the wizard asks of the terminal, and how it keeps a terminal that never answers from
// delaying the first frame.
//
// termenv answers lipgloss's "is the background dark?" by sending OSC 11 and a cursor
// position request (CSI 6n) and waiting up to 5 s for the reply. Three places asked: bubbletea's
// package init (on the default output), the wizard's renderer and, through the default
// renderer, the bubbles styles (help's ellipsis). None of them asks any more:
//   - the init's question is kept from the terminal by quietinit, undone here;
//   - every renderer gets the answer from the environment (theme.DarkBackground) and so never
//     asks;
//   - the wizard asks OSC 11 itself once the first frame is up, without waiting: the reply
//     arrives as input (bgReply) and turns the light colours on.

func init() {
	quietinit.Restore()
	// termenv's default output and lipgloss's default renderer were made while TERM read
	// "dumb" (no colours): make them again, with the background given so that they never ask.
	termenv.SetDefaultOutput(termenv.NewOutput(os.Stdout))
	lipgloss.SetDefaultRenderer(newRenderer(os.Stdout))
}

// newRenderer is a lipgloss renderer for w that never queries the terminal.
func newRenderer(w io.Writer) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(w)
	r.SetHasDarkBackground(theme.DarkBackground(os.Getenv))
	return r
}

// osc11Query asks the terminal for its background colour (answered as OSC 11 ; rgb:R/G/B).
const osc11Query = "\x1b]11;?\x1b\\"

// askBackground returns the command that sends the OSC 11 query to out, or nil when there
// is nothing to ask: out is not a terminal, the environment already told (COLORFGBG), the
// terminal is dumb, or a multiplexer sits in between (tmux and screen answer for one of the
// terminals attached to them; termenv does not ask them either).
func askBackground(out io.Writer) tea.Cmd {
	f, ok := out.(term.File)
	if !ok || !term.IsTerminal(f.Fd()) || os.Getenv("COLORFGBG") != "" {
		return nil
	}
	t := os.Getenv("TERM")
	if t == "" || t == "dumb" || strings.HasPrefix(t, "screen") || strings.HasPrefix(t, "tmux") || os.Getenv("TMUX") != "" {
		return nil
	}
	return func() tea.Msg {
		_, _ = io.WriteString(out, osc11Query)
		return nil
	}
}

// bgReply follows the terminal's answer to the OSC 11 query through the input, where
// bubbletea v1 reports it as keys: alt+], the runes "11;rgb:RRRR/GGGG/BBBB", then alt+\ (ST)
// or ctrl+g (BEL). Those keys are the reply's, never the user's: they are swallowed.
type bgReply struct {
	waiting bool   // the query was sent and no answer came yet
	in      bool   // alt+] came: the answer has begun
	body    string // its runes so far
}

// take reports whether msg is part of the answer (swallowed); dark is set, and done true,
// once the answer is complete and readable.
func (b *bgReply) take(msg tea.KeyMsg) (swallow, done, dark bool) {
	if !b.waiting {
		return false, false, false
	}
	switch {
	case !b.in && msg.Alt && msg.Type == tea.KeyRunes && string(msg.Runes) == "]":
		b.in, b.body = true, ""
		return true, false, false
	case !b.in:
		return false, false, false
	case msg.Type == tea.KeyRunes && !msg.Alt && replyPrefix(b.body+string(msg.Runes)):
		b.body += string(msg.Runes)
		return true, false, false
	case msg.Type == tea.KeyCtrlG || (msg.Alt && msg.Type == tea.KeyRunes && string(msg.Runes) == "\\"):
		b.in = false
		dark, ok := parseOSC11(b.body)
		if ok {
			b.waiting = false
		}
		return true, ok, dark
	}
	b.in = false // something else: not an answer after all
	return false, false, false
}

// replyPrefix reports whether s can begin an answer to the OSC 11 query ("11;rgb:…"): runes
// that cannot are the user's, not the terminal's, and are not swallowed.
func replyPrefix(s string) bool {
	const head = "11;rgb"
	if len(s) <= len(head) {
		return strings.HasPrefix(head, s)
	}
	if !strings.HasPrefix(s, head) {
		return false
	}
	for _, r := range s[len(head):] {
		if !strings.ContainsRune("a:/0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// parseOSC11 reads "11;rgb:RRRR/GGGG/BBBB" (1–4 hex digits a channel) and says whether the
// colour is dark (HSL lightness below one half, as termenv decides).
func parseOSC11(s string) (dark, ok bool) {
	rest, found := strings.CutPrefix(s, "11;rgb:")
	if !found {
		rest, found = strings.CutPrefix(s, "11;rgba:")
	}
	if !found {
		return false, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 3 {
		return false, false
	}
	var ch [3]float64
	for i := 0; i < 3; i++ {
		p := parts[i]
		if p == "" || len(p) > 4 {
			return false, false
		}
		v, err := strconv.ParseUint(p, 16, 16)
		if err != nil {
			return false, false
		}
		ch[i] = float64(v) / float64(uint64(1)<<(4*len(p))-1)
	}
	hi, lo := max(ch[0], ch[1], ch[2]), min(ch[0], ch[1], ch[2])
	return (hi+lo)/2 < 0.5, true
}

// frameLock is the terminal as the wizard writes to it. bubbletea's renderer writes each frame
// with one Write from its own goroutine; the sequences the wizard sends itself from commands
// (OSC 52 for c, OSC 11) take the same lock, so that none is written in the middle of a frame:
// a terminal (tmux) would read the frame's bytes as part of the sequence and drop both, and
// the renderer, which repaints only the lines that changed, would not draw them again. It is
// a term.File (Fd), so that bubbletea still finds the terminal's size.
type frameLock struct {
	mu sync.Mutex
	f  *os.File
}

func (l *frameLock) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

func (l *frameLock) Read(p []byte) (int, error) { return l.f.Read(p) }
func (l *frameLock) Close() error               { return l.f.Close() }
func (l *frameLock) Fd() uintptr                { return l.f.Fd() }
