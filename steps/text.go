package steps

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"time"
)

// Small helpers over strings, files and hashes that steps, the runner and doctor share.

// abbrev shortens long IDs and hashes for messages: the first 12 characters and "…". It
// counts characters, not bytes, so a value in another script is never cut inside a rune.
func abbrev(v string) string {
	if r := []rune(v); len(r) > 24 && !strings.ContainsAny(v, " /:") {
		return string(r[:12]) + "…"
	}
	return v
}

func abbrevAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = abbrev(v)
	}
	return out
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fileSHA256 is the SHA-256 of a file's content ("" if unreadable).
func fileSHA256(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return sha256Hex(b)
}

// sameFile reports whether path holds exactly data.
func sameFile(path string, data []byte) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, data)
}

// keyID is a fingerprint of a public key (SHA-256 of its PKIX DER), used to notice that a
// key file was replaced.
func keyID(k crypto.Signer) string {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return ""
	}
	return sha256Hex(der)
}

// prettyJSON indents a JSON document for display (unchanged if it is not JSON).
func prettyJSON(doc string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "  "); err != nil {
		return doc
	}
	return b.String()
}
