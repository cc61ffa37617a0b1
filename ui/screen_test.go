package ui

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/steps"
)

// What the screen says is true, driven by keystrokes (issue 16): numbering, navigation inside
// a form, help, the closing screen and the line after quitting, the terminal's size, dumb
// terminals and NO_COLOR.

func sizeMsg(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }

// fits fails when a screen has a line wider than w or more than h lines.
func fits(t *testing.T, scr string, w, h int) {
	t.Helper()
	lines := strings.Split(scr, "\n")
	if len(lines) > h {
		t.Errorf("%d lines on a %d-line terminal:\n%s", len(lines), h, scr)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d wide on a %d-wide terminal: %q", i+1, n, w, l)
		}
	}
}

// TestShiftTabIsThePreviousField: inside a form, shift+tab goes to the previous field (as in
// huh) and wraps like tab does; it never leaves the step.
func TestShiftTabIsThePreviousField(t *testing.T) {
	w := newWorld()
	w.done["one"] = true
	plan := []steps.Step{
		&testStep{id: "one", title: "First step", w: w},
		&testStep{id: "form", title: "Form step", w: w, inputs: []steps.Field{countryField(w), keyTypeField(w)}},
	}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	if d.m.Active().ID() != "form" || !d.m.Active().Typing() {
		t.Fatalf("opens on %s with the country focused:\n%s", d.m.Active().ID(), d.screen())
	}
	d.press("tab")
	if d.m.Active().Typing() || !strings.Contains(d.screen(), "› Key type") {
		t.Fatalf("tab should focus the key type:\n%s", d.screen())
	}
	d.press("shift+tab")
	if d.m.Active().ID() != "form" || !d.m.Active().Typing() {
		t.Fatalf("shift+tab should go back to the country field, not to step one (on %s):\n%s", d.m.Active().ID(), d.screen())
	}
	d.press("shift+tab") // wraps to the last field
	if d.m.Active().ID() != "form" || !strings.Contains(d.screen(), "› Key type") {
		t.Fatalf("shift+tab on the first field should wrap to the last:\n%s", d.screen())
	}
	d.press("esc")
	d.until("esc goes to the previous step", func() bool { return d.m.Active().ID() == "one" })
}

// TestEscBackToTheChoice: on the real step 1, "use existing files" brings the two path inputs;
// esc in one goes back to the choice, where ↑ picks "generate new" again.
func TestEscBackToTheChoice(t *testing.T) {
	s := newSession(t, filepath.Join(t.TempDir(), "ws"))
	d := drive(t, realWizard(s, nil), 100, 40)
	d.press("j", "tab")
	if !d.m.Active().Typing() || !strings.Contains(d.screen(), "› CA certificate file") {
		t.Fatalf("tab should focus the CA certificate path:\n%s", d.screen())
	}
	if !strings.Contains(d.screen(), "esc back to the choice") {
		t.Errorf("the footer should say where esc goes:\n%s", d.screen())
	}
	d.press("esc")
	scr := d.screen()
	if d.m.Active().Typing() || !strings.Contains(scr, "› Certificate authority") || d.m.Active().ID() != steps.IDCAKey {
		t.Fatalf("esc should go back to the CA choice:\n%s", scr)
	}
	d.press("k")
	if scr := d.screen(); !strings.Contains(scr, "(●) generate new") || strings.Contains(scr, "CA certificate file") {
		t.Fatalf("↑ on the choice should pick generate new and drop the path inputs:\n%s", scr)
	}
}

// TestNumbersAgree: the title's "step N of M", the sidebar's numbers and the compact header
// use the same numbers — the plan's — with steps skipped (your own CA: 1–3; SNI_ONLY: 4–5) and
// in the JITR plan (11a, no step 7).
func TestNumbersAgree(t *testing.T) {
	cases := []struct {
		name string
		o    steps.Options
		open steps.ID
		want []string // on the screen of step open
	}{
		{"jitp", steps.Options{}, steps.IDCAKey, []string{"CA key · step 1 of 13", " 1 CA key ‹"}},
		{"sni-only, 4 and 5 skipped", steps.Options{CAMode: steps.CAModeSNIOnly}, steps.IDRole,
			[]string{"Provisioning role · step 6 of 13", "6 Provisioning role ‹", "–  4 Registration code (skip"}},
		{"jitr", steps.Options{Mode: steps.ModeJITR}, steps.IDActivate, []string{"Activate · step 11a of 13", "11a Activate ‹"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.o.Dir = filepath.Join(t.TempDir(), "ws")
			s, err := steps.Open(c.o)
			if err != nil {
				t.Fatal(err)
			}
			m := realWizard(s, nil)
			for i, st := range m.plan {
				if st.ID() == c.open {
					m.show(i)
				}
			}
			d := drive(t, m, 120, 40)
			scr := d.screen()
			for _, w := range c.want {
				if !strings.Contains(scr, w) {
					t.Errorf("missing %q:\n%s", w, scr)
				}
			}
			d.send(sizeMsg(70, 20)) // compact: the header's N/M is the same number
			label := strings.Fields(c.want[0])[len(strings.Fields(c.want[0]))-3]
			if scr := d.screen(); !strings.Contains(scr, " "+label+"/13") {
				t.Errorf("compact header lacks %s/13:\n%s", label, scr)
			}
		})
	}
}

