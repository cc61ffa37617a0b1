package broker

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// storeRegistry implements registry over aws/local/store.
type storeRegistry struct {
	st *store.Store
}

func arn(st *store.State, kind, name string) string {
	return "arn:" + policy.Partition(st.Region) + ":iot:" + st.Region + ":" + st.Account + ":" + kind + "/" + name
}

func (r storeRegistry) Certificate(certID string) (*certRecord, error) {
	var out *certRecord
	err := r.st.View(func(st *store.State) error {
		if c, ok := st.Certificates[certID]; ok {
			out = &certRecord{Status: c.Status, CACertificateID: c.CAID, Mode: c.Mode}
		}
		return nil
	})
	return out, err
}

// IssuerOf finds the registered CA that signed leaf. With several candidates (AWS
// allows up to 10 CAs with one subject) an auto-registering one is preferred, then an
// ACTIVE one.
func (r storeRegistry) IssuerOf(leaf *x509.Certificate) (*caRecord, error) {
	var best *caRecord
	rank := func(c *caRecord) int {
		switch {
		case c.Status == StatusActive && c.AutoRegistration == AutoRegEnable:
			return 2
		case c.Status == StatusActive:
			return 1
		}
		return 0
	}
	err := r.st.View(func(st *store.State) error {
		ids := make([]string, 0, len(st.CAs))
		for id := range st.CAs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			ca := st.CAs[id]
			c := ca.Cert()
			if c == nil || !bytes.Equal(leaf.RawIssuer, c.RawSubject) || leaf.CheckSignatureFrom(c) != nil {
				continue
			}
			rec := &caRecord{ID: ca.ID, Status: ca.Status, AutoRegistration: ca.AutoRegistrationStatus, Mode: ca.Mode, Cert: c}
			if best == nil || rank(rec) > rank(best) {
				best = rec
			}
		}
		return nil
	})
	return best, err
}

func (r storeRegistry) Authorization(certID string) (authzView, error) {
	var v authzView
	err := r.st.View(func(st *store.State) error {
		c, ok := st.Certificates[certID]
		if !ok {
			v.Status = "not registered"
			return nil
		}
		v.Status = c.Status
		certARN := c.ARN
		if certARN == "" {
			certARN = arn(st, "cert", certID)
		}
		for _, pa := range st.PolicyTargets {
			if pa.Target != certARN {
				continue
			}
			if p, ok := st.Policies[pa.Policy]; ok {
				v.Policies = append(v.Policies, namedPolicy{Name: p.Name, Document: p.Document})
			}
		}
		for _, tp := range st.ThingPrincipals {
			if tp.Principal != certARN {
				continue
			}
			if t, ok := st.Things[tp.Thing]; ok {
				if v.Things == nil {
					v.Things = map[string]policy.Thing{}
				}
				v.Things[t.Name] = policy.Thing{Name: t.Name, TypeName: t.TypeName, Attributes: t.Attributes}
			}
		}
		return nil
	})
	return v, err
}

func (r storeRegistry) RecordEvent(ev Event) {
	kind := store.EventConnectRefused
	if ev.Type != EventConnectRefused {
		kind = store.EventAuthorizationFailure
	}
	msg := ev.Message
	if ev.Topic != "" && !strings.Contains(msg, ev.Topic) {
		msg += " (topic " + ev.Topic + ")"
	}
	params := map[string]string{}
	if ev.SourceIP != "" {
		params["sourceIp"] = ev.SourceIP
	}
	if ev.Topic != "" {
		params["topic"] = ev.Topic
	}
	_ = r.st.AddEvent(store.Event{
		Time:    ev.Time,
		Kind:    kind,
		CertID:  ev.CertificateID,
		CAID:    ev.CACertID,
		Client:  ev.ClientID,
		Message: msg,
		Params:  params,
	})
}

// provisionError is a JITP failure: the AWS error code and message.
type provisionError struct {
	code, msg string
}

