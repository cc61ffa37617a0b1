package ui

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// The real binary in another language: the locale (LANG=ja_JP.UTF-8) or --lang ko chooses
// it, and the demo walks through every step to the device's message in that language.
func TestTmuxDemoLanguages(t *testing.T) {
	for _, tc := range []struct {
		name string
		lang i18n.Lang
		cmd  string // the command line; %s: the binary, then the workspace
	}{
		{"LANG=ja_JP.UTF-8", i18n.Ja, "env -u LC_ALL -u LC_MESSAGES LANG=ja_JP.UTF-8 %s --demo --dir %s"},
		{"--lang ko", i18n.Ko, "env -u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 %s --lang ko --demo --dir %s"},
	} {
		t.Run(string(tc.lang), func(t *testing.T) {
			bin, tmp := tmuxBinary(t, "builds and runs the whole wizard in "+tc.name)
			s := startTmux(t, "demo-"+string(tc.lang), 120, 40, fmt.Sprintf(tc.cmd, bin, filepath.Join(tmp, "ws")))
			final := s.enterThroughIn(tc.lang)
			done := regexp.MustCompile(`(?m)^\s*✓ +\d{1,2} \S`).FindAllString(final, -1)
			if len(done) != 13 {
				t.Errorf("want 13 steps ✓ in the sidebar, got %d:\n%s", len(done), final)
			}
			p := i18n.For(tc.lang)
			for _, want := range []string{p.T("ui.header.subtitle"), p.T("ui.header.target", i18n.Args{"Target": "local"}),
				"DemoThing/test", p.T("ui.key.leave")} {
				if !strings.Contains(final, want) {
					t.Errorf("the closing screen in %s does not show %q:\n%s", tc.lang.Name(), want, final)
				}
			}
			s.send("q")
		})
	}
}

// enterThroughIn is enterThrough for a wizard speaking lang: it reads the footer's keys, the
// banner's "failed" and the closing line in that language, and the step's number from the
// sidebar's marker.
func (s *tmuxSession) enterThroughIn(lang i18n.Lang) string {
	t := s.t
	t.Helper()
	p := i18n.For(lang)
	run, cont := "enter "+p.T("base.key.run"), "enter "+p.T("base.key.continue")
	allDone := strings.TrimRight(p.T("ui.all-done"), ".。")
	failedWord := strings.TrimSpace(p.T("base.failed", i18n.Args{"Step": ""}))
	failed := func(scr string) bool { return strings.Contains(scr, failedWord) }
	step := func(scr string) string {
		if m := sidebarHere.FindStringSubmatch(scr); m != nil {
			return m[1]
		}
		return ""
	}
	s.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, run) })
	for i := 0; i < 40; i++ {
		scr := s.waitFor("a step ready for enter", 60*time.Second, func(scr string) bool {
			return strings.Contains(scr, run) || strings.Contains(scr, cont) || strings.Contains(scr, allDone) || failed(scr)
		})
		switch {
		case failed(scr):
			t.Fatalf("a step failed:\n%s", scr)
		case strings.Contains(scr, allDone):
			return scr
		}
		n := step(scr)
		if n == "" {
			t.Fatalf("no step marked in the sidebar:\n%s", scr)
		}
		if strings.Contains(scr, run) {
			s.send("Enter")
			scr = s.waitFor("step "+n+" to finish", 60*time.Second, func(scr string) bool {
				return strings.Contains(scr, cont) || failed(scr)
			})
			if failed(scr) {
				t.Fatalf("step %s failed:\n%s", n, scr)
			}
		}
		s.send("Enter")
		s.waitFor("the step after "+n, 60*time.Second, func(scr string) bool {
			return strings.Contains(scr, allDone) || step(scr) != "" && step(scr) != n
		})
	}
	t.Fatalf("the wizard did not finish; screen:\n%s", s.capture())
	return ""
}
