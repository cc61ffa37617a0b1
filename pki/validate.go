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
	const field = FieldCountry
	if n := utf8.RuneCountInString(c); n != 2 || len(c) != 2 {
		return fieldError(field, c, ReasonCountryLength, "N", strconv.Itoa(n))
	}
	up := strings.ToUpper(c)
	if up != c && countryCodes[up] {
		return fieldError(field, c, ReasonCountryCase, "Up", up)
	}
	if !countryCodes[c] {
		if alt, ok := countryHints[up]; ok && alt != "" {
			return fieldError(field, c, ReasonCountryReserved, "Alt", alt)
		}
		return fieldError(field, c, ReasonCountryUnknown)
	}
	return nil
}

// MaxThingNameLen is AWS IoT's limit on thing names.
const MaxThingNameLen = 128

// ValidateThingName checks that n can be an AWS IoT thing name (1–128 characters of
// a-z A-Z 0-9 : _ -). The walkthrough's templates take the thing name from the device
// certificate's CN, so the device CN must pass this too.
func ValidateThingName(n string) error {
	const field = FieldThingName
	if n == "" {
		return fieldError(field, "", ReasonThingEmpty)
	}
	if len(n) > MaxThingNameLen {
		return fieldError(field, n, ReasonThingLong, "N", strconv.Itoa(len(n)), "Max", strconv.Itoa(MaxThingNameLen))
	}
	for i, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ':' || r == '_' || r == '-') {
			return fieldError(field, n, ReasonThingChar, "Char", strconv.QuoteRune(r), "Pos", strconv.Itoa(i+1))
		}
	}
	return nil
}

// MaxDays bounds validity periods (100 years) so dates stay sane.
const MaxDays = 36500

// ValidateDays checks a certificate validity period in days (1–36500).
func ValidateDays(d int) error {
	if d <= 0 {
		return fieldError(FieldDays, strconv.Itoa(d), ReasonDaysZero,
			"CA", strconv.Itoa(CADays), "Verification", strconv.Itoa(VerificationDays), "Device", strconv.Itoa(DeviceDays))
	}
	if d > MaxDays {
		return fieldError(FieldDays, strconv.Itoa(d), ReasonDaysMax, "Max", strconv.Itoa(MaxDays))
	}
	return nil
}

// ValidateRegistrationCode checks an AWS IoT CA registration code: exactly 64 hex digits
// (as returned by `aws iot get-registration-code`). It becomes the verification cert's CN.
func ValidateRegistrationCode(code string) error {
	const field = FieldRegistrationCode
	if len(code) != 64 {
		return fieldError(field, code, ReasonCodeLength, "N", strconv.Itoa(len(code)))
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return fieldError(field, code, ReasonCodeChar, "Char", fmt.Sprintf("%q", c), "Pos", strconv.Itoa(i+1))
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
		return fieldError(FieldRegistrationCode, "", ReasonCodeEmpty)
	}
	if err := validateAttrValue(subjectAttrs[4], code); err != nil {
		return fieldError(FieldRegistrationCode, code, ReasonCodeCN, "Err", err.Error())
	}
	return nil
}

// ValidateOrganization checks the organization name of the CA (conf default and O attribute).
func ValidateOrganization(o string) error {
	if o == "" {
		return fieldError(FieldOrganization, "", ReasonOrgEmpty)
	}
	return validateAttrValue(subjectAttrs[2], o)
}
