package pki

import (
	"fmt"
	"strings"
)

// Defaults of the walkthrough's deviceRootCA_openssl.conf.
const (
	DefaultCountry      = "IN"
	DefaultOrganization = "AMZ"
)

// RenderOpenSSLConf renders deviceRootCA_openssl.conf with the user's country and
// organization as the [req_distinguished_name] defaults. For IN / AMZ the result is
// byte-identical to the walkthrough's file. Characters that are special in OpenSSL
// config files (# $ \ " ') are escaped with a backslash so openssl reads the value back
// unchanged. The country must be an assigned ISO 3166 alpha-2 code; the organization
// 1–64 characters without control characters.
func RenderOpenSSLConf(country, organization string) ([]byte, error) {
	if err := ValidateCountry(country); err != nil {
		return nil, err
	}
	if err := ValidateOrganization(organization); err != nil {
		return nil, err
	}
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-24s = %s\n", k, v) }
	b.WriteString("[ req ]\n")
	line("distinguished_name", "req_distinguished_name")
	line("extensions", "v3_ca")
	line("req_extensions", "v3_ca")
	b.WriteString("\n[ v3_ca ]\n")
	line("basicConstraints", "CA:TRUE")
	b.WriteString("\n[ req_distinguished_name ]\n")
	line("countryName", "Country Name (2 letter code)")
	line("countryName_default", country)
	line("countryName_min", "2")
	line("countryName_max", "2")
	line("organizationName", "Organization Name (eg, company)")
	line("organizationName_default", confEscape(organization))
	return []byte(b.String()), nil
}

func confEscape(v string) string {
	var b strings.Builder
	for _, r := range v {
		if strings.ContainsRune(`#$\"'`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
