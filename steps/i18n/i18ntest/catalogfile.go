package i18ntest

import (
	"fmt"
	"os"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

// CatalogFile renders the messages of one English catalog file (steps/i18n/locales/en/<area>.yaml)
// the way the catalog does, for the tests of a package that the catalog's words are given to
// but that cannot import steps (aws, pki, aws/local): they set their words hook to it, so that
// their assertions check the words a user reads. A key the file lacks panics (the test fails
// with its name); a missing argument is empty.
func CatalogFile(path string) (func(key string, args map[string]string) string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	msgs := map[string]string{}
	if err := yaml.Unmarshal(raw, &msgs); err != nil {
		return nil, fmt.Errorf("%s: %w (a file with plural messages is not for CatalogFile)", path, err)
	}
	return func(key string, args map[string]string) string {
		src, ok := msgs[key]
		if !ok {
			panic(path + " has no key " + key)
		}
		t, err := template.New(key).Option("missingkey=zero").Parse(src)
		if err != nil {
			panic(path + ": " + key + ": " + err.Error())
		}
		var b strings.Builder
		if err := t.Execute(&b, args); err != nil {
			panic(path + ": " + key + ": " + err.Error())
		}
		return b.String()
	}, nil
}

// MustCatalogFile is CatalogFile for a TestMain: it exits when the file cannot be read.
func MustCatalogFile(path string) func(key string, args map[string]string) string {
	f, err := CatalogFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "i18ntest:", err)
		os.Exit(2)
	}
	return f
}

// MustArea is MustCatalogFile for a package whose words hook names its messages without the
// area: MustArea("…/pki.yaml", "pki") renders name as the key "pki.<name>".
func MustArea(path, area string) func(name string, args map[string]string) string {
	words := MustCatalogFile(path)
	return func(name string, args map[string]string) string { return words(area+"."+name, args) }
}
