package broker

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// JITP: what RegisterThing does with the CA's template and role on a first connect.
//
// The template comes from the CA's registrationConfig: its templateBody with its roleArn,
// or the default version of the provisioning template of type JITP it names, with that
// template's provisioningRoleArn (jit-provisioning.html, "Register CA using provisioning
// template name"). The role must exist, trust iot.amazonaws.com and be usable (IAM is
// eventually consistent: Latency.RoleUsable), and its permission policies must allow each
// call provisioning makes with it, in the order the developer guide lists them (create the
// thing, create the policy, attach it to the certificate, attach the certificate to the
// thing, activate the certificate): the first call they do not allow fails provisioning
// with IAM's wording, as the managed AWSIoTThingsRegistration would have allowed it. Which
// calls, and on which resource ARNs, is the emulator's reading [U]: iot:CreateThing or
// iot:UpdateThing on thing/<name>, iot:AddThingToThingGroup / RemoveThingFromThingGroup on
// thinggroup/<group>, iot:AddThingToBillingGroup on billinggroup/<group>, iot:CreatePolicy
// on policy/<name> (a new inline policy), iot:AttachPolicy and iot:UpdateCertificate on
// cert/<id>, iot:AttachThingPrincipal on thing/<name>.

// provisionError is a JITP failure: the AWS error code and message, for a denied call
// which statement decided (why), and what failed, stably (reason: store.Provision…).
type provisionError struct {
	code, msg, why, reason string
}

func (e *provisionError) Error() string { return e.code + ": " + e.msg }

// provisionFailed rolls back a JITP transaction.
type provisionFailed struct{ perr *provisionError }

func (f *provisionFailed) Error() string { return f.perr.Error() }

// roleSession is the session name used in the assumed-role ARN of denial messages; the
// name AWS IoT gives its session is not documented [U].
const roleSession = "JITP"

// provisioning is a checked plan. Applying it can still hit a store rule (e.g. the
// 10-policies-per-certificate limit, a thing's 10 groups); the transaction then rolls back.
type provisioning struct {
	plan       *template.Plan
	thing      *store.Thing // existing thing to update, or nil to create
	thingAttrs map[string]string
	thingType  string
	addGroups  []string
	dropGroups []string
	billing    string              // billing group to put the thing in ("" none)
	policies   map[string]struct{} // names of the policies that exist already
	certStatus string
}

func (p *provisioning) thingName() string {
	if p.plan.Thing == nil {
		return ""
	}
	return p.plan.Thing.Name
}

func (p *provisioning) policyNames() string {
	var names []string
	for _, pp := range p.plan.Policies {
		names = append(names, pp.Name)
	}
	return strings.Join(names, ", ")
}

// jitpTemplate resolves a registration config to the template body and role JITP uses.
func jitpTemplate(st *store.State, rc *store.RegistrationConfig) (body, roleARN string, perr *provisionError) {
	if rc.TemplateBody != "" {
		return rc.TemplateBody, rc.RoleArn, nil
	}
	t, err := st.ProvisioningTemplate(rc.TemplateName)
	if err != nil {
		return "", "", &provisionError{code: store.CodeResourceNotFound, reason: store.ProvisionTemplateNotFound, msg: fmt.Sprintf("The provisioning template %s named by the CA's registration config does not exist", rc.TemplateName)}
	}
	if t.Type != store.TemplateTypeJITP {
		return "", "", &provisionError{code: store.CodeInvalidRequest, msg: fmt.Sprintf("The provisioning template %s is of type %s; just-in-time provisioning needs one of type JITP", t.Name, t.Type)}
	}
	return st.DefaultTemplateBody(t), t.RoleARN, nil
}

