package aws

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"
)

// The words of the errors are steps' (its catalog, steps/i18n/locales/en/aws.yaml), which
// this package cannot import: its tests render the English catalog file themselves, the way
// steps does, so that they check the cause and fix a user reads.

func TestMain(m *testing.M) {
	text, err := catalogText("../steps/i18n/locales/en/aws.yaml")
	if err != nil {
		fmt.Fprintln(os.Stderr, "aws tests:", err)
		os.Exit(2)
	}
	Text = text
	os.Exit(m.Run())
}

func catalogText(file string) (func(*Error) (string, string), error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	msgs := map[string]string{}
	if err := yaml.Unmarshal(raw, &msgs); err != nil {
		return nil, err
	}
	render := func(key string, args map[string]string) string {
		src, ok := msgs[key]
		if !ok {
			panic("aws.yaml has no " + key)
		}
		t := template.Must(template.New(key).Option("missingkey=zero").Parse(src))
		var b strings.Builder
		if err := t.Execute(&b, args); err != nil {
			panic(key + ": " + err.Error())
		}
		return b.String()
	}
	nouns := map[string]string{"What": "aws.what.", "Place": "aws.place."}
	return func(e *Error) (string, string) {
		args := map[string]string{}
		for n, v := range e.Args {
			args[n] = v
		}
		for n, prefix := range nouns {
			if v := args[n]; v != "" {
				args[n] = render(prefix+v, args)
			}
		}
		if v := args["Hint"]; v != "" {
			args["Hint"] = render("aws.hint."+v, args)
		}
		cause := render("aws."+string(e.Reason)+".cause", args)
		if args["Retried"] != "" {
			cause += render("aws.retried", args)
		}
		return cause, render("aws."+string(e.Reason)+".fix", args)
	}, nil
}
