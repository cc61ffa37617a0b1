package steps

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Commands shown by the steps refer to files relative to the workspace directory: the user
// runs them after `cd <workspace>`, exactly as in the walkthrough.

// awsCmd renders an AWS CLI command with the session's region, profile and, for the local
// target or a custom endpoint, --endpoint-url, so it works when run by hand.
func (s *Session) awsCmd(service string, args ...string) string {
	parts := append([]string{"aws", service}, args...)
	line := joinShell(parts)
	if s.Region != "" || s.Options.Region != "" {
		line += " --region " + pki.ShellQuote(firstNonEmpty(s.Region, s.Options.Region))
	}
	if s.Options.Profile != "" {
		line += " --profile " + pki.ShellQuote(s.Options.Profile)
	}
	if u := s.apiURL(); u != "" {
		line += " --endpoint-url " + pki.ShellQuote(u)
	}
	return line
}

// apiURL is the control-plane endpoint URL commands should name ("" for real AWS).
func (s *Session) apiURL() string {
	if s.Options.EndpointURL != "" {
		return s.Options.EndpointURL
	}
	if s.Options.Target == TargetLocal {
		if s.localURL != "" {
			return s.localURL
		}
		return "<local endpoint URL from `jitpwiz local`>"
	}
	return ""
}

func joinShell(parts []string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		if strings.HasPrefix(p, "file://") || strings.HasPrefix(p, "--") {
			q[i] = p
			continue
		}
		q[i] = pki.ShellQuote(p)
	}
	return strings.Join(q, " ")
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func cmdLines(cs ...pki.Command) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Line)
	}
	return out
}