// planProvisioning validates everything RegisterThing would need, call by call.
func planProvisioning(st *store.State, rc *store.RegistrationConfig, params map[string]string, cert *store.Certificate) (*provisioning, *provisionError) {
	body, roleARN, perr := jitpTemplate(st, rc)
	if perr != nil {
		return nil, perr
	}
	role, perr := checkRole(st, roleARN)
	if perr != nil {
		return nil, perr
	}
	tpl, err := template.Parse(body)
	if err != nil {
		return nil, templateErr(err)
	}
	plan, err := tpl.EvaluateJITP(params)
	if err != nil {
		return nil, templateErr(err)
	}
	may := func(action, resource string) *provisionError { return allowed(st, role, action, resource) }
	p := &provisioning{plan: plan, certStatus: store.StatusActive, policies: map[string]struct{}{}}
	if c := plan.Certificate; c != nil {
		if c.ID != cert.ID {
			return nil, &provisionError{code: store.CodeInvalidRequest, msg: fmt.Sprintf("Invalid registration template. The certificate resource must reference the connecting certificate ({\"Ref\":\"AWS::IoT::Certificate::Id\"}); it resolved to %q", c.ID)}
		}
		if c.Status != "" {
			p.certStatus = c.Status
		}
	} else {
		p.certStatus = store.StatusPendingActivation
	}
	if t := plan.Thing; t != nil {
		if perr := p.planThing(st, t, may); perr != nil {
			return nil, perr
		}
	}
	for _, pp := range plan.Policies {
		if st.LookupPolicy(pp.Name) != nil {
			p.policies[pp.Name] = struct{}{}
		} else if !pp.Inline {
			return nil, &provisionError{code: store.CodeResourceNotFound, reason: store.ProvisionPolicyNotFound, msg: fmt.Sprintf("The policy %s referenced by the template does not exist", pp.Name)}
		} else if err := policy.CheckLength(pp.Document); err != nil {
			// CreatePolicy's limit applies to a policy the template creates [U: the code].
			var me *policy.MalformedError
			errors.As(err, &me)
			return nil, &provisionError{code: policy.MalformedPolicyException, msg: "The template's policy document is too long: " + me.Reason}
		} else if perr := may("iot:CreatePolicy", st.PolicyARN(pp.Name)); perr != nil {
			return nil, perr
		}
		if plan.Certificate != nil {
			if perr := may("iot:AttachPolicy", cert.ARN); perr != nil {
				return nil, perr
			}
		}
	}
	if plan.Thing != nil && plan.Certificate != nil {
		if perr := may("iot:AttachThingPrincipal", st.ThingARN(plan.Thing.Name)); perr != nil {
			return nil, perr
		}
	}
	if p.certStatus != cert.Status {
		if perr := may("iot:UpdateCertificate", cert.ARN); perr != nil {
			return nil, perr
		}
	}
	return p, nil
}

// planThing checks the thing resource: a new thing (its type, groups and billing group
// must exist), or an existing one changed as the OverrideSettings say.
func (p *provisioning) planThing(st *store.State, t *template.ThingPlan, may func(action, resource string) *provisionError) *provisionError {
	if err := template.CheckThingName(t.Name); err != nil {
		return &provisionError{code: store.CodeInvalidRequest, msg: err.Error()}
	}
	arn := st.ThingARN(t.Name)
	p.thingAttrs, p.thingType = t.Attributes, t.TypeName
	old := st.LookupThing(t.Name)
	groups := slices.Clone(t.Groups)
	if old == nil {
		if perr := may("iot:CreateThing", arn); perr != nil {
			return perr
		}
		if perr := usableType(st, t.TypeName); perr != nil {
			return perr
		}
		p.addGroups = groups
		p.billing = t.BillingGroup
	} else {
		p.thing = old
		attrs, perr := override("AttributePayload", t.Override["AttributePayload"], old.Attributes, t.Attributes)
		if perr != nil {
			return perr
		}
		p.thingAttrs = attrs
		typ := old.TypeName
		switch t.Override["ThingTypeName"] {
		case "REPLACE":
			typ = t.TypeName
		case "FAIL":
			if t.TypeName != old.TypeName {
				return &provisionError{code: store.CodeResourceConflicts, msg: fmt.Sprintf("Thing %s already exists with thing type %q; the template's OverrideSettings say FAIL", t.Name, old.TypeName)}
			}
		}
		p.thingType = typ
		if !maps.Equal(old.Attributes, p.thingAttrs) || old.TypeName != typ {
			if perr := may("iot:UpdateThing", arn); perr != nil {
				return perr
			}
			if typ != old.TypeName {
				if perr := usableType(st, typ); perr != nil {
					return perr
				}
			}
		}
		if perr := p.planGroups(st, t, old); perr != nil {
			return perr
		}
		if old.BillingGroup == "" {
			p.billing = t.BillingGroup // an existing billing group is kept [U]
		}
	}
	for _, g := range p.addGroups {
		grp := st.LookupThingGroup(g)
		if grp == nil {
			return &provisionError{code: store.CodeResourceNotFound, reason: store.ProvisionResourceNotFound, msg: fmt.Sprintf("Thing group %s referenced by the template does not exist", g)}
		}
		if perr := may("iot:AddThingToThingGroup", grp.ARN); perr != nil {
			return perr
		}
	}
	for _, g := range p.dropGroups {
		if grp := st.LookupThingGroup(g); grp != nil {
			if perr := may("iot:RemoveThingFromThingGroup", grp.ARN); perr != nil {
				return perr
			}
		}
	}
	if p.billing != "" {
		bg := st.LookupBillingGroup(p.billing)
		if bg == nil {
			return &provisionError{code: store.CodeResourceNotFound, reason: store.ProvisionResourceNotFound, msg: fmt.Sprintf("Billing group %s referenced by the template does not exist", p.billing)}
		}
		if old != nil && old.BillingGroup == p.billing {
			p.billing = ""
		} else if perr := may("iot:AddThingToBillingGroup", bg.ARN); perr != nil {
			return perr
		}
	}
	return nil
}

