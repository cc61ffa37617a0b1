package steps

import (
	"cmp"
	"context"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
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
	label := i18n.T("doctor.verification.label")
	name := d.name(d.in.verifFile)
	v, err := pki.LoadCertFile(d.in.verifFile)
	if err != nil {
		d.fail("verification-cert", label, err.Error(), CauseInput, i18n.T("doctor.verification.why-input"), pki.ShowCertCommand(name).Line)
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
			i18n.T("doctor.verification.why-signed"), remake(v.Subject.CommonName)...)
		return
	}
	code, err := d.c.GetRegistrationCode(ctx)
	if err != nil {
		d.lookupFailed("verification-cert", label, err)
		return
	}
	if v.Subject.CommonName != code {
		fix := remake(code)
		d.fail("verification-cert", label, i18n.T("doctor.verification.cn-evidence", i18n.Args{"CN": strconv.Quote(v.Subject.CommonName), "Account": d.s.Account, "Region": d.s.Region, "Code": code}),
			CauseVerificationCN, i18n.T("doctor.verification.cn-why"), fix...)
		return
	}
	d.pass("verification-cert", label, i18n.T("doctor.verification.ok", i18n.Args{"Name": name, "Code": code}))
}

// checkCARegistration: the CA is registered here, ACTIVE, with auto-registration on, in the
// expected mode, and with a template (JITP) or without (JITR); the template that runs.
func (d *doctorRun) checkCARegistration(ctx context.Context) {
	if d.ca == nil {
		return
	}
	s := d.s
	label := i18n.T("doctor.ca-registered.label", i18n.Args{"Region": s.Region})
	desc, err := d.c.FindCA(ctx, d.caID)
	if err != nil {
		d.lookupFailed("ca-registered", label, err)
		return
	}
	d.caKnown = true
	if desc == nil {
		why := i18n.T("doctor.ca-registered.why", i18n.Args{"Subject": d.ca.Subject.String(), "ID": abbrev(d.caID), "Region": s.Region, "Account": s.Account})
		var fix []string
		if d.in.workspace {
			why += i18n.T("doctor.ca-registered.why-workspace", i18n.Args{"Dir": pki.ShellQuote(s.dir)})
			fix = []string{"jitpwiz run --dir " + pki.ShellQuote(s.dir)}
		} else {
			why += i18n.T("doctor.ca-registered.why-files")
			fix = d.registerFix(ctx)
		}
		d.fail("ca-registered", label, i18n.T("doctor.ca-registered.none", i18n.Args{"ID": abbrev(d.caID)}), CauseCANotRegistered, why, fix...)
		return
	}
	d.caDesc = desc
	reg := DoctorCheck{ID: "ca-registered", Status: CheckPass, Label: label, Evidence: desc.ARN}
	if !desc.CreationDate.IsZero() {
		reg.Evidence += i18n.T("doctor.ca-registered.since", i18n.Args{"Date": desc.CreationDate.UTC().Format("2006-01-02 15:04 MST")})
	}
	if !d.in.workspace {
		reg.Cause = CauseCAAlreadyRegistered
		reg.Why = i18n.T("doctor.ca-registered.already")
	}
	d.add(reg)
	if desc.Status == aws.StatusActive {
		d.pass("ca-active", i18n.T("doctor.ca-active.label"), i18n.T("doctor.ca-active.evidence", i18n.Args{"Status": desc.Status}))
	} else {
		d.fail("ca-active", i18n.T("doctor.ca-active.label"), i18n.T("doctor.ca-active.evidence", i18n.Args{"Status": desc.Status}), CauseCAInactive,
			i18n.T("doctor.ca-active.why"),
			caUpdateCmd(s, desc.ID, "--new-status", aws.StatusActive))
	}
	if desc.AutoRegistrationStatus == aws.AutoRegEnable {
		d.pass("ca-auto-registration", i18n.T("doctor.ca-auto.label"), "autoRegistrationStatus "+desc.AutoRegistrationStatus)
	} else {
		d.fail("ca-auto-registration", i18n.T("doctor.ca-auto.label"), "autoRegistrationStatus "+cmp.Or(desc.AutoRegistrationStatus, aws.AutoRegDisable), CauseAutoRegistration,
			i18n.T("doctor.ca-auto.why"),
			caUpdateCmd(s, desc.ID, "--new-auto-registration-status", aws.AutoRegEnable))
	}
	mode := cmp.Or(desc.CertificateMode, "DEFAULT")
	if d.in.workspace {
		want := cmp.Or(s.Options.certificateMode(), "DEFAULT")
		if mode == want {
			d.pass("ca-mode", i18n.T("doctor.ca-mode.label-want", i18n.Args{"Mode": want}), "certificateMode "+mode)
		} else {
			other := map[bool]string{true: CAModeSNIOnly, false: CAModeDefault}[mode == "SNI_ONLY"]
			d.fail("ca-mode", i18n.T("doctor.ca-mode.label-want", i18n.Args{"Mode": want}), "certificateMode "+mode, CauseCAMode,
				i18n.T("doctor.ca-mode.why", i18n.Args{"Other": other}),
				"jitpwiz run --dir "+pki.ShellQuote(s.dir)+" --ca-mode "+other)
		}
	} else if mode == "SNI_ONLY" {
		d.pass("ca-mode", i18n.T("doctor.ca-mode.label"), i18n.T("doctor.ca-mode.sni-only"))
	} else {
		d.pass("ca-mode", i18n.T("doctor.ca-mode.label"), i18n.T("doctor.ca-mode.default", i18n.Args{"Region": s.Region}))
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
		d.fail("ca-template", i18n.T("doctor.ca-template.label-jitr"), i18n.T("doctor.ca-template.has-config"), CauseNoTemplate,
			i18n.T("doctor.ca-template.why-jitr"), remove)
		return
	case d.in.workspace && d.in.jitr:
		d.jitr = true
		d.pass("ca-template", i18n.T("doctor.ca-template.label-jitr"), i18n.T("doctor.ca-template.jitr-ok"))
		return
	case !has && (d.in.workspace || d.fileRC != nil):
		d.jitr = true
		d.fail("ca-template", i18n.T("doctor.ca-template.label"), i18n.T("doctor.ca-template.none-jitr"), CauseNoTemplate,
			i18n.T("doctor.ca-template.why-none"), attach)
		return
	case !has:
		d.jitr = true
		d.pass("ca-template", i18n.T("doctor.ca-template.label-files"), i18n.T("doctor.ca-template.none-files"))
		return
	}
	if rc.TemplateBody != "" {
		d.body, d.roleARN = rc.TemplateBody, rc.RoleArn
		d.pass("ca-template", i18n.T("doctor.ca-template.label"), i18n.T("doctor.ca-template.role", i18n.Args{"Role": cmp.Or(rc.RoleArn, i18n.T("doctor.none"))}))
		return
	}
	label := i18n.T("doctor.prov-template.label", i18n.Args{"Name": rc.TemplateName})
	t, err := d.c.DescribeProvisioningTemplate(ctx, rc.TemplateName)
	switch {
	case aws.IsKind(err, aws.KindNotFound):
		d.fail("provisioning-template", label, i18n.T("doctor.prov-template.none", i18n.Args{"Name": rc.TemplateName, "Region": s.Region}), CauseTemplateResource,
			i18n.T("doctor.prov-template.why-none"),
			awsCmd(s, "iot", "create-provisioning-template", "--template-name", rc.TemplateName, "--type", "JITP", "--template-body", "file://template-body.json",
				"--provisioning-role-arn", cmp.Or(rc.RoleArn, template.DefaultRoleArn(s.Region, s.Account)), "--enabled"), attach)
		return
	case err != nil:
		d.lookupFailed("provisioning-template", label, err)
		return
	case t.Type != "JITP":
		d.fail("provisioning-template", label, i18n.T("doctor.prov-template.type", i18n.Args{"Type": t.Type}), CauseTemplateResource,
			i18n.T("doctor.prov-template.why-type"),
			awsCmd(s, "iot", "list-provisioning-templates"))
		return
	}
	d.body, d.roleARN = t.Body, t.RoleARN
	ev := i18n.T("doctor.prov-template.evidence", i18n.Args{"ARN": t.ARN, "Role": t.RoleARN})
	if !t.Enabled {
		ev += i18n.T("doctor.prov-template.disabled")
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
	body, label, paramLabel := d.body, i18n.T("doctor.templates.label"), i18n.T("doctor.templates.params-label")
	if body == "" {
		if d.fileRC == nil || (d.jitr && d.caKnown && d.caDesc != nil) {
			return
		}
		body, label, paramLabel = d.fileRC.TemplateBody, "", i18n.T("doctor.templates.params-label-file")
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
		d.fail("template-parse", label, i18n.T("doctor.templates.no-parse", i18n.Args{"Err": err}), cause, escapingWhy(err), fix...)
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
		d.thing = cmp.Or(d.in.thing, d.plan.Thing.Name)
	}
	if d.dev != nil {
		what := i18n.T("doctor.templates.what", i18n.Args{"Subject": pki.SubjectOf(d.dev).String()})
		if _, err := lintTemplate(d.s, t, params, what); err != nil {
			var missing []string
			for _, p := range t.RequiredParameters() {
				if _, ok := params[p]; !ok {
					missing = append(missing, p)
				}
			}
			cause, why := CauseTemplateFailed, i18n.T("doctor.templates.why-fails")
			fix := d.attachFix()
			if len(missing) > 0 {
				cause = CauseTemplateParameter
				why = i18n.T("doctor.templates.why-missing", i18n.Args{"Missing": strings.Join(missing, ", ")})
				fix = d.reissueWith(missing)
			}
			d.fail("template-parameters", paramLabel, err.Error(), cause, why, fix...)
		} else {
			d.pass("template-parameters", paramLabel, i18n.T("doctor.templates.resolves", i18n.Args{"Subject": pki.SubjectOf(d.dev).String()}))
		}
	}
	if d.body == "" || d.fileRC == nil {
		return
	}
	name := d.name(d.in.templateFile)
	if sameJSON(d.fileRC.TemplateBody, d.body) {
		d.pass("template-registered", i18n.T("doctor.template-registered.label", i18n.Args{"Name": name}), i18n.T("doctor.template-registered.same", i18n.Args{"Name": name}))
		return
	}
	if d.in.workspace {
		d.note(i18n.T("doctor.template-registered.note-differs", i18n.Args{"File": FileTemplate}))
		return
	}
	d.fail("template-registered", i18n.T("doctor.template-registered.label", i18n.Args{"Name": name}), i18n.T("doctor.template-registered.differs", i18n.Args{"Name": name}), CauseCAAlreadyRegistered,
		i18n.T("doctor.template-registered.why", i18n.Args{"Name": name}),
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
	key := d.name(cmp.Or(d.in.devKeyFile, strings.TrimSuffix(d.in.devFile, filepath.Ext(d.in.devFile))+".key"))
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
	cert := cmp.Or(certARN(s, certID), arn("cert", certID))
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
		d.fail("role", i18n.T("doctor.role.label", i18n.Args{"Name": name}), i18n.T("doctor.role.none", i18n.Args{"ARN": d.roleARN}), CauseRoleMissing,
			i18n.T("doctor.role.why-none"),
			awsCmd(s, "iam", args...), awsCmd(s, "iam", "attach-role-policy", "--role-name", name, "--policy-arn", aws.PolicyThingsRegistration))
		return
	case err != nil:
		d.lookupFailed("role", i18n.T("doctor.role.label", i18n.Args{"Name": name}), err)
		return
	}
	d.pass("role", i18n.T("doctor.role.label", i18n.Args{"Name": name}), role.ARN)
	ok, reason, terr := aws.TrustsIoT(role.TrustPolicy, s.Account, s.Region)
	if !ok {
		ev := i18n.T("doctor.role-trust.no-trust")
		switch {
		case terr != nil:
			ev = i18n.T("doctor.role-trust.no-parse", i18n.Args{"Err": terr})
		case reason != "":
			ev = reason
		}
		d.fail("role-trust", i18n.T("doctor.role-trust.label"), ev, CauseRoleNotTrusted,
			i18n.T("doctor.role-trust.why"),
			awsCmd(s, "iam", "update-assume-role-policy", "--role-name", name, "--policy-document", trust))
	} else {
		d.pass("role-trust", i18n.T("doctor.role-trust.label"), "sts:AssumeRole for iot.amazonaws.com")
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
	label := i18n.T("doctor.role-perms.label")
	if d.plan == nil {
		d.skip("role-permissions", label, i18n.T("doctor.role-perms.no-plan"))
		return
	}
	s := d.s
	var docs []*policy.Document
	for _, p := range role.Policies {
		doc, err := policy.Parse(p.Document)
		if err != nil {
			continue
		}
		doc.Name = i18n.T("doctor.role-perms.managed", i18n.Args{"ARN": p.ARN})
		if p.Inline {
			doc.Name = i18n.T("doctor.role-perms.inline", i18n.Args{"Name": p.Name})
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
			denied = append(denied, i18n.T("doctor.role-perms.call", i18n.Args{"Action": c.action, "Resource": c.resource}))
		}
	}
	if len(denied) == 0 {
		var acts []string
		for _, c := range calls {
			acts = append(acts, strings.TrimPrefix(c.action, "iot:"))
		}
		d.pass("role-permissions", label, i18n.T("doctor.role-perms.allowed", i18n.Args{"Actions": strings.Join(acts, ", ")}))
		for _, u := range role.Unreadable {
			d.note(i18n.T("doctor.not-read", i18n.Args{"What": u}))
		}
		return
	}
	why := i18n.T("doctor.role-perms.why")
	fix := []string{awsCmd(s, "iam", "attach-role-policy", "--role-name", role.Name, "--policy-arn", aws.PolicyThingsRegistration)}
	switch {
	case first.ExplicitDeny:
		why += i18n.T("doctor.role-perms.why-deny", i18n.Args{"By": first.By})
		fix = []string{awsCmd(s, "iam", "list-role-policies", "--role-name", role.Name), awsCmd(s, "iam", "list-attached-role-policies", "--role-name", role.Name)}
	case len(role.Policies) == 0:
		why += i18n.T("doctor.role-perms.why-none")
	default:
		why += i18n.T("doctor.role-perms.why-attach")
	}
	d.fail("role-permissions", label, i18n.T("doctor.role-perms.denied", i18n.Args{"Calls": strings.Join(denied, "; ")}), CauseRolePermissions, why, fix...)
	for _, u := range role.Unreadable {
		d.note(i18n.T("doctor.not-read", i18n.Args{"What": u}))
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
		label := i18n.T("doctor.template-policies.label", i18n.Args{"Name": pp.Name})
		_, err := d.c.GetPolicy(ctx, pp.Name)
		switch {
		case aws.IsKind(err, aws.KindNotFound):
			var fix []string
			if doc, derr := scopedPolicyDocument(s); derr == nil {
				fix = append(fix, awsCmd(s, "iot", "create-policy", "--policy-name", pp.Name, "--policy-document", doc))
			}
			d.fail("template-policies", label, i18n.T("doctor.template-policies.none", i18n.Args{"Name": pp.Name, "Region": s.Region}), CausePolicyMissing,
				i18n.T("doctor.template-policies.why", i18n.Args{"Name": pp.Name}),
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
		label := i18n.T("doctor.thing-type.label", i18n.Args{"Name": t.TypeName})
		tt, err := d.c.DescribeThingType(ctx, t.TypeName)
		switch {
		case aws.IsKind(err, aws.KindNotFound):
			d.fail("thing-type", label, i18n.T("doctor.thing-type.none", i18n.Args{"Name": t.TypeName, "Region": s.Region}), CauseTemplateResource,
				i18n.T("doctor.thing-type.why", i18n.Args{"Name": t.TypeName}),
				awsCmd(s, "iot", "create-thing-type", "--thing-type-name", t.TypeName))
		case err != nil:
			d.lookupFailed("thing-type", label, err)
		case tt.Deprecated:
			d.fail("thing-type", label, i18n.T("doctor.thing-type.deprecated", i18n.Args{"Name": t.TypeName}), CauseTemplateResource,
				i18n.T("doctor.thing-type.why-deprecated"),
				awsCmd(s, "iot", "deprecate-thing-type", "--thing-type-name", t.TypeName, "--undo-deprecate"))
		default:
			d.pass("thing-type", label, tt.ARN)
		}
	}
	for _, g := range t.Groups {
		label := i18n.T("doctor.thing-group.label", i18n.Args{"Name": g})
		grp, err := d.c.DescribeThingGroup(ctx, g)
		switch {
		case aws.IsKind(err, aws.KindNotFound):
			d.fail("thing-groups", label, i18n.T("doctor.thing-group.none", i18n.Args{"Name": g, "Region": s.Region}), CauseTemplateResource,
				i18n.T("doctor.thing-group.why", i18n.Args{"Name": g}),
				awsCmd(s, "iot", "create-thing-group", "--thing-group-name", g))
		case err != nil:
			d.lookupFailed("thing-groups", label, err)
		default:
			d.pass("thing-groups", label, grp.ARN)
		}
	}
	if b := t.BillingGroup; b != "" {
		label := i18n.T("doctor.billing-group.label", i18n.Args{"Name": b})
		bg, err := d.c.DescribeBillingGroup(ctx, b)
		switch {
		case aws.IsKind(err, aws.KindNotFound):
			d.fail("billing-group", label, i18n.T("doctor.billing-group.none", i18n.Args{"Name": b, "Region": s.Region}), CauseTemplateResource,
				i18n.T("doctor.billing-group.why"),
				awsCmd(s, "iot", "create-billing-group", "--billing-group-name", b))
		case err != nil:
			d.lookupFailed("billing-group", label, err)
		default:
			d.pass("billing-group", label, bg.ARN)
		}
	}
}
