package steps

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The doctor's checks of what the target says about the CA, its registration and template,
// the template's role, and what the template names (policies, thing type and groups). The
// device's side — its certificate's status, things, policies, connection — is in
// doctor_device.go. Every call is a read, except GetRegistrationCode (which makes the
// account's code if it has none).

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
		d.fail("verification-cert", label, err.Error(), CauseInput, "give the verification certificate (PEM)", pki.ShowCertCommand(name).Line)
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
			"just-in-time provisioning runs only templates of type JITP (a FLEET_PROVISIONING template is for fleet provisioning by claim) — create one of type JITP and name it in the CA's registrationConfig",
			awsCmd(s, "iot", "list-provisioning-templates"))
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
		fix := d.attachFix()
		if fix == nil && d.caDesc != nil {
			fix = []string{awsCmd(d.s, "iot", "describe-ca-certificate", "--certificate-id", d.caDesc.ID, "--query", "registrationConfig")}
		}
		d.fail("template-parse", label, "the CA's registrationConfig does not parse: "+err.Error(), cause, escapingWhy(err), fix...)
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
			fix := d.attachFix()
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
