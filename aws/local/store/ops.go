package store

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/internal/iamdoc"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The helpers below run inside Store.Update (those that change state) or Store.View.
// Every rule violation is an *APIError with AWS's exception name and status.

// ---- identifiers and ARNs ----

func (st *State) iotARN(kind, name string) string {
	return "arn:" + policy.Partition(st.Region) + ":iot:" + st.Region + ":" + st.Account + ":" + kind + "/" + name
}

// CertARN, CACertARN, ThingARN and PolicyARN build the IoT ARNs of this account/region.
func (st *State) CertARN(id string) string     { return st.iotARN("cert", id) }
func (st *State) CACertARN(id string) string   { return st.iotARN("cacert", id) }
func (st *State) ThingARN(name string) string  { return st.iotARN("thing", name) }
func (st *State) PolicyARN(name string) string { return st.iotARN("policy", name) }
func (st *State) RoleARN(path, n string) string {
	return "arn:" + policy.Partition(st.Region) + ":iam::" + st.Account + ":role" + path + n
}

// CertIDFromARN returns the certificate ID of a cert ARN ("arn:aws:iot:r:a:cert/<id>"),
// or "" if arn is not a certificate ARN.
func CertIDFromARN(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	i := strings.Index(arn, ":cert/")
	if i < 0 {
		return ""
	}
	return arn[i+len(":cert/"):]
}

func (st *State) randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	st.rand(b)
	return hex.EncodeToString(b)[:n]
}

