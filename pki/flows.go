package pki

import (
	"cmp"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The flows below do what one walkthrough step does: create keys, CSRs and certificates
// in memory, then write them into the workspace directory with the walkthrough's file
// names (keys 0600, everything else 0644), and return the equivalent openssl commands.
// With Overwrite false, every target is checked first and nothing is written if any exists.

// File is one file a flow wrote.
type File struct {
	Path string
	Mode os.FileMode
	What string // "CA private key", "CA certificate", ...
}

// Result describes what a flow produced. Key is the private key (never print it).
type Result struct {
	Files    []File
	Commands []Command
	Key      crypto.Signer
	CSR      *x509.CertificateRequest
	Cert     *x509.Certificate
}

// CertID is the AWS IoT certificate ID of r.Cert, or "" when no certificate was made.
func (r *Result) CertID() string {
	if r == nil || r.Cert == nil {
		return ""
	}
	return CertID(r.Cert)
}

type pending struct {
	name string
	data []byte
	mode os.FileMode
	what string
}

func writeAll(dir string, files []pending, overwrite bool) ([]File, error) {
	if err := EnsureWorkspace(dir); err != nil {
		return nil, err
	}
	if !overwrite {
		for _, f := range files {
			p := filepath.Join(dir, f.name)
			if FileExists(p) {
				return nil, &ExistsError{Path: p}
			}
		}
	}
	var out []File
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := WriteFile(p, f.data, f.mode, overwrite); err != nil {
			return out, err
		}
		out = append(out, File{Path: p, Mode: f.mode, What: f.what})
	}
	return out, nil
}

// WriteKey generates a key of type t and writes it to dir/name (0600).
func WriteKey(dir, name string, t KeyType, overwrite bool) (*Result, error) {
	key, err := GenerateKey(t)
	if err != nil {
		return nil, err
	}
	pemKey, err := EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	files, err := writeAll(dir, []pending{{name, pemKey, KeyMode, "private key"}}, overwrite)
	if err != nil {
		return nil, err
	}
	return &Result{Files: files, Key: key, Commands: []Command{GenKeyCommand(t, name)}}, nil
}

// WriteOpenSSLConf renders and writes deviceRootCA_openssl.conf (0644).
func WriteOpenSSLConf(dir, country, organization string, overwrite bool) (*Result, error) {
	conf, err := RenderOpenSSLConf(country, organization)
	if err != nil {
		return nil, err
	}
	cmd, err := ConfCommand(FileCAConf, country, organization)
	if err != nil {
		return nil, err
	}
	files, err := writeAll(dir, []pending{{FileCAConf, conf, CertMode, "OpenSSL config"}}, overwrite)
	if err != nil {
		return nil, err
	}
	return &Result{Files: files, Commands: []Command{cmd}}, nil
}

// WriteRootCA creates the CA's CSR (deviceRootCA.csr, with the basicConstraints CA:TRUE
// request) and the self-signed CA certificate (deviceRootCA.pem) for key, subject s
// (normally just country and organization, as the conf's defaults) and days validity.
func WriteRootCA(dir string, key crypto.Signer, s Subject, days int, overwrite bool) (*CA, *Result, error) {
	csr, err := NewCACSR(key, s)
	if err != nil {
		return nil, nil, err
	}
	cert, err := SelfSignCA(key, s, days)
	if err != nil {
		return nil, nil, err
	}
	files, err := writeAll(dir, []pending{
		{FileCACSR, EncodeCSRPEM(csr), CertMode, "CA certificate signing request"},
		{FileCACert, EncodeCertPEM(cert), CertMode, "CA certificate"},
	}, overwrite)
	if err != nil {
		return nil, nil, err
	}
	return &CA{Cert: cert, Key: key}, &Result{Files: files, CSR: csr, Cert: cert, Key: key, Commands: []Command{
		CACSRCommand(FileCAKey, FileCAConf, FileCACSR, s),
		SelfSignCACommand(FileCACSR, FileCAKey, FileCAConf, FileCACert, days),
	}}, nil
}

