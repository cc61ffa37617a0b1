package i18ntest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCatalogFileRendersTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "area.yaml")
	if err := os.WriteFile(path, []byte("area.hello: \"hello {{.Name}}{{if .Where}} in {{.Where}}{{end}}\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	words, err := CatalogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := words("area.hello", map[string]string{"Name": "Kim", "Where": "Seoul"}); got != "hello Kim in Seoul" {
		t.Errorf("got %q", got)
	}
	if got := words("area.hello", map[string]string{"Name": "Kim"}); got != "hello Kim" {
		t.Errorf("a missing argument: %q", got)
	}
	if got := MustArea(path, "area")("hello", map[string]string{"Name": "Lee"}); got != "hello Lee" {
		t.Errorf("MustArea: %q", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "area.nope") {
			t.Errorf("an unknown key did not panic with its name: %v", r)
		}
	}()
	words("area.nope", nil)
}

func TestCatalogFileRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := CatalogFile(filepath.Join(dir, "none.yaml")); err == nil {
		t.Error("a missing file was accepted")
	}
	plural := filepath.Join(dir, "plural.yaml")
	if err := os.WriteFile(plural, []byte("area.n:\n  one: a\n  other: b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CatalogFile(plural); err == nil || !strings.Contains(err.Error(), "plural") {
		t.Errorf("a plural file: %v", err)
	}
}
