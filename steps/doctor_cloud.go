package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/api"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The doctor's checks of what the target says about the CA, its template and role, what the
// template names, the device certificate, its things and policies — and, with --connect, of
// a connection as the device. Every call is a read, except GetRegistrationCode (which makes
// the account's code if it has none) and the connection (a first connect runs JITP).

// errCause is the cause of a failed call: the target unreachable, or else cause.
func (d *doctorRun) errCause(err error, cause Cause) Cause {
	if aws.IsKind(err, aws.KindUnavailable) {
		d.lost = true
		return CauseUnreachable
	}
	return cause
}

// lookupFailed records a call that failed with an error other than not found.
func (d *doctorRun) lookupFailed(id, label string, err error) {
	d.fail(id, label, err.Error(), d.errCause(err, CauseInput), "the target refused the lookup — the evidence says why")
}

// loadEvents reads the local IoT Core's event log: from the IoT Core this process runs, or
// from the `jitpwiz local` at the endpoint URL. AWS keeps its counterpart in CloudTrail and
// CloudWatch Logs, which doctor does not read.
func (d *doctorRun) loadEvents(ctx context.Context) {
	s := d.s
	if s.Options.Target != TargetLocal {
		return
	}
	if srv, ok := s.backend.(interface {
		EventLog(after int64) []store.Event
	}); ok {
		d.events = srv.EventLog(0)
		return
	}
	u := firstNonEmpty(s.localURL, s.Options.EndpointURL)
	if u == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(u, "/")+api.EventsPath, nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		var evs []store.Event
		if json.NewDecoder(resp.Body).Decode(&evs) == nil {
			d.events = evs
		}
	}
}

// eventsOf are the local IoT Core's words about a certificate that explain a failure:
// refused connections, failed provisioning, denied actions (the last five).
func (d *doctorRun) eventsOf(certID string) []string {
	var out []string
	for _, ev := range d.events {
		if ev.CertID != certID {
			continue
		}
		switch ev.Kind {
		case store.EventConnectRefused, store.EventProvisioningFailed, store.EventAuthorizationFailure:
			line := "local IoT Core event log, " + ev.Time.UTC().Format(time.TimeOnly) + " " + ev.Kind + ": " + ev.Message
			if ev.Error != "" {
				line += " (" + ev.Error + ")"
			}
			if why := ev.Params["why"]; why != "" {
				line += " — " + why
			}
			out = append(out, line)
		}
	}
	if len(out) > 5 {
		out = out[len(out)-5:]
	}
	return out
}

func caUpdateCmd(s *Session, caID string, args ...string) string {
	return awsCmd(s, "iot", append([]string{"update-ca-certificate", "--certificate-id", caID}, args...)...)
}

// templateArg is how the fixes refer to the registration config to register: the template
// file given, else the walkthrough's jitp_template.json.
func (d *doctorRun) templateArg() string {
	if d.in.templateFile != "" {
		return "file://" + d.name(d.in.templateFile)
	}
	return "file://" + FileTemplate
}

// registerFix registers the CA as the walkthrough does: a verification certificate with the
// account's registration code, then register-ca-certificate with auto-registration and the
// template.
func (d *doctorRun) registerFix(ctx context.Context) []string {
	ca := d.name(d.in.caFile)
	code, err := d.c.GetRegistrationCode(ctx)
	if err != nil || code == "" {
		code = "<registration code>"
	}
	out := cmdLines(
		pki.GenKeyCommand(pki.DefaultKeyType, pki.FileVerifKey),
		pki.CSRCommand(pki.FileVerifKey, pki.FileVerifCSR, pki.Subject{CommonName: code}),
		pki.SignCommand(pki.FileVerifCSR, ca, d.caKeyFile(), pki.FileVerifCert, pki.VerificationDays),
	)
	args := []string{"register-ca-certificate", "--ca-certificate", "file://" + ca, "--verification-cert", "file://" + pki.FileVerifCert,
		"--set-as-active", "--allow-auto-registration"}
	if d.fileRC != nil || d.in.templateFile == "" {
		args = append(args, "--registration-config", d.templateArg())
	}
	return append(out, awsCmd(d.s, "iot", args...))
}

// checkVerification: a verification certificate given is signed by the CA and its CN is the
// account's registration code in this region.
func (d *doctorRun) checkVerification(ctx context.Context) {
	if d.in.verifFile == "" || d.ca == nil {
		return
	}
	const label = "verification certificate: signed by the CA, CN = registration code"
	name := d.name(d.in.verifFile)
	v, err := pki.LoadCertFile(d.in.verifFile)
	if err != nil {
		d.fail("verification-cert", label, err.Error(), CauseInput, "give the verification certificate (PEM)")
		return
	}
	key := strings.TrimSuffix(name, filepath.Ext(name)) + ".key"
	remake := func(code string) []string {
		return cmdLines(
			pki.CSRCommand(key, pki.FileVerifCSR, pki.Subject{CommonName: code}),
			pki.SignCommand(pki.FileVerifCSR, d.name(d.in.caFile), d.caKeyFile(), name, pki.VerificationDays),
		)
	}
	if err := pki.CheckIssuedBy(v, d.ca, d.s.Now()); err != nil {
		d.fail("verification-cert", label, name+": "+err.Error(), CauseInput,
			"register-ca-certificate checks that the CA's key signed the verification certificate (CertificateValidationException otherwise): sign it with the CA", remake(v.Subject.CommonName)...)
		return
	}
	code, err := d.c.GetRegistrationCode(ctx)
	if err != nil {
		d.lookupFailed("verification-cert", label, err)
		return
	}
	if v.Subject.CommonName != code {
		fix := remake(code)
		d.fail("verification-cert", label, fmt.Sprintf("CN %q, but the registration code of account %s in %s is %s", v.Subject.CommonName, d.s.Account, d.s.Region, code), CauseVerificationCN,
			"register-ca-certificate answers RegistrationCodeValidationException (\"The registration code is invalid\"): the verification certificate's CN must be this account's registration code in this region — codes differ per account and region, so one made for another account or region does not work here",
			fix...)
		return
	}
	d.pass("verification-cert", label, name+": CN "+code)
}