// RootCAOptions configures CreateRootCA. Zero values take the walkthrough's defaults.
type RootCAOptions struct {
	KeyType      KeyType // default rsa2048
	Country      string  // default IN
	Organization string  // default AMZ
	Days         int     // default 3650
	Overwrite    bool
}

// CreateRootCA runs walkthrough steps 1–3 in dir: deviceRootCA.key,
// deviceRootCA_openssl.conf, deviceRootCA.csr and deviceRootCA.pem.
func CreateRootCA(dir string, o RootCAOptions) (*CA, *Result, error) {
	o.KeyType = cmp.Or(o.KeyType, DefaultKeyType)
	o.Country = cmp.Or(o.Country, DefaultCountry)
	o.Organization = cmp.Or(o.Organization, DefaultOrganization)
	o.Days = cmp.Or(o.Days, CADays)
	if _, err := ParseKeyType(string(o.KeyType)); err != nil {
		return nil, nil, err
	}
	if err := ValidateDays(o.Days); err != nil {
		return nil, nil, err
	}
	conf, err := RenderOpenSSLConf(o.Country, o.Organization)
	if err != nil {
		return nil, nil, err
	}
	key, err := GenerateKey(o.KeyType)
	if err != nil {
		return nil, nil, err
	}
	s := Subject{Country: o.Country, Organization: o.Organization}
	csr, err := NewCACSR(key, s)
	if err != nil {
		return nil, nil, err
	}
	cert, err := SelfSignCA(key, s, o.Days)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	confCmd, _ := ConfCommand(FileCAConf, o.Country, o.Organization)
	files, err := writeAll(dir, []pending{
		{FileCAKey, keyPEM, KeyMode, "CA private key"},
		{FileCAConf, conf, CertMode, "OpenSSL config"},
		{FileCACSR, EncodeCSRPEM(csr), CertMode, "CA certificate signing request"},
		{FileCACert, EncodeCertPEM(cert), CertMode, "CA certificate"},
	}, o.Overwrite)
	if err != nil {
		return nil, nil, err
	}
	return &CA{Cert: cert, Key: key}, &Result{Files: files, Key: key, CSR: csr, Cert: cert, Commands: []Command{
		GenKeyCommand(o.KeyType, FileCAKey),
		confCmd,
		CACSRCommand(FileCAKey, FileCAConf, FileCACSR, s),
		SelfSignCACommand(FileCACSR, FileCAKey, FileCAConf, FileCACert, o.Days),
	}}, nil
}

// IssueOptions configures IssueVerificationCert and IssueDeviceCert.
type IssueOptions struct {
	Dir        string  // workspace
	CA         *CA     // signing CA (required)
	CACertFile string  // CA cert name used in commands and in the bundle command; default deviceRootCA.pem
	CAKeyFile  string  // CA key name used in commands; default deviceRootCA.key
	KeyType    KeyType // for a new key; default rsa2048
	// Key, when set, is an existing private key already stored in the key file; it is
	// used instead of generating one, and the key file is not written again.
	Key       crypto.Signer
	Days      int // default 500 (verification) / 365 (device)
	Overwrite bool
	// AnyRegistrationCode: the registration code comes from another implementation of the
	// AWS IoT API; any code a Common Name can hold is used, not only AWS's 64 hex digits.
	AnyRegistrationCode bool
}

func (o *IssueOptions) defaults(days int) error {
	if o.CA == nil || o.CA.Cert == nil || o.CA.Key == nil {
		return errors.New("no CA to sign with — create the root CA first (or load yours)")
	}
	o.CACertFile = cmp.Or(o.CACertFile, FileCACert)
	o.CAKeyFile = cmp.Or(o.CAKeyFile, FileCAKey)
	o.KeyType = cmp.Or(o.KeyType, DefaultKeyType)
	o.Days = cmp.Or(o.Days, days)
	return ValidateDays(o.Days)
}

