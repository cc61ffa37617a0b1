package pki

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"
)

// The words of the errors are steps' (its catalog, steps/i18n/locales/en/pki.yaml), which
// this package cannot import: its tests render the English catalog file themselves, the way
// steps does, so that they check what a user reads.

func TestMain(m *testing.M) {
	raw, err := os.ReadFile("../steps/i18n/locales/en/pki.yaml")
	if err == nil {
		msgs := map[string]string{}
		if err = yaml.Unmarshal(raw, &msgs); err == nil {
			Words = func(key string, args map[string]string) string {
				src, ok := msgs["pki."+key]
				if !ok {
					panic("pki.yaml has no pki." + key)
				}
				var b strings.Builder
				if err := template.Must(template.New(key).Option("missingkey=zero").Parse(src)).Execute(&b, args); err != nil {
					panic(key + ": " + err.Error())
				}
				return b.String()
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pki tests:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}
