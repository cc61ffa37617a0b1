package ui

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// What the screen shows is true, checked as a person sees it (issue 16): the real binary in a
// tmux pane, keys sent with send-keys, the screen read back with capture-pane.

// keyWait is how long a test waits for the screen to show what a key did: a deadline for a
// machine under load, never a pause (the screen is polled).
const keyWait = 30 * time.Second

// tallRows is a pane tall enough for the whole content of every step at 80 columns, so that
// one capture holds a step's whole command box.
const tallRows = 200

// frameReady reports that scr is a whole frame of a width×height pane: the header on the
// first row, the footer's keys on the last and, on a tall pane, a box as wide as the pane,
// from its top corner down to its bottom one (a pane captured while the program was still
// drawing the frame has the new box's top over the rows of the last frame).
func frameReady(width, height int) func(string) bool {
	return func(scr string) bool {
		rows := strings.Split(strings.TrimRight(scr, "\n"), "\n")
		if len(rows) != height || !strings.Contains(rows[0], "jitpwiz") || !strings.Contains(rows[height-1], "quit") {
			return false
		}
		if height < tallRows {
			return true
		}
		top := false
		for _, r := range rows {
			rr := []rune(r)
			if len(rr) != width-1 {
				continue
			}
			switch {
			case !top && rr[width-2] == '╮':
				top = true
			case top && rr[width-2] == '╯':
				return true
			}
		}
		return false
	}
}

// boxUnder returns the text lines of the first box drawn under a line holding title (right
// under it, or under the hint line that may follow it), and the box's inner width.
func boxUnder(scr, title string) (lines []string, inner int, ok bool) {
	rows := strings.Split(scr, "\n")
	for i := 0; i+1 < len(rows); i++ {
		if !strings.Contains(rows[i], title) {
			continue
		}
		if !strings.Contains(rows[i+1], "╭") && i+2 < len(rows) {
			i++ // the title's second line: how to select with the mouse
		}
		top := []rune(rows[i+1])
		left, right := runeIndex(top, '╭'), runeIndex(top, '╮')
		if left < 0 || right < left+3 {
			continue
		}
		for _, row := range rows[i+2:] {
			r := []rune(row)
			if len(r) > left && r[left] == '╰' {
				return lines, right - left - 3, true
			}
			if len(r) <= right || r[left] != '│' || r[right] != '│' {
				break
			}
			lines = append(lines, strings.TrimRight(string(r[left+2:right-1]), " "))
		}
	}
	return nil, 0, false
}

func runeIndex(r []rune, c rune) int {
	for i, x := range r {
		if x == c {
			return i
		}
	}
	return -1
}

// argvWords are the arguments of the commands in a ShellArgv record list.
func argvWords(records string) []string {
	var out []string
	for _, rec := range strings.Split(records, "\n") {
		parts := strings.Split(rec, "\037")
		out = append(out, parts[:len(parts)-1]...) // the last part is the standard input
	}
	return out
}

// plainToken matches an argument the shell takes as written (no quotes or escapes): an
// option, a path, an ID, an ARN.
var plainToken = regexp.MustCompile(`^[A-Za-z0-9:/._=,@+%-]+$`)

// checkCommandBox compares the command box on scr (a width-column screen) with cmds, the
// text c copied: pasted into bash as the screen shows it, the box runs the same commands with
// the same arguments; a token that fits a line of the box stands unbroken on one line.
func checkCommandBox(t *testing.T, scr, cmds, where string) {
	t.Helper()
	lines, inner, ok := boxUnder(scr, "Equivalent command")
	if !ok {
		t.Errorf("%s: no command box on the screen:\n%s", where, scr)
		return
	}
	shown := strings.Join(lines, "\n")
	want, got := testtool.ShellArgv(t, cmds), testtool.ShellArgv(t, shown)
	if got != want {
		t.Errorf("%s: the box, pasted, runs\n%q\ninstead of what c copies\n%q\nbox:\n%s", where, got, want, shown)
	}
	for _, w := range argvWords(want) {
		if len(w) > inner-2 || !plainToken.MatchString(w) {
			continue // wider than a line with its continuation: the shell joins its pieces
		}
		whole := false
		for _, l := range lines {
			whole = whole || strings.Contains(l, w)
		}
		if !whole {
			t.Errorf("%s: %q fits a line of the box (%d) but is broken:\n%s", where, w, inner, shown)
		}
	}
}

