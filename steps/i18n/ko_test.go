package i18n_test

import (
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The Korean catalog beyond what Catalog.Problems checks: a translation that keeps every
// argument of English (none is dropped), splits cause and fix where English does, echoes
// nothing the script's echo "…" cannot hold, and leaves no English sentence behind.

// koEchoed are the messages `jitpwiz script` writes inside echo "…".
var koEchoed = []i18n.Key{"script.done", "script.echo-account", "script.echo-status", "script.not.provisioned",
	"script.not.registered", "script.first-connect-dropped", "script.topic-allowed", "script.topic-refused"}

// koAllowedEnglish stays English in Korean: what AWS (or CloudTrail) answers, quoted so that a
// reader finds it in their logs, and the key names --latency takes.
var koAllowedEnglish = []string{
	`"does not have the basicConstraints extension as true"`, `"The registration code is invalid"`,
	`"Cannot resolve reference value"`, `"Unable to assume role"`, `"is not authorized to perform"`,
	`referenced by the template does not exist"`, "provisioning, detach, policy-delete, role",
}

func TestKoreanKeepsArgumentsAndSplits(t *testing.T) {
	c := i18n.Default()
	en, ko := c.Messages[i18n.En], c.Messages[i18n.Ko]
	if len(ko) != len(en) {
		t.Errorf("ko has %d messages, en %d", len(ko), len(en))
	}
	for k, m := range en {
		km, ok := ko[k]
		if !ok {
			continue // Problems reports it
		}
		want, _ := i18n.TemplateArgs(m.Other)
		got, err := i18n.TemplateArgs(km.Other)
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s uses %v, English %v: a value the reader needs is lost", k, got, want)
		}
		if e, g := strings.Count(m.Other, " — "), strings.Count(km.Other, " — "); e != g {
			t.Errorf("%s has %d \" — \", English %d (the error banner splits cause and fix there): %q", k, g, e, km.Other)
		}
	}
	for _, k := range koEchoed {
		if s := ko[k].Other; strings.ContainsAny(s, "\"`") {
			t.Errorf("%s is echoed inside echo \"…\" but holds a double quote or backtick: %q", k, s)
		}
	}
}

// Every message rendered with its arguments set (the {{if}} branches) and empty (the {{else}}
// branches) has no run of English words outside commands, identifiers and what AWS says.
func TestKoreanHasNoEnglishLeft(t *testing.T) {
	c := i18n.Default()
	p := i18n.For(i18n.Ko)
	for k, m := range c.Messages[i18n.Ko] {
		names, _ := i18n.TemplateArgs(m.Other)
		for _, v := range []string{"ARG", ""} {
			args := i18n.Args{}
			for _, n := range names {
				args[n] = v
			}
			s := p.T(k, args)
			if strings.Contains(s, string(k)) {
				t.Errorf("%s does not render: %q", k, s)
				continue
			}
			for _, r := range i18ntest.EnglishRuns(s, i18ntest.Options{Allow: koAllowedEnglish}) {
				t.Errorf("%s: English left in Korean: %q (in %q)", k, r.Text, s)
			}
		}
	}
}

func TestKoreanRenders(t *testing.T) {
	ko := i18n.For(i18n.Ko)
	for _, tc := range []struct{ got, want string }{
		{ko.T("cli.lang.unknown", i18n.Args{"Value": "fr", "Langs": "en, ko"}),
			"--lang fr: jitpwiz가 지원하는 언어는 en, ko입니다 — 이 중 하나를 지정하거나, 로캘(LC_ALL, LC_MESSAGES, LANG)을 따르려면 --lang을 생략하세요"},
		// One plural form: the count is said the same way for 1 and for many.
		{ko.N("doctor.err.failed", 1, i18n.Args{"Causes": "ca-inactive"}), "doctor: 검사 1개 실패 (ca-inactive)"},
		{ko.N("doctor.err.failed", 3, i18n.Args{"Causes": "ca-inactive, role-missing"}), "doctor: 검사 3개 실패 (ca-inactive, role-missing)"},
		{ko.N("fleet.headline", 1, i18n.Args{"First": "F-1", "Last": "F-1", "Concurrency": 1, "Limit": "속도 제한 없음", "Target": "local"}),
			"장치 1대(F-1 … F-1), 동시 1대, 속도 제한 없음, 대상 local"},
		// A missing argument of another package's error is empty: both branches read well.
		{ko.TStrings("aws.not-found.cause", map[string]string{"What": "사물", "Region": "us-east-2"}), "us-east-2 리전에서 사물을(를) 찾을 수 없습니다"},
		{ko.TStrings("aws.not-found.cause", map[string]string{"What": "사물"}), "사물을(를) 찾을 수 없습니다"},
		{ko.TStrings("pki.thing-char.problem", map[string]string{"Char": "'!'", "Pos": "4"}),
			"4번째 위치에 '!' 문자가 있습니다. AWS IoT는 사물 이름에 이 문자를 허용하지 않습니다"},
		{ko.T("doctor.escaping.why")[:strings.Index(ko.T("doctor.escaping.why"), " — ")],
			`등록 구성은 templateBody에 템플릿을 하나의 JSON 문자열로 담는 JSON입니다: 템플릿의 모든 따옴표는 \"로, 인라인 PolicyDocument의 모든 따옴표는 \\\"로 써야 합니다`},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %q\nwant %q", tc.got, tc.want)
		}
	}
}
