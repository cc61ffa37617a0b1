package policy

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
)

// Context is what AWS IoT knows about a connection when it evaluates a policy.
type Context struct {
	Region, Account string
	ClientID        string // MQTT client ID
	CertificateID   string // SHA-256 of the device certificate's DER, lowercase hex
	// AttachedThings are the things attached to the certificate, by thing name.
	AttachedThings map[string]Thing
	// Subject and Issuer map the attribute names of the ${iot:Certificate.Subject.*}
	// variables ("CommonName", "Country", "Organization", "OrganizationalUnit",
	// "State", "DistinguishedNameQualifier", "SerialNumber", "Title", "Surname",
	// "GivenName", "Initials", "Pseudonym", "GenerationQualifier",
	// "AlternativeName.DNSName", ...) to their values. See SubjectAttributes.
	Subject, Issuer map[string][]string
	SerialNumber    string // certificate serial number in decimal, for iot:Certificate.SerialNumber
	SourceIP        string // client address, for aws:SourceIp
	// Keys are the values of other condition keys and variables (e.g. aws:RequestedRegion
	// for an IAM request); names compare without regard to case, as IAM's do.
	Keys map[string][]string
}

// Thing is a registry thing as far as policy variables are concerned.
type Thing struct {
	Name       string
	TypeName   string
	Attributes map[string]string
}

// SubjectAttributes converts a certificate subject or issuer name into the map
// used by Context.Subject / Context.Issuer.
func SubjectAttributes(n pkix.Name) map[string][]string {
	m := map[string][]string{}
	add := func(k string, vs ...string) {
		for _, v := range vs {
			m[k] = append(m[k], v)
		}
	}
	add("CommonName", nonEmpty(n.CommonName)...)
	add("Country", n.Country...)
	add("Organization", n.Organization...)
	add("OrganizationalUnit", n.OrganizationalUnit...)
	add("State", n.Province...)
	add("SerialNumber", nonEmpty(n.SerialNumber)...)
	// Attributes pkix.Name does not break out.
	extra := map[string]string{
		"2.5.4.46": "DistinguishedNameQualifier", "2.5.4.12": "Title", "2.5.4.4": "Surname",
		"2.5.4.42": "GivenName", "2.5.4.43": "Initials", "2.5.4.65": "Pseudonym", "2.5.4.44": "GenerationQualifier",
	}
	for _, atv := range n.Names {
		if k, ok := extra[atv.Type.String()]; ok {
			if s, ok := atv.Value.(string); ok {
				add(k, s)
			}
		}
	}
	return m
}

