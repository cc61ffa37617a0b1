package i18n

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// The registry check: every key the program can look up is a constant of type Key that the
// English catalog has. The module's packages are type-checked (over the export data `go list
// -export` gives), and in them:
//   - every string constant of type Key (a literal passed to T, a constant, a map value) is a
//     key of the English catalog;
//   - no Key is made from a value at run time (Key(s) of a non-constant s);
//   - at a call of T, N, NewError or WrapError with a constant key and an Args literal, the
//     arguments are exactly the ones the English message uses; N is called on a plural
//     message and T on one that is not;
//   - every English key is used somewhere (a key nobody looks up is a translator's wasted work).

const pkgPath = "github.com/jitpwiz/jitpwiz/steps/i18n"

type listedPkg struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
	Module     *struct{ Path string }
	Incomplete bool
	Error      *struct{ Err string }
}

func goTool(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	t.Fatal("the go command is needed to type-check the module (go list -export)")
	return ""
}

// loadModule type-checks the module's packages (their non-test files).
func loadModule(t *testing.T) (*token.FileSet, map[string]*ast.File, *types.Info, []*types.Package) {
	t.Helper()
	cmd := exec.Command(goTool(t), "list", "-deps", "-export", "-json=ImportPath,Dir,Export,GoFiles,Module,Incomplete,Error", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	exports := map[string]string{}
	var mine []listedPkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module != nil && p.Module.Path == "github.com/jitpwiz/jitpwiz" {
			mine = append(mine, p)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}, Defs: map[*ast.Ident]types.Object{}}
	files := map[string]*ast.File{}
	var pkgs []*types.Package
	for _, p := range mine {
		var fs []*ast.File
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files[path] = f
			fs = append(fs, f)
		}
		conf := types.Config{Importer: imp}
		pkg, err := conf.Check(p.ImportPath, fset, fs, info)
		if err != nil {
			t.Fatalf("type-checking %s: %v", p.ImportPath, err)
		}
		pkgs = append(pkgs, pkg)
	}
	return fset, files, info, pkgs
}

// thisDir is this package's directory.
var thisDir = func() string {
	d, _ := filepath.Abs(".")
	return d
}()

// keyUse is one key the program uses, where.
type keyUse struct {
	pos token.Position
	key Key
}

// checkKeys applies the rules above to the type-checked files and returns the problems and
// the keys used.
func checkKeys(fset *token.FileSet, files map[string]*ast.File, info *types.Info, cat *Catalog) ([]string, []keyUse) {
	var problems []string
	var uses []keyUse
	en := cat.Messages[En]
	isKey := func(t types.Type) bool {
		n, ok := t.(*types.Named)
		return ok && n.Obj().Name() == "Key" && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkgPath
	}
	isArgs := func(t types.Type) bool {
		n, ok := t.(*types.Named)
		return ok && n.Obj().Name() == "Args" && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkgPath
	}
	report := func(n ast.Node, format string, a ...any) {
		problems = append(problems, fset.Position(n.Pos()).String()+": "+fmt.Sprintf(format, a...))
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		own := filepath.Dir(path) == thisDir // the catalog's own code turns the files' IDs into keys
		ast.Inspect(files[path], func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				tv, ok := info.Types[n]
				if !ok || !isKey(tv.Type) || tv.Value == nil {
					return true
				}
				k := Key(constant.StringVal(tv.Value))
				uses = append(uses, keyUse{fset.Position(n.Pos()), k})
				if _, ok := en[k]; !ok {
					report(n, "key %s is not in the English catalog (steps/i18n/locales/en)", k)
				}
			case *ast.BinaryExpr:
				if tv, ok := info.Types[n]; ok && isKey(tv.Type) {
					report(n, "a key built with +: write the whole key as one literal, so that it can be checked")
					return false
				}
			case *ast.CallExpr:
				if tv, ok := info.Types[n.Fun]; ok && tv.IsType() && isKey(tv.Type) && len(n.Args) == 1 && !own {
					if at, ok := info.Types[n.Args[0]]; !ok || at.Value == nil {
						report(n, "Key(...) of a value made at run time: keys are constants (a map or switch of constant keys instead)")
					}
					return true
				}
				checkCall(n, info, en, isArgs, report)
			}
			return true
		})
	}
	return problems, uses
}

