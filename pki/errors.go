package pki

import (
	"errors"
	"fmt"
	"strconv"
)

// FieldError is a problem with one user-supplied value: which field, what was given,
// what is wrong with it and how to fix it.
type FieldError struct {
	Field   string // e.g. "country", "thing name", "key type"
	Value   string // the offending value (never a secret)
	Problem string // e.g. "must be exactly 2 letters"
	Fix     string // e.g. "use an ISO 3166 alpha-2 code such as IN or US"
}

func (e *FieldError) Error() string {
	s := e.Field
	if e.Value != "" {
		s += " " + strconv.Quote(e.Value)
	} else {
		s += " (empty)"
	}
	s += ": " + e.Problem
	if e.Fix != "" {
		s += " — " + e.Fix
	}
	return s
}

// ErrExists is matched (errors.Is) by *ExistsError.
var ErrExists = errors.New("file already exists")

// ExistsError reports that a file would be overwritten without the caller's consent.
type ExistsError struct {
	Path string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s already exists and was left untouched — reuse it, choose another workspace, or confirm overwriting it", e.Path)
}

// Is makes errors.Is(err, ErrExists) true.
func (e *ExistsError) Is(target error) bool { return target == ErrExists }

// Sentinel errors for problems a caller may want to recognise (all are wrapped in
// messages that name the file or field and the fix).
var (
	// ErrEncryptedKey: the PEM private key is passphrase-protected.
	ErrEncryptedKey = errors.New("the private key is encrypted with a passphrase")
	// ErrNoPEM: the input holds no PEM block of the expected type.
	ErrNoPEM = errors.New("no PEM data found")
	// ErrUnsupportedKey: the key algorithm or size is not usable with AWS IoT.
	ErrUnsupportedKey = errors.New("unsupported key")
	// ErrKeyMismatch: a private key does not belong to a certificate or CSR.
	ErrKeyMismatch = errors.New("the private key does not match the certificate")
	// ErrNotCA: a certificate used as a CA lacks basicConstraints CA:TRUE or keyCertSign.
	ErrNotCA = errors.New("the certificate is not a CA certificate")
	// ErrExpired: a certificate is outside its validity window (expired or not yet valid).
	ErrExpired = errors.New("the certificate is outside its validity period")
	// ErrBadSignature: a CSR's self-signature does not verify.
	ErrBadSignature = errors.New("signature does not verify")
)

// fileError wraps err with the name of the file (or input) it concerns and a fix.
type fileError struct {
	What string // "CA certificate deviceRootCA.pem"
	Err  error
	Fix  string
}

func (e *fileError) Error() string {
	s := e.What + ": " + e.Err.Error()
	if e.Fix != "" {
		s += " — " + e.Fix
	}
	return s
}

func (e *fileError) Unwrap() error { return e.Err }
