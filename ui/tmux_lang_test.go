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
			p := i18n.For(tc.lang)
			run := "enter " + p.T("base.key.run")
			s.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, run) })
			final := s.enterThrough(tc.lang, nil)
			done := regexp.MustCompile(`(?m)^\s*✓ +\d{1,2} \S`).FindAllString(final, -1)
			if len(done) != 13 {
				t.Errorf("want 13 steps ✓ in the sidebar, got %d:\n%s", len(done), final)
			}
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