// checkCall checks the arguments of a call of T, N, NewError or WrapError (or a Printer's T/N).
func checkCall(call *ast.CallExpr, info *types.Info, en map[Key]*goi18n.Message, isArgs func(types.Type) bool, report func(ast.Node, string, ...any)) {
	var id *ast.Ident
	switch f := call.Fun.(type) {
	case *ast.SelectorExpr:
		id = f.Sel
	case *ast.Ident:
		id = f
	default:
		return
	}
	fn, ok := info.Uses[id].(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Pkg().Path() != pkgPath {
		return
	}
	keyArg, implicit := 0, map[string]bool{}
	switch fn.Name() {
	case "T", "NewError":
	case "N":
		implicit[CountArg] = true
	case "WrapError":
		keyArg = 1
		implicit["Err"] = true
	default:
		return
	}
	if len(call.Args) <= keyArg {
		return
	}
	tv := info.Types[call.Args[keyArg]]
	if tv.Value == nil {
		return // a Key variable: its constants are checked where they are written
	}
	k := Key(constant.StringVal(tv.Value))
	m, ok := en[k]
	if !ok {
		return // reported as a missing key
	}
	switch {
	case fn.Name() == "N" && !IsPlural(m):
		report(call, "N(%s): the English message has no plural forms (one: …, other: …) — use T, or give it its forms", k)
	case fn.Name() != "N" && IsPlural(m):
		report(call, "%s(%s): the English message is plural — use N with the count", fn.Name(), k)
	}
	given := map[string]bool{}
	rest := call.Args[keyArg+1:]
	if fn.Name() == "N" && len(rest) > 0 {
		rest = rest[1:] // the count
	}
	for _, a := range rest {
		lit, ok := a.(*ast.CompositeLit)
		if !ok || !isArgs(info.Types[lit].Type) {
			return // arguments made elsewhere: checked when rendered
		}
		for _, el := range lit.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				return
			}
			nt := info.Types[kv.Key]
			if nt.Value == nil {
				return
			}
			given[constant.StringVal(nt.Value)] = true
		}
	}
	want := map[string]bool{}
	for _, s := range forms2list(m) {
		fs, _ := TemplateArgs(s)
		for _, f := range fs {
			want[f] = true
		}
	}
	for f := range want {
		if !given[f] && !implicit[f] {
			report(call, "%s: the message uses {{.%s}}, which the call does not give", k, f)
		}
	}
	for f := range given {
		if !want[f] {
			report(call, "%s: the call gives %s, which the English message does not use", k, f)
		}
	}
}

func TestEveryKeyIsInTheCatalog(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the whole module")
	}
	fset, files, info, _ := loadModule(t)
	problems, uses := checkKeys(fset, files, info, Default())
	for _, p := range problems {
		t.Error(p)
	}
	used := map[Key]bool{}
	for _, u := range uses {
		used[u.key] = true
	}
	for _, k := range sortedKeys(Default().Messages[En]) {
		if !used[k] {
			t.Errorf("key %s is in the English catalog but no code uses it: remove it (from every language)", k)
		}
	}
	if len(uses) < len(Default().Messages[En]) {
		t.Errorf("only %d key uses found for %d keys: the walk misses call sites", len(uses), len(Default().Messages[En]))
	}
}

// The check on code written to break each rule.
func TestCheckKeysFindsWhatIsWrong(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the whole module")
	}
	cat := mustCatalog(t, map[string]string{"locales/en/area.yaml": enArea})
	src := `package probe

import "github.com/jitpwiz/jitpwiz/steps/i18n"

const good i18n.Key = "area.bye"
const typo i18n.Key = "area.byee"

var byCause = map[string]i18n.Key{"a": "area.hello", "b": "area.nope"}

func f(s string, n int) {
	_ = i18n.T("area.hello", i18n.Args{"Name": s})
	_ = i18n.T("area.hello", i18n.Args{"Nmae": s})
	_ = i18n.T("area.missing")
	_ = i18n.T(i18n.Key(s))
	_ = i18n.T(i18n.Key("area." + "bye"))
	_ = i18n.T(good)
	_ = i18n.N("area.devices", n)
	_ = i18n.N("area.bye", n)
	_ = i18n.T("area.devices")
	_ = i18n.For(i18n.Ko).T("area.hello")
	_ = i18n.WrapError(nil, "area.bye")
	_ = i18n.T(byCause[s])
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "probe.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	exp := exportOf(t)
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		if p, ok := exp[path]; ok {
			return os.Open(p)
		}
		return nil, fmt.Errorf("no export data for %s", path)
	})}
	if _, err := conf.Check("probe", fset, []*ast.File{f}, info); err != nil {
		t.Fatal(err)
	}
	problems, uses := checkKeys(fset, map[string]*ast.File{"probe.go": f}, info, cat)
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		"probe.go:6:23: key area.byee is not in the English catalog",
		"probe.go:8:59: key area.nope is not in the English catalog",
		"probe.go:12:6: area.hello: the message uses {{.Name}}, which the call does not give",
		"probe.go:12:6: area.hello: the call gives Nmae, which the English message does not use",
		"probe.go:13:13: key area.missing is not in the English catalog",
		"probe.go:14:13: Key(...) of a value made at run time",
		"probe.go:15:22: a key built with +",
		"probe.go:18:6: N(area.bye): the English message has no plural forms",
		"probe.go:19:6: T(area.devices): the English message is plural",
		"probe.go:20:6: area.hello: the message uses {{.Name}}, which the call does not give",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the check misses %q; it found:\n%s", want, got)
		}
	}
	for _, line := range []string{"probe.go:5:", "probe.go:11:", "probe.go:16:", "probe.go:17:", "probe.go:21:", "probe.go:22:"} {
		if strings.Contains(got, line) {
			t.Errorf("a correct line is reported (%s):\n%s", line, got)
		}
	}
	if len(uses) < 8 {
		t.Errorf("uses: %v", uses)
	}
}

func exportOf(t *testing.T) map[string]string {
	cmd := exec.Command(goTool(t), "list", "-deps", "-export", "-f", "{{.ImportPath}}={{.Export}}", pkgPath)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}