func (e *provisionError) Error() string { return e.code + ": " + e.msg }

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// AutoRegister runs in one store transaction: the certificate is registered
// PENDING_ACTIVATION if it is new; with a registration config every check of the
// template is done before anything else changes, so a failure leaves exactly the
// PENDING_ACTIVATION certificate and an event saying why.
func (r storeRegistry) AutoRegister(req AutoRegisterRequest) (AutoRegisterResult, error) {
	var res AutoRegisterResult
	err := r.st.Update(func(st *store.State) error {
		res = AutoRegisterResult{}
		now := req.Now
		certARN := arn(st, "cert", req.CertID)
		cert, exists := st.Certificates[req.CertID]
		if !exists {
			mode := req.CA.Mode
			if mode == "" {
				mode = store.ModeDefault
			}
			cert = &store.Certificate{
				ID:              req.CertID,
				ARN:             certARN,
				CAID:            req.CA.ID,
				PEM:             string(pki.EncodeCertPEM(req.Leaf)),
				Status:          StatusPendingActivation,
				Mode:            mode,
				Owner:           st.Account,
				CustomerVersion: 1,
				GenerationID:    newUUID(),
				NotBefore:       req.Leaf.NotBefore,
				NotAfter:        req.Leaf.NotAfter,
				Created:         now,
				Modified:        now,
			}
			st.Certificates[req.CertID] = cert
			st.AddEvent(store.Event{
				Time:    now,
				Kind:    store.EventCertRegistered,
				CertID:  req.CertID,
				CAID:    req.CA.ID,
				Client:  req.ClientID,
				Message: fmt.Sprintf("certificate %s issued by CA %s registered PENDING_ACTIVATION on first connect (client ID %s)", req.CertID, req.CA.ID, req.ClientID),
			})
		}
		if cert.ARN != "" {
			certARN = cert.ARN
		}
		res.RegisteredAt = cert.Created
		res.Status = cert.Status

		ca := st.CAs[req.CA.ID]
		if ca == nil || ca.RegistrationConfig.IsZero() {
			// JITR: the certificate waits for someone to activate it.
			st.AddEvent(store.Event{
				Time:    now,
				Kind:    store.EventJITRPublished,
				CertID:  req.CertID,
				CAID:    req.CA.ID,
				Client:  req.ClientID,
				Message: fmt.Sprintf("no registration config on CA %s (JITR): published the registered event on %s; the certificate stays PENDING_ACTIVATION until it is activated", req.CA.ID, RegisteredTopic(req.CA.ID)),
			})
			return nil
		}
		res.JITP = true
		params := pki.JITPParameters(req.Leaf)
		p, perr := planProvisioning(st, ca.RegistrationConfig, params, req.CertID)
		if perr != nil {
			res.Error = perr.Error()
			st.AddEvent(store.Event{
				Time:    now,
				Kind:    store.EventProvisioningFailed,
				CertID:  req.CertID,
				CAID:    req.CA.ID,
				Client:  req.ClientID,
				Message: perr.msg,
				Error:   perr.code,
				Params:  params,
			})
			return nil
		}
		p.apply(st, cert, certARN, now)
		res.Thing, res.Policy, res.Status = p.thingName(), p.policyName(), cert.Status
		took := time.Since(req.Start)
		msg := fmt.Sprintf("JITP provisioned certificate %s", req.CertID)
		if res.Thing != "" {
			msg += ": thing " + res.Thing
		}
		if res.Policy != "" {
			msg += ", policy " + res.Policy
		}
		msg += fmt.Sprintf(", certificate %s, in %s", cert.Status, took.Round(time.Microsecond))
		evParams := map[string]string{}
		for k, v := range params {
			evParams[k] = v
		}
		evParams["policyName"] = res.Policy
		evParams["durationMs"] = strconv.FormatFloat(float64(took.Microseconds())/1000, 'f', 3, 64)
		evParams["certificateStatus"] = cert.Status
		st.AddEvent(store.Event{
			Time:    now,
			Kind:    store.EventProvisioned,
			CertID:  req.CertID,
			CAID:    req.CA.ID,
			Thing:   res.Thing,
			Client:  req.ClientID,
			Message: msg,
			Params:  evParams,
		})
		return nil
	})
	return res, err
}

// provisioning is a checked plan: applying it cannot fail.
type provisioning struct {
	plan       *template.Plan
	thing      *store.Thing // existing thing to update, or nil to create
	thingAttrs map[string]string
	thingType  string
	policy     *store.Policy // existing policy to reuse, or nil to create
	certStatus string
}

func (p *provisioning) thingName() string {
	if p.plan.Thing == nil {
		return ""
	}
	return p.plan.Thing.Name
}

func (p *provisioning) policyName() string {
	if p.plan.Policy == nil {
		return ""
	}
	return p.plan.Policy.Name
}

