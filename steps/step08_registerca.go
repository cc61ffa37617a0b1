package steps

import (
	"cmp"
	"context"
	"errors"
	"os"
	"slices"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 8: register the CA with auto-registration and the template (this turns JITP on).
type registerCAStep struct{ Base }

func (*registerCAStep) ID() ID        { return IDRegisterCA }
func (*registerCAStep) Title() string { return i18n.T("step08.title") }
func (st *registerCAStep) Explain() string {
	proof := i18n.T("step08.proof.verification")
	if st.s.Options.sniOnly() {
		proof = i18n.T("step08.proof.sni-only")
	}
	if st.s.Options.jitr() {
		return i18n.T("step08.explain-jitr", i18n.Args{"Proof": proof})
	}
	return i18n.T("step08.explain", i18n.Args{"Proof": proof})
}

func (st *registerCAStep) record() record {
	s := st.s
	in := map[string]string{
		"CA certificate":           s.CA.CertID,
		"verification certificate": s.VerificationCertID,
		"template":                 s.Template.BodySHA256,
		"role":                     s.Role.ARN,
		"target":                   targetID(s),
		"CA mode":                  s.Options.certificateMode(),
	}
	if s.Options.sniOnly() {
		in["verification certificate"] = ""
	}
	if s.Options.jitr() { // no template, no role: what JITR registers differs by the mode alone
		in["template"], in["role"], in["mode"] = "", "", ModeJITR
	}
	return record{after: []ID{IDVerifCert, IDTemplate}, inputs: in}
}

func (st *registerCAStep) Commands() []string {
	s := st.s
	args := []string{"register-ca-certificate", "--ca-certificate", "file://" + caCertName(s)}
	if s.Options.sniOnly() {
		args = append(args, "--certificate-mode", "SNI_ONLY")
	} else {
		args = append(args, "--verification-cert", "file://"+pki.FileVerifCert)
	}
	args = append(args, "--set-as-active", "--allow-auto-registration")
	if !s.Options.jitr() {
		args = append(args, "--registration-config", "file://"+FileTemplate)
	}
	return []string{awsCmd(s, "iot", args...)}
}

func (st *registerCAStep) act(ctx context.Context) (bool, error) {
	s := st.s
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	ca, err := signingCA(s)
	if err != nil {
		return false, err
	}
	in := aws.RegisterCAInput{SetAsActive: true, AllowAutoRegistration: true}
	if s.Options.sniOnly() {
		in.CertificateMode = "SNI_ONLY"
	} else {
		verifPEM, err := os.ReadFile(s.Path(pki.FileVerifCert))
		if err != nil {
			return false, i18n.NewError("step08.err.verification", i18n.Args{"Err": err})
		}
		in.VerificationCertificatePEM = string(verifPEM)
	}
	var want *aws.RegistrationConfig // JITR: none
	if !s.Options.jitr() {
		b, err := os.ReadFile(s.Path(FileTemplate))
		if err != nil {
			return false, i18n.NewError("step08.err.template", i18n.Args{"File": FileTemplate, "Err": err})
		}
		rc, err := template.ParseRegistrationConfig(b)
		if err != nil {
			return false, i18n.WrapError(err, "step08.err.template", i18n.Args{"File": FileTemplate})
		}
		want = &aws.RegistrationConfig{TemplateBody: rc.TemplateBody, RoleArn: rc.RoleArn, TemplateName: rc.TemplateName}
	}
	in.RegistrationConfig = want
	in.OnRoleRetry = func(wait, left time.Duration, msg string) {
		st.Report(Event{Message: i18n.T("step08.role-retry", i18n.Args{"Wait": wait.Round(100 * time.Millisecond).String(), "Left": left.Round(time.Second).String(), "Msg": msg})})
	}
	// Only the issuing CA's own certificate is registered (an intermediate, when it is one).
	in.CACertificatePEM = string(pki.EncodeCertPEM(ca.Cert))
	ref, err := c.RegisterCA(ctx, in)
	reused := false
	if err != nil {
		var ae *aws.Error
		if !errors.As(err, &ae) || ae.Kind != aws.KindAlreadyExists {
			return false, err
		}
		reused = true
		ref = aws.CARef{ID: cmp.Or(ae.ResourceID, s.CA.CertID), ARN: ae.ResourceARN}
		st.Report(Event{Message: i18n.T("step08.reusing", i18n.Args{"ID": abbrev(ref.ID)})})
		if err := st.align(ctx, c, ref.ID, want); err != nil {
			return false, err
		}
	}
	d, err := c.DescribeCA(ctx, ref.ID)
	if err != nil {
		return false, err
	}
	if ref.ARN == "" {
		ref.ARN = d.ARN
	}
	if old := s.CA.RegisteredID; old != "" && old != ref.ID && !slices.Contains(s.CA.EarlierRegisteredIDs, old) {
		s.CA.EarlierRegisteredIDs = append(s.CA.EarlierRegisteredIDs, old) // a new CA certificate: clean removes the old one too
	}
	s.CA.EarlierRegisteredIDs = slices.DeleteFunc(s.CA.EarlierRegisteredIDs, func(id string) bool { return id == ref.ID })
	s.CA.RegisteredID, s.CA.RegisteredARN, s.CA.Reused = ref.ID, ref.ARN, reused
	return reused, nil
}

// align makes an already-registered CA ACTIVE, with auto-registration and our template
// (JITR, want nil: with no template at all).
func (st *registerCAStep) align(ctx context.Context, c aws.Client, id string, want *aws.RegistrationConfig) error {
	d, err := c.DescribeCA(ctx, id)
	if err != nil {
		return err
	}
	mode := cmp.Or(d.CertificateMode, "DEFAULT")
	if wantMode := cmp.Or(st.s.Options.certificateMode(), "DEFAULT"); mode != wantMode {
		return i18n.NewError("step08.err.mode", i18n.Args{"Mode": mode, "Want": wantMode, "Flag": map[string]string{"DEFAULT": CAModeDefault, "SNI_ONLY": CAModeSNIOnly}[mode]})
	}
	var in aws.UpdateCAInput
	if d.Status != aws.StatusActive {
		in.NewStatus = aws.StatusActive
		st.Report(Event{Message: i18n.T("step08.set-active", i18n.Args{"Was": d.Status})})
	}
	if d.AutoRegistrationStatus != aws.AutoRegEnable {
		in.NewAutoRegistrationStatus = aws.AutoRegEnable
		st.Report(Event{Message: i18n.T("step08.enable-autoreg", i18n.Args{"Was": d.AutoRegistrationStatus})})
	}
	switch {
	case want == nil:
		if d.RegistrationConfig != nil && (d.RegistrationConfig.TemplateBody != "" || d.RegistrationConfig.TemplateName != "") {
			in.RemoveAutoRegistration = true
			st.Report(Event{Message: i18n.T("step08.remove-template")})
		}
	case d.RegistrationConfig == nil || d.RegistrationConfig.TemplateBody != want.TemplateBody || d.RegistrationConfig.RoleArn != want.RoleArn:
		in.RegistrationConfig = want
		st.Report(Event{Message: i18n.T("step08.update-config", i18n.Args{"File": FileTemplate})})
	}
	if in == (aws.UpdateCAInput{}) {
		return nil
	}
	return c.UpdateCA(ctx, id, in)
}

func (st *registerCAStep) Result() []ResultLine {
	ca := st.s.CA
	out := []ResultLine{
		valueLine(i18n.T("step08.result.ca-id"), ca.RegisteredID),
		valueLine(i18n.T("step08.result.ca-arn"), ca.RegisteredARN),
	}
	if ca.Intermediate {
		out = append(out, noteLine(i18n.T("step08.result.intermediate")))
	}
	what := i18n.T("step08.what.template")
	if st.s.Options.jitr() {
		what = i18n.T("step08.what.jitr")
	}
	if st.s.Options.sniOnly() {
		what = i18n.T("step08.what.sni-only", i18n.Args{"What": what})
	}
	if ca.Reused {
		out = append(out, noteLine(i18n.T("step08.result.reused", i18n.Args{"What": what})))
	} else {
		out = append(out, noteLine(i18n.T("step08.result.registered", i18n.Args{"What": what})))
	}
	return out
}

func (st *registerCAStep) Summary() string {
	return i18n.T("step08.summary", i18n.Args{"ID": st.s.CA.RegisteredID, "JITR": st.s.Options.jitr(), "SNIOnly": st.s.Options.sniOnly()})
}
