package i18n_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// Every translated catalog against the English one, beyond what Catalog.Problems checks: a
// translation says everything its English message says (every argument, the identifiers, the
// same " — " between cause and fix), has one plural form, reads in its own language once
// rendered (no silent fall-back to English, no English prose outside commands, identifiers
// and what AWS says), and the lines `jitpwiz script` echoes stay valid shell.

// translation is what differs between the languages: what stays English in each.
type translation struct {
	lang i18n.Lang
	// allow are phrases that stay English: what AWS (or CloudTrail) answers, quoted so that a
	// reader finds it in their logs, and the key names --latency takes.
	allow []string
	// prose is the part of a rendered message that must not be English, when the language
	// marks what stays English by its own quotes (nil: all of it).
	prose func(string) string
}

// awsQuoted are AWS's error messages, quoted as AWS says them where a translation keeps them
// between ASCII double quotes.
var awsQuoted = []string{
	`"does not have the basicConstraints extension as true"`,
	`"The registration code is invalid"`,
	`"Cannot resolve reference value"`,
	`"Unable to assume role"`,
	`"is not authorized to perform"`,
	`referenced by the template does not exist"`,
}

var translations = []translation{
	{lang: i18n.Ko, allow: append(slices.Clone(awsQuoted), "provisioning, detach, policy-delete, role")},
	{lang: i18n.Ja, allow: append(slices.Clone(awsQuoted), `"The policy `, `"Thing type `, `"Thing group `)},
	// zh-Hans quotes AWS's own text in "…", and a command follows a full-width colon.
	{lang: i18n.ZhHans, prose: func(s string) string {
		return strings.ReplaceAll(asciiQuoted.ReplaceAllString(s, " "), "：", "\n")
	}},
	// zh-Hant quotes AWS's error messages (「The registration code is invalid」) and a
	// document's title (〈AWS IoT limits〉) in its own quotes.
	{lang: i18n.ZhHant, prose: func(s string) string { return cjkQuoted.ReplaceAllString(s, "「」") }},
}

var (
	asciiQuoted = regexp.MustCompile(`"[^"]*"`)
	cjkQuoted   = regexp.MustCompile(`「[^」]*」|〈[^〉]*〉`)
	// kept finds what a translation keeps verbatim: text in backticks, flags, shell variables,
	// AWS statuses and constants (PENDING_ACTIVATION, AWS_ENDPOINT_URL_IAM), AWS exception
	// names and IAM/IoT actions.
	kept = regexp.MustCompile("`[^`]*`" + `|--[a-z][a-z0-9-]*|\$\{?[A-Za-z_][A-Za-z0-9_]*|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b[A-Z][a-z]+[A-Z][A-Za-z]*Exception\b|\biot:[A-Za-z*]+|\b(?:sts|iam):[A-Za-z]+`)
)

// forEachTranslation runs f for every translated language, as a subtest named by it.
func forEachTranslation(t *testing.T, f func(t *testing.T, tr translation)) {
	for _, tr := range translations {
		t.Run(string(tr.lang), func(t *testing.T) { f(t, tr) })
	}
	var covered []i18n.Lang
	for _, tr := range translations {
		covered = append(covered, tr.lang)
	}
	if want := i18n.Langs[1:]; !slices.Equal(covered, want) {
		t.Errorf("the table covers %v; the translated languages are %v", covered, want)
	}
}

// englishKeys are the keys of the English catalog, sorted.
func englishKeys() []i18n.Key {
	return slices.Sorted(maps.Keys(i18n.Default().Messages[i18n.En]))
}

// argsOf are the argument names m uses in any of its plural forms, sorted.
func argsOf(t *testing.T, k i18n.Key, m *goi18n.Message) []string {
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
	return slices.Sorted(maps.Keys(seen))
}

func TestTranslationsSayWhatEnglishSays(t *testing.T) {
	forEachTranslation(t, func(t *testing.T, tr translation) {
		en, msgs := i18n.Default().Messages[i18n.En], i18n.Default().Messages[tr.lang]
		if len(msgs) != len(en) {
			t.Errorf("%s has %d messages, English %d", tr.lang, len(msgs), len(en))
		}
		for _, k := range englishKeys() {
			m, ok := msgs[k]
			if !ok {
				continue // Problems reports it
			}
			want, _ := i18n.TemplateArgs(en[k].Other)
			got, err := i18n.TemplateArgs(m.Other)
			if err != nil {
				t.Errorf("%s: %v", k, err)
				continue
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s uses %v, English %v: a value the reader needs is lost", k, got, want)
			}
			if got, want := argsOf(t, k, m), argsOf(t, k, en[k]); !slices.Equal(got, want) {
				t.Errorf("%s uses the arguments %v in its forms; English uses %v", k, got, want)
			}
			if i18n.IsPlural(m) {
				t.Errorf("%s has plural forms; %s has one (a plain string)", k, tr.lang)
			}
			// steps.ExplainError splits a message at " — " into its cause and its fix.
			if e, g := strings.Count(en[k].Other, " — "), strings.Count(m.Other, " — "); e != g {
				t.Errorf("%s has %d \" — \", English %d (the error banner splits cause and fix there): %q", k, g, e, m.Other)
			}
			for _, id := range kept.FindAllString(en[k].Other, -1) {
				// A shell variable may be written ${NAME} where text follows it at once.
				braced := strings.HasPrefix(id, "$") && strings.Contains(m.Other, "${"+id[1:]+"}")
				if !strings.Contains(m.Other, id) && !braced {
					t.Errorf("%s lacks %s: %q", k, id, m.Other)
				}
			}
		}
	})
}

