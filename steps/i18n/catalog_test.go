package i18n

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// The embedded catalog: every key of English present and non-empty in every language that has
// a catalog, each message parses, and translations use only English's arguments.
func TestCatalogComplete(t *testing.T) {
	for _, p := range Default().Problems() {
		t.Error(p)
	}
	if n := len(Default().Messages[En]); n == 0 {
		t.Fatalf("the English catalog has %d messages", n)
	}
}

func testCatalog(t *testing.T, files map[string]string) (*Catalog, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return Load(fsys)
}

func mustCatalog(t *testing.T, files map[string]string) *Catalog {
	t.Helper()
	c, err := testCatalog(t, files)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const enArea = `
area.hello: "hello {{.Name}}"
area.devices:
  one: "{{.Count}} device"
  other: "{{.Count}} devices"
area.bye: "bye"
`

func TestProblemsNameLanguageAndKey(t *testing.T) {
	c := mustCatalog(t, map[string]string{
		"locales/en/area.yaml": enArea,
		"locales/ko/area.yaml": `
area.hello: "{{.Nmae}} 님, 안녕하세요"
area.devices: ""
area.stale: "옛 메시지"
`,
		"locales/ja/area.yaml": `
area.hello: "こんにちは、{{.Name}}"
area.devices: "{{.Count}} 台のデバイス"
area.bye: "さようなら"
`,
	})
	got := strings.Join(c.Problems(), "\n")
	for _, want := range []string{
		`ko: key area.bye is missing (English: "bye")`,
		"ko: key area.devices is empty",
		"ko: key area.stale is not in the English catalog",
		"ko: key area.hello uses {{.Nmae}}, which the English message does not have",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q; they are:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ja:") {
		t.Errorf("the complete ja catalog has problems:\n%s", got)
	}
	// zh-Hans has no catalog: nothing to report for it (English is shown).
	if strings.Contains(got, "zh-Hans") {
		t.Errorf("a language without a catalog has problems:\n%s", got)
	}
}

func TestProblemsOfEnglish(t *testing.T) {
	c := mustCatalog(t, map[string]string{"locales/en/area.yaml": `
area.empty: ""
area.broken: "{{.Name"
area.plural:
  one: "{{.Count}} device"
area.fine: "fine"
`})
	got := strings.Join(c.Problems(), "\n")
	for _, want := range []string{"en: key area.empty is empty", "en: key area.broken (other):", "en: key area.plural is empty"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q; they are:\n%s", want, got)
		}
	}
	if strings.Contains(got, "area.fine") {
		t.Errorf("a fine message has problems:\n%s", got)
	}
}

func TestLoadRefuses(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"key of another area": {"locales/en/area.yaml": `other.key: "x"`},
		"key twice":           {"locales/en/area.yaml": "area.x: \"x\"\narea.x: \"y\"\n"},
		"unknown language":    {"locales/en/area.yaml": `area.x: "x"`, "locales/fr/area.yaml": `area.x: "x"`},
		"not yaml":            {"locales/en/area.json": `{"area.x": "x"}`},
		"bad yaml":            {"locales/en/area.yaml": "area.x: [unclosed"},
		"no English":          {"locales/ko/area.yaml": `area.x: "x"`},
	} {
		if _, err := testCatalog(t, files); err == nil {
			t.Errorf("%s: Load accepted it", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestPluralsAndFallback(t *testing.T) {
	c := mustCatalog(t, map[string]string{
		"locales/en/area.yaml": enArea,
		"locales/ko/area.yaml": "area.devices: \"장치 {{.Count}}대\"\narea.hello: \"{{.Name}} 님, 안녕하세요\"\n",
	})
	en, ko := c.Printer(En), c.Printer(Ko)
	for _, tc := range []struct{ got, want string }{
		{en.N("area.devices", 1), "1 device"},
		{en.N("area.devices", 2), "2 devices"},
		{en.N("area.devices", 0), "0 devices"},
		{ko.N("area.devices", 1), "장치 1대"},
		{ko.N("area.devices", 7), "장치 7대"},
		{en.T("area.hello", Args{"Name": "Kim"}), "hello Kim"},
		{ko.T("area.hello", Args{"Name": "Kim"}), "Kim 님, 안녕하세요"},
		// ko lacks it: the English message.
		{ko.T("area.bye"), "bye"},
		// ja and zh have no catalog: English.
		{c.Printer(Ja).N("area.devices", 3), "3 devices"},
		{c.Printer(ZhHant).T("area.hello", Args{"Name": "Lin"}), "hello Lin"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	// A missing argument is never "<no value>" in the text: the key says what went wrong.
	if got := en.T("area.hello"); strings.Contains(got, "no value") || !strings.Contains(got, "area.hello") {
		t.Errorf("a message without its argument: %q", got)
	}
	if got := en.T("area.nothing"); !strings.Contains(got, "area.nothing") {
		t.Errorf("an unknown key: %q", got)
	}
}

func TestErrorIsRenderedInTheCurrentLanguage(t *testing.T) {
	base := errors.New("boom")
	err := WrapError(base, "cli.lang.unknown", Args{"Value": "fr", "Langs": LangList()})
	if !errors.Is(err, base) {
		t.Fatal("WrapError does not unwrap to the error it explains")
	}
	var e *Error
	if !errors.As(err, &e) || e.Key != "cli.lang.unknown" || e.Args["Value"] != "fr" {
		t.Fatalf("the error does not carry its key and arguments: %#v", err)
	}
	if got := err.Error(); !strings.Contains(got, "--lang fr") || !strings.Contains(got, "zh-Hant") {
		t.Errorf("Error() = %q", got)
	}
	if got := NewError("cli.lang.unknown", Args{"Value": "x", "Langs": "y"}).Error(); !strings.HasPrefix(got, "--lang x: ") {
		t.Errorf("NewError: %q", got)
	}
}

func TestSetLang(t *testing.T) {
	t.Cleanup(func() { SetLang(En) })
	for _, l := range Langs {
		SetLang(l)
		if Current() != l {
			t.Errorf("SetLang(%s): Current() = %s", l, Current())
		}
		if s := T("cli.lang.flag", Args{"Langs": LangList()}); s == "" || strings.Contains(s, "cli.lang.flag") {
			t.Errorf("%s: T = %q", l, s)
		}
	}
}

func TestEmbeddedFilesAreTheCatalog(t *testing.T) {
	files, err := fs.Glob(locales, "locales/*/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded files: %v %v", files, err)
	}
	n := 0
	for _, fl := range Default().Files {
		n += len(fl)
	}
	if n != len(files) {
		t.Errorf("the catalog has %d files, the embedded FS %d", n, len(files))
	}
}
