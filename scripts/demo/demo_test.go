package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// TestParseDemoTape: the recorder understands every line of demo.tape, and a line it does not
// know is an error naming the line.
func TestParseDemoTape(t *testing.T) {
	b, err := os.ReadFile("../../demo.tape")
	if err != nil {
		t.Fatal(err)
	}
	tape, err := ParseTape(string(b))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Kind]int{}
	for _, c := range tape.Commands {
		kinds[c.Kind]++
	}
	if kinds[Hide] != 1 || kinds[Show] != 1 || kinds[WaitScreen] < 26 || kinds[Key] < 26 || kinds[Type] < 2 {
		t.Errorf("demo.tape parsed into %v", kinds)
	}
	if _, err := ParseTape("Type \"x\"\nCtrl+Z\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("an unknown command: %v", err)
	}
}

// TestRecordShortTape records a short tape — the wizard's first step, run, then quit — with
// the real tmux, asciinema and svg-term, as make demo records demo.tape: a cast with the
// screen's text in it comes out, and svg-term renders it.
func TestRecordShortTape(t *testing.T) {
	for _, tool := range []string{"tmux", "asciinema", "svg-term"} {
		testtool.Need(t, tool)
	}
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("records a terminal")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "jitpwiz"), ".")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := t.TempDir()
	cast, svg := filepath.Join(dir, "short.cast"), filepath.Join(dir, "short.svg")
	if err := Record(Options{Tape: "testdata/short.tape", Cast: cast, SVG: svg, Dir: dir, Cols: 100, Rows: 30, Log: func(s string) { t.Log(s) }}); err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile(cast)
	if err != nil {
		t.Fatal(err)
	}
	if head, _, _ := strings.Cut(string(c), "\n"); !strings.Contains(head, `"width": 100`) || !strings.Contains(head, `"height": 30`) {
		t.Errorf("cast header %s", head)
	}
	// what a viewer of the recording sees: the output events' text, without the terminal's
	// escape sequences (a styled footer puts them between "enter" and "run")
	var seen strings.Builder
	for _, line := range strings.Split(string(c), "\n")[1:] {
		var ev []any
		if json.Unmarshal([]byte(line), &ev) == nil && len(ev) == 3 && ev[1] == "o" {
			if out, ok := ev[2].(string); ok {
				seen.WriteString(out)
			}
		}
	}
	shown := ansi.Strip(seen.String())
	for _, want := range []string{"CA key", "enter run", "Just-in-Time Provisioning"} { // the wizard's screen
		if !strings.Contains(shown, want) {
			t.Errorf("the recording lacks %q", want)
		}
	}
	s, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(s), "<svg") || !strings.Contains(string(s), ">Just-in-Time<") || !strings.Contains(string(s), ">--demo<") { // svg-term writes a text element a word
		t.Errorf("svg-term did not render the recording (%d bytes)", len(s))
	}
}