// TestHelpIsTheKeyMap: ? shows every binding once — enter, r, c, esc, tab, shift+tab, the
// arrows, paging, help and quit — with no key listed twice.
func TestHelpIsTheKeyMap(t *testing.T) {
	w := newWorld()
	plan := []steps.Step{&testStep{id: "form", title: "Form step", w: w, inputs: []steps.Field{keyTypeField(w), countryField(w)}}}
	m := newTestModel(plan, nil)
	m.mouseAvail = true
	d := drive(t, m, 120, 40)
	d.press("?")
	footer := ansi.Strip(d.m.footerView(118))
	for _, k := range []string{"enter", "r ", "c ", "esc", "tab", "shift+tab", "↑/k", "↓/j", "pgup/pgdn", "m ", "? ", "q "} {
		if !strings.Contains(footer, k) {
			t.Errorf("full help lacks %q:\n%s", k, footer)
		}
	}
	seen := map[string]bool{}
	for _, g := range d.m.FullHelp() {
		for _, b := range g {
			k := strings.Join(b.Keys(), " ")
			if seen[k] {
				t.Errorf("%q is listed twice", k)
			}
			seen[k] = true
		}
	}
	if words := strings.Fields(footer); count(words, "shift+tab") != 1 || count(words, "tab") != 1 || count(words, "enter") != 1 {
		t.Errorf("a key appears twice on the help screen:\n%s", footer)
	}
}

// TestClosingScreenAndSummary: the closing banner and the footer agree (enter leaves, esc
// goes back), and the line after quitting names the step to do next, not the one done.
func TestClosingScreenAndSummary(t *testing.T) {
	w := newWorld()
	d := drive(t, newTestModel(fourSteps(w), nil), 100, 30)
	d.press("enter")
	d.until("step one done", func() bool { return d.m.Active().State() == steps.StateDone })
	if sum := d.m.Summary(); !strings.Contains(sum, "1 of 3 steps done; next: step 3 (Choice step)") {
		t.Errorf("after step one, the summary says %q", sum)
	}
	for d.m.Active().ID() != "four" || d.m.Active().State() != steps.StateDone {
		cur, was := d.m.Active(), d.m.Active().State()
		d.press("enter") // run the step, or go on to the next one
		d.until("a step to run or the next to show", func() bool {
			return !d.m.Busy() && (d.m.Active() != cur || cur.State() != was)
		})
	}
	d.press("enter")
	d.until("the closing screen", d.m.Finished)
	scr := strings.Join(strings.Fields(strings.ReplaceAll(ansi.Strip(d.m.contentView()), "│", "")), " ")
	if !strings.Contains(scr, "Press enter or q to leave, esc to go back") {
		t.Fatalf("no closing banner:\n%s", d.screen())
	}
	footer := ansi.Strip(d.m.footerView(98))
	if !strings.Contains(footer, "enter leave") || !strings.Contains(footer, "esc back") || !strings.Contains(footer, "q quit") {
		t.Errorf("the footer does not say what the banner says:\n%s", footer)
	}
	if sum := d.m.Summary(); sum != "jitpwiz: all 3 steps done." {
		t.Errorf("summary %q", sum)
	}
	d.press("esc")
	if d.m.Finished() {
		t.Fatal("esc should go back from the closing screen")
	}
}

// TestTooSmallFits: the notice of a terminal below 60×15 fits the terminal it is shown on,
// down to a few cells.
func TestTooSmallFits(t *testing.T) {
	for _, sz := range [][2]int{{59, 14}, {50, 10}, {40, 6}, {20, 5}, {12, 3}, {8, 1}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			d := drive(t, newTestModel(fourSteps(newWorld()), nil), sz[0], sz[1])
			scr := d.screen()
			fits(t, scr, sz[0], sz[1])
			if sz[1] >= 5 && !strings.Contains(strings.Join(strings.Fields(scr), " "), "jitpwiz needs at least 60×15") {
				t.Errorf("the notice lost its words:\n%s", scr)
			}
		})
	}
}