// issueLeaf makes key (unless given), CSR and certificate, and lists the files and commands.
func issueLeaf(o *IssueOptions, s Subject, keyName, csrName, certName, what string) (*Result, []pending, error) {
	key := o.Key
	var files []pending
	var cmds []Command
	if key == nil {
		var err error
		if key, err = GenerateKey(o.KeyType); err != nil {
			return nil, nil, err
		}
		keyPEM, err := EncodeKeyPEM(key)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, pending{keyName, keyPEM, KeyMode, what + " private key"})
		cmds = append(cmds, GenKeyCommand(o.KeyType, keyName))
	}
	csr, err := NewCSR(key, s)
	if err != nil {
		return nil, nil, err
	}
	cert, err := o.CA.Issue(csr, o.Days)
	if err != nil {
		return nil, nil, err
	}
	files = append(files,
		pending{csrName, EncodeCSRPEM(csr), CertMode, what + " certificate signing request"},
		pending{certName, EncodeCertPEM(cert), CertMode, what + " certificate"})
	cmds = append(cmds, CSRCommand(keyName, csrName, s), SignCommand(csrName, o.CACertFile, o.CAKeyFile, certName, o.Days))
	return &Result{Key: key, CSR: csr, Cert: cert, Commands: cmds}, files, nil
}

// IssueVerificationCert runs walkthrough step 5: verificationCert.key, a CSR with
// CN = the registration code, and verificationCert.crt signed by the CA (500 days).
func IssueVerificationCert(o IssueOptions, registrationCode string) (*Result, error) {
	check := ValidateRegistrationCode
	if o.AnyRegistrationCode {
		check = ValidateRegistrationCodeCN
	}
	if err := check(registrationCode); err != nil {
		return nil, err
	}
	if err := o.defaults(VerificationDays); err != nil {
		return nil, err
	}
	r, files, err := issueLeaf(&o, Subject{CommonName: registrationCode}, FileVerifKey, FileVerifCSR, FileVerifCert, "verification")
	if err != nil {
		return nil, err
	}
	if r.Files, err = writeAll(o.Dir, files, o.Overwrite); err != nil {
		return nil, err
	}
	r.Commands = append(r.Commands, VerifyCommand(o.CACertFile, FileVerifCert))
	return r, nil
}

// IssueDeviceCert runs walkthrough step 9: deviceCert.key, a CSR with subject s (CN = the
// thing name; C, O, OU, ST, dnQualifier, serialNumber optional), deviceCert.crt signed by
// the CA (365 days) and deviceCertAndCACert.crt (device cert followed by the CA cert).
func IssueDeviceCert(o IssueOptions, s Subject) (*Result, error) {
	if err := s.ValidateDevice(); err != nil {
		return nil, err
	}
	if err := o.defaults(DeviceDays); err != nil {
		return nil, err
	}
	r, files, err := issueLeaf(&o, s, FileDeviceKey, FileDeviceCSR, FileDeviceCert, "device")
	if err != nil {
		return nil, err
	}
	files = append(files, pending{FileDeviceBundle, Bundle(r.Cert, o.CA.Cert), CertMode, "device + CA certificate bundle"})
	if r.Files, err = writeAll(o.Dir, files, o.Overwrite); err != nil {
		return nil, err
	}
	r.Commands = append(r.Commands,
		BundleCommand(FileDeviceCert, o.CACertFile, FileDeviceBundle),
		VerifyCommand(o.CACertFile, FileDeviceCert),
		FingerprintCommand(FileDeviceCert))
	return r, nil
}

// Describe is a one-line summary of a certificate for display: subject, issuer, validity,
// and certificate ID.
func Describe(c *x509.Certificate) string {
	kind := "leaf"
	if c.IsCA {
		kind = "CA"
	}
	return fmt.Sprintf("%s certificate %q issued by %q, valid %s to %s, ID %s", kind, c.Subject.String(), c.Issuer.String(),
		c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"), CertID(c))
}
