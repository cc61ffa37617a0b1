package store

import (
	"os"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The store refuses planted links with pki's errors, whose words are steps' (its catalog's
// pki.yaml), which this package cannot import: its tests render the English catalog file, so
// that they check what a user reads.
func TestMain(m *testing.M) {
	pki.Words = i18ntest.MustArea("../../../steps/i18n/locales/en/pki.yaml", "pki")
	os.Exit(m.Run())
}
