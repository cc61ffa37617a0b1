package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"strconv"
	"time"
)

// ErrWrongIssuer: a certificate was not signed by the given CA.
var ErrWrongIssuer error = sentinel("wrong-issuer")

// ErrWrongRegistrationCode: a verification certificate's CN is not the registration code.
var ErrWrongRegistrationCode error = sentinel("wrong-registration-code")

// KeyMatchesCert reports whether key is the private key of cert.
func KeyMatchesCert(key crypto.Signer, cert *x509.Certificate) bool {
	return key != nil && cert != nil && publicKeysEqual(key.Public(), cert.PublicKey)
}

// CheckIssuedBy checks that cert was signed by ca (signature and issuer name) and that
// both are valid at now. Errors wrap ErrWrongIssuer or ErrExpired and say what to do.
func CheckIssuedBy(cert, ca *x509.Certificate, now time.Time) error {
	if err := cert.CheckSignatureFrom(ca); err != nil {
		if errors.Is(err, x509.ConstraintViolationError{}) {
			return errorWith(ErrNotCA, "err.not-ca-constraint", "Why", err.Error())
		}
		return errorWith(ErrWrongIssuer, "err.wrong-issuer-signature", "Cert", describeCert(cert), "Issuer", strconv.Quote(cert.Issuer.String()),
			"CA", strconv.Quote(ca.Subject.String()), "Why", err.Error())
	}
	// Same key, other subject (a CA certificate made again with a new name): the signature
	// verifies, but chain building matches issuer to subject, so this CA does not issue it.
	if !bytes.Equal(cert.RawIssuer, ca.RawSubject) {
		return errorWith(ErrWrongIssuer, "err.wrong-issuer-name", "Cert", describeCert(cert), "Issuer", strconv.Quote(cert.Issuer.String()),
			"CA", strconv.Quote(ca.Subject.String()))
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
		return errorWith(ErrWrongRegistrationCode, "err.wrong-code", "CN", strconv.Quote(cert.Subject.CommonName), "Code", strconv.Quote(registrationCode))
	}
	return nil
}
