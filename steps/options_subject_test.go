package steps

import (
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// A subject error names the flag of the field it is about, whatever the language its words
// are in: the flag comes from pki.FieldError's field ID, not from the English text.
func TestSubjectErrorNamesItsFlagInEveryLanguage(t *testing.T) {
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
	cases := []struct {
		set  func(*Options)
		flag string
	}{
		{func(o *Options) { o.Country = "XX" }, "--country"},
		{func(o *Options) { o.Org = " x" }, "--org"},
		{func(o *Options) { o.OrgUnit = " x" }, "--ou"}, // its words start like organization's in English
		{func(o *Options) { o.OrgUnit = strings.Repeat("u", 65) }, "--ou"},
		{func(o *Options) { o.State = "a\x01b" }, "--state"},
		{func(o *Options) { o.Thing = "bad name!" }, "--thing"},
	}
	for _, l := range i18n.Langs {
		i18n.SetLang(l)
		for _, c := range cases {
			o := Options{Thing: DefaultThing}
			c.set(&o)
			if err := o.resolve(true); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if err == nil {
				t.Errorf("%s: %+v accepted", l, o.DeviceSubject())
				continue
			}
			if !strings.HasPrefix(err.Error(), c.flag+": ") {
				t.Errorf("%s: %+v: %q does not name %s", l, o.DeviceSubject(), err, c.flag)
			}
		}
	}
}
