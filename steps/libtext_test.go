package steps

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Every message name a package below steps passes to its words hook as a literal (an
// argument of its say, phrase, words or errorWith) is a name the hook knows: one missing would show as the name
// itself. (Names made at run time, such as "field."+param, are checked by the package's tests,
// whose words hook panics on a name the catalog file lacks.)
func TestLibraryNamesAreInTheCatalog(t *testing.T) {
	for _, pkg := range []struct {
		dir, fn string
		arg     int // the name's argument
		keys    map[string]i18n.Key
	}{
		{"../aws/template", "say", 0, templateKeys},
		{"../aws/policy", "say", 0, policyKeys},
		{"../mqttprobe", "say", 0, probeKeys},
		{"../aws", "phrase", 0, awsWordKeys},
		{"../pki", "words", 0, pkiKeys},
		{"../pki", "errorWith", 1, pkiKeys},
	} {
		files, err := filepath.Glob(filepath.Join(pkg.dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		names := 0
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
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
				lit, ok := call.Args[pkg.arg].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				name, _ := strconv.Unquote(lit.Value)
				names++
				if _, ok := pkg.keys[name]; !ok {
					t.Errorf("%s: %s(%q): no key for this name in the words hook (the catalog's file and steps' map)", fset.Position(lit.Pos()), pkg.fn, name)
				}
				return true
			})
		}
		if names == 0 {
			t.Errorf("%s: no call of %s with a literal name found: the test looks in the wrong place", pkg.dir, pkg.fn)
		}
	}
}
