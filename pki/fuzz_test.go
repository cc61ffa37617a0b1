package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"
)

// fuzzSeeds returns real PEM material: keys in every encoding, certs, a bundle, a CSR.
func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	ca := testCA(f, EC256)
	rsaKey, err := GenerateKey(RSA2048)
	if err != nil {
		f.Fatal(err)
	}
	csr, err := NewCSR(rsaKey, Subject{Country: "IN", CommonName: "DemoThing"})
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := ca.Issue(csr, 1)
	if err != nil {
		f.Fatal(err)
	}
	caKey, _ := EncodeKeyPEM(ca.Key)
	rk, _ := EncodeKeyPEM(rsaKey)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey.(*rsaPrivateKey))})
	sec1der, _ := x509.MarshalECPrivateKey(ca.Key.(*ecdsaPrivateKey))
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1der})
	return [][]byte{
		caKey, rk, pkcs1, sec1, ca.CertPEM(), EncodeCertPEM(leaf), Bundle(leaf, ca.Cert), EncodeCSRPEM(csr),
		leaf.Raw, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
		[]byte("garbage"), nil,
	}
}

func FuzzParseKeyPEM(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKeyPEM(b)
		if err != nil {
			if k != nil {
				t.Fatal("key returned with error")
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// Any accepted key re-encodes and parses back to the same key.
		p, err := EncodeKeyPEM(k)
		if err != nil {
			t.Fatalf("accepted key does not encode: %v", err)
		}
		k2, err := ParseKeyPEM(p)
		if err != nil || !publicKeysEqual(k.Public(), k2.Public()) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseCertsPEM(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := ParseCertsPEM(b)
		first, err1 := ParseCertPEM(b)
		if (err == nil) != (err1 == nil) {
			t.Fatalf("ParseCertsPEM err %v but ParseCertPEM err %v", err, err1)
		}
		if err != nil {
			return
		}
		if len(certs) == 0 || !certs[0].Equal(first) {
			t.Fatal("ParseCertPEM is not the first of ParseCertsPEM")
		}
		back, err := ParseCertsPEM(Bundle(certs...))
		if err != nil || len(back) != len(certs) {
			t.Fatalf("re-encoded bundle: %v", err)
		}
		for i := range certs {
			if CertID(back[i]) != CertID(certs[i]) || len(CertID(certs[i])) != 64 {
				t.Fatal("cert ID changed through PEM round trip")
			}
			_ = JITPParameters(certs[i])
			_ = SubjectOf(certs[i])
		}
	})
}

func FuzzParseCSRPEM(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseCSRPEM(b)
		if err != nil {
			return
		}
		if r.CheckSignature() != nil {
			t.Fatal("accepted a CSR whose signature does not verify")
		}
		_ = SubjectOfCSR(r)
	})
}

func FuzzLoadCA(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, c := range seeds {
		f.Add(c, seeds[0])
	}
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		ca, err := LoadCA(certPEM, keyPEM, time.Now())
		if err != nil {
			if ca != nil {
				t.Fatal("CA returned with error")
			}
			return
		}
		if !ca.Cert.IsCA || !publicKeysEqual(ca.Key.Public(), ca.Cert.PublicKey) {
			t.Fatal("LoadCA accepted a non-CA or mismatched pair")
		}
	})
}

// FuzzSubject: a subject that validates makes a CSR whose subject reads back unchanged.
func FuzzSubject(f *testing.F) {
	key, err := GenerateKey(EC256)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("IN", "AMZ", "R&D", "Tamil Nadu", "DemoThing", "q1", "SN1")
	f.Add("DE", `a/b+c\d "x"`, "ü", "", "T-1:x_y", "a=b", "A/B")
	f.Fuzz(func(t *testing.T, c, o, ou, st, cn, dnq, sn string) {
		s := Subject{Country: c, Organization: o, OrganizationalUnit: ou, State: st, CommonName: cn, DNQualifier: dnq, SerialNumber: sn}
		if err := s.Validate(); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("validation error is not a FieldError: %v", err)
			}
			return
		}
		r, err := NewCSR(key, s)
		if err != nil {
			t.Fatalf("valid subject %+v rejected: %v", s, err)
		}
		if got := SubjectOfCSR(r); got != s {
			t.Fatalf("subject changed: %+v -> %+v", s, got)
		}
		raw, _ := s.rawName()
		if !bytes.Equal(raw, r.RawSubject) {
			t.Fatal("raw subject differs")
		}
	})
}
