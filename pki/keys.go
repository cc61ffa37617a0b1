package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// KeyType names a key algorithm and size the wizard can generate.
type KeyType string

// Supported key types. RSA2048 is the walkthrough's choice and the default.
const (
	RSA2048 KeyType = "rsa2048"
	RSA3072 KeyType = "rsa3072"
	RSA4096 KeyType = "rsa4096"
	EC256   KeyType = "ec256"
	EC384   KeyType = "ec384"
)

// DefaultKeyType is the walkthrough's key type (openssl genrsa ... 2048).
const DefaultKeyType = RSA2048

// KeyTypes lists every supported key type, default first.
var KeyTypes = []KeyType{RSA2048, RSA3072, RSA4096, EC256, EC384}

// String returns the key type's name, e.g. "rsa2048".
func (t KeyType) String() string { return string(t) }

// Label is a human description, e.g. "RSA 2048" or "EC P-256".
func (t KeyType) Label() string {
	switch t {
	case RSA2048:
		return "RSA 2048"
	case RSA3072:
		return "RSA 3072"
	case RSA4096:
		return "RSA 4096"
	case EC256:
		return "EC P-256"
	case EC384:
		return "EC P-384"
	}
	return string(t)
}

// IsEC reports whether t is an elliptic-curve key type.
func (t KeyType) IsEC() bool { return t == EC256 || t == EC384 }

// RSABits returns the RSA modulus size, or 0 for EC key types.
func (t KeyType) RSABits() int {
	switch t {
	case RSA2048:
		return 2048
	case RSA3072:
		return 3072
	case RSA4096:
		return 4096
	}
	return 0
}

// Curve returns the OpenSSL name of the curve ("P-256", "P-384"), or "" for RSA.
func (t KeyType) Curve() string {
	switch t {
	case EC256:
		return "P-256"
	case EC384:
		return "P-384"
	}
	return ""
}

func keyTypeChoices() string {
	s := make([]string, len(KeyTypes))
	for i, t := range KeyTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// ParseKeyType accepts a key type name (case-insensitive; "" means the default rsa2048).
// Common spellings such as "rsa-2048", "RSA 2048", "p256", "ec-p256", "prime256v1" are accepted.
func ParseKeyType(s string) (KeyType, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	if n == "" {
		return DefaultKeyType, nil
	}
	n = strings.NewReplacer("-", "", "_", "", " ", "").Replace(n)
	switch n {
	case "rsa2048", "rsa", "2048":
		return RSA2048, nil
	case "rsa3072", "3072":
		return RSA3072, nil
	case "rsa4096", "4096":
		return RSA4096, nil
	case "ec256", "ec", "ecp256", "p256", "ecdsap256", "prime256v1", "secp256r1", "ecdsa256":
		return EC256, nil
	case "ec384", "ecp384", "p384", "ecdsap384", "secp384r1", "ecdsa384":
		return EC384, nil
	}
	return "", fieldError(FieldKeyType, s, ReasonKeyType, "Choices", keyTypeChoices())
}

// GenerateKey creates a new private key of type t.
func GenerateKey(t KeyType) (crypto.Signer, error) {
	switch t {
	case RSA2048, RSA3072, RSA4096:
		return rsa.GenerateKey(rand.Reader, t.RSABits())
	case EC256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EC384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	}
	_, err := ParseKeyType(string(t))
	if err == nil {
		err = fieldError(FieldKeyType, string(t), ReasonKeyType, "Choices", keyTypeChoices())
	}
	return nil, err
}

// KeyTypeOf reports the KeyType of a key, or an error (wrapping ErrUnsupportedKey) for
// keys AWS IoT cannot use or that the wizard cannot generate (the error names the key).
func KeyTypeOf(k crypto.Signer) (KeyType, error) {
	switch key := k.(type) {
	case *rsa.PrivateKey:
		switch key.N.BitLen() {
		case 2048:
			return RSA2048, nil
		case 3072:
			return RSA3072, nil
		case 4096:
			return RSA4096, nil
		}
		return "", errorWith(ErrUnsupportedKey, "err.key-type-rsa", "Bits", strconv.Itoa(key.N.BitLen()))
	case *ecdsa.PrivateKey:
		switch key.Curve {
		case elliptic.P256():
			return EC256, nil
		case elliptic.P384():
			return EC384, nil
		}
		return "", errorWith(ErrUnsupportedKey, "err.key-type-ec", "Curve", key.Curve.Params().Name)
	}
	return "", errorWith(ErrUnsupportedKey, "err.key-type-other", "Type", fmt.Sprintf("%T", k))
}

// DescribeKey is a short human description of a private or public key, e.g. "RSA 2048".
func DescribeKey(k any) string {
	if s, ok := k.(crypto.Signer); ok {
		k = s.Public()
	}
	switch key := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", key.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC " + key.Curve.Params().Name
	}
	return fmt.Sprintf("%T", k)
}