// TestGrowingShowsNoBlankRows: scrolled to the end on a short terminal, then grown, the pane
// shows more of the content instead of blank rows under its end.
func TestGrowingShowsNoBlankRows(t *testing.T) {
	s := newSession(t, filepath.Join(t.TempDir(), "ws"))
	d := drive(t, realWizard(s, nil), 100, 20)
	d.press("pgdown", "pgdown", "pgdown", "pgdown")
	if strings.Contains(d.screen(), "CA key · step 1") {
		t.Fatalf("the first step's content should not fit 20 rows:\n%s", d.screen())
	}
	d.send(sizeMsg(100, 50))
	scr := d.screen()
	if !strings.Contains(scr, "CA key · step 1 of 13") || strings.Contains(scr, "more above") {
		t.Fatalf("grown to 50 rows the whole step fits, and should show from its top:\n%s", scr)
	}
}

// TestDumbTerminalIsASCII: TERM=dumb gets ASCII only — icons, borders, dashes, arrows,
// separators — on every screen, the text of the steps included.
func TestDumbTerminalIsASCII(t *testing.T) {
	t.Setenv("TERM", "dumb")
	s := newSession(t, filepath.Join(t.TempDir(), "ws"))
	d := drive(t, realWizard(s, nil), 100, 40)
	check := func(what string) {
		t.Helper()
		for _, r := range d.screen() {
			if r > 127 {
				t.Fatalf("%s: %q is not ASCII:\n%s", what, r, d.screen())
			}
		}
	}
	check("first step")
	d.press("?")
	check("full help")
	d.press("?", "j")
	check("use existing files")
	d.send(sizeMsg(30, 8))
	check("too small")
}

// TestNoColorMarksTheStepOnScreen: without colour (the tests' profile is Ascii, as NO_COLOR
// gives), going back to a done step still shows which step is on screen: a mark, not bold.
func TestNoColorMarksTheStepOnScreen(t *testing.T) {
	w := newWorld()
	d := drive(t, newTestModel(fourSteps(w), nil), 100, 30)
	d.press("enter")
	d.until("one done", func() bool { return d.m.Active().State() == steps.StateDone })
	d.press("enter")
	d.until("on three", func() bool { return d.m.Active().ID() == "three" })
	d.press("esc")
	d.until("back on one", func() bool { return d.m.Active().ID() == "one" })
	scr := d.screen()
	if !strings.Contains(scr, "✓  1 First step ‹") || strings.Contains(scr, "3 Choice step ‹") {
		t.Fatalf("the done step on screen is not marked:\n%s", scr)
	}
}

// TestChoiceDescriptionWraps: the selected option's description wraps to the pane's width,
// at any width, instead of being cut.
func TestChoiceDescriptionWraps(t *testing.T) {
	s := newSession(t, filepath.Join(t.TempDir(), "ws"))
	m := realWizard(s, nil)
	for i, st := range m.plan {
		if st.ID() == steps.IDTemplate {
			m.show(i)
		}
	}
	for _, width := range []int{80, 100, 160} {
		d := drive(t, m, width, 60)
		d.press("j") // admin: the longest description
		scr := d.screen()
		fits(t, scr, width, 60)
		// the description, whole, on the lines under the option (the sidebar's text between)
		var desc []string
		for _, l := range strings.Split(scr, "\n") {
			if i := strings.Index(l, "(●) admin"); i >= 0 || len(desc) > 0 && len(desc) < 4 {
				if i < 0 {
					i = strings.Index(l, "│ ") + len("│ ")
				}
				desc = append(desc, strings.TrimSpace(l[i:]))
			}
		}
		if flat := strings.Join(strings.Fields(strings.Join(desc, " ")), " "); !strings.Contains(flat, "(●) admin — thing from the certificate's CN; inline policy allowing iot:* on * (for labs only)") {
			t.Errorf("width %d: the admin description is cut (%q):\n%s", width, flat, scr)
		}
		d.press("k")
	}
}

func count(words []string, w string) int {
	n := 0
	for _, x := range words {
		if x == w {
			n++
		}
	}
	return n
}

