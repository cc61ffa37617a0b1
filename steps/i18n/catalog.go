package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/nicksnyder/go-i18n/v2/i18n/template"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

// Key names a message of the catalog: "<area>.<what>", e.g. "doctor.target.reachable".
// Keys are constants (a literal at the call, or a constant of type Key): the tests check
// every one against the English catalog (keys_test.go), so a key is never built at run time.
type Key string

// Args are a message's named arguments: {{.Thing}} in the message is Args{"Thing": name}.
type Args map[string]any

// CountArg is the argument N sets to its count: {{.Count}} in a plural message.
const CountArg = "Count"

//go:embed locales
var locales embed.FS

// Catalog holds the messages of every language: locales/<lang>/<area>.yaml, English the
// source that the others translate.
type Catalog struct {
	bundle *goi18n.Bundle
	// Messages by language and key, as the files have them.
	Messages map[Lang]map[Key]*goi18n.Message
	// Files are the catalog's files by language (locales/en/doctor.yaml, ...).
	Files map[Lang][]string

	names sync.Map // Key → the argument names its English message uses (argNames)
}

// parser executes the messages' templates; a missing argument is an error rather than
// "<no value>" in the text.
var textParser = &template.TextParser{Option: "missingkey=error"}

// Load reads a catalog from fsys, laid out as locales/<lang>/<area>.yaml. Every key of an
// area's file starts with "<area>.", a key is defined once per language, and only the
// languages of Langs have a directory.
func Load(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{bundle: goi18n.NewBundle(language.English), Messages: map[Lang]map[Key]*goi18n.Message{}, Files: map[Lang][]string{}}
	dirs, err := fs.ReadDir(fsys, "locales")
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		lang, err := Parse(d.Name())
		if err != nil || string(lang) != d.Name() || !d.IsDir() {
			return nil, fmt.Errorf("locales/%s: not a language directory (%s)", d.Name(), LangList())
		}
		files, err := fs.Glob(fsys, path.Join("locales", d.Name(), "*"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		c.Messages[lang] = map[Key]*goi18n.Message{}
		for _, f := range files {
			if err := c.loadFile(fsys, lang, f); err != nil {
				return nil, err
			}
		}
		c.Files[lang] = files
	}
	if len(c.Messages[En]) == 0 {
		return nil, fmt.Errorf("locales/en: the English catalog is missing")
	}
	return c, nil
}

func (c *Catalog) loadFile(fsys fs.FS, lang Lang, file string) error {
	area, ok := strings.CutSuffix(path.Base(file), ".yaml")
	if !ok {
		return fmt.Errorf("%s: a catalog file is <area>.yaml", file)
	}
	buf, err := fs.ReadFile(fsys, file)
	if err != nil {
		return err
	}
	msgs, err := goi18n.ParseMessageBytes(buf, yaml.Unmarshal)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	for _, m := range msgs {
		k := Key(m.ID)
		if !strings.HasPrefix(m.ID, area+".") {
			return fmt.Errorf("%s: key %s is not of area %s (keys of %s.yaml start with %q)", file, k, area, area, area+".")
		}
		if _, dup := c.Messages[lang][k]; dup {
			return fmt.Errorf("%s: key %s is defined twice", file, k)
		}
		c.Messages[lang][k] = m
	}
	return c.bundle.AddMessages(lang.tag(), msgs...)
}

// Printer renders the catalog's messages in one language (falling back to English for a
// message the language lacks). It is safe for concurrent use.
type Printer struct {
	lang Lang
	cat  *Catalog
	loc  *goi18n.Localizer
}

// Printer is the catalog's printer for lang.
func (c *Catalog) Printer(lang Lang) *Printer {
	return &Printer{lang: lang, cat: c, loc: goi18n.NewLocalizer(c.bundle, string(lang))}
}

// Lang is the printer's language.
func (p *Printer) Lang() Lang { return p.lang }

// T is the message k with its arguments (at most one Args).
func (p *Printer) T(k Key, args ...Args) string { return p.render(k, nil, args) }

// N is the plural message k for count n ({{.Count}} in the message, with the other args):
// the language's plural rules pick the form (English: one, other; ko, ja, zh: other).
func (p *Printer) N(k Key, n int, args ...Args) string { return p.render(k, n, args) }

// TStrings is the message k with arguments from a map made elsewhere (an error's Args, named
// by another package): a name the English message uses that args lack is empty, a name it does
// not use is ignored.
func (p *Printer) TStrings(k Key, args map[string]string) string {
	data := Args{}
	for _, n := range p.cat.argNames(k) {
		data[n] = ""
	}
	for n, v := range args {
		data[n] = v
	}
	return p.render(k, nil, []Args{data})
}

// argNames are the arguments the English message k uses, parsed once: the packages below
// steps render their messages through TStrings, the policy evaluator on every request.
func (c *Catalog) argNames(k Key) []string {
	if v, ok := c.names.Load(k); ok {
		return v.([]string)
	}
	var names []string
	if m, ok := c.Messages[En][k]; ok {
		for _, form := range forms2list(m) {
			fs, _ := TemplateArgs(form)
			names = append(names, fs...)
		}
	}
	c.names.Store(k, names)
	return names
}

func (p *Printer) render(k Key, count any, args []Args) string {
	data := Args{}
	for _, a := range args {
		for n, v := range a {
			data[n] = v
		}
	}
	if count != nil {
		data[CountArg] = count
	}
	lc := &goi18n.LocalizeConfig{MessageID: string(k), TemplateData: map[string]any(data), PluralCount: count, TemplateParser: textParser}
	s, err := p.loc.Localize(lc)
	if err == nil {
		return s
	}
	if p.lang != En {
		// A translation that is missing or does not render: the English message.
		return p.cat.Printer(En).render(k, count, args)
	}
	// Never reached when the tests pass (every key and its arguments are checked); the key
	// at least says which message it was.
	return string(k) + fmt.Sprint(map[string]any(data))
}

// The process's catalog and printer: the embedded catalog, in the language SetLang chose
// (English until then).
var (
	catalog = func() *Catalog {
		c, err := Load(locales)
		if err != nil {
			panic("i18n: the embedded catalog does not load (go test ./steps/i18n says why): " + err.Error())
		}
		return c
	}()
	current atomic.Pointer[Printer]
)

func init() { current.Store(catalog.Printer(En)) }

// Default is the embedded catalog.
func Default() *Catalog { return catalog }

// SetLang makes lang the language of T, N and Error (main calls it once, from --lang or the
// locale).
func SetLang(lang Lang) { current.Store(catalog.Printer(lang)) }

// Current is the language T speaks.
func Current() Lang { return current.Load().lang }

// For is the embedded catalog's printer for lang, for a caller that shows one language
// whatever SetLang chose (a test of several languages).
func For(lang Lang) *Printer { return catalog.Printer(lang) }

// T is the message k in the current language.
func T(k Key, args ...Args) string { return current.Load().T(k, args...) }

// N is the plural message k for count n in the current language.
func N(k Key, n int, args ...Args) string { return current.Load().N(k, n, args...) }

// TStrings is TStrings of the current language's printer.
func TStrings(k Key, args map[string]string) string { return current.Load().TStrings(k, args) }

// Error is an error whose text is a catalog message, rendered in the current language
// when it is printed; Err, when set, is the error it explains (errors.Is/As reach it).
type Error struct {
	Key  Key
	Args Args
	Err  error
}

// NewError is the error of message k.
func NewError(k Key, args ...Args) error { return &Error{Key: k, Args: merge(args)} }

// WrapError is the error of message k explaining err ({{.Err}} in the message is err).
func WrapError(err error, k Key, args ...Args) error {
	a := merge(args)
	if _, ok := a["Err"]; !ok {
		a["Err"] = err
	}
	return &Error{Key: k, Args: a, Err: err}
}

func merge(args []Args) Args {
	out := Args{}
	for _, a := range args {
		for n, v := range a {
			out[n] = v
		}
	}
	return out
}

func (e *Error) Error() string { return T(e.Key, e.Args) }

func (e *Error) Unwrap() error { return e.Err }
