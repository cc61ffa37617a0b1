package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// runLang runs jitpwiz with args (a quick command: version) and returns the language it chose.
func runLang(t *testing.T, env map[string]string, args ...string) (i18n.Lang, error) {
	t.Helper()
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		t.Setenv(v, env[v])
	}
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
	i18n.SetLang(i18n.En)
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return i18n.Current(), err
}

func TestLangFlagAndLocale(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want i18n.Lang
	}{
		{nil, []string{"version"}, i18n.En},
		{map[string]string{"LANG": "ko_KR.UTF-8"}, []string{"version"}, i18n.Ko},
		{map[string]string{"LANG": "ja_JP.UTF-8"}, []string{"version"}, i18n.Ja},
		{map[string]string{"LC_MESSAGES": "zh_SG.UTF-8", "LANG": "ko_KR.UTF-8"}, []string{"version"}, i18n.ZhHans},
		{map[string]string{"LC_ALL": "zh_HK.UTF-8"}, []string{"version"}, i18n.ZhHant},
		{map[string]string{"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}, []string{"version"}, i18n.En},
		// --lang wins over the locale, on the root command and on a subcommand.
		{map[string]string{"LANG": "ko_KR.UTF-8"}, []string{"--lang", "ja", "version"}, i18n.Ja},
		{map[string]string{"LANG": "ja_JP.UTF-8"}, []string{"version", "--lang", "zh-Hant"}, i18n.ZhHant},
		{nil, []string{"version", "--lang=en"}, i18n.En},
	} {
		got, err := runLang(t, tc.env, tc.args...)
		if err != nil || got != tc.want {
			t.Errorf("%v %v: language %s, error %v; want %s", tc.env, tc.args, got, err, tc.want)
		}
	}
}

func TestUnknownLangIsAClearError(t *testing.T) {
	for _, args := range [][]string{{"--lang", "fr", "version"}, {"doctor", "--lang", "zh"}, {"fleet", "--lang=ko_KR", "-n", "1"}} {
		_, err := runLang(t, nil, args...)
		if err == nil {
			t.Errorf("%v: accepted", args)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"--lang", "en, ko, ja, zh-Hans or zh-Hant"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%v: the error %q lacks %q", args, msg, want)
			}
		}
	}
}

func TestWizardHeaderShowsTheLanguage(t *testing.T) {
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
	s := &steps.Session{Options: steps.Options{Target: steps.TargetLocal}}
	for _, l := range i18n.Langs {
		i18n.SetLang(l)
		h := wizardHeader(s, false)
		prefix := i18n.For(l).T("ui.header.target", i18n.Args{"Target": "local"}) + " · "
		if !strings.HasSuffix(h, " · "+l.Name()) || !strings.HasPrefix(h, prefix) || (l == i18n.En && !strings.HasPrefix(h, "target local · ")) {
			t.Errorf("%s: header %q", l, h)
		}
	}
}