// EncodeKeyPEM encodes a private key as unencrypted PKCS#8 ("-----BEGIN PRIVATE KEY-----"),
// the form OpenSSL 3 genrsa and genpkey write.
func EncodeKeyPEM(k crypto.Signer) ([]byte, error) {
	if k == nil {
		return nil, errors.New("encode private key: no key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKeyPEM reads the first private key in b: PKCS#8 ("PRIVATE KEY"), PKCS#1
// ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY", with or without a leading
// "EC PARAMETERS" block as openssl ecparam -genkey writes). Raw DER is accepted too.
// An encrypted key returns an error wrapping ErrEncryptedKey. Only RSA (≥2048 bits) and
// ECDSA (P-256, P-384, P-521) keys are accepted; others wrap ErrUnsupportedKey.
func ParseKeyPEM(b []byte) (crypto.Signer, error) {
	var seen []string
	for blk := range pemBlocks(b) {
		switch blk.Type {
		case "ENCRYPTED PRIVATE KEY":
			return nil, encryptedKeyError()
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if _, enc := blk.Headers["DEK-Info"]; enc || strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, encryptedKeyError()
			}
			k, err := parseKeyDER(blk.Type, blk.Bytes)
			if err != nil {
				return nil, err
			}
			return checkKey(k)
		default:
			seen = append(seen, blk.Type)
		}
	}
	if len(seen) > 0 {
		return nil, errorWith(ErrNoPEM, "err.key-block", "Found", strings.Join(seen, ", "))
	}
	// Not PEM: try raw DER in each encoding.
	for _, typ := range []string{"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"} {
		if k, err := parseKeyDER(typ, b); err == nil {
			return checkKey(k)
		}
	}
	return nil, errorWith(ErrNoPEM, "err.key-not-pem")
}

func encryptedKeyError() error {
	return errorWith(ErrEncryptedKey, "err.key-encrypted")
}

func parseKeyDER(typ string, der []byte) (crypto.Signer, error) {
	var (
		k   any
		err error
	)
	switch typ {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(der)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	}
	if err != nil {
		return nil, errorWith(nil, "err.key-malformed", "Block", typ, "Why", err.Error())
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errorWith(ErrUnsupportedKey, "err.key-not-signer", "Type", fmt.Sprintf("%T", k))
	}
	return s, nil
}

func checkKey(k crypto.Signer) (crypto.Signer, error) {
	switch key := k.(type) {
	case *rsa.PrivateKey:
		if key.N.BitLen() < 2048 {
			return nil, errorWith(ErrUnsupportedKey, "err.key-too-small", "Bits", strconv.Itoa(key.N.BitLen()))
		}
		return key, nil
	case *ecdsa.PrivateKey:
		switch key.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return key, nil
		}
	}
	return nil, errorWith(ErrUnsupportedKey, "err.key-unusable", "Key", DescribeKey(k))
}

// publicKeysEqual reports whether two public keys are the same.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	ae, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ae.Equal(b)
}
