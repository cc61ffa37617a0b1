package broker

import (
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// storeRegistry implements registry over aws/local/store, using the store's
// helpers so the rules AWS applies (limits, attachments) live in one place.
type storeRegistry struct {
	st  *store.Store
	rec *recorder // nil: events are written one transaction each
}

func (r storeRegistry) Certificate(certID string) (*certRecord, error) {
	var out *certRecord
	err := r.st.View(func(st *store.State) error {
		if c := st.LookupCertificate(certID); c != nil {
			out = &certRecord{Status: c.Status, CACertificateID: c.CAID, Mode: c.Mode}
		}
		return nil
	})
	return out, err
}

// IssuerOf finds the registered CA that signed leaf (an ACTIVE one preferred when
// several CAs share subject and key).
func (r storeRegistry) IssuerOf(leaf *x509.Certificate) (*caRecord, error) {
	var out *caRecord
	err := r.st.View(func(st *store.State) error {
		if ca := st.FindIssuingCA(leaf); ca != nil {
			out = &caRecord{ID: ca.ID, Status: ca.Status, AutoRegistration: ca.AutoRegistrationStatus, Mode: ca.Mode, Cert: ca.Cert()}
		}
		return nil
	})
	return out, err
}

func (r storeRegistry) Authorization(certID string) (authzView, error) {
	var v authzView
	err := r.st.View(func(st *store.State) error {
		c := st.LookupCertificate(certID)
		if c == nil {
			v.Status = "not registered"
			return nil
		}
		v.Status = c.Status
		for _, p := range st.PoliciesForTarget(c.ARN) {
			v.Policies = append(v.Policies, namedPolicy{Name: p.Name, Document: p.Document})
		}
		for _, name := range st.ThingsForPrincipal(c.ARN) {
			if t := st.LookupThing(name); t != nil {
				if v.Things == nil {
					v.Things = map[string]policy.Thing{}
				}
				v.Things[t.Name] = policy.Thing{Name: t.Name, TypeName: t.TypeName, Attributes: maps.Clone(t.Attributes)}
			}
		}
		return nil
	})
	return v, err
}

func (r storeRegistry) RecordEvent(ev brokerEvent) {
	kind := store.EventAuthorizationFailure
	switch ev.Type {
	case evConnectRefused:
		kind = store.EventConnectRefused
	case evConnected:
		kind = store.EventConnected
	case evDisconnected:
		kind = store.EventDisconnected
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
	sev := store.Event{
		Time:    ev.Time,
		Kind:    kind,
		CertID:  ev.CertificateID,
		CAID:    ev.CACertID,
		Client:  ev.ClientID,
		Message: msg,
		Params:  params,
	}
	if r.rec == nil {
		_ = r.st.AddEvent(sev)
		return
	}
	// Connections come and go often: their events are batched and not waited for.
	// Refusals are waited for, so the reason is in the log by the time the client
	// sees its connection close. The recorder keeps them in order either way.
	r.rec.add(sev, kind != store.EventConnected && kind != store.EventDisconnected)
}

// provisionError is a JITP failure: the AWS error code and message.
type provisionError struct {
	code, msg string
}

func (e *provisionError) Error() string { return e.code + ": " + e.msg }

// provisionFailed rolls back a JITP transaction.
type provisionFailed struct{ perr *provisionError }

func (f *provisionFailed) Error() string { return f.perr.Error() }

// AutoRegister: in one store transaction the certificate is registered
// PENDING_ACTIVATION if it is new, and with a registration config the template's
// resources are made and the certificate activated. If provisioning fails, that
// transaction is rolled back and a second one leaves exactly the PENDING_ACTIVATION
// certificate and an event saying why (AWS's wording).
func (r storeRegistry) AutoRegister(req autoRegRequest) (autoRegResult, error) {
	var res autoRegResult
	params := pki.JITPParameters(req.Leaf)
	err := r.st.Update(func(st *store.State) error {
		res = autoRegResult{}
		if c := st.LookupCertificate(req.CertID); c != nil && c.Status != store.StatusPendingActivation {
			// A concurrent first connect of the same certificate (or an operator)
			// got here first: nothing left to do.
			res.RegisteredAt, res.Status, res.Skipped = c.Created, c.Status, true
			return nil
		}
		cert, err := registerPending(st, req)
		if err != nil {
			return err
		}
		res.RegisteredAt, res.Status = cert.Created, cert.Status
		ca, _ := st.CA(req.CA.ID)
		if ca == nil || ca.RegistrationConfig.IsZero() {
			// JITR: the certificate waits for someone to activate it.
			st.AddEvent(store.Event{
				Time:    req.Now,
				Kind:    store.EventJITRPublished,
				CertID:  req.CertID,
				CAID:    req.CA.ID,
				Client:  req.ClientID,
				Message: fmt.Sprintf("CA %s has no registration config (JITR): published the registered event on %s; the certificate stays PENDING_ACTIVATION until it is activated", req.CA.ID, RegisteredTopic(req.CA.ID)),
			})
			return nil
		}
		res.JITP = true
		p, perr := planProvisioning(st, ca.RegistrationConfig, params, req.CertID)
		if perr != nil {
			return &provisionFailed{perr}
		}
		if perr := p.apply(st, cert); perr != nil {
			return &provisionFailed{perr}
		}
		res.Thing, res.Policy, res.Status = p.thingName(), p.policyName(), cert.Status
		took := time.Since(req.Start)
		msg := "JITP provisioned certificate " + req.CertID
		if res.Thing != "" {
			msg += ": thing " + res.Thing
		}
		if res.Policy != "" {
			msg += ", policy " + res.Policy
		}
		msg += fmt.Sprintf(", certificate %s, in %s (the device must reconnect)", cert.Status, took.Round(time.Microsecond))
		evParams := maps.Clone(params)
		evParams["policyName"] = res.Policy
		evParams["durationMs"] = strconv.FormatFloat(float64(took.Microseconds())/1000, 'f', 3, 64)
		evParams["certificateStatus"] = cert.Status
		st.AddEvent(store.Event{
			Time:    req.Now,
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
	var pf *provisionFailed
	if !errors.As(err, &pf) {
		return res, err
	}
	res = autoRegResult{JITP: true, Error: pf.perr.Error()}
	err = r.st.Update(func(st *store.State) error {
		cert, err := registerPending(st, req)
		if err != nil {
			return err
		}
		res.RegisteredAt, res.Status = cert.Created, cert.Status
		st.AddEvent(store.Event{
			Time:    req.Now,
			Kind:    store.EventProvisioningFailed,
			CertID:  req.CertID,
			CAID:    req.CA.ID,
			Client:  req.ClientID,
			Message: pf.perr.msg,
			Error:   pf.perr.code,
			Params:  params,
		})
		return nil
	})
	return res, err
}

// registerPending registers the certificate PENDING_ACTIVATION unless it already is
// registered, and returns it.
func registerPending(st *store.State, req autoRegRequest) (*store.Certificate, error) {
	if c := st.LookupCertificate(req.CertID); c != nil {
		return c, nil
	}
	c, err := st.RegisterDeviceCert(req.Leaf, req.CA.ID, store.StatusPendingActivation)
	if err != nil {
		return nil, err
	}
	st.AddEvent(store.Event{
		Time:    req.Now,
		Kind:    store.EventCertRegistered,
		CertID:  req.CertID,
		CAID:    req.CA.ID,
		Client:  req.ClientID,
		Message: fmt.Sprintf("certificate %s issued by CA %s registered PENDING_ACTIVATION on its first connect (client ID %s)", req.CertID, req.CA.ID, req.ClientID),
	})
	return c, nil
}

// provisioning is a checked plan. Applying it can still hit a store rule (e.g.
// the 10-policies-per-certificate limit); the transaction is then rolled back.
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
	p := &provisioning{plan: plan, certStatus: store.StatusActive}
	if c := plan.Certificate; c != nil {
		if c.ID != certID {
			return nil, &provisionError{store.CodeInvalidRequest, fmt.Sprintf("Invalid registration template. The certificate resource must reference the connecting certificate ({\"Ref\":\"AWS::IoT::Certificate::Id\"}); it resolved to %q", c.ID)}
		}
		if c.Status != "" {
			p.certStatus = c.Status
		}
	} else {
		p.certStatus = store.StatusPendingActivation
	}
	if t := plan.Thing; t != nil {
		if err := template.CheckThingName(t.Name); err != nil {
			return nil, &provisionError{store.CodeInvalidRequest, err.Error()}
		}
		p.thingAttrs, p.thingType = t.Attributes, t.TypeName
		if old := st.LookupThing(t.Name); old != nil {
			p.thing = old
			attrs, perr := override("AttributePayload", t.Override["AttributePayload"], old.Attributes, t.Attributes)
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
		if old := st.LookupPolicy(pp.Name); old != nil {
			p.policy = old
		} else if !pp.Inline {
			return nil, &provisionError{store.CodeResourceNotFound, fmt.Sprintf("The policy %s referenced by the template does not exist", pp.Name)}
		} else if err := policy.CheckLength(pp.Document); err != nil {
			// CreatePolicy's limit applies to a policy the template creates [U: the code].
			var me *policy.MalformedError
			errors.As(err, &me)
			return nil, &provisionError{policy.MalformedPolicyException, "The template's policy document is too long: " + me.Reason}
		}
	}
	return p, nil
}

// override applies an OverrideSettings action to an existing thing's attributes.
// Omitted: DO_NOTHING (AWS does not document the default; keeping the existing
// thing untouched is the conservative choice).
func override(key, action string, old, tmpl map[string]string) (map[string]string, *provisionError) {
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
		if !maps.Equal(old, tmpl) {
			return nil, &provisionError{"ResourceConflictsException", fmt.Sprintf("The thing already exists with a different %s; the template's OverrideSettings say FAIL", key)}
		}
		return old, nil
	}
	return nil, &provisionError{store.CodeInvalidRequest, fmt.Sprintf("Invalid registration template. OverrideSettings %s: unknown action %q (use DO_NOTHING, REPLACE, MERGE or FAIL)", key, action)}
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
// iot.amazonaws.com. (The wording is this emulator's; AWS's CloudTrail text for
// this failure is not documented.)
func checkRole(st *store.State, roleARN string) *provisionError {
	if roleARN == "" {
		return &provisionError{store.CodeInvalidRequest, "The registration config has no roleArn; JITP needs a role that iot.amazonaws.com can assume"}
	}
	role, err := st.RoleByARN(roleARN)
	if err != nil {
		return &provisionError{store.CodeInvalidRequest, fmt.Sprintf("Unable to assume role %s: the role does not exist", roleARN)}
	}
	if !role.TrustsService("iot.amazonaws.com") {
		return &provisionError{store.CodeInvalidRequest, fmt.Sprintf("Unable to assume role %s: its trust policy does not allow iot.amazonaws.com to call sts:AssumeRole", roleARN)}
	}
	return nil
}

// apply makes the checked plan real: thing, policy, attachments, certificate status.
func (p *provisioning) apply(st *store.State, cert *store.Certificate) *provisionError {
	fail := func(err error) *provisionError {
		if ae := store.AsAPIError(err); ae != nil {
			return &provisionError{ae.Code, ae.Message}
		}
		return &provisionError{store.CodeInternalFailure, err.Error()}
	}
	if t := p.plan.Thing; t != nil {
		if p.thing == nil {
			if _, err := st.CreateThing(t.Name, t.TypeName, t.Attributes); err != nil {
				return fail(err)
			}
		} else if !maps.Equal(p.thing.Attributes, p.thingAttrs) || p.thing.TypeName != p.thingType {
			p.thing.Attributes = maps.Clone(p.thingAttrs)
			p.thing.TypeName = p.thingType
			p.thing.Version++
		}
	}
	if pp := p.plan.Policy; pp != nil {
		if p.policy == nil {
			if _, err := st.CreatePolicy(pp.Name, pp.Document, nil); err != nil {
				return fail(err)
			}
		}
		if p.plan.Certificate != nil {
			if err := st.AttachPolicy(pp.Name, cert.ARN); err != nil {
				return fail(err)
			}
		}
	}
	if t := p.plan.Thing; t != nil && p.plan.Certificate != nil {
		if err := st.AttachThingPrincipal(t.Name, cert.ARN, store.NonExclusiveThing); err != nil {
			return fail(err)
		}
	}
	if err := st.SetCertificateStatus(cert.ID, p.certStatus); err != nil {
		return fail(err)
	}
	return nil
}

// recorder writes events to the store in order, many per transaction: an event-only
// transaction is small (it appends a few records), but each commit is an fsync, and one
// per connect/disconnect would still dominate the cost of a short connection.
type recorder struct {
	st   *store.Store
	mu   sync.Mutex
	ch   chan recItem
	done chan struct{}
	shut bool
}

type recItem struct {
	ev      store.Event
	written chan struct{} // closed once written; nil if nobody waits
}

func newRecorder(st *store.Store) *recorder {
	r := &recorder{st: st, ch: make(chan recItem, 1024), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *recorder) add(ev store.Event, wait bool) {
	it := recItem{ev: ev}
	if wait {
		it.written = make(chan struct{})
	}
	r.mu.Lock()
	if r.shut {
		r.mu.Unlock()
		_ = r.st.AddEvent(ev)
		return
	}
	r.ch <- it // may block when 1024 events are queued: back-pressure, never loss
	r.mu.Unlock()
	if wait {
		<-it.written
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	for it := range r.ch {
		batch := []recItem{it}
	drain:
		for len(batch) < 256 {
			select {
			case more, ok := <-r.ch:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		evs := make([]store.Event, len(batch))
		for i, b := range batch {
			evs[i] = b.ev
		}
		_ = r.st.AppendEvents(evs...)
		for _, b := range batch {
			if b.written != nil {
				close(b.written)
			}
		}
	}
}

// close writes what is queued and stops the recorder; later events are written
// directly.
func (r *recorder) close() {
	r.mu.Lock()
	if r.shut {
		r.mu.Unlock()
		return
	}
	r.shut = true
	close(r.ch)
	r.mu.Unlock()
	<-r.done
}
