package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"iter"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Default validity periods of the walkthrough, in days.
const (
	CADays           = 3650
	VerificationDays = 500
	DeviceDays       = 365
)

// Subject holds the distinguished-name attributes JITP can read from a certificate
// (jitp-spec §3.4). Empty fields are left out of the DN.
type Subject struct {
	Country            string // C  (2.5.4.6)   → AWS::IoT::Certificate::Country
	Organization       string // O  (2.5.4.10)  → ::Organization
	OrganizationalUnit string // OU (2.5.4.11)  → ::OrganizationalUnit
	State              string // ST (2.5.4.8)   → ::StateName
	CommonName         string // CN (2.5.4.3)   → ::CommonName (the thing name)
	DNQualifier        string // dnQualifier (2.5.4.46) → ::DistinguishedNameQualifier
	SerialNumber       string // serialNumber (2.5.4.5), the subject attribute (not the certificate serial)
}

var (
	oidCountry      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidOrganization = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrgUnit      = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidState        = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidDNQualifier  = asn1.ObjectIdentifier{2, 5, 4, 46}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}

	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
)

// subjectAttr describes one supported DN attribute, in the order the wizard writes them
// (the same order as the openssl -subj it shows).
type subjectAttr struct {
	oid       asn1.ObjectIdentifier
	short     string // openssl short name used in -subj
	field     string // FieldError's FieldID
	printable bool   // PrintableString (as OpenSSL encodes it) rather than UTF8String
	max       int    // X.520 upper bound OpenSSL enforces
	get       func(*Subject) *string
}

var subjectAttrs = []subjectAttr{
	{oidCountry, "C", FieldCountry, true, 2, func(s *Subject) *string { return &s.Country }},
	{oidState, "ST", FieldState, false, 128, func(s *Subject) *string { return &s.State }},
	{oidOrganization, "O", FieldOrganization, false, 64, func(s *Subject) *string { return &s.Organization }},
	{oidOrgUnit, "OU", FieldOrgUnit, false, 64, func(s *Subject) *string { return &s.OrganizationalUnit }},
	{oidCommonName, "CN", FieldCommonName, false, 64, func(s *Subject) *string { return &s.CommonName }},
	{oidDNQualifier, "dnQualifier", FieldDNQualifier, true, 64, func(s *Subject) *string { return &s.DNQualifier }},
	{oidSerialNumber, "serialNumber", FieldSerialNumber, true, 64, func(s *Subject) *string { return &s.SerialNumber }},
}

// Attr is the attribute of s with the openssl short name short ("C", "ST", "O", "OU", "CN",
// "dnQualifier", "serialNumber"), or nil for another name.
func (s *Subject) Attr(short string) *string {
	for _, a := range subjectAttrs {
		if a.short == short {
			return a.get(s)
		}
	}
	return nil
}

// IsZero reports whether no attribute is set.
func (s Subject) IsZero() bool { return s == Subject{} }

// String renders the subject in openssl -subj form, e.g. "/C=IN/CN=DemoThing"
// (with / + and \ inside values escaped by a backslash).
func (s Subject) String() string {
	var b strings.Builder
	for _, a := range subjectAttrs {
		v := *a.get(&s)
		if v == "" {
			continue
		}
		b.WriteString("/" + a.short + "=")
		for _, r := range v {
			if r == '/' || r == '+' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Validate checks every present attribute against what OpenSSL and AWS IoT accept:
// the country is an assigned ISO 3166 alpha-2 code, lengths are within the X.520 upper
// bounds, C/dnQualifier/serialNumber use PrintableString characters, no control
// characters. At least one attribute must be set.
func (s Subject) Validate() error {
	if s.IsZero() {
		return fieldError(FieldSubject, "", ReasonSubjectEmpty)
	}
	for _, a := range subjectAttrs {
		v := *a.get(&s)
		if v == "" {
			continue
		}
		if a.short == "C" {
			if err := ValidateCountry(v); err != nil {
				return err
			}
			continue
		}
		if err := validateAttrValue(a, v); err != nil {
			return err
		}
	}
	return nil
}

// ValidateDevice checks a device-certificate subject: Validate plus a common name that is
// usable as a thing name (the walkthrough's templates name the thing from the CN).
func (s Subject) ValidateDevice() error {
	if s.CommonName == "" {
		return fieldError(FieldCommonName, "", ReasonCNRequired)
	}
	if err := ValidateThingName(s.CommonName); err != nil {
		return err
	}
	return s.Validate()
}

func validateAttrValue(a subjectAttr, v string) error {
	if strings.TrimSpace(v) != v {
		return fieldError(a.field, v, ReasonAttrSpaces)
	}
	n := 0
	for _, r := range v {
		n++
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fieldError(a.field, v, ReasonAttrControl)
		}
		if r == 0xfffd {
			return fieldError(a.field, v, ReasonAttrUTF8)
		}
		if a.printable && !isPrintableStringRune(r) {
			return fieldError(a.field, v, ReasonAttrPrintable, "Char", fmt.Sprintf("%q", r))
		}
	}
	if n > a.max {
		return fieldError(a.field, v, ReasonAttrLong, "N", strconv.Itoa(n), "Max", strconv.Itoa(a.max))
	}
	return nil
}

func isPrintableStringRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune(" '()+,-./:=?", r)
}

// rawName encodes s as a DER Name: one attribute per RDN in subjectAttrs order, country,
// dnQualifier and serialNumber as PrintableString and the others as UTF8String — the
// encoding OpenSSL 3 produces for the same -subj.
func (s Subject) rawName() ([]byte, error) {
	var seq pkix.RDNSequence
	for _, a := range subjectAttrs {
		v := *a.get(&s)
		if v == "" {
			continue
		}
		tag := asn1.TagUTF8String
		if a.printable {
			tag = asn1.TagPrintableString
		}
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{
			Type:  a.oid,
			Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: []byte(v)},
		}})
	}
	return asn1.Marshal(seq)
}

