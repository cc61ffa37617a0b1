package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// pflagText is pflag's, cobra's and Go's parser's own English; none of it may reach a user.
var pflagText = regexp.MustCompile(`unknown flag|unknown shorthand|flag needs an argument|invalid argument|bad flag syntax|unknown command|strconv\.|Parse(Int|Bool|Float)|invalid syntax`)

// TestFlagErrors: a mistyped flag, a flag without its value, a value of the wrong kind and a
// stray argument are refused in the user's language, naming the flag (or the argument) and
// where to read what it takes; a mistyped command is offered the one meant.
func TestFlagErrors(t *testing.T) {
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
	for _, tc := range []struct {
		args []string
		want []string // in every language
		en   string   // and in English
	}{
		{[]string{"run", "--bogus"}, []string{"--bogus", "`jitpwiz run --help`"}, "is not a flag of jitpwiz run"},
		{[]string{"run", "-q"}, []string{"-q", "`jitpwiz run --help`"}, "is not a flag of jitpwiz run"},
		{[]string{"run", "--dir"}, []string{"--dir", "`jitpwiz run --help`"}, "needs a value"},
		{[]string{"local", "--api-port", "abc"}, []string{`--api-port "abc"`, "8883"}, "takes a whole number"},
		{[]string{"clean", "--yes=maybe"}, []string{`--yes "maybe"`, "true", "false"}, "takes true or false"},
		{[]string{"run", "extra"}, []string{`"extra"`, "`jitpwiz run --help`"}, "takes no arguments"},
		{[]string{"docter"}, []string{`"docter"`, "doctor"}, "did you mean doctor?"},
	} {
		for _, l := range i18n.Langs {
			args := append([]string{"--lang", string(l)}, tc.args...)
			cmd := newCommand(args, func(string) string { return "" })
			var out strings.Builder
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err := cmd.Execute()
			if err == nil {
				t.Fatalf("%v: accepted", args)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%v: %q does not name %q", args, msg, w)
				}
			}
			if pflagText.MatchString(msg) {
				t.Errorf("%v: the parser's own words reach the user: %q", args, msg)
			}
			if l == i18n.En && !strings.Contains(msg, tc.en) {
				t.Errorf("%v: %q does not say %q", args, msg, tc.en)
			}
			if l != i18n.En && strings.Contains(msg, tc.en) {
				t.Errorf("%v: %q is in English", args, msg)
			}
		}
	}
}