// checkCARegistration: the CA is registered here, ACTIVE, with auto-registration on, in the
// expected mode, and with a template (JITP) or without (JITR); the template that runs.
func (d *doctorRun) checkCARegistration(ctx context.Context) {
	if d.ca == nil {
		return
	}
	s := d.s
	label := "CA registered in " + s.Region
	desc, err := d.c.FindCA(ctx, d.caID)
	if err != nil {
		d.lookupFailed("ca-registered", label, err)
		return
	}
	d.caKnown = true
	if desc == nil {
		why := "CA " + d.ca.Subject.String() + " (" + abbrev(d.caID) + ") is not registered in region " + s.Region + " of account " + s.Account +
			", so AWS IoT provisions nothing it signed: a device's TLS handshake fails and nothing is registered"
		var fix []string
		if d.in.workspace {
			why += " — register it with: jitpwiz run --dir " + pki.ShellQuote(s.dir) + " (step 8), or check --region"
			fix = []string{"jitpwiz run --dir " + pki.ShellQuote(s.dir)}
		} else {
			why += " — register it in the region whose endpoint the devices use (if it is registered in another region, run doctor with that --region). " +
				"If register-ca-certificate answers ResourceAlreadyExistsException although this account has no such CA, another account registered it in DEFAULT mode: " +
				"register it with --certificate-mode SNI_ONLY instead (no verification certificate; devices must send SNI)"
			fix = d.registerFix(ctx)
		}
		d.fail("ca-registered", label, "no CA with ID "+abbrev(d.caID), CauseCANotRegistered, why, fix...)
		return
	}
	d.caDesc = desc
	reg := DoctorCheck{ID: "ca-registered", Status: CheckPass, Label: label, Evidence: desc.ARN}
	if !desc.CreationDate.IsZero() {
		reg.Evidence += " (since " + desc.CreationDate.UTC().Format("2006-01-02 15:04 MST") + ")"
	}
	if !d.in.workspace {
		reg.Cause = CauseCAAlreadyRegistered
		reg.Why = "the CA is registered in this account already: register-ca-certificate answers ResourceAlreadyExistsException for it — change its status, auto-registration or template with update-ca-certificate instead of registering it again"
	}
	d.add(reg)
	if desc.Status == aws.StatusActive {
		d.pass("ca-active", "CA ACTIVE", "status "+desc.Status)
	} else {
		d.fail("ca-active", "CA ACTIVE", "status "+desc.Status, CauseCAInactive,
			"AWS IoT registers and provisions no new device certificate signed by an inactive CA (devices provisioned before keep connecting) — re-activate it",
			caUpdateCmd(s, desc.ID, "--new-status", aws.StatusActive))
	}
	if desc.AutoRegistrationStatus == aws.AutoRegEnable {
		d.pass("ca-auto-registration", "CA auto-registration ENABLE", "autoRegistrationStatus "+desc.AutoRegistrationStatus)
	} else {
		d.fail("ca-auto-registration", "CA auto-registration ENABLE", "autoRegistrationStatus "+firstNonEmpty(desc.AutoRegistrationStatus, aws.AutoRegDisable), CauseAutoRegistration,
			"without auto-registration a new device certificate is not registered on its first connect, so JITP never runs for it — enable it",
			caUpdateCmd(s, desc.ID, "--new-auto-registration-status", aws.AutoRegEnable))
	}
	mode := firstNonEmpty(desc.CertificateMode, "DEFAULT")
	if d.in.workspace {
		want := firstNonEmpty(s.Options.certificateMode(), "DEFAULT")
		if mode == want {
			d.pass("ca-mode", "CA certificate mode "+want, "certificateMode "+mode)
		} else {
			other := map[bool]string{true: CAModeSNIOnly, false: CAModeDefault}[mode == "SNI_ONLY"]
			d.fail("ca-mode", "CA certificate mode "+want, "certificateMode "+mode, CauseCAMode,
				"a CA's mode cannot be changed: remove it (jitpwiz clean) and register it again, or use --ca-mode "+other,
				"jitpwiz run --dir "+pki.ShellQuote(s.dir)+" --ca-mode "+other)
		}
	} else if mode == "SNI_ONLY" {
		d.pass("ca-mode", "CA certificate mode", "SNI_ONLY: devices must send SNI (the endpoint name); other accounts may have registered the CA too")
	} else {
		d.pass("ca-mode", "CA certificate mode", "DEFAULT (no other account can register this CA in DEFAULT mode in "+s.Region+")")
	}
	d.checkCATemplate(ctx, desc)
}

// checkCATemplate: the CA's registrationConfig — a template (JITP) or none (JITR) — and the
// template and role that run on a first connect.
func (d *doctorRun) checkCATemplate(ctx context.Context, desc *aws.CADescription) {
	s := d.s
	rc := desc.RegistrationConfig
	has := rc != nil && (rc.TemplateBody != "" || rc.TemplateName != "")
	remove := caUpdateCmd(s, desc.ID, "--remove-auto-registration", "--new-auto-registration-status", aws.AutoRegEnable)
	attach := caUpdateCmd(s, desc.ID, "--registration-config", d.templateArg())
	switch {
	case d.in.workspace && d.in.jitr && has:
		d.fail("ca-template", "CA has no JITP template (JITR)", "the CA has a registrationConfig", CauseNoTemplate,
			"its template runs (JITP) and no registered event is published — remove it", remove)
		return
	case d.in.workspace && d.in.jitr:
		d.jitr = true
		d.pass("ca-template", "CA has no JITP template (JITR)", "no registrationConfig: the first connect registers certificates PENDING_ACTIVATION")
		return
	case !has && (d.in.workspace || d.fileRC != nil):
		d.jitr = true
		d.fail("ca-template", "CA has a JITP template (registrationConfig)", "none: this is JITR, not JITP", CauseNoTemplate,
			"without a registrationConfig a first connect only registers the certificate PENDING_ACTIVATION (Just-in-Time Registration) and runs no template — attach the template", attach)
		return
	case !has:
		d.jitr = true
		d.pass("ca-template", "CA's template (registrationConfig)", "none: Just-in-Time Registration (JITR) — certificates wait PENDING_ACTIVATION until something activates them (give --template to check one for JITP)")
		return
	}
	if rc.TemplateBody != "" {
		d.body, d.roleARN = rc.TemplateBody, rc.RoleArn
		d.pass("ca-template", "CA has a JITP template (registrationConfig)", "role "+firstNonEmpty(rc.RoleArn, "(none)"))
		return
	}
	label := "provisioning template " + rc.TemplateName + " (the CA's templateName)"
	t, err := d.c.DescribeProvisioningTemplate(ctx, rc.TemplateName)
	switch {
	case aws.IsKind(err, aws.KindNotFound):
		d.fail("provisioning-template", label, "no provisioning template "+rc.TemplateName+" in "+s.Region, CauseTemplateResource,
			"JITP looks the template up by name on every first connect: without it provisioning fails and certificates stay PENDING_ACTIVATION — create it (type JITP), or attach a template body",
			awsCmd(s, "iot", "create-provisioning-template", "--template-name", rc.TemplateName, "--type", "JITP", "--template-body", "file://template-body.json",
				"--provisioning-role-arn", firstNonEmpty(rc.RoleArn, template.DefaultRoleArn(s.Region, s.Account)), "--enabled"), attach)
		return
	case err != nil:
		d.lookupFailed("provisioning-template", label, err)
		return
	case t.Type != "JITP":
		d.fail("provisioning-template", label, "type "+t.Type, CauseTemplateResource,
			"just-in-time provisioning runs only templates of type JITP (a FLEET_PROVISIONING template is for fleet provisioning by claim) — create one of type JITP and name it in the CA's registrationConfig")
		return
	}
	d.body, d.roleARN = t.Body, t.RoleARN
	ev := t.ARN + ", role " + t.RoleARN
	if !t.Enabled {
		ev += " (disabled)"
	}
	d.pass("provisioning-template", label, ev)
}

// planParams are the JITP parameters the template is evaluated with: the device
// certificate's, or without one placeholders for every parameter it needs.
func (d *doctorRun) planParams(t *template.Template) map[string]string {
	if d.dev != nil {
		return pki.JITPParameters(d.dev)
	}
	m := map[string]string{template.ParamID: strings.Repeat("0", 64)}
	for _, p := range t.RequiredParameters() {
		if _, ok := m[p]; !ok {
			m[p] = "x"
		}
	}
	if d.in.thing != "" {
		m[template.ParamCommonName] = d.in.thing
	}
	return m
}