// planProvisioning validates everything RegisterThing would need.
func planProvisioning(st *store.State, rc *store.RegistrationConfig, params map[string]string, certID string) (*provisioning, *provisionError) {
	if rc.TemplateBody == "" {
		return nil, &provisionError{store.CodeResourceNotFound, fmt.Sprintf("Provisioning template %s does not exist (this local IoT Core has no provisioning-template registry; put the template body in the CA's registrationConfig)", rc.TemplateName)}
	}
	if perr := checkRole(st, rc.RoleArn); perr != nil {
		return nil, perr
	}
	tpl, err := template.Parse(rc.TemplateBody)
	if err != nil {
		return nil, templateErr(err)
	}
	plan, err := tpl.Evaluate(params)
	if err != nil {
		return nil, templateErr(err)
	}
	p := &provisioning{plan: plan, certStatus: StatusActive}
	if c := plan.Certificate; c != nil {
		if c.ID != certID {
			return nil, &provisionError{store.CodeInvalidRequest, fmt.Sprintf("Invalid registration template. The certificate resource must reference the connecting certificate ({\"Ref\":\"AWS::IoT::Certificate::Id\"}); it resolved to %q", c.ID)}
		}
		if c.Status != "" {
			p.certStatus = c.Status
		}
	} else {
		p.certStatus = StatusPendingActivation
	}
	if t := plan.Thing; t != nil {
		if err := template.CheckThingName(t.Name); err != nil {
			return nil, &provisionError{store.CodeInvalidRequest, err.Error()}
		}
		p.thingAttrs, p.thingType = t.Attributes, t.TypeName
		if old, ok := st.Things[t.Name]; ok {
			p.thing = old
			attrs, perr := override("AttributePayload", t.Override["AttributePayload"], old.Attributes, t.Attributes, true)
			if perr != nil {
				return nil, perr
			}
			p.thingAttrs = attrs
			typ := old.TypeName
			switch t.Override["ThingTypeName"] {
			case "REPLACE":
				typ = t.TypeName
			case "FAIL":
				if t.TypeName != old.TypeName {
					return nil, &provisionError{"ResourceConflictsException", fmt.Sprintf("Thing %s already exists with thing type %q; the template's OverrideSettings say FAIL", t.Name, old.TypeName)}
				}
			}
			p.thingType = typ
		}
	}
	if pp := plan.Policy; pp != nil {
		if old, ok := st.Policies[pp.Name]; ok {
			p.policy = old
		} else if !pp.Inline {
			return nil, &provisionError{store.CodeResourceNotFound, fmt.Sprintf("The policy %s referenced by the template does not exist", pp.Name)}
		}
		if plan.Certificate != nil {
			attached := 0
			already := false
			certARN := arn(st, "cert", certID)
			if c, ok := st.Certificates[certID]; ok && c.ARN != "" {
				certARN = c.ARN
			}
			for _, pa := range st.PolicyTargets {
				if pa.Target == certARN {
					attached++
					already = already || pa.Policy == pp.Name
				}
			}
			if !already && attached >= store.MaxPoliciesPerCert {
				return nil, &provisionError{store.CodeLimitExceeded, fmt.Sprintf("The certificate %s already has %d policies attached; at most %d are allowed", certID, attached, store.MaxPoliciesPerCert)}
			}
		}
	}
	return p, nil
}

