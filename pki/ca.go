package pki

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority the wizard can sign with: its certificate and private key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// ID is the CA certificate's AWS IoT certificate ID (CertID).
func (ca *CA) ID() string { return CertID(ca.Cert) }

// CertPEM is the CA certificate as PEM.
func (ca *CA) CertPEM() []byte { return EncodeCertPEM(ca.Cert) }

// Issue signs csr as a leaf certificate valid for days days.
func (ca *CA) Issue(csr *x509.CertificateRequest, days int) (*x509.Certificate, error) {
	return IssueCert(ca.Cert, ca.Key, csr, days)
}

// LoadCA reads a CA from its PEM certificate (the first certificate of the file) and PEM
// private key and checks that it can sign device certificates at time now: the key
// matches the certificate (ErrKeyMismatch), the certificate has basicConstraints CA:TRUE
// and, if it has keyUsage, keyCertSign (ErrNotCA), and now is within its validity window
// (ErrExpired). Each error names the problem and the fix.
func LoadCA(certPEM, keyPEM []byte, now time.Time) (*CA, error) {
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, &fileError{What: words("file.ca-cert", nil), Err: err}
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, &fileError{What: words("file.ca-key", nil), Err: err}
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, &fileError{What: words("file.ca", nil), Err: ErrKeyMismatch,
			Fix: words("fix.ca-pair", map[string]string{"Key": DescribeKey(key), "Cert": describeCert(cert)})}
	}
	if err := checkIsCA(cert); err != nil {
		return nil, &fileError{What: words("file.ca-cert", nil), Err: err}
	}
	if err := CheckValidity(cert, now); err != nil {
		return nil, &fileError{What: words("file.ca-cert", nil), Err: err}
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CheckValidity returns an error wrapping ErrExpired when now is outside c's validity window.
func CheckValidity(c *x509.Certificate, now time.Time) error {
	const layout = "2006-01-02 15:04:05 MST"
	if now.Before(c.NotBefore) {
		return errorWith(ErrExpired, "err.not-yet-valid", "Cert", describeCert(c), "From", c.NotBefore.UTC().Format(layout), "Now", now.UTC().Format(layout))
	}
	if now.After(c.NotAfter) {
		return errorWith(ErrExpired, "err.expired-on", "Cert", describeCert(c), "To", c.NotAfter.UTC().Format(layout))
	}
	return nil
}

// LoadCAFiles reads and checks a CA from a certificate file and a key file (see LoadCA);
// errors name the files.
func LoadCAFiles(certPath, keyPath string, now time.Time) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, errorWith(err, "err.ca-cert-unreadable", "Path", certPath)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, errorWith(err, "err.ca-key-unreadable", "Path", keyPath)
	}
	ca, err := LoadCA(certPEM, keyPEM, now)
	if err != nil {
		return nil, fmt.Errorf("%s + %s: %w", filepath.Base(certPath), filepath.Base(keyPath), err)
	}
	return ca, nil
}

// LoadCertFile reads the first certificate of a PEM file; errors name the file.
func LoadCertFile(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseCertPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// LoadCertsFile reads every certificate of a PEM file, in order (a bundle: the device's,
// then its CA); errors name the file.
func LoadCertsFile(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cs, err := ParseCertsPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// LoadKeyFile reads a PEM private key file; errors name the file (never the key).
func LoadKeyFile(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