// planGroups applies the ThingGroups OverrideSettings to an existing thing: DO_NOTHING
// (also when omitted [U]) keeps its groups, MERGE adds the template's, REPLACE makes them
// the template's, FAIL refuses a difference.
func (p *provisioning) planGroups(st *store.State, t *template.ThingPlan, old *store.Thing) *provisionError {
	have := st.GroupsOfThing(old.Name)
	want := t.Groups
	var missing, extra []string
	for _, g := range want {
		if !slices.Contains(have, g) && !slices.Contains(missing, g) {
			missing = append(missing, g)
		}
	}
	for _, g := range have {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	switch t.Override["ThingGroups"] {
	case "", "DO_NOTHING":
	case "MERGE":
		p.addGroups = missing
	case "REPLACE":
		p.addGroups, p.dropGroups = missing, extra
	case "FAIL":
		if len(missing)+len(extra) > 0 {
			return &provisionError{code: store.CodeResourceConflicts, msg: fmt.Sprintf("Thing %s already exists in thing groups [%s], not the template's [%s]; the template's OverrideSettings say FAIL",
				old.Name, strings.Join(have, ", "), strings.Join(want, ", "))}
		}
	}
	return nil
}

func usableType(st *store.State, name string) *provisionError {
	if name == "" {
		return nil
	}
	if st.LookupThingType(name) == nil {
		return &provisionError{code: store.CodeResourceNotFound, reason: store.ProvisionResourceNotFound, msg: fmt.Sprintf("Thing type %s referenced by the template does not exist", name)}
	}
	return asProvisionError(st.CheckThingTypeUsable(name))
}

// allowed checks one call of provisioning against the role's permission policies; a
// denial is AccessDeniedException with IAM's wording (IAM User Guide,
// troubleshoot_access-denied.html; the assumed-role form as AWS services report it, e.g.
// aws-connected-device-framework#36). That IoT reports it as AccessDeniedException in the
// RegisterThing of a JITP is the emulator's reading [U].
func allowed(st *store.State, role *store.Role, action, resource string) *provisionError {
	d := st.EvaluateRole(role, action, resource)
	if d.Allowed {
		return nil
	}
	who := "arn:aws:sts::" + st.Account + ":assumed-role/" + role.Name + "/" + roleSession
	if d.ExplicitDeny {
		return &provisionError{code: store.CodeAccessDenied, reason: store.ProvisionRoleDenied,
			msg: fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s with an explicit deny in an identity-based policy", who, action, resource),
			why: fmt.Sprintf("%s of role %s denies it", d.By, role.Name)}
	}
	why := fmt.Sprintf("no permission policy of role %s allows %s on %s", role.Name, action, resource)
	if len(role.AttachedPolicies) == 0 && len(st.RolePolicyNames(role.Name)) == 0 {
		why = fmt.Sprintf("role %s has a trust policy but no permission policies: attach arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration (aws iam attach-role-policy)", role.Name)
	}
	return &provisionError{code: store.CodeAccessDenied, reason: store.ProvisionRoleDenied,
		msg: fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action", who, action, resource, action),
		why: why}
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
		maps.Copy(out, old)
		maps.Copy(out, tmpl)
		return out, nil
	case "FAIL":
		if !maps.Equal(old, tmpl) {
			return nil, &provisionError{code: store.CodeResourceConflicts, msg: fmt.Sprintf("The thing already exists with a different %s; the template's OverrideSettings say FAIL", key)}
		}
		return old, nil
	}
	return nil, &provisionError{code: store.CodeInvalidRequest, msg: fmt.Sprintf("Invalid registration template. OverrideSettings %s: unknown action %q (use DO_NOTHING, REPLACE, MERGE or FAIL)", key, action)}
}

