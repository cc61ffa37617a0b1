package steps

import (
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
)

// A device subject flag's error names the flag, whatever language the error is said in: the
// field's ID decides, not its words.
func TestSubjectFlagByField(t *testing.T) {
	ok := pki.Subject{Country: "US", CommonName: "DemoThing"}
	for _, tc := range []struct {
		mod  func(*pki.Subject)
		want string
	}{
		{func(s *pki.Subject) { s.Country = "usa" }, "--country"},
		{func(s *pki.Subject) { s.Organization = " Acme" }, "--org"},
		{func(s *pki.Subject) { s.OrganizationalUnit = "Lab\x01" }, "--ou"},
		{func(s *pki.Subject) { s.State = "WA " }, "--state"},
		{func(s *pki.Subject) { s.CommonName = "a b" }, "--thing"},
	} {
		s := ok
		tc.mod(&s)
		err := s.ValidateDevice()
		if err == nil {
			t.Errorf("%+v: no error", s)
			continue
		}
		if got := subjectFlag(err); got != tc.want {
			t.Errorf("%v: flag %s, want %s", err, got, tc.want)
		}
	}
}
