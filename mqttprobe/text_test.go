package mqttprobe

import (
	"os"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The words of the outcomes and diagnoses are steps' (its catalog, steps/i18n/locales/en/
// probe.yaml), which this package cannot import, as are those of pki's errors and of the
// local IoT Core the tests connect to (the policy evaluator's, the template's): its tests
// render the English catalog files, so that they check what a user reads.
func TestMain(m *testing.M) {
	const en = "../steps/i18n/locales/en/"
	Words = i18ntest.MustArea(en+"probe.yaml", "probe")
	pki.Words = i18ntest.MustArea(en+"pki.yaml", "pki")
	policy.Words = i18ntest.MustArea(en+"policy.yaml", "policy")
	template.Words = i18ntest.MustArea(en+"template.yaml", "template")
	os.Exit(m.Run())
}