// checkARNs fails when an ARN outside the boxes is wrapped: each stands whole on a line, or
// (one longer than the pane) is shortened with "…".
func checkARNs(t *testing.T, scr, where string) {
	t.Helper()
	for _, row := range strings.Split(scr, "\n") {
		if strings.Contains(row, "│ │") || strings.ContainsAny(row, "╭╰") {
			continue // a command or document box: its own rules
		}
		for _, w := range strings.Fields(row) {
			if strings.HasPrefix(w, "arn:") && strings.ContainsAny(w[len(w)-1:], "/:-") {
				t.Errorf("%s: an ARN wraps after %q:\n%s", where, w, scr)
			}
		}
	}
}

var (
	stepTitleRe = regexp.MustCompile(`· step (\w+) of (\w+)`)
	sidebarHere = regexp.MustCompile(`(?m)^\s*\S\s+(\w+) [^│]*‹`)
)

// checkNumbers fails when the title's "step N of M" and the sidebar's marked row disagree.
func checkNumbers(t *testing.T, scr, where string) {
	t.Helper()
	title, side := stepTitleRe.FindStringSubmatch(scr), sidebarHere.FindStringSubmatch(scr)
	if title == nil || side == nil || title[1] != side[1] || title[2] != "13" {
		t.Errorf("%s: the title says %v, the sidebar marks %v:\n%s", where, title, side, scr)
	}
}

// TestTmuxWalkthrough enters through `jitpwiz --demo` in a 100×30 tmux pane, as the README
// says, and checks every step's screen as a person would see it:
//   - each step's command box at 80 and 120 columns, joined as it stands, runs in bash with the
//     argv of the command c puts in tmux's paste buffer (set-clipboard on), and a token that
//     fits a line stands unbroken (issue 16 items 1 and 2);
//   - after steps 7 and 12 run, the result shows first ("✓ Done"), with a scroll position
//     under the pane, and the mouse wheel scrolls (item 6);
//   - the title's step number is the sidebar's (item 8); the header names account, region and
//     the endpoints (item 10); the admin template's description wraps whole at 80 and 120
//     columns (item 9); the closing screen's footer says what its text says (item 13);
//   - no ARN outside a command box wraps (item 16).
func TestTmuxWalkthrough(t *testing.T) {
	bin, tmp := tmuxBinary(t, "builds and runs the whole wizard")
	ws := filepath.Join(tmp, "ws")
	s := startTmux(t, "walk", 100, 30, fmt.Sprintf("%s --demo --debug --dir %s", bin, ws))
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(ws, "jitpwiz-debug.log")); err == nil && t.Failed() {
			t.Logf("the wizard's debug log:\n%s", b)
		}
	})
	if out, err := s.run("set-option", "-s", "set-clipboard", "on"); err != nil {
		t.Fatalf("set-clipboard: %v %s", err, out)
	}
	scr := s.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "CA key") && strings.Contains(scr, "enter run") })
	for _, want := range []string{"target local", "account 123456789012", "us-east-2", "API 127.0.0.1:", "MQTT localhost:"} {
		if !strings.Contains(scr, want) {
			t.Errorf("the header lacks %q:\n%s", want, scr)
		}
	}

	// commands checks the step's command box at 80 and 120 columns against what c copies.
	checked := 0
	commands := func(where string) {
		t.Helper()
		if !strings.Contains(s.capture(), "c copy command") {
			return // a text input has focus: c is a letter there (the unit tests check these)
		}
		s.clearBuffers()
		s.send("c")
		s.waitFor("c to reach tmux's paste buffer, and its status", keyWait, func(scr string) bool {
			return strings.Contains(scr, "paste buffer") && s.buffer() != ""
		})
		cmds := s.buffer()
		for _, w := range []int{80, 120} {
			scr := s.resize(w, tallRows, frameReady(w, tallRows))
			checkCommandBox(t, scr, cmds, fmt.Sprintf("%s at %d columns", where, w))
			checked++
			if strings.HasSuffix(where, "done") {
				checkARNs(t, scr, fmt.Sprintf("%s at %d columns", where, w))
			}
		}
		s.resize(100, 30, frameReady(100, 30))
	}

	final := s.enterThrough(i18n.En, func(n, phase, scr string) {
		checkNumbers(t, scr, "step "+n)
		switch {
		case phase == "run" && n == "7":
			adminWraps(t, s)
		case phase == "done" && (n == "7" || n == "12"):
			resultFirst(t, s, scr, n)
		}
		commands("step " + n + " " + phase)
	})
	if checked < 2*2*13-2*4 { // 13 steps done, and before they run those without a text input focused
		t.Errorf("only %d command boxes checked: c should copy on every step once it ran", checked)
	}
	t.Logf("%d command boxes checked against bash", checked)
	// the content pane only (right of the sidebar's rule): a banner's wrapped lines read as one
	var pane []string
	for _, line := range strings.Split(final, "\n") {
		if _, right, ok := strings.Cut(line, "│"); ok {
			line = right
		}
		pane = append(pane, line)
	}
	flat := strings.Join(strings.Fields(strings.ReplaceAll(strings.Join(pane, "\n"), "│", "")), " ")
	if !strings.Contains(flat, "Press enter or q to leave, esc to go back to the last step.") ||
		!regexp.MustCompile(`(?m)^\s*enter leave • esc back • \? help • q quit\s*$`).MatchString(final) {
		t.Errorf("the closing screen's footer does not say what its text says:\n%s", final)
	}
}