func templateErr(err error) *provisionError {
	if te, ok := err.(*template.Error); ok {
		code := te.Code
		if code == "" {
			code = store.CodeInvalidRequest
		}
		reason := store.ProvisionTemplateInvalid
		switch te.Reason {
		case template.ReasonUnresolvedRef:
			reason = store.ProvisionUnresolvedRef
		case template.ReasonMissingParameter:
			reason = store.ProvisionMissingParameter
		}
		return &provisionError{code: code, reason: reason, msg: te.Message}
	}
	return &provisionError{code: store.CodeInvalidRequest, msg: err.Error()}
}

func asProvisionError(err error) *provisionError {
	if err == nil {
		return nil
	}
	if ae := store.AsAPIError(err); ae != nil {
		return &provisionError{code: ae.Code, msg: ae.Message}
	}
	return &provisionError{code: store.CodeInternalFailure, msg: err.Error()}
}

// checkRole: JITP runs RegisterThing as the CA's role, which must exist, trust
// iot.amazonaws.com, and be usable already (Latency.RoleUsable). (The wording is this
// emulator's; AWS's CloudTrail text for these failures is not documented.)
func checkRole(st *store.State, roleARN string) (*store.Role, *provisionError) {
	if roleARN == "" {
		return nil, &provisionError{code: store.CodeInvalidRequest, reason: store.ProvisionNoRole, msg: "The registration config has no roleArn; JITP needs a role that iot.amazonaws.com can assume"}
	}
	role, err := st.RoleByARN(roleARN)
	if err != nil {
		return nil, &provisionError{code: store.CodeInvalidRequest, reason: store.ProvisionRoleMissing, msg: fmt.Sprintf("Unable to assume role %s: the role does not exist", roleARN)}
	}
	if !role.TrustsService("iot.amazonaws.com") {
		return nil, &provisionError{code: store.CodeInvalidRequest, reason: store.ProvisionRoleUntrusted, msg: fmt.Sprintf("Unable to assume role %s: its trust policy does not allow iot.amazonaws.com to call sts:AssumeRole", roleARN)}
	}
	if left := st.RoleUsableIn(role); left > 0 {
		return nil, &provisionError{code: store.CodeInvalidRequest, reason: store.ProvisionRoleNotReady, msg: fmt.Sprintf("Unable to assume role %s: the role was created %s ago and AWS IoT cannot use it yet (IAM is eventually consistent; here it becomes usable in %s)",
			roleARN, st.Now().Sub(role.Created).Round(time.Millisecond), left.Round(time.Millisecond))}
	}
	return role, nil
}

// apply makes the checked plan real: thing (groups, billing group), policies,
// attachments, certificate status.
func (p *provisioning) apply(st *store.State, cert *store.Certificate) *provisionError {
	if t := p.plan.Thing; t != nil {
		if p.thing == nil {
			th, err := st.CreateThing(t.Name, t.TypeName, t.Attributes)
			if err != nil {
				return asProvisionError(err)
			}
			p.thing = th
		} else if !maps.Equal(p.thing.Attributes, p.thingAttrs) || p.thing.TypeName != p.thingType {
			p.thing.Attributes = maps.Clone(p.thingAttrs)
			p.thing.TypeName = p.thingType
			p.thing.Version++
		}
		for _, g := range p.dropGroups {
			if err := st.RemoveThingFromThingGroup(g, t.Name); err != nil {
				return asProvisionError(err)
			}
		}
		for _, g := range p.addGroups {
			if err := st.AddThingToThingGroup(g, t.Name); err != nil {
				return asProvisionError(err)
			}
		}
		if p.billing != "" {
			if err := st.AddThingToBillingGroup(p.billing, t.Name); err != nil {
				return asProvisionError(err)
			}
		}
	}
	for _, pp := range p.plan.Policies {
		if _, ok := p.policies[pp.Name]; !ok && st.LookupPolicy(pp.Name) == nil {
			if _, err := st.CreatePolicy(pp.Name, pp.Document, nil); err != nil {
				return asProvisionError(err)
			}
		}
		if p.plan.Certificate != nil {
			if err := st.AttachPolicy(pp.Name, cert.ARN); err != nil {
				return asProvisionError(err)
			}
		}
	}
	if t := p.plan.Thing; t != nil && p.plan.Certificate != nil {
		if err := st.AttachThingPrincipal(t.Name, cert.ARN, store.NonExclusiveThing); err != nil {
			return asProvisionError(err)
		}
	}
	return asProvisionError(st.SetCertificateStatus(cert.ID, p.certStatus))
}

