package broker

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
)

// Files of the broker's server identity, kept in Options.Dir (the workspace's
// .local-iot directory). The root plays the part of Amazon Root CA 1: clients
// trust it with --cafile. It is created once and never replaced; the server
// certificate it signs is re-issued when the host names change or it nears expiry.
const (
	RootCAFile     = "awsRootCA.pem"
	rootKeyFile    = "awsRootCA.key"
	serverCertFile = "server.pem"
	serverKeyFile  = "server.key"
)

const (
	rootValidity   = 20 * 365 * 24 * time.Hour
	serverValidity = 825 * 24 * time.Hour
	serverRenew    = 30 * 24 * time.Hour
)

// identity is the broker's TLS server identity.
type identity struct {
	rootPath string
	root     *x509.Certificate
	cert     tls.Certificate
}

// DefaultHostnames are always in the server certificate.
var DefaultHostnames = []string{"localhost", "127.0.0.1", "::1"}

// loadIdentity loads the root CA and server certificate from dir, creating what is
// missing. An existing root key is never regenerated. The key is written before the
// certificate, so a crash or a full disk in between leaves the key alone: its
// certificate was never published, and is made again from the key (same key and
// subject, so anything signed by the key verifies as before). A certificate without its
// key is damage that cannot be repaired here: the caller is told which file to restore
// or remove.
func loadIdentity(dir string, hostnames []string, now time.Time) (*identity, error) {
	if err := pki.EnsureWorkspace(dir); err != nil {
		return nil, fmt.Errorf("local broker: state directory: %w", err)
	}
	root, rootKey, err := loadOrCreateRoot(dir, now)
	if err != nil {
		return nil, err
	}
	names := mergeNames(hostnames)
	cert, err := loadServerCert(dir, root, names, now)
	if err != nil {
		return nil, err
	}
	if cert == nil {
		cert, err = issueServerCert(dir, root, rootKey, names, now)
		if err != nil {
			return nil, err
		}
	}
	return &identity{rootPath: filepath.Join(dir, RootCAFile), root: root, cert: *cert}, nil
}

func mergeNames(extra []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(append([]string{}, DefaultHostnames...), extra...) {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

func loadOrCreateRoot(dir string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	certPath := filepath.Join(dir, RootCAFile)
	keyPath := filepath.Join(dir, rootKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		cert, err := pki.ParseCertPEM(certPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("local broker: %s is not a readable certificate (%v) — restore it, or remove both %s and %s to create a new local root (clients must then trust the new one)", certPath, err, RootCAFile, rootKeyFile)
		}
		key, err := pki.ParseKeyPEM(keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("local broker: %s is not a readable private key (%v) — restore it, or remove both %s and %s to create a new local root", keyPath, err, RootCAFile, rootKeyFile)
		}
		if !pki.KeyMatchesCert(key, cert) {
			return nil, nil, fmt.Errorf("local broker: %s does not belong to %s — restore the matching pair, or remove both to create a new local root", keyPath, certPath)
		}
		return cert, key, nil
	case errors.Is(certErr, os.ErrNotExist) && errors.Is(keyErr, os.ErrNotExist):
		// First start: create the root below.
	case certErr != nil && !errors.Is(certErr, os.ErrNotExist):
		return nil, nil, fmt.Errorf("local broker: cannot read %s: %w", certPath, certErr)
	case keyErr != nil && !errors.Is(keyErr, os.ErrNotExist):
		return nil, nil, fmt.Errorf("local broker: cannot read %s: %w", keyPath, keyErr)
	case certErr != nil:
		// The key was written and then the process died or the disk filled up before
		// the certificate was: make the certificate from the key.
		key, err := pki.ParseKeyPEM(keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("local broker: %s is not a readable private key (%v) and %s is missing — remove %s so a new local root is created", keyPath, err, RootCAFile, rootKeyFile)
		}
		cert, err := writeRootCert(certPath, key, now)
		if err != nil {
			return nil, nil, err
		}
		return cert, key, nil
	default:
		return nil, nil, fmt.Errorf("local broker: %s is missing but %s exists — restore the missing file, or remove %s too so a new local root is created (clients must then trust the new one)", keyPath, certPath, certPath)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("local broker: generating the root key: %w", err)
	}
	keyPEM, err = pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	// Key first, never over an existing file; if the certificate write then fails, the
	// next start makes the certificate from this key (above).
	if err := pki.WriteFile(keyPath, keyPEM, pki.KeyMode, false); err != nil {
		return nil, nil, fmt.Errorf("local broker: %w", err)
	}
	if testHookRootKeyWritten != nil {
		testHookRootKeyWritten()
	}
	cert, err := writeRootCert(certPath, key, now)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// testHookRootKeyWritten, set only by tests, runs between the root key's write and its
// certificate's (where a kill leaves the key alone).
var testHookRootKeyWritten func()

// writeRootCert makes the local root CA's self-signed certificate for key and writes it
// to path (never over an existing file).
func writeRootCert(path string, key crypto.Signer, now time.Time) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			Country:      []string{"US"},
			Organization: []string{"jitpwiz local"},
			CommonName:   "jitpwiz local IoT Root CA",
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(rootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("local broker: creating the root certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("local broker: reading the new root certificate: %w", err)
	}
	if err := pki.WriteFile(path, pki.EncodeCertPEM(cert), pki.CertMode, false); err != nil {
		return nil, fmt.Errorf("local broker: %w — free some space (or fix the permissions) and start again: the certificate is then made from the key", err)
	}
	return cert, nil
}

// loadServerCert returns the stored server certificate when it is signed by root,
// covers every name and is not about to expire; otherwise nil (re-issue).
func loadServerCert(dir string, root *x509.Certificate, names []string, now time.Time) (*tls.Certificate, error) {
	certPEM, err1 := os.ReadFile(filepath.Join(dir, serverCertFile))
	keyPEM, err2 := os.ReadFile(filepath.Join(dir, serverKeyFile))
	if err1 != nil || err2 != nil {
		return nil, nil
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil || leaf.CheckSignatureFrom(root) != nil {
		return nil, nil
	}
	if now.Add(serverRenew).After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, nil
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return nil, nil
		}
	}
	pair.Leaf = leaf
	return &pair, nil
}

func issueServerCert(dir string, root *x509.Certificate, rootKey crypto.Signer, names []string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("local broker: generating the server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"jitpwiz local"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("local broker: creating the server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("local broker: reading the new server certificate: %w", err)
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return nil, err
	}
	// The server certificate is derived state (re-issued when names change), so
	// replacing it is expected; the root above is never replaced.
	if err := pki.WriteFile(filepath.Join(dir, serverKeyFile), keyPEM, pki.KeyMode, true); err != nil {
		return nil, fmt.Errorf("local broker: %w", err)
	}
	if err := pki.WriteFile(filepath.Join(dir, serverCertFile), pki.EncodeCertPEM(leaf), pki.CertMode, true); err != nil {
		return nil, fmt.Errorf("local broker: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil || n.Sign() == 0 {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