// resultFirst checks a step that has just run (step n, scr its screen at 100×30): the result
// comes first and the line under the pane says there is more; the mouse wheel scrolls.
func resultFirst(t *testing.T, s *tmuxSession, scr, n string) {
	t.Helper()
	if !strings.Contains(scr, "✓ Done") || !strings.Contains(scr, "↓ more below · lines 1–") {
		t.Errorf("step %s: after the run the result should show first, with more below:\n%s", n, scr)
	}
	const wheelDown, wheelUp = "\x1b[<65;60;15M", "\x1b[<64;60;15M" // SGR mouse reports
	for i := 0; i < 3; i++ {
		s.sendBytes(wheelDown)
	}
	s.waitFor("the wheel to scroll down", keyWait, func(scr string) bool {
		return strings.Contains(scr, "more above") && !strings.Contains(scr, "✓ Done")
	})
	for i := 0; i < 3; i++ {
		s.sendBytes(wheelUp)
	}
	s.waitFor("the wheel to scroll back up", keyWait, func(scr string) bool {
		return strings.Contains(scr, "↓ more below · lines 1–") && strings.Contains(scr, "✓ Done")
	})
}

// adminWraps chooses the admin template on step 7 and checks that its description is
// shown whole, wrapped under the option, at 80 and 120 columns; then goes back to scoped.
func adminWraps(t *testing.T, s *tmuxSession) {
	t.Helper()
	s.send("j")
	s.waitFor("admin chosen", keyWait, func(scr string) bool { return strings.Contains(scr, "(●) admin") })
	const desc = "(●) admin — thing from the certificate's CN; inline policy allowing iot:* on * (for labs only)"
	for _, w := range []int{80, 120} {
		scr := s.resize(w, tallRows, frameReady(w, tallRows))
		var got []string
		rows := strings.Split(scr, "\n")
		for i, row := range rows {
			if j := strings.Index(row, "(●) admin"); j >= 0 {
				got = append(got, strings.TrimSpace(row[j:]))
				for _, next := range rows[i+1:] {
					k := strings.LastIndex(next, "│ ")
					if k < 0 || !strings.HasPrefix(next[k+len("│ "):], "      ") {
						break // the description's lines hang under the label
					}
					got = append(got, strings.TrimSpace(next[k+len("│ "):]))
				}
			}
		}
		if strings.Join(got, " ") != desc {
			t.Errorf("at %d columns the admin description reads %q, want %q:\n%s", w, strings.Join(got, " "), desc, scr)
		}
	}
	s.send("k")
	s.resize(100, 30, func(scr string) bool { return frameReady(100, 30)(scr) && strings.Contains(scr, "(●) scoped") })
}

