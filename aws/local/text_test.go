package local

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n/i18ntest"
)

// The sentences `jitpwiz local` prints, and pki's, the policy evaluator's and the template's
// words, are steps' (its catalog: local.yaml, pki.yaml, policy.yaml, template.yaml), which this
// package cannot import: its tests render the English catalog files, so that they check what a
// user reads.
func TestMain(m *testing.M) {
	Words = i18ntest.MustArea("../../steps/i18n/locales/en/local.yaml", "local")
	pki.Words = i18ntest.MustArea("../../steps/i18n/locales/en/pki.yaml", "pki")
	policy.Words = i18ntest.MustArea("../../steps/i18n/locales/en/policy.yaml", "policy")
	template.Words = i18ntest.MustArea("../../steps/i18n/locales/en/template.yaml", "template")
	os.Exit(m.Run())
}

// The banner's values line up after labels of double-width characters too.
func TestBannerAlignsWideLabels(t *testing.T) {
	s, err := Start(context.Background(), Options{Dir: t.TempDir(), APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	prev := Words
	t.Cleanup(func() { Words = prev })
	labels := map[string]string{"banner.control-plane": "컨트롤 플레인 (IoT, IAM, STS)", "banner.mqtt": "MQTT(TLS 상호 인증)", "banner.server-ca": "서버 CA (--cafile)", "banner.state": "상태"}
	Words = func(key string, args map[string]string) string {
		if l, ok := labels[key]; ok {
			return l
		}
		return prev(key, args)
	}
	var b strings.Builder
	WriteBanner(&b, s)
	values := map[string]string{labels["banner.control-plane"]: s.EndpointURL(), labels["banner.server-ca"]: s.RootCAPath(), labels["banner.state"]: s.Store().Path()}
	col := -1
	for _, line := range strings.Split(b.String(), "\n") {
		for label, value := range values {
			if !strings.HasPrefix(line, "  "+label+" ") {
				continue
			}
			i := strings.Index(line, value)
			if i < 0 {
				t.Fatalf("no value in %q", line)
			}
			c := ansi.StringWidth(line[:i])
			if col >= 0 && c != col {
				t.Errorf("value at column %d, others at %d:\n%s", c, col, b.String())
			}
			col = c
			delete(values, label)
		}
	}
	if len(values) != 0 || col != 2+ansi.StringWidth(labels["banner.control-plane"])+3 {
		t.Errorf("rows %v not found or column %d:\n%s", values, col, b.String())
	}
}
