package i18n

import (
	"regexp"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The Simplified Chinese catalog against the English one, beyond what Problems checks: what
// must stay as it is stays, and what is rendered reads as Chinese.

// keptRE finds what a translation keeps verbatim: text in backticks, flags, shell variables,
// AWS statuses and constants (PENDING_ACTIVATION, AWS_ENDPOINT_URL_IAM), AWS exception names
// and IAM/IoT actions.
var keptRE = regexp.MustCompile("`[^`]*`" + `|--[a-z][a-z0-9-]*|\$\{?[A-Za-z_][A-Za-z0-9_]*|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b[A-Z][a-z]+[A-Z][A-Za-z]*Exception\b|\biot:[A-Za-z*]+|\b(?:sts|iam):[A-Za-z]+`)

func TestZhHansKeepsIdentifiersAndCauseFixSplit(t *testing.T) {
	en, zh := Default().Messages[En], Default().Messages[ZhHans]
	if len(zh) == 0 {
		t.Fatal("no zh-Hans catalog")
	}
	for _, k := range sortedKeys(en) {
		m, ok := zh[k]
		if !ok {
			continue // Problems reports it
		}
		e, z := en[k].Other, m.Other
		// steps.ExplainError splits a message at " — " into its cause and its fix.
		if ne, nz := strings.Count(e, " — "), strings.Count(z, " — "); ne != nz {
			t.Errorf("%s: English has %d \" — \", zh-Hans %d: %q", k, ne, nz, z)
		}
		for _, id := range keptRE.FindAllString(e, -1) {
			if !strings.Contains(z, id) {
				t.Errorf("%s: zh-Hans lacks %s: %q", k, id, z)
			}
		}
	}
}

// The script's echo "…" lines: a double quote would end the string, a backtick would run a
// command.
func TestZhHansEchoedScriptMessages(t *testing.T) {
	zh := For(ZhHans)
	for _, k := range []Key{"script.done", "script.echo-account", "script.echo-status", "script.not.provisioned",
		"script.not.registered", "script.first-connect-dropped", "script.topic-allowed", "script.topic-refused"} {
		s := zh.T(k)
		if s == For(En).T(k) {
			t.Errorf("%s is not translated: %q", k, s)
		}
		if strings.ContainsAny(s, "\"`") {
			t.Errorf("%s holds a double quote or a backtick inside echo \"…\": %q", k, s)
		}
	}
	if got := zh.T("script.echo-status"); !strings.Contains(got, "${status:-") || !strings.Contains(got, "$CERT_ID") {
		t.Errorf("script.echo-status lost its shell variables: %q", got)
	}
}

// Every message rendered in zh-Hans: no run of English words outside what stays English —
// commands (here after a full-width colon), identifiers, and AWS's own error text quoted in
// "…", which is what a user searches for.
func TestZhHansRendersNoEnglishSentence(t *testing.T) {
	quoted := regexp.MustCompile(`"[^"]*"`)
	zh := For(ZhHans)
	for _, k := range sortedKeys(Default().Messages[En]) {
		args := map[string]string{}
		for _, f := range forms2list(Default().Messages[En][k]) {
			names, _ := TemplateArgs(f)
			for _, n := range names {
				args[n] = "X"
			}
		}
		s := zh.TStrings(k, args)
		text := strings.ReplaceAll(quoted.ReplaceAllString(s, " "), "：", "\n")
		for _, r := range i18ntest.EnglishRuns(text, i18ntest.Options{}) {
			t.Errorf("%s: English left in zh-Hans: %q (in %q)", k, r.Text, s)
		}
	}
}

func TestZhHansRendering(t *testing.T) {
	zh := For(ZhHans)
	if zh.Lang() != ZhHans || ZhHans.Name() != "简体中文" {
		t.Fatalf("printer %s, name %s", zh.Lang(), ZhHans.Name())
	}
	// One plural form: the same words for 1 and for many.
	for _, tc := range []struct{ got, want string }{
		{zh.N("doctor.text.ok", 1, Args{"Skipped": 0}), "未发现问题：1 项检查通过，0 项未检查"},
		{zh.N("doctor.text.ok", 33, Args{"Skipped": 2}), "未发现问题：33 项检查通过，2 项未检查"},
		{zh.N("doctor.device-cert.chain", 1), "，其后还有 1 个证书：即设备发送的证书链"},
		{zh.T("aws.not-found.cause", Args{"What": zh.T("aws.what.thing"), "Region": "us-east-1"}), "该事物在区域 us-east-1 中不存在"},
		{zh.T("aws.not-found.cause", Args{"What": zh.T("aws.what.thing"), "Region": ""}), "该事物不存在"},
		{zh.TStrings("aws.wrong-endpoint.cause", map[string]string{"Endpoint": "http://127.0.0.1:9", "Service": "IoT"}), "终端节点 http://127.0.0.1:9 不提供 IoT API"},
		{zh.TStrings("aws.wrong-endpoint.cause", map[string]string{"Region": "eu-west-1", "Service": "IoT"}), "区域 eu-west-1 的终端节点不提供 IoT API"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	// The wizard's banner splits an error at " — ": the cause and the fix are both Chinese.
	SetLang(ZhHans)
	t.Cleanup(func() { SetLang(En) })
	msg := NewError("doctor.opt.no-file", Args{"Flag": "--ca-cert", "Path": "ca.pem"}).Error()
	cause, fix, ok := strings.Cut(msg, " — ")
	if !ok || cause != "--ca-cert ca.pem：文件不存在" || fix != "给出该文件的路径" {
		t.Errorf("cause %q, fix %q (from %q)", cause, fix, msg)
	}
}
