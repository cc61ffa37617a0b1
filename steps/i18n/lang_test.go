package i18n

import (
	"strings"
	"testing"
)

func TestFromLocale(t *testing.T) {
	for locale, want := range map[string]Lang{
		"ko_KR.UTF-8": Ko, "ko_KR": Ko, "ko": Ko, "ko_KR.eucKR": Ko,
		"ja_JP.UTF-8": Ja, "ja_JP": Ja, "ja_JP.eucJP@mod": Ja, "ja": Ja,
		"zh_CN.UTF-8": ZhHans, "zh_CN.GB18030": ZhHans, "zh_SG.UTF-8": ZhHans, "zh_SG": ZhHans, "zh": ZhHans,
		"zh_TW.UTF-8": ZhHant, "zh_TW.Big5": ZhHant, "zh_HK.UTF-8": ZhHant, "zh_HK.Big5-HKSCS": ZhHant, "zh_MO.UTF-8": ZhHant,
		"zh-Hant-TW": ZhHant, "zh-Hans-CN": ZhHans,
		"en_US.UTF-8": En, "en_GB": En, "C": En, "C.UTF-8": En, "POSIX": En, "": En,
		"fr_FR.UTF-8": En, "de_DE": En, "pt_BR": En, "xx_YY": En, "garbage!!": En, ".UTF-8": En,
	} {
		if got := FromLocale(locale); got != want {
			t.Errorf("FromLocale(%q) = %s, want %s", locale, got, want)
		}
	}
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestFromEnvPrecedence(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want Lang
	}{
		{map[string]string{}, En},
		{map[string]string{"LANG": "ko_KR.UTF-8"}, Ko},
		{map[string]string{"LANG": "ko_KR.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8"}, Ja},
		{map[string]string{"LANG": "ko_KR.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8", "LC_ALL": "zh_TW.UTF-8"}, ZhHant},
		// The first variable set decides, even when it names C: LC_ALL=C means English.
		{map[string]string{"LANG": "ko_KR.UTF-8", "LC_ALL": "C"}, En},
		{map[string]string{"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "POSIX"}, En},
		// An empty variable is unset.
		{map[string]string{"LANG": "ja_JP.UTF-8", "LC_ALL": ""}, Ja},
		// LC_CTYPE and LANGUAGE are not the messages' variables.
		{map[string]string{"LC_CTYPE": "ko_KR.UTF-8", "LANGUAGE": "ja"}, En},
	} {
		if got := FromEnv(env(tc.vars)); got != tc.want {
			t.Errorf("FromEnv(%v) = %s, want %s", tc.vars, got, tc.want)
		}
	}
}

func TestParseLang(t *testing.T) {
	for v, want := range map[string]Lang{"en": En, "ko": Ko, "ja": Ja, "zh-Hans": ZhHans, "zh-Hant": ZhHant,
		"zh-hans": ZhHans, "ZH_HANT": ZhHant, " ko ": Ko, "EN": En} {
		got, err := Parse(v)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %s, %v; want %s", v, got, err, want)
		}
	}
	for _, v := range []string{"", "fr", "zh", "ko_KR", "ko-KR.UTF-8", "zh-CN", "english", "jp"} {
		_, err := Parse(v)
		if err == nil {
			t.Errorf("Parse(%q) accepted it", v)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "--lang "+strings.TrimSpace(v)) && !(v == "" && strings.Contains(msg, `--lang "":`)) || !strings.Contains(msg, "en, ko, ja, zh-Hans or zh-Hant") {
			t.Errorf("Parse(%q): the error does not name the flag, the value and the accepted values: %s", v, msg)
		}
	}
}

func TestResolve(t *testing.T) {
	ko := env(map[string]string{"LANG": "ko_KR.UTF-8"})
	if l, err := Resolve("ja", true, ko); err != nil || l != Ja {
		t.Errorf("--lang ja over LANG=ko_KR: %s, %v", l, err)
	}
	if l, err := Resolve("", false, ko); err != nil || l != Ko {
		t.Errorf("no --lang, LANG=ko_KR: %s, %v", l, err)
	}
	if l, err := Resolve("", false, env(nil)); err != nil || l != En {
		t.Errorf("nothing set: %s, %v", l, err)
	}
	// --lang given empty is a mistake, not "use the locale".
	if _, err := Resolve("", true, ko); err == nil {
		t.Error(`--lang "" accepted`)
	}
	if _, err := Resolve("klingon", true, ko); err == nil || !strings.Contains(err.Error(), "--lang klingon") {
		t.Errorf("--lang klingon: %v", err)
	}
}

func TestLangNames(t *testing.T) {
	seen := map[string]bool{}
	for _, l := range Langs {
		n := l.Name()
		if n == "" || seen[n] {
			t.Errorf("%s: name %q", l, n)
		}
		seen[n] = true
	}
	if LangList() != "en, ko, ja, zh-Hans or zh-Hant" {
		t.Errorf("LangList() = %q", LangList())
	}
}
