package aws

import (
	"os"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The words of the errors are steps' (its catalog, steps/i18n/locales/en/aws.yaml), which
// this package cannot import: its tests render the English catalog file the way steps does
// (errtext.go), so that they check the cause and fix a user reads.
func TestMain(m *testing.M) {
	words := i18ntest.MustCatalogFile("../steps/i18n/locales/en/aws.yaml")
	Words = i18ntest.MustArea("../steps/i18n/locales/en/aws.yaml", "aws")
	Text = func(e *Error) (string, string) {
		args := map[string]string{}
		for n, v := range e.Args {
			args[n] = v
		}
		for n, prefix := range map[string]string{"What": "aws.what.", "Place": "aws.place.", "Hint": "aws.hint."} {
			if v := args[n]; v != "" {
				args[n] = words(prefix+v, args)
			}
		}
		cause := words("aws."+string(e.Reason)+".cause", args)
		if args["Retried"] != "" {
			cause += words("aws.retried", args)
		}
		return cause, words("aws."+string(e.Reason)+".fix", args)
	}
	os.Exit(m.Run())
}
