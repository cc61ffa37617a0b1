package pki

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

func leafFor(t testing.TB, ca *CA, s Subject) (*x509.Certificate, []byte) {
	t.Helper()
	k, err := GenerateKey(EC256)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := NewCSR(k, s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue(csr, DeviceDays)
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := EncodeKeyPEM(k)
	return c, kp
}

func TestBadPEMInput(t *testing.T) {
	t.Parallel()
	ca := testCA(t, EC256)
	keyPEM, _ := EncodeKeyPEM(ca.Key)
	garbage := []byte("hello, this is not PEM\n")
	brokenCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01}})
	brokenKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("nope")})

	check := func(name string, err error, want error, words ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		if want != nil && !errors.Is(err, want) {
			t.Errorf("%s: %v is not %v", name, err, want)
		}
		mustContain(t, name, err.Error(), words...)
	}
	_, err := ParseCertPEM(garbage)
	check("garbage cert", err, ErrNoPEM, "not a PEM certificate", "BEGIN CERTIFICATE")
	_, err = ParseCertsPEM(nil)
	check("empty certs", err, ErrNoPEM, "certificate")
	_, err = ParseCertPEM(keyPEM)
	check("key as cert", err, ErrNoPEM, "found PRIVATE KEY")
	_, err = ParseCertPEM(brokenCert)
	check("broken cert", err, nil, "certificate 1", "malformed")
	_, err = ParseKeyPEM(garbage)
	check("garbage key", err, ErrNoPEM, "not a PEM private key")
	_, err = ParseKeyPEM(ca.CertPEM())
	check("cert as key", err, ErrNoPEM, "found CERTIFICATE", "key file")
	_, err = ParseKeyPEM(brokenKey)
	check("broken key", err, nil, "PRIVATE KEY block is malformed")
	_, err = ParseCSRPEM(garbage)
	check("garbage CSR", err, ErrNoPEM, "CSR")
	_, err = ParseCSRPEM(ca.CertPEM())
	check("cert as CSR", err, ErrNoPEM, "found CERTIFICATE")

	// Encrypted keys: PKCS#8 encrypted block and legacy Proc-Type header.
	_, err = ParseKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	check("encrypted pkcs8", err, ErrEncryptedKey, "encrypted", "openssl pkey")
	legacy := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: []byte{1, 2, 3}})
	_, err = ParseKeyPEM(legacy)
	check("encrypted legacy", err, ErrEncryptedKey, "passphrase")

	// LoadCA names which input is wrong.
	_, err = LoadCA(garbage, keyPEM, time.Now())
	check("LoadCA garbage cert", err, ErrNoPEM, "CA certificate:")
	_, err = LoadCA(ca.CertPEM(), garbage, time.Now())
	check("LoadCA garbage key", err, ErrNoPEM, "CA private key:")
}