// TestKeysArrivingTogether: keys that reach the program in one read (bubbletea reports them
// as one message of several runes: typed fast, over a slow link, sent by tmux or a script)
// act one after the other; once a text input has focus, the rest is its text.
func TestKeysArrivingTogether(t *testing.T) {
	w := newWorld()
	plan := []steps.Step{&testStep{id: "form", title: "Form step", w: w, inputs: []steps.Field{keyTypeField(w), countryField(w)}}}
	d := drive(t, newTestModel(plan, nil), 100, 30)
	d.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?j")})
	if scr := d.screen(); !d.m.fullHelp || !strings.Contains(scr, "(●) EC P-256") {
		t.Fatalf("? then j, arrived together: help %v\n%s", d.m.fullHelp, scr)
	}
	d.press("tab") // the country: a text input
	d.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?q")})
	if scr := d.screen(); !d.m.fullHelp || d.quit || !strings.Contains(scr, "> IN?q") {
		t.Fatalf("typed into the country, ? and q are text:\n%s", scr)
	}
}

// TestMouseHint: while the wizard has the mouse (for the wheel), the command box says how to
// select it with the mouse; m gives the mouse to the terminal, and the hint goes.
func TestMouseHint(t *testing.T) {
	w := newWorld()
	m := newTestModel([]steps.Step{&testStep{id: "choice", title: "Choice step", w: w, inputs: []steps.Field{keyTypeField(w)}}}, nil)
	m.mouseAvail, m.mouse = true, true
	d := drive(t, m, 120, 40)
	const hint = "hold Shift to select it with the mouse"
	if !strings.Contains(d.screen(), "Equivalent command · "+hint) {
		t.Fatalf("no selection hint while the wizard has the mouse:\n%s", d.screen())
	}
	d.send(sizeMsg(80, 40)) // too narrow for the title's line: the hint gets its own
	if !regexp.MustCompile(`Equivalent command *\n[^\n]*│ ` + hint).MatchString(d.screen()) {
		t.Fatalf("at 80 columns:\n%s", d.screen())
	}
	d.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("m")})
	if scr := d.screen(); m.mouse || strings.Contains(scr, hint) || !strings.Contains(scr, "The terminal has the mouse") {
		t.Fatalf("after m the terminal has the mouse (mouse %v):\n%s", m.mouse, scr)
	}
}

// TestHeader: the header names where the wizard works — target, account, region, the
// profile or endpoint — and, for the local IoT Core, its ports, saying which default was busy.
func TestHeader(t *testing.T) {
	cases := []struct {
		name string
		w    steps.Where
		want string
	}{
		{"aws, profile", steps.Where{Target: "aws", Account: "111122223333", Region: "eu-west-1", Profile: "dev"},
			"target aws · account 111122223333 · eu-west-1 · profile dev · ./jitp"},
		{"aws, endpoint", steps.Where{Target: "aws", Account: "111122223333", Region: "us-east-1", EndpointURL: "http://127.0.0.1:5000"},
			"target aws · account 111122223333 · us-east-1 · endpoint http://127.0.0.1:5000 · ./jitp"},
		{"local, default ports", steps.Where{Target: "local", Account: "123456789012", Region: "us-east-2", EndpointURL: "http://127.0.0.1:4599", MQTT: "localhost:8883"},
			"target local · account 123456789012 · us-east-2 · API 127.0.0.1:4599 · MQTT localhost:8883 · ./jitp"},
		{"local, busy ports", steps.Where{Target: "local", Account: "123456789012", Region: "us-east-2", EndpointURL: "http://127.0.0.1:40001", MQTT: "localhost:40002",
			Moved: []steps.PortMove{{What: "API", Default: 4599, Used: 40001}, {What: "MQTT", Default: 8883, Used: 40002}}},
			"target local · account 123456789012 · us-east-2 · API 127.0.0.1:40001 (4599 was busy) · MQTT localhost:40002 (8883 was busy) · ./jitp"},
		{"local, served by jitpwiz local", steps.Where{Target: "local", Account: "123456789012", Region: "us-east-2", EndpointURL: "http://127.0.0.1:4599", MQTT: "localhost:8883", SharedPID: 4242},
			"target local · account 123456789012 · us-east-2 · API 127.0.0.1:4599 · MQTT localhost:8883 · served by jitpwiz local (pid 4242) · ./jitp"},
	}
	for _, c := range cases {
		if got := Header(c.w, "./jitp", false); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	// on a narrow terminal the parts go on lines of their own, never cut inside a part
	m := newTestModel(fourSteps(newWorld()), nil)
	m.header = cases[3].want
	d := drive(t, m, 90, 30)
	if scr := d.screen(); !strings.Contains(scr, "API 127.0.0.1:40001 (4599 was busy)") || !strings.Contains(scr, "MQTT localhost:40002 (8883 was busy)") {
		t.Errorf("at 90 columns the header loses a part:\n%s", scr)
	}
}