// subjectFromName reads the supported attributes from a parsed name. When an attribute
// occurs more than once, the first value wins (AWS IoT policy variables do the same).
func subjectFromName(n pkix.Name) Subject {
	var s Subject
	for _, atv := range n.Names {
		for _, a := range subjectAttrs {
			if !atv.Type.Equal(a.oid) {
				continue
			}
			p := a.get(&s)
			if *p == "" {
				if v, ok := atv.Value.(string); ok {
					*p = v
				}
			}
		}
	}
	return s
}

// SubjectOf returns the subject attributes of c that JITP can read.
func SubjectOf(c *x509.Certificate) Subject { return subjectFromName(c.Subject) }

// SubjectOfCSR returns the subject attributes of a CSR.
func SubjectOfCSR(r *x509.CertificateRequest) Subject { return subjectFromName(r.Subject) }

// Names of the JITP template parameters a device certificate can supply (jitp-spec §3.4).
const (
	ParamCountry            = "AWS::IoT::Certificate::Country"
	ParamOrganization       = "AWS::IoT::Certificate::Organization"
	ParamOrganizationalUnit = "AWS::IoT::Certificate::OrganizationalUnit"
	ParamDNQualifier        = "AWS::IoT::Certificate::DistinguishedNameQualifier"
	ParamStateName          = "AWS::IoT::Certificate::StateName"
	ParamCommonName         = "AWS::IoT::Certificate::CommonName"
	ParamSerialNumber       = "AWS::IoT::Certificate::SerialNumber"
	ParamID                 = "AWS::IoT::Certificate::Id"
)

// JITPParameters returns the value dictionary JITP builds from a device certificate:
// one entry per subject attribute that is present, plus Id (= CertID) and SerialNumber,
// which are always present.
//
// SerialNumber: AWS documents it among the subject-derived values, yet CloudTrail shows it
// present for CN-only subjects (jitp-spec §3.4, unconfirmed which value it carries). We use
// the subject serialNumber attribute when the subject has one — that is the value a user
// who put serialNumber in the CSR expects — and otherwise the certificate's serial number
// as lowercase hex without separators (CertSerialHex), so a template that references it
// always resolves, as it does on AWS.
func JITPParameters(c *x509.Certificate) map[string]string {
	s := SubjectOf(c)
	m := map[string]string{ParamID: CertID(c)}
	add := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	add(ParamCountry, s.Country)
	add(ParamOrganization, s.Organization)
	add(ParamOrganizationalUnit, s.OrganizationalUnit)
	add(ParamDNQualifier, s.DNQualifier)
	add(ParamStateName, s.State)
	add(ParamCommonName, s.CommonName)
	if s.SerialNumber != "" {
		m[ParamSerialNumber] = s.SerialNumber
	} else {
		m[ParamSerialNumber] = CertSerialHex(c)
	}
	return m
}

// CertSerialHex is the certificate serial number as lowercase hex without separators.
func CertSerialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	return c.SerialNumber.Text(16)
}