// keyID is a fingerprint of a public key (SHA-256 of its PKIX DER), used to notice that a
// key file was replaced.
func keyID(k crypto.Signer) string {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
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

// ensureKey reuses the key file at path when it exists, or creates one of type want. A key
// is replaced only with --force-new-keys; an existing key of another type than --key is kept
// (and said so): --key applies to the keys jitpwiz creates. what names the key in messages
// ("CA private key"). It returns the key and whether it was reused.
func (s *Session) ensureKey(id ID, path, what string, want pki.KeyType) (crypto.Signer, bool, error) {
	if err := s.checkKeyFile(id, path); err != nil {
		return nil, false, err
	}
	if pki.FileExists(path) && !s.Options.ForceNewKeys {
		k, err := pki.LoadKeyFile(path)
		if err != nil {
			return nil, false, fmt.Errorf("%s %s cannot be read (%v) — fix or move the file, or pass --force-new-keys to replace it", what, filepath.Base(path), err)
		}
		got, err := pki.KeyTypeOf(k)
		if err != nil {
			return nil, false, fmt.Errorf("%s %s: %v — pass --force-new-keys to replace it", what, filepath.Base(path), err)
		}
		if got != want {
			s.reportf(id, "kept the existing %s %s (%s); --key %s applies to new keys — add --force-new-keys to replace it", what, filepath.Base(path), got, want)
		}
		return k, true, nil
	}
	r, err := pki.WriteKey(filepath.Dir(path), filepath.Base(path), want, s.Options.ForceNewKeys)
	if err != nil {
		return nil, false, err
	}
	return r.Key, false, nil
}

// checkKeyFile applies pki.SecureKeyFile to a key of the workspace before it is used
// again: a link or non-regular file is refused, a key others can read is made 0600 and
// step id says so.
func (s *Session) checkKeyFile(id ID, path string) error {
	note, err := pki.SecureKeyFile(path)
	if note != "" {
		s.reportf(id, "%s", note)
	}
	return err
}

// verifyCommand is the openssl verify line for a certificate signed by the session's CA
// (-partial_chain for an intermediate CA, which openssl would otherwise not accept alone).
func (s *Session) verifyCommand(cert string) pki.Command {
	if s.CA.Intermediate {
		return pki.VerifyIntermediateCommand(s.caCertName(), cert)
	}
	return pki.VerifyCommand(s.caCertName(), cert)
}

// loadCA returns the signing CA: the workspace's deviceRootCA.pem + .key, or the supplied one.
func (s *Session) loadCA() (*pki.CA, error) {
	if s.ca != nil {
		return s.ca, nil
	}
	certFile, keyFile := s.Path(firstNonEmpty(s.CA.CertFile, pki.FileCACert)), s.Path(firstNonEmpty(s.CA.KeyFile, pki.FileCAKey))
	ca, err := pki.LoadCAFiles(certFile, keyFile, s.Now())
	if err != nil {
		return nil, err
	}
	s.ca = ca
	return ca, nil
}

// caCertName is how commands refer to the CA certificate (workspace-relative when possible).
func (s *Session) caCertName() string {
	return s.relName(firstNonEmpty(s.CA.CertFile, s.Options.CACertFile, pki.FileCACert))
}

func (s *Session) caKeyName() string {
	return s.relName(firstNonEmpty(s.CA.KeyFile, s.Options.CAKeyFile, pki.FileCAKey))
}

// relName shows path relative to the workspace when it is inside it.
func (s *Session) relName(p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	if r, err := filepath.Rel(s.dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// sameFile reports whether path holds exactly data.
func sameFile(path string, data []byte) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, data)
}

// checkFile is a ResultLine for a file.
func fileLine(label, path string) ResultLine {
	return ResultLine{Kind: ResultFile, Label: label, Value: path, OK: true}
}

func valueLine(label, v string) ResultLine {
	return ResultLine{Kind: ResultValue, Label: label, Value: v, OK: true}
}

func noteLine(v string) ResultLine { return ResultLine{Kind: ResultNote, Value: v, OK: true} }

func checkLine(label, evidence string, ok bool) ResultLine {
	return ResultLine{Kind: ResultCheck, Label: label, Value: evidence, OK: ok}
}

// keyTypeField is the key-type input shared by the key steps.
func keyTypeField() Field {
	var opts []Option
	for _, t := range pki.KeyTypes {
		opts = append(opts, Option{Value: string(t), Label: t.Label()})
	}
	return Field{
		Key: "key", Label: "Key type", Help: "type of the private keys jitpwiz creates (AWS IoT accepts RSA 2048+ and EC P-256/P-384)",
		Options: opts,
		Get:     func(s *Session) string { return s.Options.KeyType },
		Set: func(s *Session, v string) error {
			if _, err := pki.ParseKeyType(v); err != nil {
				return err
			}
			s.Options.KeyType = v
			return nil
		},
	}
}

func (s *Session) keyType() pki.KeyType {
	t, err := pki.ParseKeyType(s.Options.KeyType)
	if err != nil {
		return pki.DefaultKeyType
	}
	return t
}

// targetID identifies the cloud side results were made on: a change (other region,
// account or target) invalidates every cloud step.
func (s *Session) targetID() string {
	id := s.Options.Target + "/" + firstNonEmpty(s.Options.Region, s.Region)
	if s.Account != "" {
		id += "/" + s.Account
	}
	if s.Options.EndpointURL != "" {
		id += "/" + s.Options.EndpointURL // another IoT Core than the embedded one
	}
	return id
}

// setDeviceCert records the device certificate of d; a different certificate than before
// drops the results obtained with the old one.
func (s *Session) setDeviceCert(d *Device, c *x509.Certificate) {
	id := pki.CertID(c)
	if d.CertID != id {
		d.FirstConnect, d.Verify, d.Policies, d.Use = nil, nil, nil, nil
	}
	d.CertID = id
	d.Subject = pki.SubjectOf(c).String()
	if !d.Supplied {
		d.SubjectOptions = &SubjectOptions{Country: s.Options.Country, Org: s.Options.Org, OrgUnit: s.Options.OrgUnit, State: s.Options.State}
	}
	d.CertARN = s.certARN(id)
}

// certARN is the ARN AWS IoT gives a certificate with this ID.
func (s *Session) certARN(id string) string {
	if s.Account == "" || s.Region == "" {
		return ""
	}
	return "arn:aws:iot:" + s.Region + ":" + s.Account + ":cert/" + id
}

// prettyJSON indents a JSON document for display (unchanged if it is not JSON).
func prettyJSON(doc string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "  "); err != nil {
		return doc
	}
	return b.String()
}

// issuedBy reports whether c was issued by ca now: issuer name, signature and validity
// (pki.CheckIssuedBy: a CA remade with the same key but another subject is not the issuer).
func (s *Session) issuedBy(c *x509.Certificate, ca *pki.CA) bool {
	return pki.CheckIssuedBy(c, ca.Cert, s.Now()) == nil
}

// forceNewKeysField lets the user replace existing keys (the explicit choice keys need).
func forceNewKeysField() Field {
	return Field{
		Key: "force-new-keys", Label: "Replace the existing key",
		Help:    "a key file exists and is reused; replacing it makes new certificates from it and everything after redone",
		Options: []Option{{Value: "no", Label: "no, reuse it"}, {Value: "yes", Label: "yes, make a new key"}},
		Get:     func(s *Session) string { return map[bool]string{true: "yes", false: "no"}[s.Options.ForceNewKeys] },
		Set: func(s *Session, v string) error {
			switch v {
			case "yes", "no":
				s.Options.ForceNewKeys = v == "yes"
				return nil
			}
			return fmt.Errorf("replace the existing key: answer yes or no")
		},
	}
}
