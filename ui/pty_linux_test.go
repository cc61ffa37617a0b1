package ui

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/ui/theme"
	"github.com/muesli/termenv"
)

// The wizard on a pseudo-terminal of the test's own, which answers only what the test says:
// how it treats a terminal that never answers the background-colour query, and one that says
// its background is light (issue 16 item 16). How fast the first frame comes is a benchmark
// (make bench, "Wizard exec → first frame"), not asserted here.

// cursorQuery is the cursor position request termenv sends after its OSC 11 query, and waits
// for (up to 5 s), to tell a terminal that does not answer OSC 11 from a slow one.
const cursorQuery = "\x1b[6n"

// TestSilentTerminal: on a terminal that answers nothing, the wizard never asks what it
// would wait for (termenv's OSC 11 and cursor position pair: 5 s each, twice, before the first
// frame before this was fixed), draws its first frame, and answers keys (the full help, drawn
// with bubbles' styles, asks nothing either); nor does jitpwiz fleet's live view.
func TestSilentTerminal(t *testing.T) {
	bin, tmp := jitpwizBinary(t, "builds and runs the binary")
	cmd := exec.Command(bin, "--demo", "--dir", filepath.Join(tmp, "ws"))
	cmd.Env = testtool.XtermEnv()
	r, err := testtool.StartPTY(cmd, 100, 30, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	took, out, ok := r.WaitFor("Just-in-Time Provisioning", 30*time.Second)
	if !ok {
		t.Fatalf("no first frame; the terminal got %q", out)
	}
	t.Logf("first frame after %s", took)
	if _, err := r.Type("?"); err != nil {
		t.Fatal(err)
	}
	took, out, ok = r.WaitFor("shift+tab", 30*time.Second)
	t.Logf("help after %s", took)
	if !ok {
		t.Fatalf("? drew no help; the terminal got %q", out)
	}
	if bytes.Contains(out, []byte(cursorQuery)) {
		t.Errorf("the wizard asked the terminal for the cursor position (termenv's query, which it waits for): %q", out)
	}
	if !bytes.Contains(out, []byte(osc11Query)) {
		t.Errorf("the wizard never asked for the background colour (without waiting): %q", out)
	}

	// jitpwiz fleet's live view, the other full-screen program, asks nothing either
	ws := filepath.Join(tmp, "fleet")
	if out, err := exec.Command(bin, "run", "--dir", ws, "--yes", "--key", "ec256").CombinedOutput(); err != nil {
		t.Fatalf("jitpwiz run: %v\n%s", err, out)
	}
	fleet := exec.Command(bin, "fleet", "--dir", ws, "-n", "2")
	fleet.Env = testtool.XtermEnv()
	f, err := testtool.StartPTY(fleet, 100, 30, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	_, out, ok = f.WaitFor("jitpwiz fleet", 30*time.Second)
	if !ok || bytes.Contains(out, []byte(cursorQuery)) {
		t.Errorf("jitpwiz fleet on a silent terminal (first frame %v): %q", ok, out)
	}
}

// TestLightBackground: the wizard never waits to know the background (dark is assumed), and
// a terminal's answer that it is light turns the light palette on.
func TestLightBackground(t *testing.T) {
	bin, tmp := jitpwizBinary(t, "builds and runs the binary")
	accent := theme.DefaultPalette().Accent
	dark := termenv.ANSI256.Color(accent.Dark).Sequence(false)
	light := termenv.ANSI256.Color(accent.Light).Sequence(false)
	if dark == light {
		t.Fatalf("the accent is %s in both palettes", dark)
	}
	sgr := func(seq string) *regexp.Regexp { return regexp.MustCompile(`\x1b\[(?:[0-9]*;)*` + seq + `[;m]`) }
	for _, c := range []struct {
		name, reply, want string
	}{
		{"light", "\x1b]11;rgb:ffff/ffff/f0f0\x1b\\", light},
		{"dark", "\x1b]11;rgb:1e1e/1e1e/2e2e\a", dark}, // BEL-terminated, as some terminals answer
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, "--demo", "--dir", filepath.Join(tmp, "ws-"+c.name))
			cmd.Env = testtool.XtermEnv()
			r, err := testtool.StartPTY(cmd, 100, 30, func(out []byte) []byte {
				if bytes.Contains(out, []byte(osc11Query)) {
					return []byte(c.reply)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			if _, out, ok := r.WaitMatch(sgr(c.want), 30*time.Second); !ok {
				t.Fatalf("after the answer %q the accent should be %q: %q", c.reply, c.want, out)
			}
			if _, err := r.Type("j"); err != nil { // a key after the answer: it was not eaten
				t.Fatal(err)
			}
			if _, out, ok := r.WaitFor("(●) use existing files", 30*time.Second); !ok {
				t.Fatalf("j after the answer did nothing: %q", out)
			}
		})
	}
}
