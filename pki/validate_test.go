package pki

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// wantFieldError asserts err is a *FieldError for field whose message names the field and a fix.
func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v (%T), want *FieldError for %q", err, err, field)
	}
	if fe.Field != field || fe.Fix == "" || fe.Problem == "" {
		t.Errorf("FieldError %+v: want field %q with problem and fix", fe, field)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, field) || !strings.Contains(msg, fe.Fix) {
		t.Errorf("message %q does not start with the field %q or lacks the fix", msg, field)
	}
}

func TestValidateCountry(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"IN", "US", "GB", "DE", "AX", "SS", "ZW"} {
		if err := ValidateCountry(c); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	cases := map[string]string{
		"IND": "exactly 2 letters", "I": "exactly 2 letters", "": "exactly 2 letters", "in": "use IN",
		"UK": "use GB", "ZZ": "not an assigned", "12": "not an assigned", "Ü": "exactly 2", "EU": "not an assigned",
	}
	for c, want := range cases {
		err := ValidateCountry(c)
		wantFieldError(t, err, "country")
		if err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", c, err, want)
		}
	}
	if n := len(CountryCodes()); n != 249 {
		t.Errorf("%d assigned codes, want 249", n)
	}
}

// TestCountryCodesMatchTZData cross-checks the list with the system's tzdata copy of ISO 3166.
func TestCountryCodesMatchTZData(t *testing.T) {
	b, err := os.ReadFile("/usr/share/zoneinfo/iso3166.tab")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tzdata's iso3166.tab is required in CI (apt-get install tzdata; scripts/deps.sh does): %v", err)
		}
		t.Skip("no /usr/share/zoneinfo/iso3166.tab on this system")
	}
	seen := 0
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		code := strings.Fields(line)[0]
		seen++
		if err := ValidateCountry(code); err != nil {
			t.Errorf("tzdata code %s rejected: %v", code, err)
		}
	}
	if seen != len(CountryCodes()) {
		t.Errorf("tzdata lists %d codes, pki %d", seen, len(CountryCodes()))
	}
}

func TestValidateThingName(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"DemoThing", "a", "Thing_01:a-b", strings.Repeat("x", 128)} {
		if err := ValidateThingName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for n, want := range map[string]string{
		"":                       "empty",
		"Demo Thing":             `' ' at position 5`,
		"a/b":                    "'/'",
		"thing.1":                "'.'",
		"Zürich":                 "'ü'",
		strings.Repeat("x", 129): "at most 128",
	} {
		err := ValidateThingName(n)
		wantFieldError(t, err, "thing name")
		if err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", n, err, want)
		}
	}
}

func TestValidateDaysAndCode(t *testing.T) {
	t.Parallel()
	for _, d := range []int{1, 365, 500, 3650, MaxDays} {
		if err := ValidateDays(d); err != nil {
			t.Errorf("%d: %v", d, err)
		}
	}
	for _, d := range []int{0, -1, MaxDays + 1} {
		wantFieldError(t, ValidateDays(d), "days")
	}
	good := strings.Repeat("0123456789abcdef", 4)
	if err := ValidateRegistrationCode(good); err != nil {
		t.Error(err)
	}
	if err := ValidateRegistrationCode(strings.ToUpper(good)); err != nil {
		t.Error(err)
	}
	for _, c := range []string{"", good[:63], good + "0", strings.Repeat("g", 64), " " + good[1:], `"` + good[2:] + `"`} {
		wantFieldError(t, ValidateRegistrationCode(c), "registration code")
	}
}

func TestParseKeyType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]KeyType{
		"": RSA2048, "rsa2048": RSA2048, "RSA-2048": RSA2048, "rsa 3072": RSA3072, "rsa4096": RSA4096,
		"ec256": EC256, "P-256": EC256, "prime256v1": EC256, "ec384": EC384, "secp384r1": EC384,
	} {
		got, err := ParseKeyType(in)
		if err != nil || got != want {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseKeyType("dsa")
	wantFieldError(t, err, "key type")
	if err != nil && !strings.Contains(err.Error(), "rsa2048, rsa3072, rsa4096, ec256, ec384") {
		t.Errorf("choices not listed: %v", err)
	}
	if _, err := GenerateKey("ed25519"); err == nil {
		t.Error("GenerateKey accepted ed25519")
	}
}

func TestSubjectValidate(t *testing.T) {
	t.Parallel()
	ok := Subject{Country: "IN", Organization: "Acme, Inc.", OrganizationalUnit: "R&D", State: "Tamil Nadu",
		CommonName: "DemoThing", DNQualifier: "lot 42", SerialNumber: "SN-1"}
	if err := ok.ValidateDevice(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		s     Subject
		field string
	}{
		{Subject{}, "common name"},
		{Subject{Country: "IN"}, "common name"},                 // device needs CN
		{Subject{CommonName: "Demo Thing"}, "thing name"},       // CN must be a thing name
		{Subject{CommonName: "T", Country: "India"}, "country"}, // wrong-length country
		{Subject{CommonName: "T", Organization: " Acme"}, "organization"},
		{Subject{CommonName: "T", OrganizationalUnit: "a\nb"}, "organizational unit"},
		{Subject{CommonName: "T", DNQualifier: "ünïcode"}, "dnQualifier"},
		{Subject{CommonName: "T", SerialNumber: "a_b"}, "serial number"},
		{Subject{CommonName: "T", State: strings.Repeat("s", 129)}, "state"},
		{Subject{CommonName: strings.Repeat("c", 65)}, "common name"}, // thing name ok, X.520 CN limit 64
	}
	for _, c := range cases {
		wantFieldError(t, c.s.ValidateDevice(), c.field)
	}
	wantFieldError(t, Subject{}.Validate(), "subject")
	// A CA subject needs no CN.
	if err := (Subject{Country: "IN", Organization: "AMZ"}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestSubjectString(t *testing.T) {
	t.Parallel()
	s := Subject{Country: "IN", Organization: `a/b+c\d`, CommonName: "DemoThing"}
	if got, want := s.String(), `/C=IN/O=a\/b\+c\\d/CN=DemoThing`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
}