// TestTmuxBusyPorts: when another program holds the local IoT Core's default ports, the
// header says so and shows the ports used instead (issue 16 item 10).
func TestTmuxBusyPorts(t *testing.T) {
	bin, tmp := tmuxBinary(t, "builds and runs the binary")
	for _, addr := range []string{"127.0.0.1:4599", "127.0.0.1:8883"} {
		if ln, err := net.Listen("tcp", addr); err == nil { // else busy already: as good
			t.Cleanup(func() { ln.Close() })
		}
	}
	s := startTmux(t, "ports", 140, 30, fmt.Sprintf("%s --demo --dir %s", bin, filepath.Join(tmp, "ws")))
	scr := s.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "enter run") })
	if !regexp.MustCompile(`API 127\.0\.0\.1:\d+ \(4599 was busy\)`).MatchString(scr) ||
		!regexp.MustCompile(`MQTT localhost:\d+ \(8883 was busy\)`).MatchString(scr) {
		t.Errorf("the header does not say which ports were busy:\n%s", scr)
	}
}

// fieldCount is how many of the whitespace-separated fields of s are exactly w.
func fieldCount(s, w string) int {
	n := 0
	for _, f := range strings.Fields(s) {
		if f == w {
			n++
		}
	}
	return n
}

// TestTmuxKeys presses the keys of issue 16 items 8 and 13 in a tmux pane on step 1 of a new
// workspace: shift+tab is the previous field, not the previous step; esc in a path input that
// "use existing files" brought goes back to that choice (and does not flag the empty path);
// ? lists every binding once; quitting after step 1 names the step to do next.
func TestTmuxKeys(t *testing.T) {
	bin, tmp := tmuxBinary(t, "builds and runs the binary")
	s := startTmux(t, "keys", 100, 40, fmt.Sprintf("%s --dir %s; echo wizard-exit-$?; sleep 60", bin, filepath.Join(tmp, "ws")))
	s.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "enter run") })
	onStep1 := func(scr string) bool { return strings.Contains(scr, "CA key · step 1 of 13") }

	s.send("j", "Tab")
	scr := s.waitFor("the CA certificate path focused", keyWait, func(scr string) bool {
		return strings.Contains(scr, "(●) use existing files") && strings.Contains(scr, "› CA certificate file")
	})
	if !strings.Contains(scr, "esc back to the choice") {
		t.Errorf("the footer does not say where esc goes:\n%s", scr)
	}
	s.send("BTab")
	s.waitFor("shift+tab to focus the previous field, on step 1", keyWait, func(scr string) bool {
		return onStep1(scr) && strings.Contains(scr, "› Certificate authority")
	})
	s.send("Tab")
	s.waitFor("tab to the CA certificate path again", keyWait, func(scr string) bool { return strings.Contains(scr, "› CA certificate file") })
	// Escape alone: sent with the next key, a terminal's ESC and that key read as alt+key
	s.send("Escape")
	scr = s.waitFor("esc to go back to the choice", keyWait, func(scr string) bool {
		return onStep1(scr) && strings.Contains(scr, "› Certificate authority")
	})
	if strings.Contains(scr, "empty — type the path") {
		t.Errorf("esc back to the choice flags the path it left:\n%s", scr)
	}
	s.send("k")
	s.waitFor("generate new again, without the path inputs", keyWait, func(scr string) bool {
		return strings.Contains(scr, "(●) generate new") && !strings.Contains(scr, "CA certificate file")
	})
	s.send("BTab") // on the first field: wraps to the last, as tab does the other way
	s.waitFor("shift+tab on the first field to wrap to the last", keyWait, func(scr string) bool {
		return onStep1(scr) && strings.Contains(scr, "› Onboarding")
	})

	s.send("?")
	scr = s.waitFor("the full help", keyWait, func(scr string) bool { return strings.Contains(scr, "shift+tab") })
	help := scr[strings.LastIndex(scr, "\n\n"):] // the footer, under the pane
	for _, k := range []string{"enter", "r", "c", "esc", "tab", "shift+tab", "↑/k", "↓/j", "pgup/pgdn", "?", "q"} {
		if n := fieldCount(help, k); n != 1 {
			t.Errorf("the help lists %q %d times:\n%s", k, n, help)
		}
	}
	s.send("?", "Enter")
	s.waitFor("step 1 done", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "enter continue") })
	s.send("q")
	scr = s.waitFor("the wizard to end", keyWait, func(scr string) bool { return strings.Contains(scr, "wizard-exit-") })
	if !strings.Contains(scr, "jitpwiz: 1 of 13 steps done; next: step 2 (OpenSSL conf)") || strings.Contains(scr, "stopped at") || !strings.Contains(scr, "wizard-exit-0") {
		t.Errorf("after quitting on step 1 done:\n%s", scr)
	}
}

