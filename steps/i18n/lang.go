package i18n

import (
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language jitpwiz speaks, as --lang spells it (a BCP 47 tag).
type Lang string

// The languages: English (the source catalog) and the languages of AWS's JITP walkthrough.
const (
	En     Lang = "en"
	Ko     Lang = "ko"
	Ja     Lang = "ja"
	ZhHans Lang = "zh-Hans"
	ZhHant Lang = "zh-Hant"
)

// Langs are the languages, in the order --lang lists them.
var Langs = []Lang{En, Ko, Ja, ZhHans, ZhHant}

// Name is the language's name in itself, as the wizard's header shows it.
func (l Lang) Name() string {
	switch l {
	case Ko:
		return "한국어"
	case Ja:
		return "日本語"
	case ZhHans:
		return "简体中文"
	case ZhHant:
		return "繁體中文"
	}
	return "English"
}

func (l Lang) tag() language.Tag { return language.MustParse(string(l)) }

// LangList is the accepted --lang values, for help and errors: "en, ko, ja, zh-Hans or zh-Hant".
func LangList() string {
	s := make([]string, len(Langs))
	for i, l := range Langs {
		s[i] = string(l)
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Parse reads a --lang value: one of Langs, in any letter case, with - or _.
func Parse(v string) (Lang, error) {
	norm := strings.ReplaceAll(strings.TrimSpace(v), "_", "-")
	for _, l := range Langs {
		if strings.EqualFold(norm, string(l)) {
			return l, nil
		}
	}
	shown := v
	if strings.TrimSpace(v) == "" {
		shown = `""`
	}
	return "", &Error{Key: "cli.lang.unknown", Args: Args{"Value": shown, "Langs": LangList()}}
}

// The locale variables, in the order POSIX gives them precedence for messages.
var localeVars = []string{"LC_ALL", "LC_MESSAGES", "LANG"}

// FromEnv is the language of the locale (LC_ALL, else LC_MESSAGES, else LANG; the first one
// set decides, as for any POSIX program): ko_KR → ko, ja_JP → ja, zh_CN and zh_SG → zh-Hans,
// zh_TW and zh_HK → zh-Hant. C, POSIX, unset and every other language is English.
func FromEnv(getenv func(string) string) Lang {
	for _, v := range localeVars {
		if val := getenv(v); val != "" {
			return FromLocale(val)
		}
	}
	return En
}

var matcher = func() language.Matcher {
	tags := make([]language.Tag, len(Langs))
	for i, l := range Langs {
		tags[i] = l.tag()
	}
	return language.NewMatcher(tags)
}()

// FromLocale maps one locale name (ko_KR.UTF-8, zh_TW.Big5, ja_JP@euro, zh-Hant-TW) to its
// language; one jitpwiz does not speak, C and POSIX are English.
func FromLocale(locale string) Lang {
	name, _, _ := strings.Cut(locale, ".") // the codeset
	name, _, _ = strings.Cut(name, "@")    // a modifier
	if name == "" || name == "C" || name == "POSIX" {
		return En
	}
	tag, err := language.Parse(name)
	if err != nil {
		return En
	}
	// The matcher knows which script a region writes Chinese in (TW, HK, MO: Traditional;
	// CN, SG: Simplified); a language it can only guess at is English.
	_, i, conf := matcher.Match(tag)
	if conf < language.High {
		return En
	}
	return Langs[i]
}

// Resolve is the language of a run: --lang when it was given (flag, a bad value is an
// error), else the locale's.
func Resolve(flag string, given bool, getenv func(string) string) (Lang, error) {
	if given {
		return Parse(flag) // its error names --lang and the accepted values
	}
	return FromEnv(getenv), nil
}
