package steps

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// layers is the package's house (doc.go, "Layers"): a file uses only files of lower layers,
// so the steps never use each other and the shared files never use a step. A new file gets
// a layer here and in doc.go.
var layers = map[int][]string{
	1: {"ids.go", "state.go", "session.go", "field.go", "text.go", "wrap.go", "fleet_limit.go"},
	2: {"base.go", "templatefile.go", "options.go", "ca.go", "keys.go", "commands.go", "devices.go", "provisioned.go",
		"templates.go", "lock.go", "removal.go", "screen_text.go", "doctor_report.go", "errtext.go", "fleet_record.go"},
	3: {"step01_cakey.go", "step02_opensslconf.go", "step03_cacert.go", "step04_regcode.go", "step05_verifcert.go",
		"step06_role.go", "step07_template.go", "step08_registerca.go", "step09_devicecert.go", "step10_servertrust.go",
		"step11_firstconnect.go", "step11a_activate.go", "step12_verify.go", "step13_use.go",
		"base_update.go", "open.go", "connect.go", "summary.go", "runner_events.go", "bundle.go", "libtext.go",
		"doctor_cloud.go", "doctor_device.go", "doctor_files.go", "fleet.go", "fleet_clean.go"},
	4: {"plan.go", "runner.go", "base_view.go", "clean.go", "doctor.go", "script.go", "fleet_run.go"},
}

// TestLayers reads the package's files and checks that every package-level name a file uses
// (a function, type, variable or constant of another file) stands on a lower layer.
func TestLayers(t *testing.T) {
	layerOf := map[string]int{}
	for l, fs := range layers {
		for _, f := range fs {
			layerOf[f] = l
		}
	}
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	files := map[string]*ast.File{}
	owner := map[string]string{} // package-level name -> the file that declares it
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") || p == "doc.go" {
			continue
		}
		if _, ok := layerOf[p]; !ok {
			t.Errorf("%s stands on no layer: give it one in layers (layers_test.go) and in doc.go", p)
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = f
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name != "init" {
					owner[d.Name.Name] = p
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						owner[s.Name.Name] = p
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.Name != "_" {
								owner[n.Name] = p
							}
						}
					}
				}
			}
		}
	}
	for _, f := range layers {
		for _, name := range f {
			if _, err := os.Stat(name); err != nil {
				t.Errorf("layers names %s, which is not a file of the package", name)
			}
		}
	}
	var bad []string
	for p, f := range files {
		uses := map[string][]string{}
		selected := map[*ast.Ident]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				selected[s.Sel] = true // a field or method, or a name of another package
			}
			if id, ok := n.(*ast.Ident); ok && !selected[id] {
				if o, ok := owner[id.Name]; ok && o != p {
					uses[o] = append(uses[o], id.Name)
				}
			}
			return true
		})
		for o, names := range uses {
			if layerOf[o] >= layerOf[p] {
				sort.Strings(names)
				bad = append(bad, p+" (layer "+strconv.Itoa(layerOf[p])+") uses "+o+" (layer "+strconv.Itoa(layerOf[o])+"): "+strings.Join(slices.Compact(names), ", "))
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}
