package broker

import (
	"os"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The broker logs the policy evaluator's explanations, and the template's and pki's words reach
// its errors: those words are steps' (its catalog), which this package cannot import, so its
// tests render the English catalog files.
func TestMain(m *testing.M) {
	const en = "../../../steps/i18n/locales/en/"
	policy.Words = i18ntest.MustArea(en+"policy.yaml", "policy")
	template.Words = i18ntest.MustArea(en+"template.yaml", "template")
	pki.Words = i18ntest.MustArea(en+"pki.yaml", "pki")
	os.Exit(m.Run())
}
