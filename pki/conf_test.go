package pki

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestRenderOpenSSLConfMatchesWalkthrough: IN/AMZ gives the walkthrough's file byte for byte
// (testdata copy of shared/templates/deviceRootCA_openssl.conf).
func TestRenderOpenSSLConfMatchesWalkthrough(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("testdata/deviceRootCA_openssl.conf")
	if err != nil {
		t.Fatal(err)
	}
	got, err := RenderOpenSSLConf("IN", "AMZ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("rendered conf differs from the walkthrough's:\n%s\nwant:\n%s", got, want)
	}
	other, err := RenderOpenSSLConf("DE", "Acme GmbH")
	if err != nil {
		t.Fatal(err)
	}
	exp := strings.Replace(strings.Replace(string(want), "= IN\n", "= DE\n", 1), "= AMZ\n", "= Acme GmbH\n", 1)
	if string(other) != exp {
		t.Errorf("DE/Acme GmbH:\n%s", other)
	}
	if _, err := RenderOpenSSLConf("Germany", "Acme"); err == nil {
		t.Error("bad country accepted")
	}
	for _, org := range []string{"", "line\nbreak", " padded", strings.Repeat("o", 65)} {
		_, err := RenderOpenSSLConf("DE", org)
		wantFieldError(t, err, "organization")
	}
}