// rendering is a message rendered for a check: how its arguments were set, and the text.
type rendering struct{ args, text string }

// renderings are the message k in p with every argument English names set to an identifier
// (neither English nor any other language's prose), then with every argument empty: the two
// branches of each {{if}} and {{or}}. A plural message is rendered with a count.
func renderings(t *testing.T, p *i18n.Printer, k i18n.Key) []rendering {
	t.Helper()
	en := i18n.Default().Messages[i18n.En][k]
	var out []rendering
	for _, v := range []struct{ args, value string }{{"set", "X1"}, {"empty", ""}} {
		args := i18n.Args{}
		for _, n := range argsOf(t, k, en) {
			if n != i18n.CountArg {
				args[n] = v.value
			}
		}
		if i18n.IsPlural(en) {
			out = append(out, rendering{v.args, p.N(k, 2, args)}, rendering{v.args + ", count 0", p.N(k, 0, args)})
		} else {
			out = append(out, rendering{v.args, p.T(k, args)})
		}
	}
	return out
}

func TestTranslationsReadInTheirLanguage(t *testing.T) {
	forEachTranslation(t, func(t *testing.T, tr translation) {
		p, en := i18n.For(tr.lang), i18n.For(i18n.En)
		for _, k := range englishKeys() {
			english := renderings(t, en, k)
			for i, r := range renderings(t, p, k) {
				what := string(k) + " (arguments " + r.args + ")"
				if strings.Contains(r.text, string(k)) || strings.Contains(r.text, "no value") || r.text == "" && english[i].text != "" {
					t.Errorf("%s does not render: %q", what, r.text)
					continue
				}
				// A message of identifiers alone ("dnQualifier", "{{.Err}}") is the same in
				// every language; one with English words must not be.
				if r.text == english[i].text && len(i18ntest.EnglishRuns(r.text, i18ntest.Options{MinWords: 1})) > 0 {
					t.Errorf("%s is the English message: %q", what, r.text)
				}
				text := r.text
				if tr.prose != nil {
					text = tr.prose(text)
				}
				for _, run := range i18ntest.EnglishRuns(text, i18ntest.Options{Allow: tr.allow}) {
					t.Errorf("%s, line %d: English left in %s: %q (in %q)", what, run.Line, tr.lang, run.Text, r.text)
				}
			}
		}
	})
}

// echoed are the messages `jitpwiz script` writes inside echo "…".
var echoed = []i18n.Key{"script.done", "script.echo-account", "script.echo-status", "script.not.provisioned",
	"script.not.registered", "script.first-connect-dropped", "script.topic-allowed", "script.topic-refused"}

// A message script.go puts inside echo "…" is shell: no double quote (it would end the string),
// backtick (it would run a command) or backslash, and a variable is never followed directly by
// a character that is not ASCII (a shell may read the bytes of a multibyte character in a
// legacy locale as part of the name). Its shell variables are kept.
func TestTranslationsEchoLinesAreShell(t *testing.T) {
	varThenText := regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*[^\x00-\x7f]`)
	forEachTranslation(t, func(t *testing.T, tr translation) {
		p := i18n.For(tr.lang)
		for _, k := range echoed {
			if s := p.T(k); s == i18n.For(i18n.En).T(k) {
				t.Errorf("%s is not translated: %q", k, s)
			}
			for _, r := range append([]rendering{{"none", p.T(k)}}, renderings(t, p, k)...) {
				if strings.ContainsAny(r.text, "\"`\\") {
					t.Errorf("%s (arguments %s) is echoed inside echo \"…\" but holds a double quote, backtick or backslash: %q", k, r.args, r.text)
				}
				if m := varThenText.FindString(r.text); m != "" {
					t.Errorf("%s (arguments %s): a variable runs into text that is not ASCII (%q): %s", k, r.args, m, r.text)
				}
			}
		}
		if got := p.T("script.echo-status"); !strings.Contains(got, "${status:-") || !strings.Contains(got, "$CERT_ID") && !strings.Contains(got, "${CERT_ID}") {
			t.Errorf("script.echo-status lost its shell variables: %q", got)
		}
	})
}