// CertID is the AWS IoT certificate ID: lowercase hex SHA-256 of the certificate's DER
// (never of the PEM text or a bundle). It equals
// `openssl x509 -noout -fingerprint -sha256` without colons, lowercased.
func CertID(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// signatureAlgorithm picks SHA-256 for every key, as the walkthrough's -sha256 does.
func signatureAlgorithm(k crypto.PublicKey) x509.SignatureAlgorithm {
	switch k.(type) {
	case *rsa.PublicKey:
		return x509.SHA256WithRSA
	case *ecdsa.PublicKey:
		return x509.ECDSAWithSHA256
	}
	return x509.UnknownSignatureAlgorithm
}

// NewCSR creates a certificate signing request for key with subject s, signed with SHA-256.
func NewCSR(key crypto.Signer, s Subject) (*x509.CertificateRequest, error) {
	return newCSR(key, s, false)
}

// NewCACSR creates the root CA's CSR: like NewCSR, plus the extension request
// basicConstraints CA:TRUE, as `openssl req -config deviceRootCA_openssl.conf` adds
// (req_extensions = v3_ca).
func NewCACSR(key crypto.Signer, s Subject) (*x509.CertificateRequest, error) {
	return newCSR(key, s, true)
}

func newCSR(key crypto.Signer, s Subject, ca bool) (*x509.CertificateRequest, error) {
	if key == nil {
		return nil, errors.New("create CSR: no private key")
	}
	if _, err := checkKey(key); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	raw, err := s.rawName()
	if err != nil {
		return nil, fmt.Errorf("create CSR: encode subject: %w", err)
	}
	tmpl := &x509.CertificateRequest{RawSubject: raw, SignatureAlgorithm: signatureAlgorithm(key.Public())}
	if ca {
		bc, err := asn1.Marshal(struct {
			IsCA bool `asn1:"optional"`
		}{true})
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidBasicConstraints, Value: bc}}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("create CSR: %w", err)
	}
	return x509.ParseCertificateRequest(der)
}

// EncodeCSRPEM encodes a CSR as "-----BEGIN CERTIFICATE REQUEST-----" PEM.
func EncodeCSRPEM(r *x509.CertificateRequest) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: r.Raw})
}

// ParseCSRPEM reads the first CSR ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST")
// in b and checks its self-signature.
func ParseCSRPEM(b []byte) (*x509.CertificateRequest, error) {
	var seen []string
	for blk := range pemBlocks(b) {
		if blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST" {
			seen = append(seen, blk.Type)
			continue
		}
		r, err := x509.ParseCertificateRequest(blk.Bytes)
		if err != nil {
			return nil, errorWith(nil, "err.csr-malformed", "Why", err.Error())
		}
		if err := r.CheckSignature(); err != nil {
			return nil, errorWith(ErrBadSignature, "err.csr-signature", "Why", err.Error())
		}
		return r, nil
	}
	if len(seen) > 0 {
		return nil, errorWith(ErrNoPEM, "err.csr-block", "Found", strings.Join(seen, ", "))
	}
	return nil, errorWith(ErrNoPEM, "err.csr-not-pem")
}

// pemBlocks yields the PEM blocks in b, in order (text around them is skipped).
func pemBlocks(b []byte) iter.Seq[*pem.Block] {
	return func(yield func(*pem.Block) bool) {
		for {
			var blk *pem.Block
			if blk, b = pem.Decode(b); blk == nil || !yield(blk) {
				return
			}
		}
	}
}

