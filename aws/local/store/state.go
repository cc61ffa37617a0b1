package store

import (
	"crypto/x509"
	"maps"
	"slices"
	"time"
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
	MaxCAsPerSubject   = 10 // CA certificates with the same subject per account/region
	MaxPoliciesPerCert = 10 // policies attached to one certificate (target)
	MaxEvents          = 1000
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
	Version    int64             `json:"version"`
	Created    time.Time         `json:"created"`
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
	Params  map[string]string `json:"params,omitempty"` // e.g. the JITP parameter dictionary
}

// State is everything the local IoT Core knows. It is only touched inside
// Store.Update / Store.View; maps are keyed by ID or name.
type State struct {
	Version          int                     `json:"version"` // file format version
	Account          string                  `json:"account"`
	Region           string                  `json:"region"`
	RegistrationCode string                  `json:"registrationCode,omitempty"` // empty until GetRegistrationCode
	EndpointPrefix   string                  `json:"endpointPrefix"`
	CAs              map[string]*CA          `json:"cas"`
	Certificates     map[string]*Certificate `json:"certificates"`
	Things           map[string]*Thing       `json:"things"`
	Policies         map[string]*Policy      `json:"policies"`
	PolicyTargets    []PolicyAttachment      `json:"policyTargets"`
	ThingPrincipals  []ThingPrincipal        `json:"thingPrincipals"`
	Roles            map[string]*Role        `json:"roles"`
	// Events is the event log, oldest first (the newest MaxEvents). It is kept in
	// events.jsonl, not in state.json, so a busy log does not make every transaction
	// rewrite it; NextEventSeq follows from it.
	Events       []Event `json:"-"`
	NextEventSeq int64   `json:"-"`

	now    func() time.Time
	random func([]byte)
	added  []Event // events added in the current transaction, published on commit
}

const stateVersion = 1

func newState(account, region string) *State {
	st := &State{Version: stateVersion, Account: account, Region: region}
	st.fill()
	return st
}

// fill makes nil maps non-nil (after decoding an older or hand-edited file).
func (st *State) fill() {
	if st.CAs == nil {
		st.CAs = map[string]*CA{}
	}
	if st.Certificates == nil {
		st.Certificates = map[string]*Certificate{}
	}
	if st.Things == nil {
		st.Things = map[string]*Thing{}
	}
	if st.Policies == nil {
		st.Policies = map[string]*Policy{}
	}
	if st.Roles == nil {
		st.Roles = map[string]*Role{}
	}
	if st.NextEventSeq == 0 {
		st.NextEventSeq = 1
	}
}

// clone is a deep copy, so a failed transaction leaves the committed state untouched.
func (st *State) clone() *State {
	c := *st
	c.CAs = make(map[string]*CA, len(st.CAs))
	for k, v := range st.CAs {
		x := *v
		if v.RegistrationConfig != nil {
			rc := *v.RegistrationConfig
			x.RegistrationConfig = &rc
		}
		x.Tags = slices.Clone(v.Tags)
		c.CAs[k] = &x
	}
	c.Certificates = make(map[string]*Certificate, len(st.Certificates))
	for k, v := range st.Certificates {
		x := *v
		c.Certificates[k] = &x
	}
	c.Things = make(map[string]*Thing, len(st.Things))
	for k, v := range st.Things {
		x := *v
		x.Attributes = maps.Clone(v.Attributes)
		c.Things[k] = &x
	}
	c.Policies = make(map[string]*Policy, len(st.Policies))
	for k, v := range st.Policies {
		x := *v
		x.Tags = slices.Clone(v.Tags)
		c.Policies[k] = &x
	}
	c.Roles = make(map[string]*Role, len(st.Roles))
	for k, v := range st.Roles {
		x := *v
		x.AttachedPolicies = slices.Clone(v.AttachedPolicies)
		x.Tags = slices.Clone(v.Tags)
		c.Roles[k] = &x
	}
	c.PolicyTargets = slices.Clone(st.PolicyTargets)
	c.ThingPrincipals = slices.Clone(st.ThingPrincipals)
	// Events are append-only and never mutated in place; sharing the backing array is
	// safe as long as appends copy (see AddEvent).
	c.Events = st.Events[:len(st.Events):len(st.Events)]
	c.added = nil
	return &c
}

// Now is the store's clock (time.Now unless the Store was opened with Options.Now).
func (st *State) Now() time.Time {
	if st.now != nil {
		return st.now()
	}
	return time.Now()
}