// Messages as a reader sees them, in the languages with one plural form: the count is said the
// same way for 1 and for many, and a missing argument of another package's error is empty with
// both branches reading well.
func TestTranslatedMessages(t *testing.T) {
	ko, zh := i18n.For(i18n.Ko), i18n.For(i18n.ZhHans)
	for _, tc := range []struct{ got, want string }{
		{ko.T("cli.lang.unknown", i18n.Args{"Value": "fr", "Langs": "en, ko"}),
			"--lang fr: jitpwiz가 지원하는 언어는 en, ko입니다 — 이 중 하나를 지정하거나, 로캘(LC_ALL, LC_MESSAGES, LANG)을 따르려면 --lang을 생략하세요"},
		{ko.N("doctor.err.failed", 1, i18n.Args{"Causes": "ca-inactive"}), "doctor: 검사 1개 실패 (ca-inactive)"},
		{ko.N("doctor.err.failed", 3, i18n.Args{"Causes": "ca-inactive, role-missing"}), "doctor: 검사 3개 실패 (ca-inactive, role-missing)"},
		{ko.N("fleet.headline", 1, i18n.Args{"First": "F-1", "Last": "F-1", "Concurrency": 1, "Limit": "속도 제한 없음", "Target": "local"}),
			"장치 1대(F-1 … F-1), 동시 1대, 속도 제한 없음, 대상 local"},
		{ko.TStrings("aws.not-found.cause", map[string]string{"What": "사물", "Region": "us-east-2"}), "us-east-2 리전에서 사물을(를) 찾을 수 없습니다"},
		{ko.TStrings("aws.not-found.cause", map[string]string{"What": "사물"}), "사물을(를) 찾을 수 없습니다"},
		{ko.TStrings("pki.thing-char.problem", map[string]string{"Char": "'!'", "Pos": "4"}),
			"4번째 위치에 '!' 문자가 있습니다. AWS IoT는 사물 이름에 이 문자를 허용하지 않습니다"},
		{ko.T("doctor.escaping.why")[:strings.Index(ko.T("doctor.escaping.why"), " — ")],
			`등록 구성은 templateBody에 템플릿을 하나의 JSON 문자열로 담는 JSON입니다: 템플릿의 모든 따옴표는 \"로, 인라인 PolicyDocument의 모든 따옴표는 \\\"로 써야 합니다`},
		{zh.N("doctor.text.ok", 1, i18n.Args{"Skipped": 0}), "未发现问题：1 项检查通过，0 项未检查"},
		{zh.N("doctor.text.ok", 33, i18n.Args{"Skipped": 2}), "未发现问题：33 项检查通过，2 项未检查"},
		{zh.N("doctor.device-cert.chain", 1), "，其后还有 1 个证书：即设备发送的证书链"},
		{zh.T("aws.not-found.cause", i18n.Args{"What": zh.T("aws.what.thing"), "Region": "us-east-1"}), "该事物在区域 us-east-1 中不存在"},
		{zh.T("aws.not-found.cause", i18n.Args{"What": zh.T("aws.what.thing"), "Region": ""}), "该事物不存在"},
		{zh.TStrings("aws.wrong-endpoint.cause", map[string]string{"Endpoint": "http://127.0.0.1:9", "Service": "IoT"}), "终端节点 http://127.0.0.1:9 不提供 IoT API"},
		{zh.TStrings("aws.wrong-endpoint.cause", map[string]string{"Region": "eu-west-1", "Service": "IoT"}), "区域 eu-west-1 的终端节点不提供 IoT API"},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %q\nwant %q", tc.got, tc.want)
		}
	}
	if zh.Lang() != i18n.ZhHans || i18n.ZhHans.Name() != "简体中文" {
		t.Fatalf("printer %s, name %s", zh.Lang(), i18n.ZhHans.Name())
	}
	// The wizard's banner splits an error at " — ": the cause and the fix are both Chinese.
	i18n.SetLang(i18n.ZhHans)
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
	msg := i18n.NewError("doctor.opt.no-file", i18n.Args{"Flag": "--ca-cert", "Path": "ca.pem"}).Error()
	cause, fix, ok := strings.Cut(msg, " — ")
	if !ok || cause != "--ca-cert ca.pem：文件不存在" || fix != "给出该文件的路径" {
		t.Errorf("cause %q, fix %q (from %q)", cause, fix, msg)
	}
}