// checkTemplates: the template that runs parses and resolves from the device subject, and is
// the one meant to run (--template); the thing it makes.
func (d *doctorRun) checkTemplates() {
	body, label, paramLabel := d.body, "registered template parses", "registered template's parameters resolve from the device subject"
	if body == "" {
		if d.fileRC == nil || (d.jitr && d.caKnown && d.caDesc != nil) {
			return
		}
		body, label, paramLabel = d.fileRC.TemplateBody, "", "template parameters resolve from the device subject"
	}
	t, err := template.Parse(body)
	if err != nil {
		cause := CauseTemplateFailed
		if isEscaping(err) {
			cause = CauseTemplateEscaping
		}
		d.fail("template-parse", label, "the CA's registrationConfig does not parse: "+err.Error(), cause, escapingWhy(err), d.attachFix()...)
		return
	}
	d.tmpl = t
	params := d.planParams(t)
	if plan, err := t.Evaluate(params); err == nil {
		d.plan = plan
	} else if plan, err := t.Evaluate(d.placeholders(t, params)); err == nil {
		d.plan = plan // what it would make were the subject complete
	}
	if d.plan != nil && d.plan.Thing != nil {
		d.thing = firstNonEmpty(d.in.thing, d.plan.Thing.Name)
	}
	if d.dev != nil {
		what := "the device certificate " + pki.SubjectOf(d.dev).String()
		if _, err := lintTemplate(d.s, t, params, what); err != nil {
			var missing []string
			for _, p := range t.RequiredParameters() {
				if _, ok := params[p]; !ok {
					missing = append(missing, p)
				}
			}
			cause, why := CauseTemplateFailed, "provisioning fails with this template and the certificate stays PENDING_ACTIVATION"
			var fix []string
			if len(missing) > 0 {
				cause = CauseTemplateParameter
				why = "the template needs " + strings.Join(missing, ", ") + ", which the device certificate's subject does not have: provisioning fails (\"Cannot resolve reference value\") and the certificate stays PENDING_ACTIVATION — " +
					"issue the device certificate again with it in the subject (fill in the value), or give the parameter a Default in the template"
				fix = d.reissueWith(missing)
			}
			d.fail("template-parameters", paramLabel, err.Error(), cause, why, fix...)
		} else {
			d.pass("template-parameters", paramLabel, "every Ref resolves from "+pki.SubjectOf(d.dev).String())
		}
	}
	if d.body == "" || d.fileRC == nil {
		return
	}
	name := d.name(d.in.templateFile)
	if sameJSON(d.fileRC.TemplateBody, d.body) {
		d.pass("template-registered", "the CA runs the template "+name, "the registered template is "+name+"'s")
		return
	}
	if d.in.workspace {
		d.note("the template registered with the CA differs from " + FileTemplate + " (changed after step 8?); the registered one is what JITP runs")
		return
	}
	d.fail("template-registered", "the CA runs the template "+name, "the CA's registered template differs from "+name, CauseCAAlreadyRegistered,
		"register-ca-certificate does not replace the template of a CA that is already registered (it answers ResourceAlreadyExistsException): a first connect runs the CA's registered template, not "+name+" — update the CA with it",
		d.attachFix()...)
}

// placeholders completes params with a placeholder for every parameter the template needs.
func (d *doctorRun) placeholders(t *template.Template, params map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range params {
		m[k] = v
	}
	for _, p := range t.RequiredParameters() {
		if _, ok := m[p]; !ok {
			m[p] = "x"
		}
	}
	return m
}

// attachFix updates the CA with the template file given.
func (d *doctorRun) attachFix() []string {
	if d.caDesc == nil || d.fileRC == nil {
		return nil
	}
	return []string{caUpdateCmd(d.s, d.caDesc.ID, "--registration-config", d.templateArg())}
}

// reissueWith issues the device certificate again with the missing subject attributes
// added (their values are the user's to fill in).
func (d *doctorRun) reissueWith(missing []string) []string {
	if d.dev == nil {
		return nil
	}
	sub := pki.SubjectOf(d.dev)
	for _, p := range missing {
		if f, ok := template.SubjectField(p); ok {
			if v := sub.Attr(f.Short); v != nil {
				*v = "<" + f.Long + ">"
			}
		}
	}
	old := d.name(d.in.devFile)
	key := d.name(firstNonEmpty(d.in.devKeyFile, strings.TrimSuffix(d.in.devFile, filepath.Ext(d.in.devFile))+".key"))
	base := strings.TrimSuffix(old, filepath.Ext(old))
	return cmdLines(
		pki.CSRCommand(key, base+"-new.csr", sub),
		pki.SignCommand(base+"-new.csr", d.name(d.in.caFile), d.caKeyFile(), base+"-new.crt", pki.DeviceDays),
	)
}

// roleCall is one call JITP makes with the provisioning role.
type roleCall struct{ action, resource string }

// provisioningCalls are the calls JITP makes with the role for the plan, in the order the
// developer guide lists them (the local IoT Core checks the same, aws/local/broker).
func (d *doctorRun) provisioningCalls(ctx context.Context) []roleCall {
	s, p := d.s, d.plan
	arn := func(kind, name string) string { return policy.ResourceARN(s.Region, s.Account, kind, name) }
	certID := strings.Repeat("0", 64)
	if d.dev != nil {
		certID = pki.CertID(d.dev)
	}
	cert := firstNonEmpty(certARN(s, certID), arn("cert", certID))
	var out []roleCall
	if t := p.Thing; t != nil {
		if th := d.describeThing(ctx, t.Name); th == nil {
			out = append(out, roleCall{"iot:CreateThing", arn("thing", t.Name)})
		} else if t.Attributes != nil && !sameAttrs(th.Attributes, t.Attributes) && t.Override["AttributePayload"] != "" && t.Override["AttributePayload"] != "DO_NOTHING" {
			out = append(out, roleCall{"iot:UpdateThing", arn("thing", t.Name)})
		}
		for _, g := range t.Groups {
			out = append(out, roleCall{"iot:AddThingToThingGroup", arn("thinggroup", g)})
		}
		if t.BillingGroup != "" {
			out = append(out, roleCall{"iot:AddThingToBillingGroup", arn("billinggroup", t.BillingGroup)})
		}
	}
	for _, pp := range p.Policies {
		if pp.Inline {
			if _, err := d.c.GetPolicy(ctx, pp.Name); err != nil {
				out = append(out, roleCall{"iot:CreatePolicy", arn("policy", pp.Name)})
			}
		}
		if p.Certificate != nil {
			out = append(out, roleCall{"iot:AttachPolicy", cert})
		}
	}
	if p.Thing != nil && p.Certificate != nil {
		out = append(out, roleCall{"iot:AttachThingPrincipal", arn("thing", p.Thing.Name)})
	}
	if p.Certificate != nil {
		out = append(out, roleCall{"iot:UpdateCertificate", cert})
	}
	return out
}