// override applies an OverrideSettings action to an existing thing's attributes.
// Omitted: DO_NOTHING (AWS does not document the default; keeping the existing
// thing untouched is the conservative choice).
func override(key, action string, old, tmpl map[string]string, mergeable bool) (map[string]string, *provisionError) {
	switch action {
	case "", "DO_NOTHING":
		return old, nil
	case "REPLACE":
		return tmpl, nil
	case "MERGE":
		out := map[string]string{}
		for k, v := range old {
			out[k] = v
		}
		for k, v := range tmpl {
			out[k] = v
		}
		return out, nil
	case "FAIL":
		if !mapsEqual(old, tmpl) {
			return nil, &provisionError{"ResourceConflictsException", fmt.Sprintf("The thing already exists with a different %s; the template's OverrideSettings say FAIL", key)}
		}
		return old, nil
	}
	return nil, &provisionError{store.CodeInvalidRequest, fmt.Sprintf("Invalid registration template. OverrideSettings %s: unknown action %q (use DO_NOTHING, REPLACE, MERGE or FAIL)", key, action)}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func templateErr(err error) *provisionError {
	if te, ok := err.(*template.Error); ok {
		code := te.Code
		if code == "" {
			code = store.CodeInvalidRequest
		}
		return &provisionError{code, te.Message}
	}
	return &provisionError{store.CodeInvalidRequest, err.Error()}
}

// checkRole: JITP runs RegisterThing as the CA's role, which must exist and trust
// iot.amazonaws.com.
func checkRole(st *store.State, roleARN string) *provisionError {
	if roleARN == "" {
		return &provisionError{store.CodeInvalidRequest, "The registration config has no roleArn; JITP needs a role that iot.amazonaws.com can assume"}
	}
	var role *store.Role
	for _, r := range st.Roles {
		if r.ARN == roleARN {
			role = r
			break
		}
	}
	if role == nil {
		return &provisionError{store.CodeInvalidRequest, fmt.Sprintf("Unable to assume role %s: the role does not exist", roleARN)}
	}
	if !trustsService(role.TrustPolicy, "iot.amazonaws.com") {
		return &provisionError{store.CodeInvalidRequest, fmt.Sprintf("Unable to assume role %s: its trust policy does not allow iot.amazonaws.com to call sts:AssumeRole", roleARN)}
	}
	return nil
}

// trustsService reports whether an IAM trust policy has an Allow statement for
// sts:AssumeRole by the service principal. Conditions are not evaluated
// (aws:SourceAccount/SourceArn hold for the local account).
func trustsService(doc, service string) bool {
	var d struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &d) != nil {
		return false
	}
	var stmts []map[string]json.RawMessage
	if json.Unmarshal(d.Statement, &stmts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(d.Statement, &one) != nil {
			return false
		}
		stmts = []map[string]json.RawMessage{one}
	}
	for _, s := range stmts {
		var effect string
		_ = json.Unmarshal(s["Effect"], &effect)
		if effect != "Allow" {
			continue
		}
		if !containsFold(stringOrList(s["Action"]), "sts:AssumeRole", "sts:*", "*") {
			continue
		}
		var principal map[string]json.RawMessage
		if json.Unmarshal(s["Principal"], &principal) != nil {
			continue
		}
		if containsFold(stringOrList(principal["Service"]), service) {
			return true
		}
	}
	return false
}

func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

func containsFold(list []string, want ...string) bool {
	for _, s := range list {
		for _, w := range want {
			if strings.EqualFold(s, w) {
				return true
			}
		}
	}
	return false
}

// apply makes the checked plan real: thing, policy, attachments, certificate status.
func (p *provisioning) apply(st *store.State, cert *store.Certificate, certARN string, now time.Time) {
	if t := p.plan.Thing; t != nil {
		if p.thing == nil {
			st.Things[t.Name] = &store.Thing{
				Name:       t.Name,
				ID:         newUUID(),
				ARN:        arn(st, "thing", t.Name),
				TypeName:   t.TypeName,
				Attributes: cloneMap(t.Attributes),
				Version:    1,
				Created:    now,
			}
		} else if !mapsEqual(p.thing.Attributes, p.thingAttrs) || p.thing.TypeName != p.thingType {
			p.thing.Attributes = cloneMap(p.thingAttrs)
			p.thing.TypeName = p.thingType
			p.thing.Version++
		}
	}
	if pp := p.plan.Policy; pp != nil {
		if p.policy == nil {
			st.Policies[pp.Name] = &store.Policy{
				Name:             pp.Name,
				ARN:              arn(st, "policy", pp.Name),
				Document:         pp.Document,
				DefaultVersionID: "1",
				GenerationID:     randomHex(64),
				Created:          now,
				Modified:         now,
			}
		}
		if p.plan.Certificate != nil {
			if !slices.Contains(st.PolicyTargets, store.PolicyAttachment{Policy: pp.Name, Target: certARN}) {
				st.PolicyTargets = append(st.PolicyTargets, store.PolicyAttachment{Policy: pp.Name, Target: certARN})
			}
		}
	}
	if t := p.plan.Thing; t != nil && p.plan.Certificate != nil {
		found := false
		for _, tp := range st.ThingPrincipals {
			if tp.Thing == t.Name && tp.Principal == certARN {
				found = true
			}
		}
		if !found {
			st.ThingPrincipals = append(st.ThingPrincipals, store.ThingPrincipal{Thing: t.Name, Principal: certARN, Type: "NON_EXCLUSIVE_THING"})
		}
	}
	if cert.Status != p.certStatus {
		cert.Status = p.certStatus
		cert.Modified = now
	}
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
