package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// ErrWrongIssuer: a certificate was not signed by the given CA.
var ErrWrongIssuer = errors.New("the certificate was not signed by this CA")

// ErrWrongRegistrationCode: a verification certificate's CN is not the registration code.
var ErrWrongRegistrationCode = errors.New("the verification certificate's common name is not the registration code")

// KeyMatchesCert reports whether key is the private key of cert.
func KeyMatchesCert(key crypto.Signer, cert *x509.Certificate) bool {
	return key != nil && cert != nil && publicKeysEqual(key.Public(), cert.PublicKey)
}

// CheckIssuedBy checks that cert was signed by ca (signature and issuer name) and that
// both are valid at now. Errors wrap ErrWrongIssuer or ErrExpired and say what to do.
func CheckIssuedBy(cert, ca *x509.Certificate, now time.Time) error {
	if err := cert.CheckSignatureFrom(ca); err != nil {
		if errors.Is(err, x509.ConstraintViolationError{}) {
			return fmt.Errorf("%w: %s", ErrNotCA, err)
		}
		return fmt.Errorf("%w: %s is issued by %q, but the CA is %q (%v) — sign it with the CA you registered, or register the CA that signed it",
			ErrWrongIssuer, describeCert(cert), cert.Issuer.String(), ca.Subject.String(), err)
	}
	// Same key, other subject (a CA certificate made again with a new name): the signature
	// verifies, but chain building matches issuer to subject, so this CA does not issue it.
	if !bytes.Equal(cert.RawIssuer, ca.RawSubject) {
		return fmt.Errorf("%w: %s names its issuer %q, but the CA certificate is %q (same key, other name) — issue it again with this CA certificate",
			ErrWrongIssuer, describeCert(cert), cert.Issuer.String(), ca.Subject.String())
	}
	if err := CheckValidity(cert, now); err != nil {
		return err
	}
	return CheckValidity(ca, now)
}

// CheckVerificationCert checks a CA registration verification certificate the way AWS IoT
// does: signed by the CA, and its CN equal to the registration code.
func CheckVerificationCert(cert, ca *x509.Certificate, registrationCode string, now time.Time) error {
	if err := CheckIssuedBy(cert, ca, now); err != nil {
		return err
	}
	if cert.Subject.CommonName != registrationCode {
		return fmt.Errorf("%w: CN is %q, the registration code is %q — create the verification certificate again with -subj \"/CN=<registration code>\" (codes differ per account and region)",
			ErrWrongRegistrationCode, cert.Subject.CommonName, registrationCode)
	}
	return nil
}
