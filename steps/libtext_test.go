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

// Every message name a package below steps passes to its words hook as a literal (the first
// argument of its say or phrase) is a name the hook knows: one missing would show as the name
// itself. (Names made at run time, such as "field."+param, are checked by the package's tests,
// whose words hook panics on a name the catalog file lacks.)
func TestLibraryNamesAreInTheCatalog(t *testing.T) {
	for _, pkg := range []struct {
		dir, fn string
		keys    map[string]i18n.Key
	}{
		{"../aws/template", "say", templateKeys},
		{"../aws/policy", "say", policyKeys},
		{"../mqttprobe", "say", probeKeys},
		{"../aws", "phrase", awsWordKeys},
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
				if !ok || len(call.Args) == 0 {
					return true
				}
				if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != pkg.fn {
					return true
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
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
