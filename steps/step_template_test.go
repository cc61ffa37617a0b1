package steps

import (
	"path/filepath"
	"testing"
)

// The named template's policy fields are inputs only when the named template is chosen:
// for scoped, admin or a template file they would be ignored, so they are not shown.
func TestTemplateInputsFollowVariant(t *testing.T) {
	t.Parallel()
	cases := []struct {
		template   string
		wantPolicy bool
	}{
		{VariantScoped, false},
		{VariantAdmin, false},
		{VariantNamed, true},
	}
	for _, c := range cases {
		s, err := Open(Options{Dir: filepath.Join(t.TempDir(), "ws"), Template: c.template, Yes: true})
		if err != nil {
			t.Fatalf("%s: %v", c.template, err)
		}
		keys := map[string]bool{}
		for _, f := range NewPlan(s).Lookup(IDTemplate).Inputs() {
			keys[f.Flag] = true
		}
		if !keys["template"] {
			t.Errorf("%s: no template choice among %v", c.template, keys)
		}
		if keys["policy-name"] != c.wantPolicy || keys["create-policy"] != c.wantPolicy {
			t.Errorf("%s: policy-name/create-policy shown = %v/%v, want %v", c.template, keys["policy-name"], keys["create-policy"], c.wantPolicy)
		}
		// choosing another variant through the field changes what is shown
		for _, f := range NewPlan(s).Lookup(IDTemplate).Inputs() {
			if f.Flag == "template" {
				if err := f.Set(VariantNamed); err != nil {
					t.Fatalf("%s: set named: %v", c.template, err)
				}
			}
		}
		shown := false
		for _, f := range NewPlan(s).Lookup(IDTemplate).Inputs() {
			shown = shown || f.Flag == "policy-name"
		}
		if !shown {
			t.Errorf("%s → named: policy-name not shown", c.template)
		}
		s.Close()
	}
}
