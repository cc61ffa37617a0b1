// Package aws is the one door jitpwiz uses to reach AWS IoT Core, IAM and STS.
// The same implementation (sdk.go, over aws-sdk-go-v2) talks to real AWS and to
// the embedded local IoT Core in aws/local: the local target is only a different
// endpoint URL and dummy credentials, never a separate code path.
package aws

import (
	"context"
	"time"
)

// Config selects the account, region and endpoint. Zero values mean "what the
// standard credential chain and environment say".
type Config struct {
	Profile     string // shared-config profile (also SSO profiles)
	Region      string // e.g. us-east-2; empty: from env/profile
	EndpointURL string // custom endpoint for IoT, IAM and STS (the local target sets this)
	// StaticAccessKeyID/StaticSecretKey force static credentials (the local target's dummy keys).
	StaticAccessKeyID string
	StaticSecretKey   string

	// MaxAttempts is the SDK retryer's attempt count for throttling, 5xx and network
	// errors (0: DefaultMaxAttempts). MaxBackoff caps the wait between attempts (0: DefaultMaxBackoff).
	MaxAttempts int
	MaxBackoff  time.Duration
	// RoleWait bounds how long RegisterCA retries while AWS IoT cannot use a freshly
	// created provisioning role yet (0: DefaultRoleWait; negative: no retry).
	RoleWait time.Duration
}

// Client is everything the steps need from the cloud side. Errors returned are *Error
// (see errors.go) whenever the cause is known, so a step can show the cause and the fix.
type Client interface {
	Region() string
	// CallerAccount returns the 12-digit account ID (STS GetCallerIdentity).
	CallerAccount(ctx context.Context) (string, error)
	// DataEndpoint returns the iot:Data-ATS host name (DescribeEndpoint).
	DataEndpoint(ctx context.Context) (string, error)

	GetRegistrationCode(ctx context.Context) (string, error)
	// RegisterCA registers a CA. If the CA is already registered the error is an *Error
	// of Kind AlreadyExists carrying ResourceID/ResourceARN.
	RegisterCA(ctx context.Context, in RegisterCAInput) (CARef, error)
	DescribeCA(ctx context.Context, caID string) (CADescription, error)
	UpdateCA(ctx context.Context, caID string, in UpdateCAInput) error
	ListCAs(ctx context.Context) ([]CASummary, error)
	DeleteCA(ctx context.Context, caID string) error
	// FindCA returns the registered CA with this certificate ID, or (nil, nil) if none.
	FindCA(ctx context.Context, caID string) (*CADescription, error)

	DescribeCertificate(ctx context.Context, certID string) (CertDescription, error)
	UpdateCertificate(ctx context.Context, certID, newStatus string) error
	DeleteCertificate(ctx context.Context, certID string, force bool) error
	ListCertificatesByCA(ctx context.Context, caID string) ([]CertSummary, error)

	// DescribeThing returns an *Error of Kind NotFound when the thing does not exist.
	DescribeThing(ctx context.Context, name string) (Thing, error)
	ListThings(ctx context.Context) ([]Thing, error)
	// CreateThing creates a thing with these attributes, or finds the one that exists
	// (created false): an existing thing is returned as it is, whatever its attributes.
	CreateThing(ctx context.Context, name string, attrs map[string]string) (t Thing, created bool, err error)
	DeleteThing(ctx context.Context, name string) error
	ListThingPrincipals(ctx context.Context, name string) ([]string, error)
	// AttachThingPrincipal attaches a certificate (ARN) to a thing, non-exclusively;
	// attaching again changes nothing (already true).
	AttachThingPrincipal(ctx context.Context, name, principalARN string) (already bool, err error)
	DetachThingPrincipal(ctx context.Context, name, principalARN string) error

	CreatePolicy(ctx context.Context, name, document string) (Policy, error)
	GetPolicy(ctx context.Context, name string) (Policy, error)
	DeletePolicy(ctx context.Context, name string) error
	AttachPolicy(ctx context.Context, name, targetARN string) error
	DetachPolicy(ctx context.Context, name, targetARN string) error
	ListAttachedPolicies(ctx context.Context, targetARN string) ([]PolicyRef, error)

	// EnsureRole creates the JITP provisioning role, or reuses and checks an existing one.
	EnsureRole(ctx context.Context, spec RoleSpec) (Role, error)

	// What clean needs on AWS's timing (issue 18).

	// ListTargetsForPolicy lists what a policy is attached to (certificate ARNs, thing-group
	// ARNs, Cognito identities): clean keeps a policy others still use, and waits out the
	// minutes after a detach in which AWS still refuses DeletePolicy.
	ListTargetsForPolicy(ctx context.Context, name string) ([]string, error)

	// Read-only lookups of the role, templates, thing types and groups and a certificate's
	// things that doctor checks (inspect.go).
	Inspector
}

