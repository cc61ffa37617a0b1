// Package pkitest is what tests across jitpwiz share to make certificates: a test root CA
// and the device certificates it issues, with their files named as the walkthrough names
// them.
//
// pki's own tests cannot import it (Go refuses the import cycle); every other package's
// tests use it instead of a copy of their own.
package pkitest

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
)

// CA is a device root CA made for a test (the walkthrough's deviceRootCA).
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	ID   string // the certificate ID: SHA-256 of the DER
	// DeviceKeyType is the type of the keys of the devices the CA issues (EC P-256 unless
	// a test sets another: RSA keys are slow to make).
	DeviceKeyType pki.KeyType
}

// NewCA makes a self-signed root CA with subject s and a new key of type kt, valid for
// pki.CADays, as step 3 makes one.
func NewCA(t testing.TB, kt pki.KeyType, s pki.Subject) *CA {
	t.Helper()
	key, err := pki.GenerateKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.SelfSignCA(key, s, pki.CADays)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, Key: key, ID: pki.CertID(cert), DeviceKeyType: pki.EC256}
}

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte { return pki.EncodeCertPEM(ca.Cert) }

// Device is a certificate the CA issued, with its key.
type Device struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	KeyPEM []byte
	ID     string // the certificate ID: SHA-256 of the DER
}

// Issue makes a certificate for subject s signed by the CA, valid for pki.DeviceDays, with a
// new key of the CA's DeviceKeyType.
func (ca *CA) Issue(t testing.TB, s pki.Subject) *Device {
	t.Helper()
	key, err := pki.GenerateKey(ca.DeviceKeyType)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NewCSR(key, s)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.IssueCert(ca.Cert, ca.Key, csr, pki.DeviceDays)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return &Device{Cert: cert, Key: key, KeyPEM: keyPEM, ID: pki.CertID(cert)}
}

// CertPEM is the device certificate in PEM.
func (d *Device) CertPEM() []byte { return pki.EncodeCertPEM(d.Cert) }

// TLSCertificate is the device's TLS client certificate, with the CA after the device
// certificate in the chain when ca is not nil (the first connect's bundle).
func (d *Device) TLSCertificate(ca *CA) tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{d.Cert.Raw}, PrivateKey: d.Key, Leaf: d.Cert}
	if ca != nil {
		c.Certificate = append(c.Certificate, ca.Cert.Raw)
	}
	return c
}

// Files are a device's files, named as the walkthrough names them.
type Files struct {
	Dir        string
	CertFile   string // deviceCert.crt
	KeyFile    string // deviceCert.key (0600)
	BundleFile string // deviceCertAndCACert.crt: the device certificate, then the CA's
}

// WriteFiles writes the device's certificate, key and bundle with the CA into a new
// temporary directory of t.
func (d *Device) WriteFiles(t testing.TB, ca *CA) Files {
	t.Helper()
	dir := t.TempDir()
	f := Files{Dir: dir, CertFile: filepath.Join(dir, pki.FileDeviceCert), KeyFile: filepath.Join(dir, pki.FileDeviceKey),
		BundleFile: filepath.Join(dir, pki.FileDeviceBundle)}
	for path, data := range map[string][]byte{
		f.CertFile:   d.CertPEM(),
		f.KeyFile:    d.KeyPEM,
		f.BundleFile: pki.Bundle(d.Cert, ca.Cert),
	} {
		if err := os.WriteFile(path, data, pki.KeyMode); err != nil {
			t.Fatal(err)
		}
	}
	return f
}
