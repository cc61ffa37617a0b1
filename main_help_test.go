package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// helpOf runs jitpwiz as main does (the language chosen from args and env before the
// commands are built) and returns what it printed.
func helpOf(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
	cmd := newCommand(args, func(k string) string { return env[k] })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String()
}

// --help is in the language of the run: the locale's, or --lang's, on the root command and on
// a subcommand; its flags' help and cobra's headings too.
func TestHelpIsTranslated(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		lang i18n.Lang
		want []string
	}{
		{map[string]string{"LANG": "ja_JP.UTF-8"}, []string{"--help"}, i18n.Ja,
			[]string{"使い方:", "フラグ:", "--lang", "メッセージの言語: en, ko, ja, zh-Hans, zh-Hant", "ワークスペースの DIR"}},
		{nil, []string{"--lang", "ko", "run", "--help"}, i18n.Ko,
			[]string{"사용법:", "전역 플래그:", "메시지 언어:", "run은 JITP 절차를 단계별로 수행하고", "이 STEP부터 실행"}},
		{map[string]string{"LANG": "ko_KR.UTF-8"}, []string{"clean", "--help", "--lang=zh-Hant"}, i18n.ZhHant,
			[]string{"用法：", "不要求確認"}},
		{map[string]string{"LC_ALL": "zh_CN.UTF-8"}, []string{"fleet", "-h"}, i18n.ZhHans,
			[]string{"用法：", "设备数量 N"}},
	} {
		help := helpOf(t, tc.env, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(help, w) {
				t.Errorf("%v %v: the help lacks %q:\n%s", tc.env, tc.args, w, help)
			}
		}
		i18ntest.NoEnglish(t, string(tc.lang)+" "+strings.Join(tc.args, " "), help, i18ntest.Options{Allow: []string{"provisioning, detach, policy-delete, role", "en, ko, ja, zh-Hans, zh-Hant"}})
	}
	// English is as before.
	en := helpOf(t, map[string]string{"LANG": "C"}, "run", "--help")
	for _, w := range []string{"Usage:", "Global Flags:", "language of the messages: en, ko, ja, zh-Hans or zh-Hant", "help for run"} {
		if !strings.Contains(en, w) {
			t.Errorf("English help lacks %q:\n%s", w, en)
		}
	}
}