// contentRows are the rows of a full-layout frame between the header and the line under the
// pane, as the pane shows them (the sidebar cut off).
func contentRows(scr string) []string {
	var out []string
	for _, row := range strings.Split(scr, "\n") {
		if i := strings.Index(row, "│ "); i >= 0 && i < 40 {
			out = append(out, strings.TrimRight(row[i+len("│ "):], " "))
		} else if strings.HasSuffix(strings.TrimRight(row, " "), "│") {
			out = append(out, "")
		}
	}
	return out
}

// colourSGR matches an SGR sequence that sets a foreground or background colour (tmux's
// capture-pane -e writes them as 3x/9x, 4x/10x, 38;5;n or 38;2;r;g;b).
var colourSGR = regexp.MustCompile(`\x1b\[(?:[0-9]*;)*(?:3[0-8]|9[0-7]|4[0-8]|10[0-7])[;m]`)

// TestTmuxTerminal is issue 16's terminal item, in tmux: the too-small notice fits the
// terminal it is on; a pane grown after scrolling to the end shows no blank rows under the
// content; TERM=dumb draws ASCII only; with NO_COLOR the done step on screen is still marked.
func TestTmuxTerminal(t *testing.T) {
	bin, tmp := tmuxBinary(t, "builds and runs the binary")
	s := startTmux(t, "term", 100, 30, fmt.Sprintf("%s --demo --dir %s", bin, filepath.Join(tmp, "ws")))
	s.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "enter run") })

	for _, sz := range [][2]int{{59, 14}, {40, 8}} {
		want := fmt.Sprintf("jitpwiz needs at least 60×15; this terminal is %d×%d. Make it larger, or press q to quit.", sz[0], sz[1])
		scr := s.resize(sz[0], sz[1], func(scr string) bool {
			return strings.Contains(strings.Join(strings.Fields(scr), " "), fmt.Sprintf("is %d×%d.", sz[0], sz[1]))
		})
		if got := strings.Join(strings.Fields(scr), " "); got != want {
			t.Errorf("%d×%d: the notice reads %q, want %q:\n%s", sz[0], sz[1], got, want, scr)
		}
	}

	// scrolled to the end on a short pane, then grown: the content's end stays at the bottom
	s.resize(100, 26, frameReady(100, 26))
	for i := 0; i < 6; i++ {
		s.send("PageDown")
	}
	s.waitFor("the end of the step", keyWait, func(scr string) bool { return strings.Contains(scr, "↑ more above") })
	scr := s.resize(100, 32, frameReady(100, 32))
	rows := contentRows(scr)
	if !strings.Contains(scr, "↑ more above") || len(rows) == 0 || strings.TrimSpace(rows[len(rows)-1]) == "" {
		t.Errorf("grown from 26 to 32 rows at the end of the content, the pane ends in blank rows:\n%s", scr)
	}
	scr = s.resize(100, 50, frameReady(100, 50))
	if !strings.Contains(scr, "CA key · step 1 of 13") || strings.Contains(scr, "more above") {
		t.Errorf("grown to 50 rows the whole step fits and shows from its top:\n%s", scr)
	}

	// NO_COLOR: the done step on screen keeps its mark
	nc := startTmux(t, "nocolor", 100, 30, fmt.Sprintf("NO_COLOR=1 %s --demo --dir %s", bin, filepath.Join(tmp, "ws-nc")))
	nc.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "enter run") })
	nc.send("Enter")
	nc.waitFor("step 1 done", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "enter continue") })
	nc.send("Enter")
	nc.waitFor("step 2", keyWait, func(scr string) bool { return strings.Contains(scr, "step 2 of 13") })
	nc.send("Escape")
	scr = nc.waitFor("back on step 1", keyWait, func(scr string) bool { return strings.Contains(scr, "step 1 of 13") })
	if !regexp.MustCompile(`✓ +1 CA key ‹`).MatchString(scr) || strings.Contains(scr, "OpenSSL conf ‹") {
		t.Errorf("with NO_COLOR the done step on screen is not marked:\n%s", scr)
	}
	if out, _ := nc.run("capture-pane", "-e", "-p", "-t", nc.name); colourSGR.MatchString(out) {
		t.Errorf("NO_COLOR: the screen has colours: %q", colourSGR.FindString(out))
	}

	// TERM=dumb: ASCII only, on every screen
	dumb := startTmux(t, "dumb", 100, 40, fmt.Sprintf("env TERM=dumb %s --demo --dir %s", bin, filepath.Join(tmp, "ws-dumb")))
	ascii := func(what string, scr string) {
		t.Helper()
		for _, r := range scr {
			if r > 127 {
				t.Errorf("TERM=dumb, %s: %q is not ASCII:\n%s", what, r, scr)
				return
			}
		}
	}
	ascii("the first step", dumb.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "enter run") }))
	dumb.send("?")
	ascii("the full help", dumb.waitFor("the full help", keyWait, func(scr string) bool { return strings.Contains(scr, "shift+tab") }))
	dumb.send("?", "j")
	ascii("use existing files", dumb.waitFor("use existing files", keyWait, func(scr string) bool { return strings.Contains(scr, "(*) use existing files") }))
	dumb.send("k", "Enter")
	ascii("step 1 done", dumb.waitFor("step 1 done", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "enter continue") }))
	ascii("too small", dumb.resize(40, 8, func(scr string) bool { return strings.Contains(strings.Join(strings.Fields(scr), " "), "is 40x8.") }))
}