func sameAttrs(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// describeThing is the thing (nil when it does not exist or cannot be read), asked once.
func (d *doctorRun) describeThing(ctx context.Context, name string) *aws.Thing {
	if d.thingDesc == nil {
		d.thingDesc = map[string]*aws.Thing{}
	}
	if t, ok := d.thingDesc[name]; ok {
		return t
	}
	t, err := d.c.DescribeThing(ctx, name)
	var out *aws.Thing
	if err == nil {
		out = &t
	}
	d.thingDesc[name] = out
	return out
}

// checkRole: the CA's role exists, trusts iot.amazonaws.com, and its permission policies
// allow each call provisioning makes with it.
func (d *doctorRun) checkRole(ctx context.Context) {
	if d.roleARN == "" || d.jitr {
		return
	}
	s := d.s
	name := aws.RoleName(d.roleARN)
	trust := aws.TrustPolicy(s.Account, s.Region)
	role, err := d.c.DescribeRole(ctx, d.roleARN)
	switch {
	case aws.IsKind(err, aws.KindNotFound):
		args := []string{"create-role", "--role-name", name, "--assume-role-policy-document", trust}
		if path := rolePath(d.roleARN); path != "/" {
			args = append(args, "--path", path)
		}
		d.fail("role", "provisioning role "+name+" exists", d.roleARN+": no such role", CauseRoleMissing,
			"JITP runs the template as the CA's role: AWS IoT cannot assume a role that does not exist, so provisioning fails and the certificate stays PENDING_ACTIVATION — create it, trusted by iot.amazonaws.com, with AWSIoTThingsRegistration",
			awsCmd(s, "iam", args...), awsCmd(s, "iam", "attach-role-policy", "--role-name", name, "--policy-arn", aws.PolicyThingsRegistration))
		return
	case err != nil:
		d.lookupFailed("role", "provisioning role "+name+" exists", err)
		return
	}
	d.pass("role", "provisioning role "+name+" exists", role.ARN)
	ok, reason, terr := aws.TrustsIoT(role.TrustPolicy, s.Account, s.Region)
	if !ok {
		ev := "its trust policy does not let iot.amazonaws.com assume it"
		switch {
		case terr != nil:
			ev = "its trust policy does not parse: " + terr.Error()
		case reason != "":
			ev = reason
		}
		d.fail("role-trust", "role trusted by iot.amazonaws.com", ev, CauseRoleNotTrusted,
			"AWS IoT assumes the role (sts:AssumeRole as iot.amazonaws.com) to provision: without that trust every provisioning fails (\"Unable to assume role\") and certificates stay PENDING_ACTIVATION — trust iot.amazonaws.com for this account and region",
			awsCmd(s, "iam", "update-assume-role-policy", "--role-name", name, "--policy-document", trust))
	} else {
		d.pass("role-trust", "role trusted by iot.amazonaws.com", "sts:AssumeRole for iot.amazonaws.com")
	}
	d.checkRolePermissions(ctx, role)
}

// rolePath is the path of a role ARN ("/" when it has none).
func rolePath(arn string) string {
	_, rest, ok := strings.Cut(arn, ":role/")
	if !ok {
		return "/"
	}
	i := strings.LastIndex(rest, "/")
	if i < 0 {
		return "/"
	}
	return "/" + rest[:i+1]
}

func (d *doctorRun) checkRolePermissions(ctx context.Context, role aws.RoleDescription) {
	const label = "role allows what provisioning does"
	if d.plan == nil {
		d.skip("role-permissions", label, "the template could not be evaluated")
		return
	}
	s := d.s
	var docs []*policy.Document
	for _, p := range role.Policies {
		doc, err := policy.Parse(p.Document)
		if err != nil {
			continue
		}
		doc.Name = "managed policy " + p.ARN
		if p.Inline {
			doc.Name = "inline policy " + p.Name
		}
		docs = append(docs, doc)
	}
	var denied []string
	var first policy.RoleDecision
	calls := d.provisioningCalls(ctx)
	for _, c := range calls {
		dec := policy.EvaluateRole(docs, s.Region, s.Account, role.ARN, c.action, c.resource)
		if !dec.Allowed {
			if len(denied) == 0 {
				first = dec
			}
			denied = append(denied, c.action+" on "+c.resource)
		}
	}
	if len(denied) == 0 {
		var acts []string
		for _, c := range calls {
			acts = append(acts, strings.TrimPrefix(c.action, "iot:"))
		}
		d.pass("role-permissions", label, "allowed: "+strings.Join(acts, ", "))
		for _, u := range role.Unreadable {
			d.note("not read: " + u)
		}
		return
	}
	why := "provisioning makes these calls as the role, and IAM denies the first one (\"is not authorized to perform\"), so provisioning fails and the certificate stays PENDING_ACTIVATION"
	fix := []string{awsCmd(s, "iam", "attach-role-policy", "--role-name", role.Name, "--policy-arn", aws.PolicyThingsRegistration)}
	switch {
	case first.ExplicitDeny:
		why += " — " + first.By + " denies it explicitly, which no Allow overrides: remove that statement"
		fix = []string{awsCmd(s, "iam", "list-role-policies", "--role-name", role.Name), awsCmd(s, "iam", "list-attached-role-policies", "--role-name", role.Name)}
	case len(role.Policies) == 0:
		why += " — the role has no permission policy at all: attach AWSIoTThingsRegistration"
	default:
		why += " — attach AWSIoTThingsRegistration (it allows all of them)"
	}
	d.fail("role-permissions", label, "denied: "+strings.Join(denied, "; "), CauseRolePermissions, why, fix...)
	for _, u := range role.Unreadable {
		d.note("not read: " + u)
	}
}

// checkTemplateResources: the policies, thing type, thing groups and billing group the
// template names exist.
func (d *doctorRun) checkTemplateResources(ctx context.Context) {
	if d.plan == nil {
		return
	}
	s := d.s
	for _, pp := range d.plan.Policies {
		if pp.Inline {
			continue
		}
		label := "policy " + pp.Name + " named by the template exists"
		_, err := d.c.GetPolicy(ctx, pp.Name)
		switch {
		case aws.IsKind(err, aws.KindNotFound):
			var fix []string
			if doc, derr := scopedPolicyDocument(s); derr == nil {
				fix = append(fix, awsCmd(s, "iot", "create-policy", "--policy-name", pp.Name, "--policy-document", doc))
			}
			d.fail("template-policies", label, "no IoT policy "+pp.Name+" in "+s.Region, CausePolicyMissing,
				"the template attaches an existing policy by name: provisioning fails (\"The policy "+pp.Name+" referenced by the template does not exist\") and the certificate stays PENDING_ACTIVATION — create it (here with the walkthrough's scoped policy: the client, topics and filters of its own thing)",
				fix...)
		case err != nil:
			d.lookupFailed("template-policies", label, err)
		default:
			d.pass("template-policies", label, pp.Name)
		}
	}
	t := d.plan.Thing
	if t == nil {
		return
	}
	if t.TypeName != "" {
		label := "thing type " + t.TypeName + " named by the template exists"
		tt, err := d.c.DescribeThingType(ctx, t.TypeName)
		switch {
		case aws.IsKind(err, aws.KindNotFound):
			d.fail("thing-type", label, "no thing type "+t.TypeName+" in "+s.Region, CauseTemplateResource,
				"provisioning cannot create a thing of a type that does not exist (\"Thing type "+t.TypeName+" referenced by the template does not exist\"): the certificate stays PENDING_ACTIVATION — create it",
				awsCmd(s, "iot", "create-thing-type", "--thing-type-name", t.TypeName))
		case err != nil:
			d.lookupFailed("thing-type", label, err)
		case tt.Deprecated:
			d.fail("thing-type", label, "thing type "+t.TypeName+" is deprecated", CauseTemplateResource,
				"no new thing can be created with a deprecated thing type: provisioning fails — undo the deprecation",
				awsCmd(s, "iot", "deprecate-thing-type", "--thing-type-name", t.TypeName, "--undo-deprecate"))
		default:
			d.pass("thing-type", label, tt.ARN)
		}
	}
	for _, g := range t.Groups {
		label := "thing group " + g + " named by the template exists"
		grp, err := d.c.DescribeThingGroup(ctx, g)
		switch {
		case aws.IsKind(err, aws.KindNotFound):
			d.fail("thing-groups", label, "no thing group "+g+" in "+s.Region, CauseTemplateResource,
				"provisioning cannot add the thing to a group that does not exist (\"Thing group "+g+" referenced by the template does not exist\"): the certificate stays PENDING_ACTIVATION — create it",
				awsCmd(s, "iot", "create-thing-group", "--thing-group-name", g))
		case err != nil:
			d.lookupFailed("thing-groups", label, err)
		default:
			d.pass("thing-groups", label, grp.ARN)
		}
	}
	if b := t.BillingGroup; b != "" {
		label := "billing group " + b + " named by the template exists"
		bg, err := d.c.DescribeBillingGroup(ctx, b)
		switch {
		case aws.IsKind(err, aws.KindNotFound):
			d.fail("billing-group", label, "no billing group "+b+" in "+s.Region, CauseTemplateResource,
				"provisioning cannot put the thing in a billing group that does not exist: the certificate stays PENDING_ACTIVATION — create it",
				awsCmd(s, "iot", "create-billing-group", "--billing-group-name", b))
		case err != nil:
			d.lookupFailed("billing-group", label, err)
		default:
			d.pass("billing-group", label, bg.ARN)
		}
	}
}

// checkDeviceRegistration: the device certificate's registration and status.
func (d *doctorRun) checkDeviceRegistration(ctx context.Context) {
	if d.dev == nil {
		return
	}
	s := d.s
	id := pki.CertID(d.dev)
	jitrLabel := "device certificate ACTIVE (JITR)"
	label := "device certificate registered and ACTIVE"
	if d.jitr {
		label = jitrLabel
	}
	desc, err := d.c.DescribeCertificate(ctx, id)
	switch {
	case aws.IsKind(err, aws.KindNotFound):
		d.devKnown = true
		if d.jitr && d.in.workspace {
			d.fail("device-registered", jitrLabel, "certificate "+abbrev(id)+" is not registered: the device has not connected yet — its first connect (step 11) registers it", CauseWorkspace,
				"run the first connect", "jitpwiz run --dir "+pki.ShellQuote(s.dir))
			return
		}
		d.skip("device-registered", label, "certificate "+abbrev(id)+" is not registered: no first connect with it has reached AWS IoT yet (or one failed before registration — see the checks above)")
		for _, e := range d.eventsOf(id) {
			d.note(e)
		}
		return
	case err != nil:
		d.lookupFailed("device-registered", label, err)
		return
	}
	d.devKnown, d.devDesc = true, &desc
	short := "certificate " + abbrev(id)
	switch desc.Status {
	case aws.StatusActive:
		ev := "describe-certificate: status ACTIVE, CA " + abbrev(desc.CAID)
		d.pass("device-registered", label, ev)
	case aws.StatusPendingActivation:
		if d.jitr {
			why := "AWS IoT refuses it until something does (the JITR guide's rule + Lambda; nothing activates a JITR certificate by itself)"
			fix := d.activateFix(id, desc.ARN)
			if d.in.workspace {
				why += " — run jitpwiz run --dir " + pki.ShellQuote(s.dir) + " (step 11a activates it), or deploy the topic rule + Lambda that step 11a writes (jitr_rule.json, jitr_activate.mjs); by hand: with a policy attached and the thing made first"
				fix = append([]string{"jitpwiz run --dir " + pki.ShellQuote(s.dir)}, fix...)
			}
			d.fail("device-registered", jitrLabel, short+" is PENDING_ACTIVATION: JITR registered it on the first connect and nothing activated it", CauseJITRPending, why, fix...)
			return
		}
		log := d.eventsOf(id)
		cause := d.pendingCause(log)
		why := "JITP registered it on a first connect, ran the template and the template failed, so AWS IoT refuses the certificate; it runs the template again on the next connect, once the cause is fixed"
		if cause == CauseTemplateFailed {
			why += " (on AWS, CloudTrail's RegisterThing event has the error)"
		} else {
			why += " — the cause is the failed check above"
		}
		d.fail("device-registered", label, short+" is PENDING_ACTIVATION: JITP ran the template and it failed", cause, why)
		for _, e := range log {
			d.note(e)
		}
	case aws.StatusInactive:
		d.fail("device-registered", label, short+" is INACTIVE", CauseCertNotActive,
			"AWS IoT refuses an INACTIVE certificate at connect, and JITP does not provision a certificate that is registered already — activate it (if it was deactivated on purpose, because the device was lost or compromised, issue a new one instead)",
			awsCmd(s, "iot", "update-certificate", "--certificate-id", id, "--new-status", aws.StatusActive))
	case aws.StatusRevoked:
		fix := []string{}
		for _, t := range d.principalThings(ctx, desc.ARN) {
			fix = append(fix, awsCmd(s, "iot", "detach-thing-principal", "--thing-name", t, "--principal", desc.ARN))
		}
		fix = append(fix, awsCmd(s, "iot", "delete-certificate", "--certificate-id", id, "--force-delete"))
		d.fail("device-registered", label, short+" is REVOKED", CauseCertNotActive,
			"AWS IoT refuses a REVOKED certificate, and a revoked certificate cannot be activated again: issue the device a new certificate (its first connect provisions it); the revoked one can be removed", fix...)
	default:
		d.fail("device-registered", label, short+" is "+desc.Status, CauseCertNotActive,
			"only ACTIVE certificates may connect; "+desc.Status+" is not one JITP changes", awsCmd(s, "iot", "describe-certificate", "--certificate-id", id))
	}
	if desc.CAID != "" && d.caID != "" && desc.CAID != d.caID {
		d.note("registered under CA " + abbrev(desc.CAID) + ", not under the CA given (" + abbrev(d.caID) + ")")
	}
}

// pendingCause is why provisioning failed: a failed check above, or what the local IoT Core
// logged.
func (d *doctorRun) pendingCause(log []string) Cause {
	for _, c := range []struct {
		id    string
		cause Cause
	}{{"template-parse", CauseTemplateEscaping}, {"template-parameters", CauseTemplateParameter}, {"provisioning-template", CauseTemplateResource},
		{"role", CauseRoleMissing}, {"role-trust", CauseRoleNotTrusted}, {"role-permissions", CauseRolePermissions},
		{"template-policies", CausePolicyMissing}, {"thing-type", CauseTemplateResource}, {"thing-groups", CauseTemplateResource}, {"billing-group", CauseTemplateResource}} {
		if d.failed(c.id) {
			return c.cause
		}
	}
	text := strings.Join(log, "\n")
	switch {
	case strings.Contains(text, "Cannot resolve reference"):
		return CauseTemplateParameter
	case strings.Contains(text, "referenced by the template does not exist") && strings.Contains(text, "olicy"):
		return CausePolicyMissing
	case strings.Contains(text, "referenced by the template does not exist"):
		return CauseTemplateResource
	case strings.Contains(text, "not authorized to perform"):
		return CauseRolePermissions
	case strings.Contains(text, "does not exist") && strings.Contains(text, "assume role"):
		return CauseRoleMissing
	case strings.Contains(text, "assume role"):
		return CauseRoleNotTrusted
	}
	return CauseTemplateFailed
}

// activateFix activates a JITR certificate by hand, as the JITR guide's Lambda does: the
// thing, the policy, both attached, then ACTIVE.
func (d *doctorRun) activateFix(id, arn string) []string {
	s := d.s
	thing := d.thingOr(d.dev.Subject.CommonName)
	var out []string
	if thing != "" {
		out = append(out, awsCmd(s, "iot", "create-thing", "--thing-name", thing))
	}
	if doc, err := scopedPolicyDocument(s); err == nil {
		out = append(out, awsCmd(s, "iot", "create-policy", "--policy-name", JITRPolicyName, "--policy-document", doc))
	}
	out = append(out, awsCmd(s, "iot", "attach-policy", "--policy-name", JITRPolicyName, "--target", arn))
	if thing != "" {
		out = append(out, awsCmd(s, "iot", "attach-thing-principal", "--thing-name", thing, "--principal", arn))
	}
	return append(out, awsCmd(s, "iot", "update-certificate", "--certificate-id", id, "--new-status", aws.StatusActive))
}

// principalThings are the things a certificate is attached to (asked once).
func (d *doctorRun) principalThings(ctx context.Context, arn string) []string {
	if d.things == nil {
		ts, err := d.c.ListPrincipalThings(ctx, arn)
		if err != nil {
			return nil
		}
		d.things = append([]string{}, ts...)
	}
	return d.things
}

// checkThings: the certificate is attached to its thing, and no other certificate is.
func (d *doctorRun) checkThings(ctx context.Context) {
	if d.devDesc == nil || d.devDesc.Status != aws.StatusActive {
		return
	}
	s := d.s
	arn := d.devDesc.ARN
	things := d.principalThings(ctx, arn)
	want := d.thingOr("")
	const label = "certificate attached to its thing"
	attach := func(t string) []string {
		if t == "" {
			return nil
		}
		return []string{awsCmd(s, "iot", "attach-thing-principal", "--thing-name", t, "--principal", arn)}
	}
	why := "a policy that names ${iot:Connection.Thing.ThingName} resolves only for a thing attached to the certificate (and a client ID equal to its name): without it iot:Connect is denied"
	switch {
	case len(things) == 0:
		d.fail("thing", label, "certificate "+abbrev(d.devDesc.ID)+" is attached to no thing", CauseNoThing, why, attach(want)...)
		return
	case want != "" && !slices.Contains(things, want):
		d.fail("thing", label, "attached to "+strings.Join(things, ", ")+", not to "+want, CauseNoThing, why, attach(want)...)
		return
	}
	if want == "" {
		want = things[0]
		d.thing = want
	}
	ev := "thing " + want
	if th := d.describeThing(ctx, want); th != nil && len(th.Attributes) > 0 {
		ev += " " + fmtAttrs(th.Attributes)
	}
	d.pass("thing", label, ev)
	principals, err := d.c.ListThingPrincipals(ctx, want)
	if err != nil {
		d.lookupFailed("other-certificates", "no other certificate on thing "+want, err)
		return
	}
	var others, fix []string
	for _, p := range principals {
		if p == arn {
			continue
		}
		desc := p
		oid := p[strings.LastIndex(p, "/")+1:]
		if od, err := d.c.DescribeCertificate(ctx, oid); err == nil {
			desc = "certificate " + abbrev(oid) + " (" + od.Status + ")"
		}
		others = append(others, desc)
		fix = append(fix, awsCmd(s, "iot", "detach-thing-principal", "--thing-name", want, "--principal", p),
			awsCmd(s, "iot", "update-certificate", "--certificate-id", oid, "--new-status", aws.StatusInactive))
	}
	if len(others) == 0 {
		d.pass("other-certificates", "no other certificate on thing "+want, "only certificate "+abbrev(d.devDesc.ID))
		return
	}
	d.fail("other-certificates", "no other certificate on thing "+want, "also attached: "+strings.Join(others, ", "), CauseOtherCertOnThing,
		"a re-issued device: the earlier certificate is still attached to "+want+" and, while it is ACTIVE, can still connect as the thing (its policy's ${iot:Connection.Thing.ThingName} resolves for it too) — "+
			"detach and deactivate it once the new certificate works (delete it later with aws iot delete-certificate)",
		fix...)
}

func fmtAttrs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// checkAttachedPolicies: a policy is attached to the certificate; with JITP, the device is
// then provisioned and its first connection's drop was the expected one.
func (d *doctorRun) checkAttachedPolicies(ctx context.Context) {
	if d.devDesc == nil || d.devDesc.Status != aws.StatusActive {
		return
	}
	s := d.s
	refs, err := d.c.ListAttachedPolicies(ctx, d.devDesc.ARN)
	const label = "policy attached to the certificate"
	if err != nil {
		d.lookupFailed("attached-policies", label, err)
		return
	}
	var names []string
	for _, r := range refs {
		p, err := d.c.GetPolicy(ctx, r.Name)
		if err != nil {
			continue
		}
		d.policies = append(d.policies, p)
		names = append(names, r.Name)
	}
	if len(refs) == 0 {
		var fix []string
		if d.plan != nil && len(d.plan.Policies) > 0 {
			fix = []string{awsCmd(s, "iot", "attach-policy", "--policy-name", d.plan.Policies[0].Name, "--target", d.devDesc.ARN)}
		}
		d.fail("attached-policies", label, "none", CauseNoPolicy, "AWS IoT denies every MQTT action of a certificate without a policy (iot:Connect included)", fix...)
		return
	}
	d.pass("attached-policies", label, strings.Join(names, ", "))
	if !d.jitr && d.body != "" && !d.failed("thing") {
		d.add(DoctorCheck{ID: "first-connect", Status: CheckPass, Label: "first connect provisioned the device",
			Evidence: "certificate ACTIVE, thing " + d.thingOr("?") + ", policy " + strings.Join(names, ", "),
			Cause:    CauseFirstConnectDrop,
			Why: "the broker dropped the device's first connection while JITP provisioned it — that drop is expected, not a failure: the device connects again (as client ID " +
				d.thingOr("= the thing name") + ") and stays connected"})
	}
}

// connectionPolicies are the policies the device's connections are authorized with, and the
// things attached: what is attached now, or — not provisioned yet — what the template makes.
func (d *doctorRun) connectionPolicies(ctx context.Context) ([]*policy.Document, map[string]policy.Thing) {
	var docs []*policy.Document
	things := map[string]policy.Thing{}
	if d.devDesc != nil && d.devDesc.Status == aws.StatusActive {
		for _, p := range d.policies {
			if doc, err := policy.Parse(p.Document); err == nil {
				doc.Name = p.Name
				docs = append(docs, doc)
			}
		}
		for _, t := range d.principalThings(ctx, d.devDesc.ARN) {
			pt := policy.Thing{Name: t}
			if th := d.describeThing(ctx, t); th != nil {
				pt.TypeName, pt.Attributes = th.TypeName, th.Attributes
			}
			things[t] = pt
		}
		return docs, things
	}
	if d.plan == nil {
		return nil, nil
	}
	for _, pp := range d.plan.Policies {
		switch {
		case pp.Parsed != nil:
			docs = append(docs, pp.Parsed)
		case !pp.Inline:
			if p, err := d.c.GetPolicy(ctx, pp.Name); err == nil {
				if doc, err := policy.Parse(p.Document); err == nil {
					doc.Name = p.Name
					docs = append(docs, doc)
				}
			}
		}
	}
	if t := d.plan.Thing; t != nil {
		things[t.Name] = policy.Thing{Name: t.Name, TypeName: t.TypeName, Attributes: t.Attributes}
	}
	return docs, things
}

// checkClientAndTopic: the policy lets the device connect with its client ID and use its topic.
func (d *doctorRun) checkClientAndTopic(ctx context.Context) {
	if d.dev == nil || (d.devDesc != nil && d.devDesc.Status != aws.StatusActive) {
		return
	}
	docs, things := d.connectionPolicies(ctx)
	if docs == nil {
		return
	}
	s := d.s
	client := firstNonEmpty(d.in.clientID, d.thing)
	if client == "" {
		return
	}
	pctx := policy.Context{Region: s.Region, Account: s.Account, ClientID: client, CertificateID: pki.CertID(d.dev), AttachedThings: things}
	pctx.SetCertificate(d.dev)
	eval := func(action, resource string) policy.Decision {
		return policy.Evaluate(docs, pctx, policy.Request{Action: action, Resource: resource})
	}
	label := "policy lets client ID " + client + " connect"
	if dec := eval("iot:Connect", policy.ClientARN(s.Region, s.Account, client)); !dec.Allowed {
		if d.thing != "" && client != d.thing {
			d.fail("client-id", label, dec.Explain, CauseClientID,
				"the policy allows iot:Connect only for client ID = the thing name (client/${iot:Connection.Thing.ThingName}, which resolves only when the client ID is the name of a thing attached to the certificate): "+
					"client ID "+client+" is refused (the connection is closed without CONNACK) — connect as "+d.thing, d.connectFix(d.thing, d.thing+"/test")...)
		} else {
			d.fail("client-id", label, dec.Explain, CauseConnectDenied,
				"no statement of the certificate's policies allows iot:Connect for this client ID: the connection is closed without CONNACK — change the policy (a new policy version) or the client ID",
				awsCmd(s, "iot", "get-policy", "--policy-name", firstNonEmpty(docs[0].Name, "<policy>")))
		}
	} else {
		d.pass("client-id", label, dec.Explain)
	}
	topic := d.in.topic
	if topic == "" {
		d.skip("topic", "policy allows the topic", "no topic given — add --topic T to check the device's topic")
		return
	}
	label = "policy allows publish and subscribe on " + topic + " as " + client
	var denied []string
	var explain string
	for _, r := range []policy.Request{
		{Action: "iot:Publish", Resource: policy.TopicARN(s.Region, s.Account, topic)},
		{Action: "iot:Subscribe", Resource: policy.TopicFilterARN(s.Region, s.Account, topic)},
		{Action: "iot:Receive", Resource: policy.TopicARN(s.Region, s.Account, topic)},
	} {
		if dec := eval(r.Action, r.Resource); !dec.Allowed {
			denied = append(denied, r.Action)
			if explain == "" {
				explain = dec.Explain
			}
		}
	}
	if len(denied) == 0 {
		d.pass("topic", label, "iot:Publish, iot:Subscribe and iot:Receive allowed")
		return
	}
	why := "the broker closes the connection on a PUBLISH or SUBSCRIBE the policy does not allow (MQTT 3.1.1 has no refusal code)"
	var fix []string
	if d.thing != "" {
		alt := d.thing + "/" + topic[strings.LastIndex(topic, "/")+1:]
		if alt != topic && eval("iot:Publish", policy.TopicARN(s.Region, s.Account, alt)).Allowed {
			why += " — the policy allows topics under " + d.thing + "/, e.g. " + alt
			fix = d.connectFix(client, alt)
		}
	}
	d.fail("topic", label, strings.Join(denied, ", ")+" denied: "+explain, CauseTopic, why, fix...)
}

// checkConnect (--connect, and a workspace): a connection as the device, explained by
// mqttprobe; the device's own topic used once connected.
func (d *doctorRun) checkConnect(ctx context.Context) {
	if d.dev == nil {
		return
	}
	s := d.s
	client := firstNonEmpty(d.in.clientID, d.thing, d.dev.Subject.CommonName)
	o := mqttprobe.Options{Host: firstNonEmpty(d.in.mqttHost, s.Endpoint.Host), Port: s.Endpoint.Port, Addr: s.Endpoint.Addr,
		CertFile: d.in.devFile, KeyFile: d.in.devKeyFile, ClientID: client}
	if d.in.workspace {
		o = probeOptions(s, d.in.devFile, client)
	} else {
		if d.in.mqttGiven {
			o.Port, o.Addr = d.in.mqttPort, ""
		}
		if d.in.serverCAFile != "" {
			o.CAFile = d.in.serverCAFile
		} else {
			o.CAPEM = s.serverRoot
		}
		if o.Port == 443 || d.in.alpn443 {
			o.ALPN = []string{mqttprobe.ALPN}
		}
	}
	label := "connect as " + client + " (" + o.Host + ")"
	if d.in.devKeyFile == "" || d.devKey == nil {
		d.skip("connect", label, "the device key is needed to connect — add --device-key")
		return
	}
	id := pki.CertID(d.dev)
	before := ""
	switch {
	case d.devKnown && d.devDesc == nil:
		before = mqttprobe.StatusNotRegistered
	case d.devDesc != nil:
		before = d.devDesc.Status
	}
	outcome := mqttprobe.Probe(ctx, o)
	f := mqttprobe.Facts{Outcome: &outcome, Options: o, Chain: d.chain, CACert: d.ca, ThingName: d.thing, Region: s.Region, StatusBefore: before}
	if outcome.Class == mqttprobe.ClassDropped && !d.jitr && (before == mqttprobe.StatusNotRegistered || before == aws.StatusPendingActivation) {
		// A first connect: JITP provisions now (AWS: within seconds). Wait for it.
		d.loadEvents(ctx)
		if desc, _, err := mqttprobe.WaitActive(ctx, d.c, id, mqttprobe.PollOptions{Timeout: provisionTimeout(s),
			Failed: func() []string { d.loadEvents(ctx); return d.eventsOf(id) }}); err == nil && desc != nil {
			f.CertChecked, f.CertFound, f.Cert = true, true, desc
		}
	}
	d.loadEvents(ctx)
	f.ProvisioningErrors = d.eventsOf(id)
	mqttprobe.Gather(ctx, d.c, &f)
	dg := mqttprobe.Diagnose(f)
	why := dg.String()
	if d.jitr && dg.Class == mqttprobe.DiagCertPending {
		why = string(dg.Class) + ": the broker refused the certificate because it is PENDING_ACTIVATION — with JITR it stays so until it is activated (see above)"
	}
	c := DoctorCheck{ID: "connect", Label: label, Evidence: why, Notes: dg.Evidence}
	switch {
	case dg.OK || outcome.OK():
		c.Status = CheckPass
		if dg.Class == mqttprobe.DiagExpectedDrop {
			c.Cause = CauseFirstConnectDrop
			c.Why = "this connect was the certificate's first: JITP provisioned the device and the broker dropped the connection, as it does — connect again"
		}
	default:
		c.Status = CheckFail
		c.Cause = d.diagCause(dg.Class)
		c.Why = dg.Cause
		if d.jitr && dg.Class == mqttprobe.DiagCertPending {
			c.Why = "JITR registered the certificate PENDING_ACTIVATION and nothing activated it: AWS IoT refuses it until something does"
		}
		if fix := d.connectFix(firstNonEmpty(d.thing, client), firstNonEmpty(d.in.topic, d.thingOr(client)+"/test")); len(fix) > 0 && !d.in.workspace {
			c.Fix = fix
		}
	}
	d.add(c)
	if c.Status != CheckPass || dg.Class == mqttprobe.DiagExpectedDrop || d.in.topic == "" {
		return
	}
	res := mqttprobe.Use(ctx, o, d.in.topic, 0)
	if res.OK() {
		d.pass("connect-topic", "publish and receive on "+d.in.topic+" as "+client, "own message received after "+fmtDur(res.RTT))
		return
	}
	ug := mqttprobe.Diagnose(mqttprobe.Facts{Use: &res, Options: o, ThingName: d.thing, Region: s.Region})
	d.add(DoctorCheck{ID: "connect-topic", Status: CheckFail, Label: "publish and receive on " + d.in.topic + " as " + client, Evidence: ug.String(),
		Cause: d.diagCause(ug.Class), Why: ug.Cause, Notes: ug.Evidence})
}

// diagCause maps mqttprobe's diagnosis to a named cause.
func (d *doctorRun) diagCause(c mqttprobe.DiagClass) Cause {
	switch c {
	case mqttprobe.DiagExpectedDrop:
		return CauseFirstConnectDrop
	case mqttprobe.DiagNoSNI:
		if len(d.chain) == 1 {
			return CauseNoSNINoChain
		}
		return CauseNoSNI
	case mqttprobe.DiagWrongSNI, mqttprobe.DiagWrongRegion, mqttprobe.DiagWrongEndpointName:
		return CauseRegionEndpoint
	case mqttprobe.DiagWrongServerCA:
		return CauseServerCA
	case mqttprobe.DiagClientIDMismatch:
		return CauseClientID
	case mqttprobe.DiagConnectDenied:
		return CauseConnectDenied
	case mqttprobe.DiagTopicDenied:
		return CauseTopic
	case mqttprobe.DiagCertPending:
		if d.jitr {
			return CauseJITRPending
		}
		return d.pendingCause(d.eventsOf(pki.CertID(d.dev)))
	case mqttprobe.DiagCertNotActive:
		return CauseCertNotActive
	case mqttprobe.DiagCANotRegistered:
		return CauseCANotRegistered
	case mqttprobe.DiagCAInactive:
		return CauseCAInactive
	case mqttprobe.DiagAutoRegOff:
		return CauseAutoRegistration
	case mqttprobe.DiagOtherCA:
		return CauseOtherCA
	case mqttprobe.DiagConfig:
		return CauseInput
	}
	if d.dev != nil && pki.CheckValidity(d.dev, d.s.Now()) != nil {
		return CauseValidity
	}
	return CauseConnect
}

// checkEndpoint: the device connects to this account's endpoint of the CA's region, by its
// name (sent as SNI), and — without SNI — with the CA in its chain (AWS refuses it anyway).
func (d *doctorRun) checkEndpoint() {
	ep := d.s.Endpoint.Host
	host := firstNonEmpty(d.in.mqttHost, ep)
	if host == "" {
		d.skip("mqtt-endpoint", "device connects to the account's endpoint", "the endpoint is not known (the target was not reached)")
		return
	}
	ip := net.ParseIP(strings.Trim(host, "[]")) != nil
	where := host
	if d.in.mqttPort != 0 {
		where = net.JoinHostPort(host, strconv.Itoa(d.in.mqttPort))
	}
	switch {
	case !d.in.mqttGiven:
		d.pass("mqtt-endpoint", "device connects to the account's endpoint", "DescribeEndpoint (iot:Data-ATS): "+ep+" — give --mqtt-endpoint HOST[:PORT] if the device uses another")
	case ip:
		d.pass("mqtt-endpoint", "device connects to the account's endpoint", where+" is an IP address (see SNI below)")
	case ep != "" && !strings.EqualFold(host, ep):
		r := mqttprobe.EndpointRegion(host)
		why := "the device connects to " + host + ", but this account's endpoint in " + d.s.Region + " is " + ep + ": AWS IoT accepts only its own endpoint name as SNI, and another endpoint does not know this CA"
		if r != "" && r != d.s.Region {
			why = "the device connects to an endpoint of region " + r + ", but the CA is registered (and checked) in " + d.s.Region + ": each region has its own registry, so nothing there knows this CA or provisions its devices — connect to " + ep + ", or register the CA in " + r
		}
		d.fail("mqtt-endpoint", "device connects to the account's endpoint", where+"; DescribeEndpoint (iot:Data-ATS) in "+d.s.Region+": "+ep, CauseRegionEndpoint, why, d.connectFix(d.thingOr("anyclientID"), "foo/bar")...)
	default:
		d.pass("mqtt-endpoint", "device connects to the account's endpoint", where)
	}
	if d.dev == nil {
		return
	}
	sniOnly := d.in.sniOnly || (d.caDesc != nil && d.caDesc.CertificateMode == "SNI_ONLY")
	leafOnly := len(d.chain) == 1
	const label = "device sends SNI (the endpoint name) or its CA in the chain"
	if !ip {
		ev := "SNI " + host
		if leafOnly {
			ev += "; " + d.name(d.in.devFile) + " holds the device certificate alone (with SNI the CA is not needed in the chain)"
		}
		d.pass("sni", label, ev)
		return
	}
	ev := "the device connects to the IP address " + host + ", so its TLS client sends no SNI"
	why := "AWS IoT refuses connections without SNI (the TLS server name, which must be the endpoint name " + firstNonEmpty(ep, "from DescribeEndpoint") + ")"
	cause := CauseNoSNI
	if leafOnly {
		ev += "; " + d.name(d.in.devFile) + " holds the device certificate alone, so the CA is not in its chain either"
		why += ", and without SNI the broker cannot tell which registered CA to look for: with neither, nothing is registered or provisioned"
		cause = CauseNoSNINoChain
	} else {
		why += "; the CA in the chain does not replace SNI"
	}
	if sniOnly {
		why += "; the CA is registered in SNI_ONLY mode, which always needs SNI"
	}
	fix := d.connectFix(d.thingOr("anyclientID"), "foo/bar")
	if leafOnly && d.in.devFile != "" && !d.in.workspace {
		base := strings.TrimSuffix(d.name(d.in.devFile), filepath.Ext(d.name(d.in.devFile)))
		fix = append(fix, pki.BundleCommand(d.name(d.in.devFile), d.name(d.in.caFile), base+"AndCA.crt").Line)
	}
	d.fail("sni", label, ev, cause, why+" — connect with the endpoint's host name (map it in /etc/hosts to reach another address)", fix...)
}

// connectFix is the walkthrough's mosquitto_pub with the device's files, to the account's
// endpoint by name, as clientID on topic.
func (d *doctorRun) connectFix(clientID, topic string) []string {
	if d.in.devFile == "" {
		return nil
	}
	key := d.name(firstNonEmpty(d.in.devKeyFile, strings.TrimSuffix(d.in.devFile, filepath.Ext(d.in.devFile))+".key"))
	ca := pki.FileServerRootCA
	switch {
	case d.in.serverCAFile != "":
		ca = d.name(d.in.serverCAFile)
	case !d.in.workspace && d.s.serverRootPath != "":
		ca = d.s.serverRootPath // the local IoT Core's root CA
	}
	return []string{mosquittoPubWith(d.s, ca, d.name(d.in.devFile), key, topic, clientID, "Hello")}
}
