package template

import "strings"

// The parameter names JITP fills from the device certificate.
const (
	ParamCountry                    = "AWS::IoT::Certificate::Country"
	ParamOrganization               = "AWS::IoT::Certificate::Organization"
	ParamOrganizationalUnit         = "AWS::IoT::Certificate::OrganizationalUnit"
	ParamDistinguishedNameQualifier = "AWS::IoT::Certificate::DistinguishedNameQualifier"
	ParamStateName                  = "AWS::IoT::Certificate::StateName"
	ParamCommonName                 = "AWS::IoT::Certificate::CommonName"
	ParamSerialNumber               = "AWS::IoT::Certificate::SerialNumber"
	ParamID                         = "AWS::IoT::Certificate::Id"
)

// Field describes where a JITP parameter comes from.
type Field struct {
	Param string // e.g. "AWS::IoT::Certificate::Country"
	Short string // OpenSSL subject short name, e.g. "C"; empty for Id
	Long  string // e.g. "country"
}

// CertificateFields lists the JITP parameters in the order AWS documents them.
var CertificateFields = []Field{
	{ParamCountry, "C", "country"},
	{ParamOrganization, "O", "organization"},
	{ParamOrganizationalUnit, "OU", "organizational unit"},
	{ParamDistinguishedNameQualifier, "dnQualifier", "distinguished name qualifier"},
	{ParamStateName, "ST", "state or province"},
	{ParamCommonName, "CN", "common name"},
	{ParamSerialNumber, "serialNumber", "serial number"},
	{ParamID, "", "certificate ID (SHA-256 of the certificate, always present)"},
}

// SubjectField returns the certificate field behind a JITP parameter name.
func SubjectField(param string) (Field, bool) {
	for _, f := range CertificateFields {
		if f.Param == param {
			return f, true
		}
	}
	return Field{}, false
}

// Words names the field in the user's language ("country", "common name"); Long is its
// name in English, for a placeholder in a command.
func (f Field) Words() string {
	return say("field." + strings.TrimPrefix(f.Param, "AWS::IoT::Certificate::"))
}