func TestCAProblems(t *testing.T) {
	t.Parallel()
	ca := testCA(t, RSA2048)
	keyPEM, _ := EncodeKeyPEM(ca.Key)
	now := time.Now()

	// key/cert mismatch
	other := testCA(t, EC256)
	otherKey, _ := EncodeKeyPEM(other.Key)
	_, err := LoadCA(ca.CertPEM(), otherKey, now)
	if !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatch: %v", err)
	}
	mustContain(t, "mismatch", err.Error(), "does not match", "EC P-256", "deviceRootCA.key")
	if _, err := IssueCert(ca.Cert, other.Key, mustCSR(t, Subject{CommonName: "x"}), 1); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("IssueCert with wrong CA key: %v", err)
	}

	// a leaf used as CA
	leaf, leafKey := leafFor(t, ca, Subject{CommonName: "DemoThing"})
	_, err = LoadCA(EncodeCertPEM(leaf), leafKey, now)
	if !errors.Is(err, ErrNotCA) {
		t.Fatalf("leaf as CA: %v", err)
	}
	mustContain(t, "leaf as CA", err.Error(), "CA:TRUE", "CN=DemoThing")
	lk, _ := ParseKeyPEM(leafKey)
	if _, err := IssueCert(leaf, lk, mustCSR(t, Subject{CommonName: "y"}), 1); !errors.Is(err, ErrNotCA) {
		t.Errorf("IssueCert with leaf CA: %v", err)
	}

	// expired and not-yet-valid CAs
	old, err := selfSignCA(ca.Key, Subject{Country: "IN", Organization: "Old"}, now.AddDate(-3, 0, 0), 365)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadCA(EncodeCertPEM(old), keyPEM, now)
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	mustContain(t, "expired", err.Error(), "expired on", old.NotAfter.UTC().Format("2006-01-02"), "create a new CA")
	future, _ := selfSignCA(ca.Key, Subject{Country: "IN", Organization: "Future"}, now.AddDate(0, 0, 2), 365)
	_, err = LoadCA(EncodeCertPEM(future), keyPEM, now)
	if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "not valid until") {
		t.Errorf("future: %v", err)
	}

	// keyUsage without keyCertSign
	tmpl := &x509.Certificate{SerialNumber: bigOne(), Subject: pkix.Name{CommonName: "NoSign"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ca.Key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadCA(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, now)
	if !errors.Is(err, ErrNotCA) || !strings.Contains(err.Error(), "keyCertSign") {
		t.Errorf("no keyCertSign: %v", err)
	}
}

func mustCSR(t testing.TB, s Subject) *x509.CertificateRequest {
	t.Helper()
	k, err := GenerateKey(EC256)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewCSR(k, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseCertsPEMBundleOrder(t *testing.T) {
	t.Parallel()
	ca := testCA(t, EC256)
	leaf, keyPEM := leafFor(t, ca, Subject{CommonName: "A"})
	// A bundle with a key block and comments in between: certs come back in order.
	in := bytes.Join([][]byte{[]byte("# comment\n"), EncodeCertPEM(leaf), keyPEM, []byte("junk\n"), ca.CertPEM()}, nil)
	certs, err := ParseCertsPEM(in)
	if err != nil || len(certs) != 2 || !certs[0].Equal(leaf) || !certs[1].Equal(ca.Cert) {
		t.Fatalf("got %d certs, %v", len(certs), err)
	}
	first, err := ParseCertPEM(Bundle(leaf, ca.Cert))
	if err != nil || !first.Equal(leaf) {
		t.Errorf("ParseCertPEM of bundle: %v", err)
	}
	// DER input works too.
	c, err := ParseCertPEM(leaf.Raw)
	if err != nil || !c.Equal(leaf) {
		t.Errorf("DER: %v", err)
	}
	// CertID is over the leaf DER, never the PEM or the bundle.
	if CertID(certs[0]) == CertID(certs[1]) || len(CertID(leaf)) != 64 || strings.ToLower(CertID(leaf)) != CertID(leaf) {
		t.Error("CertID shape")
	}
}

func TestKeyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, kt := range KeyTypes {
		kt := kt
		t.Run(string(kt), func(t *testing.T) {
			t.Parallel()
			k, err := GenerateKey(kt)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := KeyTypeOf(k); err != nil || got != kt {
				t.Errorf("KeyTypeOf = %v, %v", got, err)
			}
			p, err := EncodeKeyPEM(k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(p, []byte("-----BEGIN PRIVATE KEY-----")) {
				t.Error("not PKCS#8")
			}
			back, err := ParseKeyPEM(p)
			if err != nil || !publicKeysEqual(back.Public(), k.Public()) {
				t.Errorf("round trip: %v", err)
			}
			// PKCS#1 / SEC1 forms load too.
			var legacy []byte
			switch key := k.(type) {
			case *rsaPrivateKey:
				legacy = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
			case *ecdsaPrivateKey:
				der, _ := x509.MarshalECPrivateKey(key)
				legacy = pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
				legacy = append(legacy, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})...)
			}
			back, err = ParseKeyPEM(legacy)
			if err != nil || !publicKeysEqual(back.Public(), k.Public()) {
				t.Errorf("legacy form: %v", err)
			}
		})
	}
}

// TestSubjectOfFirstValueWins: with repeated attributes, JITP/AWS take the first value.
func TestSubjectOfFirstValueWins(t *testing.T) {
	t.Parallel()
	ca := testCA(t, EC256)
	k, _ := GenerateKey(EC256)
	seq := pkix.RDNSequence{
		{{Type: oidOrgUnit, Value: "first"}},
		{{Type: oidOrgUnit, Value: "second"}},
		{{Type: oidCommonName, Value: "Multi"}, {Type: oidCountry, Value: "US"}}, // multi-valued RDN
	}
	raw, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw}, k)
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := x509.ParseCertificateRequest(der)
	c, err := ca.Issue(csr, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := SubjectOf(c)
	if got != (Subject{OrganizationalUnit: "first", CommonName: "Multi", Country: "US"}) {
		t.Errorf("got %+v", got)
	}
	if !bytes.Equal(c.RawSubject, raw) {
		t.Error("issued cert did not keep the CSR's subject bytes")
	}
}

func TestIntermediateCAChain(t *testing.T) {
	t.Parallel()
	root := testCA(t, EC256)
	ik, _ := GenerateKey(EC256)
	icsr, err := NewCSR(ik, Subject{Country: "IN", Organization: "AMZ", CommonName: "Issuing CA"})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := IssueIntermediateCA(root.Cert, root.Key, icsr, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ipem, _ := EncodeKeyPEM(ik)
	ica, err := LoadCA(EncodeCertPEM(inter), ipem, time.Now())
	if err != nil {
		t.Fatalf("intermediate does not load as CA: %v", err)
	}
	leaf, _ := leafFor(t, ica, Subject{CommonName: "DeepThing"})
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root.Cert)
	inters.AddCert(inter)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("chain: %v", err)
	}
	if !inter.MaxPathLenZero || inter.MaxPathLen != 0 {
		t.Error("intermediate should have pathlen 0")
	}
}
