package ui

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// translated are the languages besides English whose screens have goldens of their own
// (English's are the tests' plain goldens).
var translated = []i18n.Lang{i18n.Ko, i18n.Ja, i18n.ZhHans, i18n.ZhHant}

// setLang makes lang the wizard's language for the rest of the test (these tests do not run
// in parallel: the language is the process's).
func setLang(t *testing.T, lang i18n.Lang) {
	t.Helper()
	i18n.SetLang(lang)
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
}

// TestGoldenCompactReal in each language: the real first step on a 70×20 terminal, in
// testdata/TestGoldenCompactRealLang/<lang>.golden.
func TestGoldenCompactRealLang(t *testing.T) {
	for _, lang := range translated {
		t.Run(string(lang), func(t *testing.T) {
			setLang(t, lang)
			s := newSession(t, t.TempDir())
			m := realWizard(s, nil)
			m.header = Header(steps.Where{Target: steps.TargetLocal}, "./ws", false)
			requireGolden(t, m, 70, 20, steps.NewPlan(s).Steps()[0].Title())
		})
	}
}

// goldenAllowEnglish stays English on every translated screen: product and program names
// that read as words to EnglishRuns, and the key names of the footer.
// "Country Name (2 letter code)" is a line of the OpenSSL config file step 2 shows as it is
// written (req's prompt for countryName), not a sentence of jitpwiz.
var goldenAllowEnglish = []string{"AWS IoT Core", "Just-in-Time", "mosquitto_pub", "mosquitto_sub", "Country Name (2 letter code)"}

// TestGoldensHaveNoEnglish reads every Korean, Japanese and Chinese golden screen (each step
// at 100×30, the compact layout at 70×20) and fails for each run of English words outside
// commands, file names and identifiers (i18ntest.EnglishRuns): a sentence not yet in the
// catalog, or one whose translation is missing.
func TestGoldensHaveNoEnglish(t *testing.T) {
	var files []string
	for _, lang := range translated {
		each, _ := filepath.Glob(filepath.Join("testdata", "TestGoldenEachStep", string(lang), "*.golden"))
		if len(each) != 13 {
			t.Errorf("%s: %d golden screens of the steps, want 13 (go test ./ui -run 'TestGoldenEachStep|TestGoldenCompactRealLang' -update)", lang, len(each))
		}
		files = append(files, each...)
		files = append(files, filepath.Join("testdata", "TestGoldenCompactRealLang", string(lang)+".golden"))
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		i18ntest.NoEnglish(t, f, string(b), i18ntest.Options{Allow: goldenAllowEnglish})
	}
}
