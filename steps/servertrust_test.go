package steps

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
)

// TestAmazonRootCAs: the roots shipped for the aws target are the genuine Amazon Root CA 1
// and Root CA 3. The SPKI hashes are the ones https://www.amazontrust.com/repository/
// publishes ("SHA-256 Hash of Subject Public Key Information"); the certificate fingerprints
// are those of the same certificates in the Mozilla/Debian trust store.
func TestAmazonRootCAs(t *testing.T) {
	certs, err := pki.ParseCertsPEM(amazonRootCAs)
	if err != nil || len(certs) != 2 {
		t.Fatalf("amazon_root_cas.pem: %d certificates, %v; want Root CA 1 and Root CA 3", len(certs), err)
	}
	want := []struct {
		cn, spki, fingerprint string
		key                   func(any) bool
	}{
		{"Amazon Root CA 1", "fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2",
			"8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
			func(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 2048 }},
		{"Amazon Root CA 3", "36abc32656acfc645c61b71613c4bf21c787f5cabbee48348d58597803d7abc9",
			"18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
			func(k any) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve.Params().BitSize == 256 }},
	}
	for i, w := range want {
		c := certs[i]
		spki := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		fp := sha256.Sum256(c.Raw)
		if c.Subject.CommonName != w.cn || hex.EncodeToString(spki[:]) != w.spki || hex.EncodeToString(fp[:]) != w.fingerprint || !w.key(c.PublicKey) {
			t.Errorf("certificate %d: %s, SPKI %x, fingerprint %x; want %s %s %s", i, c.Subject, spki, fp, w.cn, w.spki, w.fingerprint)
		}
		if !c.IsCA || c.CheckSignatureFrom(c) != nil {
			t.Errorf("%s is not a self-signed CA", c.Subject)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool(c)}); err != nil {
			t.Errorf("%s does not verify as its own root: %v", c.Subject, err)
		}
	}
}

func pool(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}
