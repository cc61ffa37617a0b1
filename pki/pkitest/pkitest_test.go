package pkitest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// A test CA's device certificates are what step 9 makes: issued by the CA (for Go and for
// openssl), with the walkthrough's files, the key 0600 and the bundle device-first.
func TestIssuedDeviceFiles(t *testing.T) {
	t.Parallel()
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "AMZ", CommonName: "Test Root"})
	dev := ca.Issue(t, pki.Subject{Country: "IN", CommonName: "DemoThing"})
	if err := pki.CheckIssuedBy(dev.Cert, ca.Cert, time.Now()); err != nil {
		t.Fatalf("device certificate not issued by the CA: %v", err)
	}
	if kt, err := pki.KeyTypeOf(dev.Key); err != nil || kt != pki.EC256 || dev.ID != pki.CertID(dev.Cert) {
		t.Fatalf("device key %s (%v), ID %s", kt, err, dev.ID)
	}
	f := dev.WriteFiles(t, ca)
	if fi, err := os.Stat(f.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", f.KeyFile, err, fi)
	}
	bundle, err := os.ReadFile(f.BundleFile)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := pki.ParseCertsPEM(bundle)
	if err != nil || len(chain) != 2 || pki.CertID(chain[0]) != dev.ID || pki.CertID(chain[1]) != ca.ID {
		t.Fatalf("bundle: %d certificates (%v), want the device's then the CA's", len(chain), err)
	}
	caFile := f.Dir + "/ca.pem"
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testtool.Need(t, "openssl"), "verify", "-CAfile", caFile, f.CertFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

// TLSCertificate puts the CA after the device only when asked (the first connect's bundle).
func TestTLSCertificateChain(t *testing.T) {
	t.Parallel()
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{CommonName: "Root"})
	dev := ca.Issue(t, pki.Subject{CommonName: "Thing"})
	if n := len(dev.TLSCertificate(nil).Certificate); n != 1 {
		t.Errorf("device alone: %d certificates", n)
	}
	if c := dev.TLSCertificate(ca); len(c.Certificate) != 2 || string(c.Certificate[1]) != string(ca.Cert.Raw) {
		t.Errorf("with the CA: %d certificates", len(c.Certificate))
	}
}