// Certificate and CA statuses as AWS spells them.
const (
	StatusActive            = "ACTIVE"
	StatusInactive          = "INACTIVE"
	StatusRevoked           = "REVOKED"
	StatusPendingActivation = "PENDING_ACTIVATION"
	StatusPendingTransfer   = "PENDING_TRANSFER"
	StatusRegisterInactive  = "REGISTER_INACTIVE"

	AutoRegEnable  = "ENABLE"
	AutoRegDisable = "DISABLE"
)

type RegistrationConfig struct {
	TemplateBody string `json:"templateBody,omitempty"`
	RoleArn      string `json:"roleArn,omitempty"`
	TemplateName string `json:"templateName,omitempty"`
}

type RegisterCAInput struct {
	CACertificatePEM           string
	VerificationCertificatePEM string // empty for SNI_ONLY
	SetAsActive                bool
	AllowAutoRegistration      bool
	RegistrationConfig         *RegistrationConfig
	CertificateMode            string // "" (DEFAULT) or "SNI_ONLY"
	// OnRoleRetry, when set, is told each time RegisterCA waits for a provisioning role that
	// AWS IoT cannot use yet (IAM propagation), before the wait: how long, how long is left
	// of RoleWait, and AWS's message.
	OnRoleRetry func(wait, left time.Duration, message string)
}

type UpdateCAInput struct {
	NewStatus                 string // "" leaves it
	NewAutoRegistrationStatus string // "" leaves it
	RegistrationConfig        *RegistrationConfig
	RemoveAutoRegistration    bool
}

type CARef struct {
	ID  string
	ARN string
}

type CADescription struct {
	ID                     string
	ARN                    string
	Status                 string
	AutoRegistrationStatus string
	CertificatePEM         string
	OwnedBy                string
	CertificateMode        string
	CreationDate           time.Time
	NotBefore, NotAfter    time.Time
	RegistrationConfig     *RegistrationConfig
}

type CASummary struct {
	ID           string
	ARN          string
	Status       string
	CreationDate time.Time
}

type CertDescription struct {
	ID                  string
	ARN                 string
	CAID                string
	Status              string
	CertificatePEM      string
	CreationDate        time.Time
	LastModifiedDate    time.Time
	NotBefore, NotAfter time.Time
}

type CertSummary struct {
	ID           string
	ARN          string
	Status       string
	CreationDate time.Time
}

type Thing struct {
	Name       string
	ID         string
	ARN        string
	TypeName   string
	Attributes map[string]string
	Version    int64
}

type Policy struct {
	Name      string
	ARN       string
	Document  string
	VersionID string
}

type PolicyRef struct {
	Name string
	ARN  string
}

// RoleSpec describes the JITP provisioning role. Zero values take the walkthrough's defaults:
// name JITPRole, trusted by iot.amazonaws.com (with the SourceAccount/SourceArn condition),
// AWSIoTThingsRegistration + AWSIoTLogging + AWSIoTRuleActions attached.
type RoleSpec struct {
	Name              string
	Account           string // for the trust condition
	Region            string // for the trust condition
	ManagedPolicyARNs []string
	// TrustCondition adds the confused-deputy condition (aws:SourceAccount, aws:SourceArn) to
	// the trust policy of a role EnsureRole creates. Off by default: AWS documents the
	// condition for AWS IoT roles in general, but not that JITP sends these keys when it
	// assumes the provisioning role (see TrustPolicy).
	TrustCondition bool
	// ExistingARN, when set, is a role made by someone else (--role-arn): EnsureRole makes no
	// IAM change, and only reads what it may (GetRole, ListAttachedRolePolicies) to check it.
	ExistingARN string
}

type Role struct {
	Name    string
	ARN     string
	Created bool     // false: an existing role was reused
	Notes   []string // what was checked or repaired on a reused role
}