// TestTmuxCopy: c on step 1 inside tmux puts the command in tmux's paste buffer, with
// set-clipboard on (plain OSC 52, which tmux takes; the DCS-wrapped form it drops) and with
// tmux's default, external (which ignores OSC 52 from programs: tmux load-buffer); the status
// says where it went and that the terminal does not confirm (issue 16 item 1).
func TestTmuxCopy(t *testing.T) {
	bin, tmp := tmuxBinary(t, "builds and runs the binary")
	const cmd = "openssl genrsa -out deviceRootCA.key 2048"
	for _, setting := range []string{"on", "external"} {
		t.Run(setting, func(t *testing.T) {
			s := startTmux(t, "copy-"+setting, 100, 30, fmt.Sprintf("%s --demo --dir %s", bin, filepath.Join(tmp, "ws-"+setting)))
			if out, err := s.run("set-option", "-s", "set-clipboard", setting); err != nil {
				t.Fatalf("set-clipboard: %v %s", err, out)
			}
			s.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "c copy command") })
			s.clearBuffers()
			s.send("c")
			scr := s.waitFor("the copy's status", keyWait, func(scr string) bool { return strings.Contains(scr, "paste buffer") })
			if got := s.buffer(); got != cmd {
				t.Errorf("tmux show-buffer = %q, want %q", got, cmd)
			}
			if !strings.Contains(scr, "does not confirm") {
				t.Errorf("the status claims what the terminal cannot confirm:\n%s", scr)
			}
		})
	}
}
