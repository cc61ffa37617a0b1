package store

import (
	"crypto/x509"
	"encoding/hex"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Status values, spelled as AWS spells them.
const (
	StatusActive            = "ACTIVE"
	StatusInactive          = "INACTIVE"
	StatusRevoked           = "REVOKED"
	StatusPendingActivation = "PENDING_ACTIVATION"
	StatusPendingTransfer   = "PENDING_TRANSFER"
	StatusRegisterInactive  = "REGISTER_INACTIVE"

	AutoRegEnable  = "ENABLE"
	AutoRegDisable = "DISABLE"

	ModeDefault = "DEFAULT"
	ModeSNIOnly = "SNI_ONLY"
)

// Limits AWS enforces that the store enforces too (jitp-spec §5).
const (
	MaxCAsPerSubject   = 10   // CA certificates with the same subject per account/region
	MaxPoliciesPerCert = 10   // policies attached to one certificate (target)
	MaxEvents          = 1000 // the event log keeps the newest MaxEvents
)

// RegistrationConfig is a CA's JITP configuration (templateBody + roleArn, or templateName).
type RegistrationConfig struct {
	TemplateBody string `json:"templateBody,omitempty"`
	RoleArn      string `json:"roleArn,omitempty"`
	TemplateName string `json:"templateName,omitempty"`
}

// IsZero reports whether no member is set (no JITP: the CA does JITR only).
func (c *RegistrationConfig) IsZero() bool {
	return c == nil || (c.TemplateBody == "" && c.RoleArn == "" && c.TemplateName == "")
}

// Tag is an AWS resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// CA is a registered CA certificate (RegisterCACertificate).
type CA struct {
	ID                     string              `json:"id"`  // SHA-256 of the DER, lowercase hex
	ARN                    string              `json:"arn"` // arn:aws:iot:<region>:<acct>:cacert/<id>
	PEM                    string              `json:"pem"`
	SubjectKey             string              `json:"subjectKey"` // hex of the raw subject, for the 10-per-subject limit
	Status                 string              `json:"status"`     // ACTIVE | INACTIVE
	AutoRegistrationStatus string              `json:"autoRegistrationStatus"`
	RegistrationConfig     *RegistrationConfig `json:"registrationConfig,omitempty"`
	Mode                   string              `json:"mode"`  // DEFAULT | SNI_ONLY
	Owner                  string              `json:"owner"` // account ID
	CustomerVersion        int                 `json:"customerVersion"`
	GenerationID           string              `json:"generationId"`
	NotBefore              time.Time           `json:"notBefore"`
	NotAfter               time.Time           `json:"notAfter"`
	Tags                   []Tag               `json:"tags,omitempty"`
	Created                time.Time           `json:"created"`
	Modified               time.Time           `json:"modified"`

	cert *x509.Certificate // parsed PEM, cached
}

// Cert returns the parsed CA certificate (nil only if the stored PEM is damaged).
func (c *CA) Cert() *x509.Certificate {
	if c.cert == nil {
		c.cert, _ = parseCert(c.PEM)
	}
	return c.cert
}

// subjectKey is SubjectKey, or for a record made without it, the same from the PEM.
func (c *CA) subjectKey() string {
	if c.SubjectKey != "" {
		return c.SubjectKey
	}
	if cert := c.Cert(); cert != nil {
		return hex.EncodeToString(cert.RawSubject)
	}
	return ""
}

// JITPEnabled reports whether a first connect of a cert issued by this CA is
// auto-registered: ACTIVE and auto-registration ENABLE.
func (c *CA) JITPEnabled() bool {
	return c.Status == StatusActive && c.AutoRegistrationStatus == AutoRegEnable
}

// Certificate is a device certificate (registered by JITP/JITR on first connect).
type Certificate struct {
	ID              string    `json:"id"`  // SHA-256 of the DER, lowercase hex
	ARN             string    `json:"arn"` // arn:aws:iot:<region>:<acct>:cert/<id>
	CAID            string    `json:"caId,omitempty"`
	PEM             string    `json:"pem"`
	Status          string    `json:"status"`
	Mode            string    `json:"mode"`
	Owner           string    `json:"owner"`
	CustomerVersion int       `json:"customerVersion"`
	GenerationID    string    `json:"generationId"`
	NotBefore       time.Time `json:"notBefore"`
	NotAfter        time.Time `json:"notAfter"`
	Created         time.Time `json:"created"`
	Modified        time.Time `json:"modified"`

	cert *x509.Certificate
}

// Cert returns the parsed certificate (nil only if the stored PEM is damaged).
func (c *Certificate) Cert() *x509.Certificate {
	if c.cert == nil {
		c.cert, _ = parseCert(c.PEM)
	}
	return c.cert
}

// Thing is an IoT thing.
type Thing struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"` // UUID
	ARN        string            `json:"arn"`
	TypeName   string            `json:"typeName,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// BillingGroup is the billing group the thing belongs to (a thing is in at most one).
	BillingGroup string    `json:"billingGroup,omitempty"`
	Version      int64     `json:"version"`
	Created      time.Time `json:"created"`
}

// Policy is an IoT policy (single default version "1"; versions beyond that are not emulated).
type Policy struct {
	Name             string    `json:"name"`
	ARN              string    `json:"arn"`
	Document         string    `json:"document"`
	DefaultVersionID string    `json:"defaultVersionId"`
	GenerationID     string    `json:"generationId"`
	Tags             []Tag     `json:"tags,omitempty"`
	Created          time.Time `json:"created"`
	Modified         time.Time `json:"modified"`
	// Detached is when the policy was last detached from a target: DeletePolicy is
	// refused for Latency.PolicyDeleteAfterDetach after it.
	Detached time.Time `json:"detached,omitzero"`
}

// PolicyAttachment is AttachPolicy(Policy, Target); Target is a certificate ARN (or any
// target ARN the caller gave).
type PolicyAttachment struct {
	Policy string `json:"policy"`
	Target string `json:"target"`
}

// ThingPrincipal is AttachThingPrincipal(Thing, Principal); Principal is a certificate ARN.
type ThingPrincipal struct {
	Thing     string `json:"thing"`
	Principal string `json:"principal"`
	Type      string `json:"type,omitempty"` // NON_EXCLUSIVE_THING (default) | EXCLUSIVE_THING
	// DetachAt, when set, is when an asynchronous DetachThingPrincipal takes effect: the
	// attachment counts until then and not after (Latency.DetachThingPrincipal).
	DetachAt time.Time `json:"detachAt,omitzero"`
}

// attached reports whether the attachment is in effect at now.
func (a *ThingPrincipal) attached(now time.Time) bool {
	return a.DetachAt.IsZero() || now.Before(a.DetachAt)
}

// Role is an IAM role.
type Role struct {
	Name               string    `json:"name"`
	ID                 string    `json:"id"` // AROA…
	ARN                string    `json:"arn"`
	Path               string    `json:"path"`
	TrustPolicy        string    `json:"trustPolicy"` // AssumeRolePolicyDocument (JSON, not URL-encoded)
	Description        string    `json:"description,omitempty"`
	MaxSessionDuration int       `json:"maxSessionDuration"`
	AttachedPolicies   []string  `json:"attachedPolicies,omitempty"` // managed policy ARNs
	Tags               []Tag     `json:"tags,omitempty"`
	Created            time.Time `json:"created"`
}

// Event kinds written to the event log (the local stand-in for CloudTrail/CloudWatch).
// Producers may use other kinds; these are the ones jitpwiz knows how to explain.
const (
	EventCARegistered         = "CARegistered"          // RegisterCACertificate
	EventCertRegistered       = "CertificateRegistered" // auto-registration (JITR/JITP) put a cert PENDING_ACTIVATION
	EventJITRPublished        = "JITRPublished"         // the registered event went to $aws/events/certificates/registered/<caId>
	EventProvisioned          = "RegisterThing"         // JITP template ran: thing/policy/attachments made, cert ACTIVE
	EventProvisioningFailed   = "RegisterThingFailed"   // JITP template failed; cert stays PENDING_ACTIVATION; Message says why
	EventConnectRefused       = "ConnectRefused"        // a TLS/MQTT connection was refused; Message says why
	EventAuthorizationFailure = "AuthorizationFailure"  // iot:Connect/Publish/Subscribe/Receive denied
	EventConnected            = "Connected"
	EventDisconnected         = "Disconnected"
	EventStateMigrated        = "StateMigrated" // Open moved an older jitpwiz's state.json into the database
)

// The reasons of a RegisterThingFailed event (Event.Reason): what failed, stably, for a
// program that explains it (doctor); Message says it in AWS's words.
const (
	ProvisionUnresolvedRef    = "unresolved-ref"     // a Ref or ${Name} of the template that no parameter resolves
	ProvisionMissingParameter = "missing-parameter"  // a declared parameter the certificate does not provide
	ProvisionTemplateInvalid  = "template-invalid"   // the template does not parse or evaluate otherwise
	ProvisionTemplateNotFound = "template-not-found" // the provisioning template the CA names
	ProvisionPolicyNotFound   = "policy-not-found"   // a PolicyName the template attaches
	ProvisionResourceNotFound = "resource-not-found" // a thing type, thing group or billing group the template names
	ProvisionNoRole           = "no-role"            // the registration config has no roleArn
	ProvisionRoleMissing      = "role-missing"       // the role does not exist
	ProvisionRoleUntrusted    = "role-untrusted"     // its trust policy does not let iot.amazonaws.com assume it
	ProvisionRoleNotReady     = "role-not-ready"     // too new for AWS IoT to use (IAM is eventually consistent)
	ProvisionRoleDenied       = "role-denied"        // its permission policies do not allow a call provisioning makes
)

// Event is one entry of the event log.
type Event struct {
	Seq     int64             `json:"seq"` // assigned by the store, increasing
	Time    time.Time         `json:"time"`
	Kind    string            `json:"kind"`
	CertID  string            `json:"certId,omitempty"`
	CAID    string            `json:"caId,omitempty"`
	Thing   string            `json:"thing,omitempty"`
	Client  string            `json:"clientId,omitempty"`
	Message string            `json:"message"`
	Error   string            `json:"error,omitempty"`  // AWS error code on failure, e.g. InvalidRequestException
	Reason  string            `json:"reason,omitempty"` // RegisterThingFailed: what failed, stably (Provision…)
	Params  map[string]string `json:"params,omitempty"` // e.g. the JITP parameter dictionary
}

// State is the local IoT Core as one transaction sees it: Store.Update and Store.View
// hand one to their function, and the helpers on it (ops.go) read and change the
// records in the database. A State is only valid inside that function.
type State struct {
	Account string
	Region  string
	// RegistrationCode is empty until GetRegistrationCode; a change is saved on commit.
	RegistrationCode string
	EndpointPrefix   string

	s       *Store
	tx      *bolt.Tx
	recs    map[string]any      // records read or written in this transaction, by cacheKey
	dirty   map[string]*tracked // write transactions: records to write back if changed
	err     error               // first storage failure; the transaction fails with it
	code0   string              // RegistrationCode as stored
	nextSeq int64
	added   []Event // events added in this transaction, published on commit
}

// Format versions: 1 was state.json (+ events.jsonl); 2 is state.db.
const (
	legacyStateVersion = 1
	stateVersion       = 2
)

// Now is the store's clock (time.Now unless the Store was opened with Options.Now).
func (st *State) Now() time.Time { return st.s.opts.Now() }

// fail records a storage failure: the transaction returns it and rolls back.
func (st *State) fail(err error) {
	if st.err == nil {
		st.err = err
	}
}

// flush writes back every record changed in place since it was read or last flushed.
func (st *State) flush() {
	for ck := range st.dirty {
		st.flushOne(ck)
	}
}

func (st *State) flushOne(ck string) {
	t := st.dirty[ck]
	if t == nil || st.err != nil {
		return
	}
	b, err := t.flush(st, t.stored)
	if err != nil {
		st.fail(Errorf(CodeInternalFailure, "cannot save the local IoT state: %v", err))
		return
	}
	t.stored = b
}
