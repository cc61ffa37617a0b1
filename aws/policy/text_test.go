package policy

import (
	"os"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The words of the explanations are steps' (its catalog, steps/i18n/locales/en/policy.yaml),
// which this package cannot import: its tests render the English catalog file, so that they
// check what a user reads.
func TestMain(m *testing.M) {
	Words = i18ntest.MustArea("../../steps/i18n/locales/en/policy.yaml", "policy")
	os.Exit(m.Run())
}
