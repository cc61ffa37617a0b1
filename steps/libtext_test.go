package steps

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Every message name a package below steps passes to its words hook as a literal (an argument
// of its say, phrase, words or errorWith) is a name the hook knows: one missing would show as
// the name itself. And the arguments the call gives are the ones the English message uses: a
// misspelt one would be empty in the text, silently. (Names made at run time, such as
// "field."+param, are checked by the package's tests, whose words hook panics on a name the
// catalog file lacks.)
func TestLibraryNamesAreInTheCatalog(t *testing.T) {
	en := i18n.Default().Messages[i18n.En]
	for _, pkg := range []struct {
		dir, fn string
		arg     int    // the name's argument
		args    string // how the arguments follow it: "pairs" (name, value, …) or "map" (a map literal)
		implied []string
		keys    map[string]i18n.Key
	}{
		{"../aws/template", "say", 0, "pairs", nil, templateKeys},
		{"../aws/policy", "say", 0, "pairs", nil, policyKeys},
		{"../mqttprobe", "say", 0, "pairs", nil, probeKeys},
		{"../aws", "phrase", 0, "pairs", nil, awsWordKeys},
		{"../pki", "words", 0, "map", nil, pkiKeys},
		{"../pki", "errorWith", 1, "pairs", []string{"Err"}, pkiKeys},
	} {
		files, err := filepath.Glob(filepath.Join(pkg.dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		names, checked := 0, 0
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			fset := gotoken.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) <= pkg.arg {
					return true
				}
				if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != pkg.fn {
					return true
				}
				name, ok := stringLit(call.Args[pkg.arg])
				if !ok {
					return true
				}
				names++
				at := fset.Position(call.Args[pkg.arg].Pos())
				key, ok := pkg.keys[name]
				if !ok {
					t.Errorf("%s: %s(%q): no key for this name in the words hook (the catalog's file and steps' map)", at, pkg.fn, name)
					return true
				}
				given, ok := callArgs(call.Args[pkg.arg+1:], pkg.args)
				if !ok {
					return true // arguments made elsewhere
				}
				checked++
				var used []string
				if m := en[key]; m != nil {
					used, _ = i18n.TemplateArgs(m.Other)
				}
				for _, a := range given {
					if !slices.Contains(used, a) {
						t.Errorf("%s: %s(%q) gives %s, which %s does not use", at, pkg.fn, name, a, key)
					}
				}
				for _, a := range used {
					if !slices.Contains(given, a) && !slices.Contains(pkg.implied, a) {
						t.Errorf("%s: %s uses {{.%s}}, which %s(%q) does not give", at, key, a, pkg.fn, name)
					}
				}
				return true
			})
		}
		if names == 0 || checked == 0 {
			t.Errorf("%s: %d calls of %s with a literal name found, %d with their arguments: the test looks in the wrong place", pkg.dir, names, pkg.fn, checked)
		}
	}
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != gotoken.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// callArgs are the argument names of a call's words: name, value pairs, or a map literal (or
// nil); ok is false when a name is not a literal.
func callArgs(rest []ast.Expr, style string) (names []string, ok bool) {
	if style == "map" {
		if len(rest) == 0 {
			return nil, true
		}
		if id, isIdent := rest[0].(*ast.Ident); isIdent && id.Name == "nil" {
			return nil, true
		}
		lit, isLit := rest[0].(*ast.CompositeLit)
		if !isLit {
			return nil, false
		}
		for _, el := range lit.Elts {
			kv, isKV := el.(*ast.KeyValueExpr)
			if !isKV {
				return nil, false
			}
			n, isStr := stringLit(kv.Key)
			if !isStr {
				return nil, false
			}
			names = append(names, n)
		}
		return names, true
	}
	for i := 0; i < len(rest); i += 2 {
		n, isStr := stringLit(rest[i])
		if !isStr {
			return nil, false
		}
		names = append(names, n)
	}
	return names, true
}
