package template

import (
	"os"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The words of the findings and fixes are steps' (its catalog, steps/i18n/locales/en/
// template.yaml, and policy.yaml for the policy evaluator's), which this package cannot
// import: its tests render the English catalog files, so that they check what a user reads.
func TestMain(m *testing.M) {
	Words = i18ntest.MustArea("../../steps/i18n/locales/en/template.yaml", "template")
	policy.Words = i18ntest.MustArea("../../steps/i18n/locales/en/policy.yaml", "policy")
	os.Exit(m.Run())
}