func (st *State) randomLower(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	st.rand(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (st *State) rand(b []byte) { st.s.opts.Random(b) }

// NewUUID returns a random (version 4) UUID, as AWS uses for thing IDs.
func (st *State) NewUUID() string {
	b := make([]byte, 16)
	st.rand(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// EndpointAddress is the host DescribeEndpoint would return on AWS for this state
// (<prefix>-ats.iot.<region>.amazonaws.com); the local server returns its own host.
func (st *State) EndpointAddress() string {
	return st.EndpointPrefix + "-ats.iot." + st.Region + ".amazonaws.com"
}

// ---- registration code ----

// EnsureRegistrationCode returns the account+region registration code, minting one
// (64 lowercase hex characters) if there is none.
func (st *State) EnsureRegistrationCode() string {
	if st.RegistrationCode == "" {
		st.RegistrationCode = st.randomHex(64)
	}
	return st.RegistrationCode
}

// DeleteRegistrationCode forgets the code; the next GetRegistrationCode mints a new one.
func (st *State) DeleteRegistrationCode() { st.RegistrationCode = "" }

// ---- CA certificates ----

// RegisterCAInput is RegisterCACertificate's input. The registration config must have
// been validated by the caller (the template is not the store's business).
type RegisterCAInput struct {
	CACertificatePEM        string
	VerificationCertificate string // PEM; required for DEFAULT, must be empty for SNI_ONLY
	SetAsActive             bool
	AllowAutoRegistration   bool
	RegistrationConfig      *RegistrationConfig
	CertificateMode         string // "" = DEFAULT
	Tags                    []Tag
}

// RegisterCA applies RegisterCACertificate's checks in this order: mode, CA parses, is
// CA:TRUE and in validity, not already registered (409 with resourceId/resourceArn),
// verification certificate (DEFAULT: present, parses, signed by the CA, CN = the current
// registration code; SNI_ONLY: absent), at most MaxCAsPerSubject CAs with this subject.
func (st *State) RegisterCA(in RegisterCAInput) (*CA, error) {
	mode := in.CertificateMode
	if mode == "" {
		mode = ModeDefault
	}
	if mode != ModeDefault && mode != ModeSNIOnly {
		return nil, Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at 'certificateMode' failed to satisfy constraint: Member must satisfy enum value set: [DEFAULT, SNI_ONLY]", in.CertificateMode)
	}
	if strings.TrimSpace(in.CACertificatePEM) == "" {
		return nil, Errorf(CodeInvalidRequest, "1 validation error detected: Value null at 'caCertificate' failed to satisfy constraint: Member must not be null")
	}
	if len(in.CACertificatePEM) > 65536 {
		return nil, Errorf(CodeInvalidRequest, "1 validation error detected: Value at 'caCertificate' failed to satisfy constraint: Member must have length less than or equal to 65536")
	}
	ca, err := parseCert(in.CACertificatePEM)
	if err != nil {
		return nil, Errorf(CodeCertificateValidation, "The CA certificate is not a valid X.509 certificate: %v", err)
	}
	if !ca.BasicConstraintsValid || !ca.IsCA {
		return nil, Errorf(CodeCertificateValidation, "CA certificate %s does not have the basicConstraints extension as true", subjectText(ca))
	}
	now := st.Now()
	if now.Before(ca.NotBefore) || now.After(ca.NotAfter) {
		return nil, Errorf(CodeCertificateValidation, "The CA certificate is not valid at this time (valid %s to %s)", ca.NotBefore.UTC().Format(time.RFC3339), ca.NotAfter.UTC().Format(time.RFC3339))
	}
	id := pki.CertID(ca)
	if get(st, kindCAs, []byte(id)) != nil {
		return nil, AlreadyExists(id, st.CACertARN(id), "The certificate is already provisioned or registered")
	}
	switch mode {
	case ModeSNIOnly:
		if strings.TrimSpace(in.VerificationCertificate) != "" {
			return nil, Errorf(CodeInvalidRequest, "A verification certificate must not be provided when the certificate mode is SNI_ONLY")
		}
	default:
		if strings.TrimSpace(in.VerificationCertificate) == "" {
			return nil, Errorf(CodeInvalidRequest, "A verification certificate is required when the certificate mode is DEFAULT")
		}
		v, err := parseCert(in.VerificationCertificate)
		if err != nil {
			return nil, Errorf(CodeCertificateValidation, "The verification certificate is not a valid X.509 certificate: %v", err)
		}
		if err := v.CheckSignatureFrom(ca); err != nil || !bytes.Equal(v.RawIssuer, ca.RawSubject) {
			return nil, Errorf(CodeCertificateValidation, "The verification certificate is not signed by the CA certificate")
		}
		if now.Before(v.NotBefore) || now.After(v.NotAfter) {
			return nil, Errorf(CodeCertificateValidation, "The verification certificate is not valid at this time (valid %s to %s)", v.NotBefore.UTC().Format(time.RFC3339), v.NotAfter.UTC().Format(time.RFC3339))
		}
		if st.RegistrationCode == "" || v.Subject.CommonName != st.RegistrationCode {
			return nil, Errorf(CodeRegistrationCode, "The registration code is invalid")
		}
	}
	subj := hex.EncodeToString(ca.RawSubject)
	n := len(st.casWithSubject(subj))
	if n >= MaxCAsPerSubject {
		return nil, Errorf(CodeLimitExceeded, "There are already %d CA certificates with the subject %s in this account and region; the limit is %d", n, subjectText(ca), MaxCAsPerSubject)
	}
	rec := &CA{
		ID:                     id,
		ARN:                    st.CACertARN(id),
		PEM:                    string(pki.EncodeCertPEM(ca)),
		SubjectKey:             subj,
		Status:                 StatusInactive,
		AutoRegistrationStatus: AutoRegDisable,
		Mode:                   mode,
		Owner:                  st.Account,
		CustomerVersion:        1,
		GenerationID:           st.NewUUID(),
		NotBefore:              ca.NotBefore.UTC(),
		NotAfter:               ca.NotAfter.UTC(),
		Tags:                   slices.Clone(in.Tags),
		Created:                now,
		Modified:               now,
		cert:                   ca,
	}
	if in.SetAsActive {
		rec.Status = StatusActive
	}
	if in.AllowAutoRegistration {
		rec.AutoRegistrationStatus = AutoRegEnable
	}
	if !in.RegistrationConfig.IsZero() {
		rc := *in.RegistrationConfig
		rec.RegistrationConfig = &rc
	}
	insert(st, kindCAs, rec)
	return rec, nil
}

// CA returns the registered CA with this ID, or ResourceNotFoundException.
func (st *State) CA(id string) (*CA, error) {
	if c := get(st, kindCAs, []byte(normalizeID(id))); c != nil {
		return c, nil
	}
	return nil, Errorf(CodeResourceNotFound, "The certificate %s does not exist", id)
}

// UpdateCAInput is UpdateCACertificate's input; empty strings leave a field unchanged.
type UpdateCAInput struct {
	NewStatus                 string
	NewAutoRegistrationStatus string
	RegistrationConfig        *RegistrationConfig // nil leaves it
	RemoveAutoRegistration    bool                // clears the registration config
}

// UpdateCA applies UpdateCACertificate.
func (st *State) UpdateCA(id string, in UpdateCAInput) error {
	if in.NewStatus != "" && in.NewStatus != StatusActive && in.NewStatus != StatusInactive {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at 'newStatus' failed to satisfy constraint: Member must satisfy enum value set: [ACTIVE, INACTIVE]", in.NewStatus)
	}
	if in.NewAutoRegistrationStatus != "" && in.NewAutoRegistrationStatus != AutoRegEnable && in.NewAutoRegistrationStatus != AutoRegDisable {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at 'newAutoRegistrationStatus' failed to satisfy constraint: Member must satisfy enum value set: [ENABLE, DISABLE]", in.NewAutoRegistrationStatus)
	}
	if in.RemoveAutoRegistration && !in.RegistrationConfig.IsZero() {
		return Errorf(CodeInvalidRequest, "registrationConfig and removeAutoRegistration cannot be used together")
	}
	c, err := st.CA(id)
	if err != nil {
		return err
	}
	if in.NewStatus != "" {
		c.Status = in.NewStatus
	}
	if in.NewAutoRegistrationStatus != "" {
		c.AutoRegistrationStatus = in.NewAutoRegistrationStatus
	}
	if in.RemoveAutoRegistration {
		c.RegistrationConfig = nil
	} else if !in.RegistrationConfig.IsZero() {
		rc := *in.RegistrationConfig
		c.RegistrationConfig = &rc
	}
	c.CustomerVersion++
	c.GenerationID = st.NewUUID()
	c.Modified = st.Now()
	return nil
}

// DeleteCA applies DeleteCACertificate: an ACTIVE CA must be deactivated first.
func (st *State) DeleteCA(id string) error {
	c, err := st.CA(id)
	if err != nil {
		return err
	}
	if c.Status == StatusActive {
		return Errorf(CodeCertificateState, "Certificate must be deactivated (not ACTIVE) before deletion. Id: %s", c.ID)
	}
	remove(st, kindCAs, []byte(c.ID))
	return nil
}

// casWithSubject returns the CAs whose subject is subjectKey (hex of the raw subject).
func (st *State) casWithSubject(subjectKey string) []*CA {
	var out []*CA
	scan(st, kindCAs, &kindCAs.indexes[1], join([]byte(subjectKey), nil), nil, false, func(_ []byte, c *CA) bool {
		out = append(out, c)
		return true
	})
	return out
}

// FindIssuingCA returns the registered CA (any status) that signed leaf: its subject is
// leaf's issuer and its key verifies leaf's signature. If several match (the same CA
// re-issued), an ACTIVE one is preferred, then the oldest. Nil if none.
func (st *State) FindIssuingCA(leaf *x509.Certificate) *CA {
	var found *CA
	for _, c := range st.casWithSubject(hex.EncodeToString(leaf.RawIssuer)) {
		ca := c.Cert()
		if ca == nil || !bytes.Equal(leaf.RawIssuer, ca.RawSubject) || leaf.CheckSignatureFrom(ca) != nil {
			continue
		}
		switch {
		case found == nil,
			c.Status == StatusActive && found.Status != StatusActive,
			(c.Status == StatusActive) == (found.Status == StatusActive) && olderCA(c, found):
			found = c
		}
	}
	return found
}

func olderCA(a, b *CA) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return a.ID < b.ID
}

// ---- device certificates ----

// Certificate returns the device certificate with this ID, or ResourceNotFoundException.
func (st *State) Certificate(id string) (*Certificate, error) {
	if c := get(st, kindCerts, []byte(normalizeID(id))); c != nil {
		return c, nil
	}
	return nil, Errorf(CodeResourceNotFound, "The certificate %s does not exist", id)
}

// LookupCertificate returns the device certificate with this ID (exactly as stored), or nil.
func (st *State) LookupCertificate(id string) *Certificate { return get(st, kindCerts, []byte(id)) }

// CertificateByARN returns the device certificate named by a cert ARN, or ResourceNotFoundException.
func (st *State) CertificateByARN(arn string) (*Certificate, error) {
	id := CertIDFromARN(arn)
	if id == "" {
		return nil, Errorf(CodeInvalidRequest, "%s is not a certificate ARN (arn:aws:iot:<region>:<account>:cert/<certificateId>)", arn)
	}
	c := get(st, kindCerts, []byte(normalizeID(id)))
	if c == nil || c.ARN != arn {
		return nil, Errorf(CodeResourceNotFound, "The certificate %s does not exist", arn)
	}
	return c, nil
}

// RegisterDeviceCert registers a device certificate issued by the registered CA caID
// with the given status (auto-registration uses PENDING_ACTIVATION). An already
// registered certificate is ResourceAlreadyExistsException with its ID and ARN.
func (st *State) RegisterDeviceCert(cert *x509.Certificate, caID, status string) (*Certificate, error) {
	id := pki.CertID(cert)
	if c := get(st, kindCerts, []byte(id)); c != nil {
		return nil, AlreadyExists(c.ID, c.ARN, "The certificate is already provisioned or registered")
	}
	mode := ModeDefault
	if caID != "" {
		ca, err := st.CA(caID)
		if err != nil {
			return nil, err
		}
		mode = ca.Mode
		caID = ca.ID
	}
	switch status {
	case StatusActive, StatusInactive, StatusPendingActivation, StatusRevoked:
	default:
		return nil, Errorf(CodeInvalidRequest, "%s is not a status a certificate can be registered with", status)
	}
	now := st.Now()
	c := &Certificate{
		ID:              id,
		ARN:             st.CertARN(id),
		CAID:            caID,
		PEM:             string(pki.EncodeCertPEM(cert)),
		Status:          status,
		Mode:            mode,
		Owner:           st.Account,
		CustomerVersion: 1,
		GenerationID:    st.NewUUID(),
		NotBefore:       cert.NotBefore.UTC(),
		NotAfter:        cert.NotAfter.UTC(),
		Created:         now,
		Modified:        now,
		cert:            cert,
	}
	insert(st, kindCerts, c)
	return c, nil
}

// SetCertificateStatus changes a device certificate's status without UpdateCertificate's
// caller-facing restrictions (JITP activating a PENDING_ACTIVATION cert uses this).
func (st *State) SetCertificateStatus(id, status string) error {
	c, err := st.Certificate(id)
	if err != nil {
		return err
	}
	if c.Status != status {
		c.Status = status
		c.CustomerVersion++
		c.GenerationID = st.NewUUID()
		c.Modified = st.Now()
	}
	return nil
}

// UpdateCertificate applies UpdateCertificate(newStatus) as a caller may: ACTIVE,
// INACTIVE or REVOKED; a REVOKED certificate cannot be changed.
func (st *State) UpdateCertificate(id, newStatus string) error {
	switch newStatus {
	case StatusActive, StatusInactive, StatusRevoked:
	case StatusPendingTransfer, StatusPendingActivation, StatusRegisterInactive:
		return Errorf(CodeInvalidRequest, "The certificate status cannot be set to %s with UpdateCertificate", newStatus)
	case "":
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value null at 'newStatus' failed to satisfy constraint: Member must not be null")
	default:
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at 'newStatus' failed to satisfy constraint: Member must satisfy enum value set: [ACTIVE, INACTIVE, REVOKED, PENDING_TRANSFER, REGISTER_INACTIVE, PENDING_ACTIVATION]", newStatus)
	}
	c, err := st.Certificate(id)
	if err != nil {
		return err
	}
	if c.Status == StatusRevoked && newStatus != StatusRevoked {
		return Errorf(CodeCertificateState, "The certificate %s is revoked and cannot be changed to %s", c.ID, newStatus)
	}
	if c.Status == StatusPendingTransfer {
		return Errorf(CodeCertificateState, "The certificate %s is pending transfer", c.ID)
	}
	return st.SetCertificateStatus(c.ID, newStatus)
}

// DeleteCertificate applies DeleteCertificate: not while ACTIVE; not while attached to a
// thing; not while policies are attached unless force (then they are detached).
func (st *State) DeleteCertificate(id string, force bool) error {
	c, err := st.Certificate(id)
	if err != nil {
		return err
	}
	if c.Status == StatusActive {
		return Errorf(CodeCertificateState, "Certificate must be deactivated (not ACTIVE) before deletion. Id: %s", c.ID)
	}
	if len(st.ThingsForPrincipal(c.ARN)) > 0 {
		return Errorf(CodeDeleteConflict, "Things must be detached before deletion (arn: %s)", c.ARN)
	}
	st.purgeDetached(attachmentRecords(st, &kindThingPrincipals.indexes[0], c.ARN))
	if len(st.PolicyNamesForTarget(c.ARN)) > 0 {
		if !force {
			return Errorf(CodeDeleteConflict, "Certificate policies must be detached before deletion (arn: %s)", c.ARN)
		}
		for _, name := range st.PolicyNamesForTarget(c.ARN) {
			remove(st, kindPolicyTargets, join([]byte(c.ARN), []byte(name)))
		}
	}
	remove(st, kindCerts, []byte(c.ID))
	return nil
}

// ---- things ----

var thingNameRE = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)

// ValidThingName reports an InvalidRequestException unless name is 1..128 of [a-zA-Z0-9:_-].
func ValidThingName(name string) error {
	if !thingNameRE.MatchString(name) {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+ and have length between 1 and 128", name)
	}
	return nil
}

// Thing returns the thing, or ResourceNotFoundException.
func (st *State) Thing(name string) (*Thing, error) {
	if t := st.LookupThing(name); t != nil {
		return t, nil
	}
	return nil, Errorf(CodeResourceNotFound, "Thing %s cannot be found.", name)
}

// LookupThing returns the thing with this name, or nil.
func (st *State) LookupThing(name string) *Thing { return get(st, kindThings, []byte(name)) }

// CreateThing creates a thing (version 1). An existing thing with the same name is
// ResourceAlreadyExistsException unless its type and attributes are identical, in which
// case it is returned unchanged (as AWS's CreateThing does).
func (st *State) CreateThing(name, typeName string, attrs map[string]string) (*Thing, error) {
	if err := ValidThingName(name); err != nil {
		return nil, err
	}
	if t := st.LookupThing(name); t != nil {
		if t.TypeName == typeName && maps.Equal(t.Attributes, attrs) {
			return t, nil
		}
		return nil, AlreadyExists(t.ID, t.ARN, "Thing %s already exists in account with different attributes", name)
	}
	if err := st.CheckThingTypeUsable(typeName); err != nil {
		return nil, err
	}
	t := &Thing{Name: name, ID: st.NewUUID(), ARN: st.ThingARN(name), TypeName: typeName, Version: 1, Created: st.Now()}
	if len(attrs) > 0 {
		t.Attributes = make(map[string]string, len(attrs))
		for k, v := range attrs {
			t.Attributes[k] = v
		}
	}
	insert(st, kindThings, t)
	return t, nil
}

// DeleteThing applies DeleteThing: an absent thing is success; a thing with principals
// attached is InvalidRequestException; expectedVersion (if non-nil) must match.
func (st *State) DeleteThing(name string, expectedVersion *int64) error {
	t := st.LookupThing(name)
	if t == nil {
		return nil
	}
	if expectedVersion != nil && *expectedVersion != t.Version {
		return Errorf(CodeVersionConflict, "The version for thing %s does not match the expected version.", name)
	}
	if len(st.PrincipalsOfThing(name)) > 0 {
		return Errorf(CodeInvalidRequest, "Cannot delete. Thing %s is still attached to one or more principals", name)
	}
	st.purgeDetached(attachmentRecords(st, nil, name))
	st.removeThingFromAllGroups(name)
	remove(st, kindThings, []byte(name))
	return nil
}

// Thing principal attachment types.
const (
	NonExclusiveThing = "NON_EXCLUSIVE_THING"
	ExclusiveThing    = "EXCLUSIVE_THING"
)

// AttachThingPrincipal attaches a principal (certificate ARN) to a thing; attaching
// again is a no-op. Thing and certificate must exist.
func (st *State) AttachThingPrincipal(thing, principal, typ string) error {
	if _, err := st.Thing(thing); err != nil {
		return err
	}
	if _, err := st.CertificateByARN(principal); err != nil {
		return err
	}
	if typ == "" {
		typ = NonExclusiveThing
	}
	if typ != NonExclusiveThing && typ != ExclusiveThing {
		return Errorf(CodeInvalidRequest, "thingPrincipalType must be EXCLUSIVE_THING or NON_EXCLUSIVE_THING, not %s", typ)
	}
	if typ == ExclusiveThing {
		for _, other := range st.ThingsForPrincipal(principal) {
			if other != thing {
				return Errorf(CodeInvalidRequest, "The principal %s is already attached to thing %s; an exclusive attachment allows one thing", principal, other)
			}
		}
	}
	if tp := get(st, kindThingPrincipals, join([]byte(thing), []byte(principal))); tp != nil {
		tp.Type = typ
		tp.DetachAt = time.Time{} // attaching again cancels a detach still propagating
		return nil
	}
	insert(st, kindThingPrincipals, &ThingPrincipal{Thing: thing, Principal: principal, Type: typ})
	return nil
}

// DetachThingPrincipal detaches a principal from a thing (the thing must exist; a
// principal that is not attached is a no-op). With Latency.DetachThingPrincipal the
// attachment stays in effect for that long, as AWS's asynchronous detach does.
func (st *State) DetachThingPrincipal(thing, principal string) error {
	if _, err := st.Thing(thing); err != nil {
		return err
	}
	key := join([]byte(thing), []byte(principal))
	d := st.s.opts.Latency.DetachThingPrincipal
	tp := get(st, kindThingPrincipals, key)
	switch {
	case tp == nil:
	case d <= 0 || !tp.attached(st.Now()):
		remove(st, kindThingPrincipals, key)
	case tp.DetachAt.IsZero():
		tp.DetachAt = st.Now().Add(d)
	}
	return nil
}

// purgeDetached removes attachments whose asynchronous detach has taken effect.
func (st *State) purgeDetached(recs []*ThingPrincipal) {
	now := st.Now()
	for _, tp := range recs {
		if !tp.attached(now) {
			remove(st, kindThingPrincipals, join([]byte(tp.Thing), []byte(tp.Principal)))
		}
	}
}

// attachmentRecords returns every attachment record of a thing (ix nil) or of a principal
// (the by-principal index), detach pending or not.
func attachmentRecords(st *State, ix *index[ThingPrincipal], key string) []*ThingPrincipal {
	var out []*ThingPrincipal
	scan(st, kindThingPrincipals, ix, join([]byte(key), nil), nil, false, func(_ []byte, tp *ThingPrincipal) bool {
		out = append(out, tp)
		return true
	})
	return out
}

// PrincipalsOfThing returns the principal ARNs attached to a thing, in ARN order.
func (st *State) PrincipalsOfThing(thing string) []string {
	var out []string
	now := st.Now()
	scan(st, kindThingPrincipals, nil, join([]byte(thing), nil), nil, false, func(_ []byte, tp *ThingPrincipal) bool {
		if tp.attached(now) {
			out = append(out, tp.Principal)
		}
		return true
	})
	return out
}

// ThingsForPrincipal returns the names of the things a principal is attached to, in name order.
func (st *State) ThingsForPrincipal(principal string) []string {
	var out []string
	now := st.Now()
	scan(st, kindThingPrincipals, &kindThingPrincipals.indexes[0], join([]byte(principal), nil), nil, false, func(_ []byte, tp *ThingPrincipal) bool {
		if tp.attached(now) {
			out = append(out, tp.Thing)
		}
		return true
	})
	return out
}

// IsThingAttached reports whether thing is attached to principal (iot:Connection.Thing.IsAttached).
func (st *State) IsThingAttached(thing, principal string) bool {
	tp := get(st, kindThingPrincipals, join([]byte(thing), []byte(principal)))
	return tp != nil && tp.attached(st.Now())
}

// ---- policies ----

var policyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// ValidPolicyName reports an InvalidRequestException unless name is 1..128 of [\w+=,.@-].
func ValidPolicyName(name string) error {
	if !policyNameRE.MatchString(name) {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 128", name)
	}
	return nil
}

// Policy returns the policy, or ResourceNotFoundException.
func (st *State) Policy(name string) (*Policy, error) {
	if p := st.LookupPolicy(name); p != nil {
		return p, nil
	}
	return nil, Errorf(CodeResourceNotFound, "Policy not found (name=%s)", name)
}

// LookupPolicy returns the policy with this name, or nil.
func (st *State) LookupPolicy(name string) *Policy { return get(st, kindPolicies, []byte(name)) }

// CreatePolicy creates a policy after validating its name and document (aws/policy);
// an existing name is ResourceAlreadyExistsException.
func (st *State) CreatePolicy(name, document string, tags []Tag) (*Policy, error) {
	if err := ValidPolicyName(name); err != nil {
		return nil, err
	}
	if p := st.LookupPolicy(name); p != nil {
		return nil, AlreadyExists(p.Name, p.ARN, "Policy cannot be created - name already exists (name=%s)", name)
	}
	if _, err := policy.Parse(document); err != nil {
		var me *policy.MalformedError
		if errors.As(err, &me) {
			return nil, Errorf(CodeMalformedPolicy, "Policy document is malformed: %s", strings.TrimPrefix(me.Error(), policy.MalformedPolicyException+": policy document is malformed: "))
		}
		return nil, Errorf(CodeMalformedPolicy, "Policy document is malformed: %v", err)
	}
	now := st.Now()
	p := &Policy{Name: name, ARN: st.PolicyARN(name), Document: document, DefaultVersionID: "1",
		GenerationID: st.randomHex(64), Tags: slices.Clone(tags), Created: now, Modified: now}
	insert(st, kindPolicies, p)
	return p, nil
}

// DeletePolicy applies DeletePolicy: not while attached to any target.
func (st *State) DeletePolicy(name string) error {
	p, err := st.Policy(name)
	if err != nil {
		return err
	}
	// Within the window after a detach AWS still sees the attachment ("it can take up to
	// five minutes after a policy is detached before it's ready to be deleted").
	if st.policyAttached(name) || st.Now().Before(p.Detached.Add(st.s.opts.Latency.PolicyDeleteAfterDetach)) {
		return Errorf(CodeDeleteConflict, "The policy cannot be deleted as the policy is attached to one or more principals (name=%s)", p.Name)
	}
	remove(st, kindPolicies, []byte(name))
	return nil
}

// policyAttached reports whether the policy is attached to any target.
func (st *State) policyAttached(name string) bool {
	found := false
	scan(st, kindPolicyTargets, &kindPolicyTargets.indexes[0], join([]byte(name), nil), nil, false, func([]byte, *PolicyAttachment) bool {
		found = true
		return false
	})
	return found
}

// AttachPolicy attaches a policy to a target (certificate ARN, or another target ARN such
// as a thing group); attaching again is a no-op. The policy must exist; a certificate
// target must exist; a target holds at most MaxPoliciesPerCert policies.
func (st *State) AttachPolicy(name, target string) error {
	if _, err := st.Policy(name); err != nil {
		return err
	}
	if strings.TrimSpace(target) == "" {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value null at 'target' failed to satisfy constraint: Member must not be null")
	}
	if CertIDFromARN(target) != "" {
		if _, err := st.CertificateByARN(target); err != nil {
			return err
		}
	}
	if get(st, kindPolicyTargets, join([]byte(target), []byte(name))) != nil {
		return nil
	}
	attached := st.PolicyNamesForTarget(target)
	if len(attached) >= MaxPoliciesPerCert {
		return Errorf(CodeLimitExceeded, "The target %s already has %d policies attached; the limit is %d", target, len(attached), MaxPoliciesPerCert)
	}
	insert(st, kindPolicyTargets, &PolicyAttachment{Policy: name, Target: target})
	return nil
}

// DetachPolicy detaches a policy from a target (the policy must exist; not attached is a no-op).
func (st *State) DetachPolicy(name, target string) error {
	p, err := st.Policy(name)
	if err != nil {
		return err
	}
	key := join([]byte(target), []byte(name))
	if get(st, kindPolicyTargets, key) != nil {
		remove(st, kindPolicyTargets, key)
		p.Detached = st.Now()
	}
	return nil
}

// PolicyNamesForTarget returns the names of the policies attached to a target, in name order.
func (st *State) PolicyNamesForTarget(target string) []string {
	var out []string
	scan(st, kindPolicyTargets, nil, join([]byte(target), nil), nil, false, func(_ []byte, a *PolicyAttachment) bool {
		out = append(out, a.Policy)
		return true
	})
	return out
}

// PoliciesForTarget returns the policies attached to a target, in name order.
func (st *State) PoliciesForTarget(target string) []*Policy {
	var out []*Policy
	for _, n := range st.PolicyNamesForTarget(target) {
		if p := st.LookupPolicy(n); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// PoliciesForCert returns the policies attached to a device certificate (by ID).
func (st *State) PoliciesForCert(certID string) []*Policy {
	c := get(st, kindCerts, []byte(normalizeID(certID)))
	if c == nil {
		return nil
	}
	return st.PoliciesForTarget(c.ARN)
}

// TargetsForPolicy returns the targets a policy is attached to, in target order.
func (st *State) TargetsForPolicy(name string) []string {
	var out []string
	scan(st, kindPolicyTargets, &kindPolicyTargets.indexes[0], join([]byte(name), nil), nil, false, func(_ []byte, a *PolicyAttachment) bool {
		out = append(out, a.Target)
		return true
	})
	return out
}

// ---- IAM roles ----

var roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// CreateRoleInput is IAM CreateRole's input.
type CreateRoleInput struct {
	Name               string
	Path               string // default "/"
	TrustPolicy        string // AssumeRolePolicyDocument
	Description        string
	MaxSessionDuration int // default 3600
	Tags               []Tag
}

// CreateRole applies IAM CreateRole.
func (st *State) CreateRole(in CreateRoleInput) (*Role, error) {
	if !roleNameRE.MatchString(in.Name) {
		return nil, Errorf(CodeIAMInvalidInput, "1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 64", in.Name)
	}
	path := in.Path
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") || !strings.HasSuffix(path, "/") {
		return nil, Errorf(CodeIAMInvalidInput, "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	if get(st, kindRoles, []byte(in.Name)) != nil {
		return nil, Errorf(CodeIAMEntityAlreadyExists, "Role with name %s already exists.", in.Name)
	}
	if err := checkTrustPolicy(in.TrustPolicy); err != nil {
		return nil, err
	}
	msd := in.MaxSessionDuration
	if msd == 0 {
		msd = 3600
	}
	if msd < 3600 || msd > 43200 {
		return nil, Errorf(CodeIAMInvalidInput, "The requested MaxSessionDuration %d is invalid; it must be between 3600 and 43200 seconds", msd)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	idb := make([]byte, 17)
	st.rand(idb)
	for i := range idb {
		idb[i] = alphabet[int(idb[i])%len(alphabet)]
	}
	r := &Role{Name: in.Name, ID: "AROA" + string(idb), ARN: st.RoleARN(path, in.Name), Path: path,
		TrustPolicy: in.TrustPolicy, Description: in.Description, MaxSessionDuration: msd,
		Tags: slices.Clone(in.Tags), Created: st.Now()}
	insert(st, kindRoles, r)
	return r, nil
}

// checkTrustPolicy checks a role's trust policy as CreateRole and UpdateAssumeRolePolicy do.
func checkTrustPolicy(doc string) error {
	if strings.TrimSpace(doc) == "" {
		return Errorf(CodeIAMInvalidInput, "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return Errorf(CodeIAMMalformedPolicy, "This policy contains invalid Json")
	}
	if _, ok := m["Statement"]; !ok {
		return Errorf(CodeIAMMalformedPolicy, "Missing required field Statement")
	}
	return nil
}

// UpdateAssumeRolePolicy applies IAM UpdateAssumeRolePolicy: the role's trust policy
// becomes doc (checked as CreateRole checks it).
func (st *State) UpdateAssumeRolePolicy(name, doc string) error {
	r, err := st.Role(name)
	if err != nil {
		return err
	}
	if err := checkTrustPolicy(doc); err != nil {
		return err
	}
	r.TrustPolicy = doc
	return nil
}

// Role returns the role, or NoSuchEntity.
func (st *State) Role(name string) (*Role, error) {
	if r := get(st, kindRoles, []byte(name)); r != nil {
		return r, nil
	}
	return nil, Errorf(CodeIAMNoSuchEntity, "The role with name %s cannot be found.", name)
}

// RoleByARN returns the role with this ARN, or NoSuchEntity.
func (st *State) RoleByARN(arn string) (*Role, error) {
	var found *Role
	scan(st, kindRoles, &kindRoles.indexes[0], join([]byte(arn), nil), nil, false, func(_ []byte, r *Role) bool {
		found = r
		return false
	})
	if found != nil {
		return found, nil
	}
	return nil, Errorf(CodeIAMNoSuchEntity, "The role %s cannot be found.", arn)
}

// DeleteRole applies IAM DeleteRole: not while managed policies are attached.
func (st *State) DeleteRole(name string) error {
	r, err := st.Role(name)
	if err != nil {
		return err
	}
	if len(r.AttachedPolicies) > 0 {
		return Errorf(CodeIAMDeleteConflict, "Cannot delete entity, must detach all policies first.")
	}
	if len(st.RolePolicyNames(name)) > 0 {
		return Errorf(CodeIAMDeleteConflict, "Cannot delete entity, must delete policies first.")
	}
	remove(st, kindRoles, []byte(name))
	return nil
}

var managedPolicyARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]+$`)

// AttachRolePolicy applies IAM AttachRolePolicy (attaching again is a no-op).
func (st *State) AttachRolePolicy(name, policyARN string) error {
	if !managedPolicyARNRE.MatchString(policyARN) {
		return Errorf(CodeIAMInvalidInput, "ARN %s is not valid.", policyARN)
	}
	r, err := st.Role(name)
	if err != nil {
		return err
	}
	if slices.Contains(r.AttachedPolicies, policyARN) {
		return nil
	}
	// AWS's message for a managed policy that does not exist (HTTP 404), as reported in
	// getmoto/moto#6482 and pulumi/pulumi#7419 [C].
	if _, err := st.ManagedPolicy(policyARN); err != nil {
		return Errorf(CodeIAMNoSuchEntity, "Policy %s does not exist or is not attachable.", policyARN)
	}
	if len(r.AttachedPolicies) >= MaxManagedPoliciesPerRole {
		return Errorf(CodeIAMLimitExceeded, "Cannot exceed quota for PoliciesPerRole: %d", MaxManagedPoliciesPerRole)
	}
	r.AttachedPolicies = append(r.AttachedPolicies, policyARN)
	return nil
}

// DetachRolePolicy applies IAM DetachRolePolicy.
func (st *State) DetachRolePolicy(name, policyARN string) error {
	r, err := st.Role(name)
	if err != nil {
		return err
	}
	i := slices.Index(r.AttachedPolicies, policyARN)
	if i < 0 {
		return Errorf(CodeIAMNoSuchEntity, "Policy %s was not found.", policyARN)
	}
	r.AttachedPolicies = slices.Delete(r.AttachedPolicies, i, i+1)
	return nil
}

// TrustsService reports whether the role's trust policy lets service (e.g.
// "iot.amazonaws.com") call sts:AssumeRole: an Allow statement naming the service
// principal (or "*") with action sts:AssumeRole, sts:* or *. Conditions are not evaluated.
func (r *Role) TrustsService(service string) bool {
	stmts, err := iamdoc.Statements(r.TrustPolicy)
	if err != nil {
		return false
	}
	for _, s := range stmts {
		if !s.AllowsAssumeRole() {
			continue
		}
		var star string
		if json.Unmarshal(s["Principal"], &star) == nil && star == "*" {
			return true
		}
		var pr map[string]json.RawMessage
		if json.Unmarshal(s["Principal"], &pr) != nil {
			continue
		}
		if slices.Contains(iamdoc.StringOrList(pr["Service"]), service) || slices.Contains(iamdoc.StringOrList(pr["AWS"]), "*") {
			return true
		}
	}
	return false
}

// ---- misc ----

// normalizeID accepts the "0x" prefix the model's pattern allows and any case.
func normalizeID(id string) string {
	id = strings.TrimPrefix(strings.TrimPrefix(id, "0x"), "0X")
	return strings.ToLower(id)
}

func parseCert(pemText string) (*x509.Certificate, error) {
	return pki.ParseCertPEM([]byte(pemText))
}

func subjectText(c *x509.Certificate) string {
	if s := strings.TrimSpace(c.Subject.String()); s != "" {
		return fmt.Sprintf("%q", s)
	}
	return "(empty subject)"
}
