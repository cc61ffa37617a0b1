package steps

import (
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/template"
)

// The admin variant's policy is told by the reason of the linter's finding, in any language.
func TestLintsAdminByReason(t *testing.T) {
	s := &Session{Account: "123456789012", Region: "eu-west-1"}
	params := map[string]string{template.ParamCommonName: "DemoThing", template.ParamCountry: "IN", template.ParamID: "0"}
	for v, want := range map[template.Variant]bool{template.Admin: true, template.Scoped: false, template.Named: false} {
		rc, err := template.RenderConfig(v, s.Region, s.Account, "", "")
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := template.Parse(rc.TemplateBody)
		if err != nil {
			t.Fatal(err)
		}
		if got := lintsAdmin(s, tpl, params); got != want {
			t.Errorf("%s: lintsAdmin %v, want %v", v, got, want)
		}
	}
}
