package pki

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LoadCertsFile reads a bundle's certificates in order and names the file when it cannot;
// Subject.Attr reaches each attribute by its openssl short name.
func TestLoadCertsFileAndAttr(t *testing.T) {
	t.Parallel()
	ca := testCA(t, EC256)
	leaf, key := leafFor(t, ca, Subject{Country: "IN", CommonName: "Dev"})
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	if err := os.WriteFile(bundle, append(append(EncodeCertPEM(leaf), EncodeCertPEM(ca.Cert)...), key...), 0o600); err != nil {
		t.Fatal(err)
	}
	cs, err := LoadCertsFile(bundle)
	if err != nil || len(cs) != 2 || CertID(cs[0]) != CertID(leaf) || CertID(cs[1]) != ca.ID() {
		t.Fatalf("LoadCertsFile: %v %d", err, len(cs))
	}
	bad := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(bad, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCertsFile(bad); err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "BEGIN") {
		t.Errorf("a key file: %v", err)
	}
	if _, err := LoadCertsFile(filepath.Join(dir, "nope")); err == nil {
		t.Error("a missing file was read")
	}
	s := Subject{Country: "IN", CommonName: "Dev"}
	*s.Attr("O") = "Org"
	if *s.Attr("C") != "IN" || s.Organization != "Org" || s.Attr("X") != nil {
		t.Errorf("Attr: %+v", s)
	}
	for _, short := range []string{"C", "ST", "O", "OU", "CN", "dnQualifier", "serialNumber"} {
		if s.Attr(short) == nil {
			t.Errorf("no attribute %s", short)
		}
	}
}
