package broker

import (
	"crypto/x509"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// Kinds of brokerEvent (mapped to store event kinds by storeRegistry).
const (
	evConnectRefused   = "CONNECT_REFUSED"
	evPublishRefused   = "PUBLISH_REFUSED"
	evSubscribeRefused = "SUBSCRIBE_REFUSED"
	evConnected        = "CONNECTED"
	evDisconnected     = "DISCONNECTED"
)

// registry is what the broker needs from the store (storeRegistry implements it
// over aws/local/store).
type registry interface {
	// Certificate returns the registered certificate with this ID, or nil.
	Certificate(certID string) (*certRecord, error)
	// IssuerOf returns the registered CA whose certificate signed leaf, or nil.
	IssuerOf(leaf *x509.Certificate) (*caRecord, error)
	// Authorization returns what policy evaluation needs for a certificate.
	Authorization(certID string) (authzView, error)
	// AutoRegister registers the certificate PENDING_ACTIVATION (if it is not yet)
	// and runs JITP when the CA has a registration config. A provisioning failure is
	// not an error: it is recorded (event + result.Error) and the certificate stays
	// PENDING_ACTIVATION. err is for the store failing.
	AutoRegister(req autoRegRequest) (autoRegResult, error)
	// RecordEvent appends to the event log (best effort).
	RecordEvent(ev brokerEvent)
}

type certRecord struct {
	Status          string
	CACertificateID string
	Mode            string
}

type caRecord struct {
	ID               string
	Status           string
	AutoRegistration string
	Mode             string
	Cert             *x509.Certificate
}

type namedPolicy struct {
	Name, Document string
}

type authzView struct {
	Status   string
	Policies []namedPolicy
	Things   map[string]policy.Thing
}

// autoRegRequest describes a first connect to auto-register.
type autoRegRequest struct {
	Leaf     *x509.Certificate
	CertID   string
	CA       caRecord
	ClientID string
	Region   string
	Account  string
	Now      time.Time
	Start    time.Time // when the CONNECT arrived (for the event's duration)
}

// autoRegResult is what the first connect did.
type autoRegResult struct {
	JITP         bool   // a template ran (else JITR: event only)
	Thing        string // thing created or reused
	Policy       string // policy created or reused
	Status       string // certificate status afterwards
	Error        string // why provisioning failed (AWS wording), "" on success
	Skipped      bool   // the certificate had already left PENDING_ACTIVATION
	RegisteredAt time.Time
	Duration     time.Duration
}

// brokerEvent is one entry of the broker's part of the event log.
type brokerEvent struct {
	Time          time.Time
	Type          string
	CertificateID string
	CACertID      string
	ClientID      string
	SourceIP      string
	Topic         string
	Thing         string
	Policy        string
	Message       string
	Duration      time.Duration
}
