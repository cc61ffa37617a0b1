package ui

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps"
)

var (
	hexRun   = regexp.MustCompile(`[0-9a-f]{12,}`)
	loopback = regexp.MustCompile(`(127\.0\.0\.1|localhost):\d+`)
	portFlag = regexp.MustCompile(`-p (\d+)`)
)

// normalize replaces what differs between runs — IDs and codes (hex runs with a letter) by x's
// of the same length, loopback ports by PORT — before layout (Options.Display), so wrapping and
// boxes come out the same on every run.
func normalize(s string) string {
	s = hexRun.ReplaceAllStringFunc(s, func(h string) string {
		if strings.IndexAny(h, "abcdef") < 0 {
			return h // all digits: an account ID such as 123456789012, the same on every run
		}
		return strings.Repeat("x", len(h))
	})
	s = loopback.ReplaceAllString(s, "$1:PORT")
	return portFlag.ReplaceAllString(s, "-p PORT")
}

func TestNormalize(t *testing.T) {
	in := "id 4daf7d03ef0e89cdf245330d3d7b5081 acct 123456789012 url http://127.0.0.1:41234 -h localhost -p 38883"
	want := "id xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx acct 123456789012 url http://127.0.0.1:PORT -h localhost -p PORT"
	if got := normalize(in); got != want {
		t.Fatalf("normalize:\n got %q\nwant %q", got, want)
	}
}

// TestGoldenEachStep opens the wizard on each of the 13 steps in turn, as a resumed workspace
// does, at 100×30, and compares the screen (inputs, explanation, equivalent commands) with
// testdata/TestGoldenEachStep/NN-<step>.golden, and in Korean, Japanese and Chinese with
// testdata/TestGoldenEachStep/<lang>/NN-<step>.golden. Between screens the step's action runs — the
// same Step.Run the wizard calls — against the embedded local IoT Core.
func TestGoldenEachStep(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs the whole procedure")
	}
	s := openWorkspace(t, t.TempDir()+"/ws")
	for i, st := range steps.NewPlan(s).Steps() {
		name := strings.Replace(string(rune('0'+(i+1)/10))+string(rune('0'+(i+1)%10))+"-"+string(st.ID()), "/", "-", -1)
		t.Run(name, func(t *testing.T) { goldenStep(t, s, st) })
		for _, lang := range translated {
			t.Run(string(lang)+"/"+name, func(t *testing.T) {
				setLang(t, lang)
				goldenStepIn(t, s, st)
			})
		}
		if err := st.Run(context.Background()); err != nil {
			t.Fatalf("step %s: %v", st.ID(), err)
		}
	}
}

// goldenStep opens the real wizard of s on step st (the first not done) at 100×30 and
// compares its screen with the test's golden file, run-specific text normalized.
func goldenStep(t *testing.T, s *steps.Session, st steps.Step) {
	t.Helper()
	m := realWizard(s, nil)
	m.c.Display = func(x string) string { return normalize(strings.ReplaceAll(x, s.Dir(), "/home/me/ws")) }
	requireGolden(t, m, 100, 30, st.Title()+" · step")
}

// goldenStepIn is goldenStep in the language the test set: it waits for the step's title and
// its number, and the header says where the wizard works in that language.
func goldenStepIn(t *testing.T, s *steps.Session, st steps.Step) {
	t.Helper()
	m := realWizard(s, nil)
	m.header = Header(steps.Where{Target: steps.TargetLocal}, "./ws", false)
	m.c.Display = func(x string) string { return normalize(strings.ReplaceAll(x, s.Dir(), "/home/me/ws")) }
	requireGolden(t, m, 100, 30, st.Title()+" · ")
}
