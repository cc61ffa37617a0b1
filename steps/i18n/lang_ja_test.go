package i18n_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// The Japanese catalog beyond what Catalog.Problems checks: each message says everything its
// English message says (every argument, the same " — " between cause and fix), reads as
// Japanese once rendered, and the lines `jitpwiz script` echoes stay valid shell.

// jaQuotedAWS are messages AWS itself returns, quoted verbatim so that a reader can find them
// in CloudTrail, in the AWS CLI's output or in AWS's documentation; they stay English.
var jaQuotedAWS = []string{
	`"does not have the basicConstraints extension as true"`,
	`"The registration code is invalid"`,
	`"Cannot resolve reference value"`,
	`"Unable to assume role"`,
	`"is not authorized to perform"`,
	`"The policy `, `"Thing type `, `"Thing group `, `referenced by the template does not exist"`,
}

func messageArgs(t *testing.T, k i18n.Key, m *goi18n.Message) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, form := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
		names, err := i18n.TemplateArgs(form)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for _, n := range names {
			seen[n] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestJapaneseUsesEveryArgument(t *testing.T) {
	cat := i18n.Default()
	for k, en := range cat.Messages[i18n.En] {
		ja, ok := cat.Messages[i18n.Ja][k]
		if !ok {
			continue // Problems reports it
		}
		want, got := messageArgs(t, k, en), messageArgs(t, k, ja)
		if !slices.Equal(want, got) {
			t.Errorf("ja %s uses the arguments %v; English uses %v", k, got, want)
		}
		if i18n.IsPlural(ja) {
			t.Errorf("ja %s has plural forms; Japanese has one (a plain string)", k)
		}
		if e, j := strings.Count(en.Other, " — "), strings.Count(ja.Other, " — "); e != j {
			t.Errorf("ja %s has %d \" — \" (cause — fix), English %d:\n  %s", k, j, e, ja.Other)
		}
	}
}

// render is the message k of p with every argument English names set to value (an identifier,
// so that it is neither English nor Japanese prose) or, with value "", empty: the two branches
// of each {{if}}.
func render(t *testing.T, p *i18n.Printer, k i18n.Key, value string) string {
	t.Helper()
	en := i18n.Default().Messages[i18n.En][k]
	args := i18n.Args{}
	for _, n := range messageArgs(t, k, en) {
		args[n] = value
	}
	if i18n.IsPlural(en) {
		delete(args, i18n.CountArg)
		return p.N(k, 2, args)
	}
	return p.T(k, args)
}

func TestJapaneseReadsAsJapanese(t *testing.T) {
	ja := i18n.For(i18n.Ja)
	for k := range i18n.Default().Messages[i18n.En] {
		for _, v := range []string{"X_1", ""} {
			got, en := render(t, ja, k, v), render(t, i18n.For(i18n.En), k, v)
			if strings.Contains(got, string(k)) || got == "" && en != "" {
				t.Errorf("ja %s does not render: %q", k, got)
				continue
			}
			// A message of identifiers alone ("dnQualifier", "{{.Err}}") is the same in
			// every language; one with English words must not be.
			if got == en && len(i18ntest.EnglishRuns(en, i18ntest.Options{MinWords: 1})) > 0 {
				t.Errorf("ja %s is the English message: %q", k, got)
			}
			i18ntest.NoEnglish(t, "ja "+string(k), got, i18ntest.Options{Allow: jaQuotedAWS})
		}
	}
}

// A message script.go puts inside echo "…" is shell: no double quote or backtick, and a
// variable is never followed directly by a character that is not ASCII (a shell may read the
// bytes of a multibyte character in a legacy locale as part of the name).
func TestJapaneseEchoLinesAreShell(t *testing.T) {
	varThenText := regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*[^\x00-\x7f]`)
	for _, k := range []i18n.Key{"script.done", "script.echo-account", "script.echo-status", "script.not.provisioned",
		"script.not.registered", "script.first-connect-dropped", "script.topic-allowed", "script.topic-refused"} {
		got := i18n.For(i18n.Ja).T(k)
		if strings.ContainsAny(got, "\"`") {
			t.Errorf("ja %s is echoed inside double quotes but holds a quote or backtick: %s", k, got)
		}
		if m := varThenText.FindString(got); m != "" {
			t.Errorf("ja %s: a variable runs into Japanese text (%q): %s", k, m, got)
		}
	}
}
