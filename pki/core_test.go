package pki

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

// testCA creates a root CA of key type t (test helper).
func testCA(t testing.TB, kt KeyType) *CA {
	t.Helper()
	key, err := GenerateKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := SelfSignCA(key, Subject{Country: "IN", Organization: "AMZ"}, CADays)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, Key: key}
}

func TestIssueChainVerifiesInGo(t *testing.T) {
	t.Parallel()
	for _, kt := range []KeyType{RSA2048, EC256, EC384} {
		ca := testCA(t, kt)
		dkey, err := GenerateKey(EC256)
		if err != nil {
			t.Fatal(err)
		}
		subj := Subject{Country: "IN", Organization: "Acme Corp", OrganizationalUnit: "Lab", State: "Karnataka",
			CommonName: "DemoThing", DNQualifier: "q1", SerialNumber: "SN-0001"}
		csr, err := NewCSR(dkey, subj)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := IssueCert(ca.Cert, ca.Key, csr, DeviceDays)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(ca.Cert)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatalf("%s: verify: %v", kt, err)
		}
		if leaf.IsCA || !leaf.BasicConstraintsValid {
			t.Errorf("%s: leaf must carry CA:FALSE", kt)
		}
		if got := SubjectOf(leaf); got != subj {
			t.Errorf("%s: subject round trip: got %+v want %+v", kt, got, subj)
		}
		if leaf.SerialNumber.BitLen() > 127 || leaf.SerialNumber.Sign() <= 0 {
			t.Errorf("serial out of range: %v", leaf.SerialNumber)
		}
		again, err := IssueCert(ca.Cert, ca.Key, csr, DeviceDays)
		if err != nil {
			t.Fatal(err)
		}
		if again.SerialNumber.Cmp(leaf.SerialNumber) == 0 || again.SerialNumber.Cmp(ca.Cert.SerialNumber) == 0 {
			t.Errorf("serials repeat: %v", again.SerialNumber)
		}
		if d := leaf.NotAfter.Sub(leaf.NotBefore); d != DeviceDays*24*time.Hour {
			t.Errorf("validity %v", d)
		}
		p := JITPParameters(leaf)
		if p[ParamCommonName] != "DemoThing" || p[ParamSerialNumber] != "SN-0001" || p[ParamDNQualifier] != "q1" ||
			p[ParamStateName] != "Karnataka" || p[ParamID] != CertID(leaf) || len(p) != 8 {
			t.Errorf("JITP parameters: %v", p)
		}
	}
}

func TestJITPParametersOnlyPresentAttributes(t *testing.T) {
	t.Parallel()
	ca := testCA(t, EC256)
	k, _ := GenerateKey(EC256)
	csr, err := NewCSR(k, Subject{CommonName: "OnlyCN"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(csr, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := JITPParameters(leaf)
	want := map[string]string{ParamCommonName: "OnlyCN", ParamID: CertID(leaf), ParamSerialNumber: leaf.SerialNumber.Text(16)}
	if len(p) != len(want) {
		t.Fatalf("got %v, want %v", p, want)
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %q, want %q", k, p[k], v)
		}
	}
}

func TestLoadCARejects(t *testing.T) {
	t.Parallel()
	ca := testCA(t, EC256)
	keyPEM, _ := EncodeKeyPEM(ca.Key)
	now := time.Now()
	if _, err := LoadCA(ca.CertPEM(), keyPEM, now); err != nil {
		t.Fatalf("good CA: %v", err)
	}
	other, _ := GenerateKey(EC256)
	otherPEM, _ := EncodeKeyPEM(other)
	_, err := LoadCA(ca.CertPEM(), otherPEM, now)
	if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("mismatch: %v", err)
	}
	_, err = LoadCA(ca.CertPEM(), keyPEM, now.AddDate(11, 0, 0))
	if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: %v", err)
	}
}
