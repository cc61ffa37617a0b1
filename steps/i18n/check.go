package i18n

import (
	"fmt"
	"sort"
	"strings"
	"text/template/parse"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// What the tests check of a catalog (catalog_test.go on the embedded one). It is here, not in a
// test file, so that a test elsewhere (a golden of another package) can run the same checks.

// pluralForms are the CLDR plural forms a language's messages need, besides "other".
var pluralForms = map[Lang][]string{En: {"one"}}

// Problems lists what is wrong with the catalog, each naming the file's language and the key:
// an English message that is empty or does not parse; in every other language that has a
// catalog, a key of English missing, empty (in a plural form the language needs), unknown to
// English, or using an argument English does not have.
func (c *Catalog) Problems() []string {
	var out []string
	en := c.Messages[En]
	for _, k := range sortedKeys(en) {
		out = append(out, messageProblems(En, k, en[k], nil)...)
	}
	for _, lang := range Langs[1:] {
		msgs, ok := c.Messages[lang]
		if !ok {
			continue // no catalog for it yet: English is shown
		}
		for _, k := range sortedKeys(en) {
			m, ok := msgs[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s: key %s is missing (English: %q)", lang, k, en[k].Other))
				continue
			}
			out = append(out, messageProblems(lang, k, m, en[k])...)
		}
		for _, k := range sortedKeys(msgs) {
			if _, ok := en[k]; !ok {
				out = append(out, fmt.Sprintf("%s: key %s is not in the English catalog (renamed or removed there?)", lang, k))
			}
		}
	}
	return out
}

func messageProblems(lang Lang, k Key, m, source *goi18n.Message) []string {
	var out []string
	forms := forms(m)
	if strings.TrimSpace(m.Other) == "" {
		out = append(out, fmt.Sprintf("%s: key %s is empty", lang, k))
	}
	plural := source != nil && IsPlural(source) || source == nil && IsPlural(m)
	if plural {
		for _, f := range pluralForms[lang] {
			if strings.TrimSpace(forms[f]) == "" {
				out = append(out, fmt.Sprintf("%s: key %s is plural and lacks its %q form", lang, k, f))
			}
		}
	}
	var allowed map[string]bool
	if source != nil {
		allowed = map[string]bool{}
		for _, s := range forms2list(source) {
			fs, _ := TemplateArgs(s)
			for _, f := range fs {
				allowed[f] = true
			}
		}
	}
	for name, s := range forms {
		fs, err := TemplateArgs(s)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: key %s (%s): %v", lang, k, name, err))
			continue
		}
		for _, f := range fs {
			if allowed != nil && !allowed[f] {
				out = append(out, fmt.Sprintf("%s: key %s uses {{.%s}}, which the English message does not have", lang, k, f))
			}
		}
	}
	return out
}

// IsPlural reports a message with plural forms (one: …, other: …), which N renders.
func IsPlural(m *goi18n.Message) bool {
	return m.Zero != "" || m.One != "" || m.Two != "" || m.Few != "" || m.Many != ""
}

func forms(m *goi18n.Message) map[string]string {
	out := map[string]string{"other": m.Other}
	for n, v := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many} {
		if v != "" {
			out[n] = v
		}
	}
	return out
}

func forms2list(m *goi18n.Message) []string {
	var out []string
	for _, v := range forms(m) {
		out = append(out, v)
	}
	return out
}

// builtins are text/template's functions, which a message may use ({{or .Region "(unset)"}}).
var builtins = func() map[string]any {
	m := map[string]any{}
	for _, f := range []string{"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "print", "printf", "println", "slice"} {
		m[f] = fmt.Sprint // the parser only asks whether the name exists
	}
	return m
}()

// TemplateArgs are the argument names a message uses ({{.Thing}} → Thing), sorted.
func TemplateArgs(src string) ([]string, error) {
	trees, err := parse.Parse("m", src, "{{", "}}", builtins)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			seen[n.Ident[0]] = true
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	for _, t := range trees {
		walk(t.Root)
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

func sortedKeys(m map[Key]*goi18n.Message) []Key {
	out := make([]Key, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