// randomSerial returns a random positive 128-bit-or-less serial number (RFC 5280: ≤ 20 octets).
func randomSerial() (*big.Int, error) {
	for {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("random serial: %w", err)
		}
		b[0] &= 0x7f // positive, so the DER INTEGER stays 16 octets
		n := new(big.Int).SetBytes(b)
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// keyID is the RFC 5280 §4.2.1.2 method-1 key identifier: SHA-1 of the subjectPublicKey bits.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// validity returns the window [now, now+days) truncated to whole seconds.
func validity(now time.Time, days int) (time.Time, time.Time) {
	nb := now.UTC().Truncate(time.Second)
	return nb, nb.AddDate(0, 0, days)
}

// SelfSignCA creates the self-signed root CA certificate: subject = issuer = s, SHA-256,
// basicConstraints CA:TRUE (critical), subject key identifier, keyUsage keyCertSign|cRLSign,
// random 128-bit serial, valid from now for days days.
func SelfSignCA(key crypto.Signer, s Subject, days int) (*x509.Certificate, error) {
	return selfSignCA(key, s, time.Now(), days)
}

func selfSignCA(key crypto.Signer, s Subject, now time.Time, days int) (*x509.Certificate, error) {
	if key == nil {
		return nil, errors.New("create CA certificate: no private key")
	}
	if _, err := checkKey(key); err != nil {
		return nil, err
	}
	if err := ValidateDays(days); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	raw, err := s.rawName()
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	nb, na := validity(now, days)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            raw,
		NotBefore:             nb,
		NotAfter:              na,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ski,
		SignatureAlgorithm:    signatureAlgorithm(key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// IssueCert signs csr with the CA as a leaf (end-entity) certificate, like
// `openssl x509 -req -CA ... -CAkey ... -days N -sha256`: the CSR's subject and public key,
// a random 128-bit serial, basicConstraints CA:FALSE, keyUsage digitalSignature
// (+keyEncipherment for RSA), extKeyUsage clientAuth, SKI, and AKI = the CA's SKI.
// Extensions requested in the CSR are not copied (openssl x509 -req does not copy them either).
func IssueCert(ca *x509.Certificate, caKey crypto.Signer, csr *x509.CertificateRequest, days int) (*x509.Certificate, error) {
	return issue(ca, caKey, csr, time.Now(), days, false)
}

// IssueIntermediateCA signs csr with the CA as a subordinate CA (basicConstraints CA:TRUE,
// pathlen 0, keyCertSign|cRLSign) — for customers who register an intermediate CA that
// issues their device certificates.
func IssueIntermediateCA(parent *x509.Certificate, parentKey crypto.Signer, csr *x509.CertificateRequest, days int) (*x509.Certificate, error) {
	return issue(parent, parentKey, csr, time.Now(), days, true)
}

func issue(ca *x509.Certificate, caKey crypto.Signer, csr *x509.CertificateRequest, now time.Time, days int, asCA bool) (*x509.Certificate, error) {
	if ca == nil || caKey == nil {
		return nil, errors.New("issue certificate: no CA certificate or key")
	}
	if csr == nil {
		return nil, errors.New("issue certificate: no CSR")
	}
	if err := ValidateDays(days); err != nil {
		return nil, err
	}
	if !publicKeysEqual(caKey.Public(), ca.PublicKey) {
		return nil, errorWith(ErrKeyMismatch, "err.ca-key-mismatch")
	}
	if err := checkIsCA(ca); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, errorWith(ErrBadSignature, "err.csr-signature-issue", "Why", err.Error())
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := keyID(csr.PublicKey)
	if err != nil {
		return nil, err
	}
	nb, na := validity(now, days)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            csr.RawSubject,
		NotBefore:             nb,
		NotAfter:              na,
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ca.SubjectKeyId,
		SignatureAlgorithm:    signatureAlgorithm(caKey.Public()),
	}
	if asCA {
		tmpl.IsCA = true
		tmpl.MaxPathLenZero = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		if _, ok := csr.PublicKey.(*rsa.PublicKey); ok {
			tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, csr.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() >= 2048 {
			return nil
		}
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256, 384, 521:
			return nil
		}
	}
	return errorWith(ErrUnsupportedKey, "err.csr-key", "Key", DescribeKey(pub))
}

// CheckIsCA reports ErrNotCA unless c can be registered as a CA with AWS IoT: basicConstraints
// CA:TRUE and, with a keyUsage extension, keyCertSign (the check LoadCA makes).
func CheckIsCA(c *x509.Certificate) error { return checkIsCA(c) }

// checkIsCA reports ErrNotCA unless c has basicConstraints CA:TRUE and, if it has a
// keyUsage extension, keyCertSign.
func checkIsCA(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return errorWith(ErrNotCA, "err.no-ca-constraint", "Cert", describeCert(c))
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errorWith(ErrNotCA, "err.no-cert-sign", "Cert", describeCert(c))
	}
	return nil
}

func describeCert(c *x509.Certificate) string {
	if s := c.Subject.String(); s != "" {
		return words("cert.named", map[string]string{"Subject": strings.TrimSpace(s)})
	}
	return words("cert.unnamed", nil)
}

// EncodeCertPEM encodes a certificate as "-----BEGIN CERTIFICATE-----" PEM.
func EncodeCertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Bundle concatenates certificates as PEM, in order: Bundle(device, ca) is
// deviceCertAndCACert.crt, byte-identical to `cat deviceCert.crt deviceRootCA.pem`.
func Bundle(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, EncodeCertPEM(c)...)
	}
	return out
}

// ParseCertPEM returns the first certificate in b (PEM, or raw DER).
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	certs, err := parseCerts(b, true)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// ParseCertsPEM returns every certificate in b, in order (e.g. device cert then CA of a
// bundle). Non-certificate blocks are skipped; a malformed certificate block is an error.
func ParseCertsPEM(b []byte) ([]*x509.Certificate, error) {
	return parseCerts(b, false)
}

func parseCerts(b []byte, firstOnly bool) ([]*x509.Certificate, error) {
	var (
		out  []*x509.Certificate
		seen []string
	)
	for blk := range pemBlocks(b) {
		if blk.Type != "CERTIFICATE" {
			seen = append(seen, blk.Type)
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, errorWith(nil, "err.cert-malformed", "N", strconv.Itoa(len(out)+1), "Why", err.Error())
		}
		out = append(out, c)
		if firstOnly {
			return out, nil
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(seen) > 0 {
		return nil, errorWith(ErrNoPEM, "err.cert-block", "Found", strings.Join(seen, ", "))
	}
	if c, err := x509.ParseCertificate(b); err == nil {
		return []*x509.Certificate{c}, nil
	}
	return nil, errorWith(ErrNoPEM, "err.cert-not-pem")
}
