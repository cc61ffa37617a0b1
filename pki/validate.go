package pki

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// iso3166 is every officially assigned ISO 3166-1 alpha-2 code (249 codes).
const iso3166 = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"YE YT " +
	"ZA ZM ZW"

var countryCodes = func() map[string]bool {
	m := make(map[string]bool, 250)
	for _, c := range strings.Fields(iso3166) {
		m[c] = true
	}
	return m
}()

// CountryCodes returns every assigned ISO 3166-1 alpha-2 code, sorted.
func CountryCodes() []string { return strings.Fields(iso3166) }

// reserved codes people commonly type, with the assigned code to use instead.
var countryHints = map[string]string{"UK": "GB", "EU": "", "EL": "GR", "XK": ""}

// ValidateCountry checks that c is an assigned ISO 3166-1 alpha-2 country code in upper
// case, e.g. "IN" or "US" (the certificate's C attribute; JITP's AWS::IoT::Certificate::Country).
func ValidateCountry(c string) error {
	const field = "country"
	fix := "use a 2-letter ISO 3166 country code such as IN, US or DE"
	if n := utf8.RuneCountInString(c); n != 2 || len(c) != 2 {
		return &FieldError{Field: field, Value: c, Problem: fmt.Sprintf("must be exactly 2 letters (got %d characters)", n), Fix: fix}
	}
	up := strings.ToUpper(c)
	if up != c && countryCodes[up] {
		return &FieldError{Field: field, Value: c, Problem: "must be upper case", Fix: "use " + up}
	}
	if !countryCodes[c] {
		if alt, ok := countryHints[up]; ok && alt != "" {
			return &FieldError{Field: field, Value: c, Problem: "is not an assigned ISO 3166 code", Fix: "use " + alt}
		}
		return &FieldError{Field: field, Value: c, Problem: "is not an assigned ISO 3166 alpha-2 country code", Fix: fix}
	}
	return nil
}

// MaxThingNameLen is AWS IoT's limit on thing names.
const MaxThingNameLen = 128

// ValidateThingName checks that n can be an AWS IoT thing name (1–128 characters of
// a-z A-Z 0-9 : _ -). The walkthrough's templates take the thing name from the device
// certificate's CN, so the device CN must pass this too.
func ValidateThingName(n string) error {
	const field = "thing name"
	if n == "" {
		return &FieldError{Field: field, Problem: "is empty", Fix: "enter a name such as DemoThing (letters, digits, : _ -)"}
	}
	if len(n) > MaxThingNameLen {
		return &FieldError{Field: field, Value: n, Problem: fmt.Sprintf("is %d characters; AWS IoT allows at most %d", len(n), MaxThingNameLen),
			Fix: fmt.Sprintf("shorten it to %d characters or fewer", MaxThingNameLen)}
	}
	for i, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ':' || r == '_' || r == '-') {
			return &FieldError{Field: field, Value: n, Problem: fmt.Sprintf("contains %s at position %d, which AWS IoT does not allow in thing names", strconv.QuoteRune(r), i+1),
				Fix: "use only letters, digits, colon, underscore and hyphen (e.g. Demo_Thing-1)"}
		}
	}
	return nil
}

// MaxDays bounds validity periods (100 years) so dates stay sane.
const MaxDays = 36500

// ValidateDays checks a certificate validity period in days (1–36500).
func ValidateDays(d int) error {
	if d <= 0 {
		return &FieldError{Field: "days", Value: strconv.Itoa(d), Problem: "must be greater than 0",
			Fix: fmt.Sprintf("use a positive number of days (the walkthrough uses %d for the CA, %d for the verification cert, %d for devices)", CADays, VerificationDays, DeviceDays)}
	}
	if d > MaxDays {
		return &FieldError{Field: "days", Value: strconv.Itoa(d), Problem: fmt.Sprintf("is more than %d (100 years)", MaxDays), Fix: fmt.Sprintf("use %d days or fewer", MaxDays)}
	}
	return nil
}

// ValidateRegistrationCode checks an AWS IoT CA registration code: exactly 64 hex digits
// (as returned by `aws iot get-registration-code`). It becomes the verification cert's CN.
func ValidateRegistrationCode(code string) error {
	const field = "registration code"
	fix := "copy the registrationCode from `aws iot get-registration-code` (64 hex digits, no quotes or spaces)"
	if len(code) != 64 {
		return &FieldError{Field: field, Value: code, Problem: fmt.Sprintf("must be 64 hex digits (got %d characters)", len(code)), Fix: fix}
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return &FieldError{Field: field, Value: code, Problem: fmt.Sprintf("contains %q at position %d; only hex digits 0-9 a-f are allowed", c, i+1), Fix: fix}
		}
	}
	return nil
}

// ValidateRegistrationCodeCN accepts any registration code that a verification certificate
// can carry as its Common Name (1–64 characters a subject may hold): AWS's is 64 hex digits
// (ValidateRegistrationCode), other implementations of the API answer other shapes (moto: a
// UUID), and their codes are used as they are.
func ValidateRegistrationCodeCN(code string) error {
	if code == "" {
		return &FieldError{Field: "registration code", Problem: "is empty", Fix: "fetch it again with `aws iot get-registration-code`"}
	}
	if err := validateAttrValue(subjectAttrs[4], code); err != nil {
		return &FieldError{Field: "registration code", Value: code, Problem: "cannot be a certificate's Common Name: " + err.Error(),
			Fix: "this endpoint's registration code cannot go in a verification certificate; use --ca-mode sni-only (no verification certificate)"}
	}
	return nil
}

// ValidateOrganization checks the organization name of the CA (conf default and O attribute).
func ValidateOrganization(o string) error {
	if o == "" {
		return &FieldError{Field: "organization", Problem: "is empty", Fix: "enter your organization name, e.g. AMZ"}
	}
	return validateAttrValue(subjectAttrs[2], o)
}