// provision runs the CA's template for a registered certificate in one store transaction:
// thing, policies, attachments and status, or (rolled back) nothing and a
// RegisterThingFailed event with AWS's error (the certificate stays PENDING_ACTIVATION).
func (r storeRegistry) provision(req autoRegRequest) (autoRegResult, error) {
	params := pki.JITPParameters(req.Leaf)
	res := autoRegResult{JITP: true}
	err := r.st.Update(func(st *store.State) error {
		res = autoRegResult{JITP: true}
		cert, err := registerPending(st, req)
		if err != nil {
			return err
		}
		if cert.Status != store.StatusPendingActivation {
			res.RegisteredAt, res.Status, res.Skipped = cert.Created, cert.Status, true
			return nil
		}
		res.RegisteredAt, res.Status = cert.Created, cert.Status
		ca, _ := st.CA(req.CA.ID)
		if ca == nil || ca.RegistrationConfig.IsZero() {
			return nil // the CA lost its registration config meanwhile: JITR from now on
		}
		p, perr := planProvisioning(st, ca.RegistrationConfig, params, cert)
		if perr != nil {
			return &provisionFailed{perr}
		}
		if perr := p.apply(st, cert); perr != nil {
			return &provisionFailed{perr}
		}
		res.Thing, res.Policy, res.Status = p.thingName(), p.policyNames(), cert.Status
		took := time.Since(req.Start)
		msg := "JITP provisioned certificate " + req.CertID
		if res.Thing != "" {
			msg += ": thing " + res.Thing
			if len(p.plan.Thing.Groups) > 0 {
				msg += " (groups " + strings.Join(st.GroupsOfThing(res.Thing), ", ") + ")"
			}
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
		evParams := maps.Clone(params)
		if pf.perr.why != "" {
			evParams["why"] = pf.perr.why
		}
		st.AddEvent(store.Event{
			Time:    req.Now,
			Kind:    store.EventProvisioningFailed,
			CertID:  req.CertID,
			CAID:    req.CA.ID,
			Client:  req.ClientID,
			Message: pf.perr.msg,
			Error:   pf.perr.code,
			Reason:  pf.perr.reason,
			Params:  evParams,
		})
		return nil
	})
	return res, err
}

// delayedJITP makes provisioning take as long as on AWS (Options.ProvisioningDelay): the
// first connect registers the certificate PENDING_ACTIVATION and is closed at once, and
// the template runs that much later; a connect meanwhile is refused without running it
// again. Provisioning that has not run when the broker closes runs on the next connect,
// since the certificate is still PENDING_ACTIVATION.
type delayedJITP struct {
	d    time.Duration
	wait func(time.Duration) <-chan time.Time // time.After; tests hold provisioning back

	mu      sync.Mutex
	pending map[string]time.Time // certificate ID → when its provisioning runs
	stop    chan struct{}
	closed  bool
	wg      sync.WaitGroup
}

func newDelayedJITP(d time.Duration) *delayedJITP {
	if d <= 0 {
		return nil
	}
	return &delayedJITP{d: d, wait: time.After, pending: map[string]time.Time{}, stop: make(chan struct{})}
}

// schedule runs fn after the delay unless provisioning of the certificate is pending
// already; it returns when the pending one runs and whether fn was scheduled now.
func (dj *delayedJITP) schedule(certID string, fn func()) (time.Time, bool) {
	dj.mu.Lock()
	defer dj.mu.Unlock()
	if at, ok := dj.pending[certID]; ok {
		return at, false
	}
	if dj.closed {
		return time.Time{}, false
	}
	at := time.Now().Add(dj.d)
	dj.pending[certID] = at
	wait := dj.wait(dj.d)
	dj.wg.Add(1)
	go func() {
		defer dj.wg.Done()
		select {
		case <-wait:
			fn()
		case <-dj.stop:
		}
		dj.mu.Lock()
		delete(dj.pending, certID)
		dj.mu.Unlock()
	}()
	return at, true
}

// close stops what has not run yet and waits for what runs.
func (dj *delayedJITP) close() {
	if dj == nil {
		return
	}
	dj.mu.Lock()
	if !dj.closed {
		dj.closed = true
		close(dj.stop)
	}
	dj.mu.Unlock()
	dj.wg.Wait()
}
