package i18n_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The Traditional Chinese catalog as a user reads it: every message renders in Chinese (no
// silent fall-back to English, no English prose left outside commands and identifiers), with
// its arguments set and with them empty (both branches of {{if}} and {{or}}).

// quotedAWS are the English words zh-Hant quotes as AWS says them: AWS's error messages
// (「The registration code is invalid」) and a document's title (〈AWS IoT limits〉).
var quotedAWS = regexp.MustCompile(`「[^」]*」|〈[^〉]*〉`)

// renderBoth renders k in lang with every argument English names set to an identifier-like
// value, then with every argument empty.
func renderBoth(t *testing.T, p *i18n.Printer, k i18n.Key) (set, empty string) {
	t.Helper()
	en := i18n.Default().Messages[i18n.En][k]
	full, blank := i18n.Args{}, i18n.Args{}
	for _, src := range []string{en.Other, en.One} {
		names, err := i18n.TemplateArgs(src)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for _, n := range names {
			if n != i18n.CountArg {
				full[n], blank[n] = "X1", ""
			}
		}
	}
	if i18n.IsPlural(en) {
		return p.N(k, 2, full), p.N(k, 0, blank)
	}
	return p.T(k, full), p.T(k, blank)
}

func TestZhHantEveryMessageIsChinese(t *testing.T) {
	zh, en := i18n.For(i18n.ZhHant), i18n.For(i18n.En)
	if n := len(i18n.Default().Messages[i18n.ZhHant]); n != len(i18n.Default().Messages[i18n.En]) {
		t.Fatalf("zh-Hant has %d messages, English %d", n, len(i18n.Default().Messages[i18n.En]))
	}
	for k := range i18n.Default().Messages[i18n.En] {
		zhSet, zhEmpty := renderBoth(t, zh, k)
		enSet, enEmpty := renderBoth(t, en, k)
		for _, c := range []struct{ zh, en, args string }{{zhSet, enSet, "set"}, {zhEmpty, enEmpty, "empty"}} {
			if strings.Contains(c.zh, string(k)) || strings.Contains(c.zh, "no value") {
				t.Errorf("%s (arguments %s): does not render: %q", k, c.args, c.zh)
				continue
			}
			// The same text as English is a fall-back, unless English has no word to translate
			// (an argument alone, an identifier such as dnQualifier).
			if c.zh == c.en && len(i18ntest.EnglishRuns(c.en, i18ntest.Options{MinWords: 1})) > 0 {
				t.Errorf("%s (arguments %s): shows the English message %q", k, c.args, c.en)
			}
			i18ntest.NoEnglish(t, string(k)+" ("+c.args+")", quotedAWS.ReplaceAllString(c.zh, "「」"), i18ntest.Options{})
		}
	}
}

// A message that has " — " between its cause and its fix in English has it in zh-Hant too (the
// error banner splits there), and in the same number.
func TestZhHantKeepsCauseAndFix(t *testing.T) {
	msgs := i18n.Default().Messages
	for k, en := range msgs[i18n.En] {
		zh := msgs[i18n.ZhHant][k]
		if zh == nil {
			continue // TestCatalogComplete names it
		}
		if a, b := strings.Count(en.Other, " — "), strings.Count(zh.Other, " — "); a != b {
			t.Errorf("%s: %d \" — \" in English, %d in zh-Hant: %q", k, a, b, zh.Other)
		}
	}
}

// What `jitpwiz script` echoes stays inside echo "…": no double quote, backtick or backslash.
func TestZhHantScriptEchoes(t *testing.T) {
	zh := i18n.For(i18n.ZhHant)
	for _, k := range []i18n.Key{"script.done", "script.echo-account", "script.echo-status", "script.not.provisioned",
		"script.not.registered", "script.first-connect-dropped", "script.topic-allowed", "script.topic-refused"} {
		set, empty := renderBoth(t, zh, k)
		for _, s := range []string{set, empty} {
			if strings.ContainsAny(s, "\"`\\") {
				t.Errorf("%s: %q cannot go inside echo \"…\"", k, s)
			}
		}
	}
	if got := zh.T("script.echo-status"); !strings.Contains(got, "${status:-") || !strings.Contains(got, "$CERT_ID") {
		t.Errorf("script.echo-status lost its shell variables: %q", got)
	}
}
