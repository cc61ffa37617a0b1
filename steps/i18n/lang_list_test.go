package i18n

import (
	"strings"
	"testing"
)

// The list of --lang values is said in the language of the message it is in: no English
// " or " inside a Korean, Japanese or Chinese sentence.
func TestLangListIsOfTheCurrentLanguage(t *testing.T) {
	t.Cleanup(func() { SetLang(En) })
	for _, l := range Langs {
		SetLang(l)
		got := LangList()
		for _, v := range Langs {
			if !strings.Contains(got, string(v)) {
				t.Errorf("%s: %q lacks %s", l, got, v)
			}
		}
		if l != En && strings.Contains(got, " or ") {
			t.Errorf("%s: %q joins with English \" or \"", l, got)
		}
		_, err := Parse("fr")
		if msg := err.Error(); l != En && strings.Contains(msg, " or ") {
			t.Errorf("%s: the error %q has English \" or \"", l, msg)
		}
	}
}
