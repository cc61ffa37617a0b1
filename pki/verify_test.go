package pki

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckIssuedByAndVerificationCert(t *testing.T) {
	t.Parallel()
	ca, other := testCA(t, EC256), testCA(t, EC256)
	code := strings.Repeat("ab", 32)
	vc, vkey := leafFor(t, ca, Subject{CommonName: code})
	now := time.Now()
	if err := CheckVerificationCert(vc, ca.Cert, code, now); err != nil {
		t.Fatal(err)
	}
	k, _ := ParseKeyPEM(vkey)
	if !KeyMatchesCert(k, vc) || KeyMatchesCert(ca.Key, vc) {
		t.Error("KeyMatchesCert")
	}
	err := CheckVerificationCert(vc, other.Cert, code, now)
	if !errors.Is(err, ErrWrongIssuer) || !strings.Contains(err.Error(), "register the CA that signed it") {
		t.Errorf("other CA: %v", err)
	}
	err = CheckVerificationCert(vc, ca.Cert, strings.Repeat("cd", 32), now)
	if !errors.Is(err, ErrWrongRegistrationCode) || !strings.Contains(err.Error(), code) {
		t.Errorf("wrong code: %v", err)
	}
	if err := CheckIssuedBy(vc, ca.Cert, now.AddDate(2, 0, 0)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired leaf: %v", err)
	}
	// The CA certificate made again from the same key with another name: the old leaf's
	// signature still verifies, but it is not issued by this certificate.
	renamed, err := SelfSignCA(ca.Key, Subject{Country: "DE", Organization: "Renamed"}, CADays)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckIssuedBy(vc, renamed, now); !errors.Is(err, ErrWrongIssuer) || !strings.Contains(err.Error(), "same key, other name") {
		t.Errorf("same key, other subject: %v", err)
	}
}