// SetCertificate fills the certificate-derived fields of the context from the
// device certificate: Subject and Issuer (with the subject alternative names
// as "AlternativeName.DNSName", "AlternativeName.RFC822Name",
// "AlternativeName.UniformResourceIdentifier" and "AlternativeName.IPAddress";
// DirectoryName and the issuer's alternative names are not filled),
// SerialNumber (decimal, as AWS IoT documents for iot:Certificate.SerialNumber) and, if
// empty, CertificateID (hex SHA-256 of the DER).
func (c *Context) SetCertificate(cert *x509.Certificate) {
	c.Subject = SubjectAttributes(cert.Subject)
	c.Issuer = SubjectAttributes(cert.Issuer)
	add := func(k string, vs ...string) {
		if len(vs) > 0 {
			c.Subject["AlternativeName."+k] = append(c.Subject["AlternativeName."+k], vs...)
		}
	}
	add("DNSName", cert.DNSNames...)
	add("RFC822Name", cert.EmailAddresses...)
	for _, u := range cert.URIs {
		add("UniformResourceIdentifier", u.String())
	}
	for _, ip := range cert.IPAddresses {
		add("IPAddress", ip.String())
	}
	if cert.SerialNumber != nil {
		c.SerialNumber = cert.SerialNumber.String()
	}
	if c.CertificateID == "" && len(cert.Raw) > 0 {
		sum := sha256.Sum256(cert.Raw)
		c.CertificateID = hex.EncodeToString(sum[:])
	}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

const maxCertVarLen = 1024

// resolve returns the single value of a policy variable (without ${}), or why
// it cannot be resolved.
func (c *Context) resolve(name string) (string, string) {
	vals, why := c.values(name)
	if why != "" {
		return "", why
	}
	if len(vals) != 1 {
		return "", say("why.many-values", "Variable", "${"+name+"}", "N", strconv.Itoa(len(vals)))
	}
	return vals[0], ""
}

// values returns all values of a context key or variable, or why there are none.
func (c *Context) values(name string) ([]string, string) {
	v := "${" + name + "}"
	switch name {
	case "iot:ClientId":
		if c.ClientID == "" {
			return nil, say("why.no-client-id", "Variable", v)
		}
		return []string{c.ClientID}, ""
	case "iot:CertificateId":
		if c.CertificateID == "" {
			return nil, say("why.no-certificate-id", "Variable", v)
		}
		return []string{c.CertificateID}, ""
	case "iot:Certificate.SerialNumber":
		if c.SerialNumber == "" {
			return nil, say("why.no-serial-number", "Variable", v)
		}
		return []string{c.SerialNumber}, ""
	case "aws:SourceIp":
		if c.SourceIP == "" {
			return nil, say("why.no-source-ip", "Variable", v)
		}
		return []string{c.SourceIP}, ""
	case "iot:Connection.Thing.IsAttached":
		_, why := c.connThing(v)
		return []string{strconv.FormatBool(why == "")}, ""
	case "iot:Connection.Thing.ThingName":
		t, why := c.connThing(v)
		if why != "" {
			return nil, why
		}
		return []string{t.Name}, ""
	case "iot:Connection.Thing.ThingTypeName":
		t, why := c.connThing(v)
		if why != "" {
			return nil, why
		}
		if t.TypeName == "" {
			return nil, say("why.no-thing-type", "Thing", t.Name, "Variable", v)
		}
		return []string{t.TypeName}, ""
	}
	if attr, ok := strings.CutPrefix(name, "iot:Connection.Thing.Attributes["); ok && strings.HasSuffix(attr, "]") {
		attr = strings.TrimSuffix(attr, "]")
		t, why := c.connThing(v)
		if why != "" {
			return nil, why
		}
		val, ok := t.Attributes[attr]
		if !ok {
			return nil, say("why.no-attribute", "Thing", t.Name, "Attribute", attr, "Variable", v)
		}
		return []string{val}, ""
	}
	if attr, ok := strings.CutPrefix(name, "iot:Certificate.Subject."); ok {
		return certValues(c.Subject, say("cert.subject"), attr, v)
	}
	if attr, ok := strings.CutPrefix(name, "iot:Certificate.Issuer."); ok {
		return certValues(c.Issuer, say("cert.issuer"), attr, v)
	}
	for k, vals := range c.Keys {
		if strings.EqualFold(k, name) && len(vals) > 0 {
			return vals, ""
		}
	}
	return nil, say("why.unknown-variable", "Variable", v)
}

// certValues implements ${iot:Certificate.Subject.<Attr>[.N|.List]}.
func certValues(m map[string][]string, which, attr, v string) ([]string, string) {
	index, list := 0, false
	if i := strings.LastIndexByte(attr, '.'); i >= 0 {
		suffix := attr[i+1:]
		if suffix == "List" {
			list, attr = true, attr[:i]
		} else if n, err := strconv.Atoi(suffix); err == nil {
			if n < 1 {
				return nil, say("why.index", "Variable", v, "N", strconv.Itoa(n))
			}
			index, attr = n-1, attr[:i]
		}
	}
	vals, ok := m[attr]
	if !ok { // AWS's own examples spell some attributes in lower case (e.g. "initials")
		for k, v := range m {
			if strings.EqualFold(k, attr) {
				vals = v
				break
			}
		}
	}
	if len(vals) == 0 {
		return nil, say("why.no-cert-attribute", "Which", which, "Attribute", attr, "Variable", v)
	}
	if len(vals) > 5 {
		vals = vals[:5] // AWS truncates certificate arrays to 5 values
	}
	if index >= len(vals) {
		return nil, say("why.few-cert-values", "Which", which, "N", strconv.Itoa(len(vals)), "Attribute", attr, "Variable", v)
	}
	if !list {
		vals = vals[index : index+1]
	}
	for _, s := range vals {
		if strings.ContainsAny(s, "*$+?#") {
			return nil, say("why.cert-wildcard", "Which", which, "Attribute", attr, "Value", s, "Variable", v)
		}
		if len(s) > maxCertVarLen {
			return nil, say("why.cert-long", "Which", which, "Attribute", attr, "Max", strconv.Itoa(maxCertVarLen), "Variable", v)
		}
	}
	out := make([]string, len(vals))
	for i, s := range vals {
		out[i] = dnEscaper.Replace(s)
	}
	return out, ""
}

// dnEscaper prefixes the characters AWS IoT documents as special in
// certificate policy variables with a backslash (e.g. "O=Acme, Inc" becomes
// "O\=Acme\, Inc").
var dnEscaper = strings.NewReplacer(`\`, `\\`, `,`, `\,`, `"`, `\"`, `=`, `\=`, `<`, `\<`, `>`, `\>`, `;`, `\;`)

// connThing returns the thing named by the client ID if it is attached to the
// certificate (non-exclusive association: the client ID must equal the thing name).
func (c *Context) connThing(v string) (Thing, string) {
	if c.ClientID == "" {
		return Thing{}, say("why.no-client-id", "Variable", v)
	}
	if t, ok := c.AttachedThings[c.ClientID]; ok {
		if t.Name == "" {
			t.Name = c.ClientID
		}
		return t, ""
	}
	names := make([]string, 0, len(c.AttachedThings))
	for k := range c.AttachedThings {
		names = append(names, k)
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return Thing{}, say("why.no-thing", "Variable", v, "Client", c.ClientID)
	case 1:
		return Thing{}, say("why.not-thing-name", "Client", c.ClientID, "Thing", names[0], "Variable", v)
	}
	return Thing{}, say("why.not-a-thing", "Client", c.ClientID, "Things", strings.Join(names, ", "), "Variable", v)
}
