package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 8: register the CA with auto-registration and the template (this turns JITP on).
type registerCAStep struct{ Base }

func (*registerCAStep) ID() ID        { return IDRegisterCA }
func (*registerCAStep) Title() string { return "Register CA" }
func (st *registerCAStep) Explain() string {
	proof := "proving possession with the verification certificate"
	if st.s.Options.sniOnly() {
		proof = "in SNI_ONLY mode (no proof of possession: several accounts may register it; devices must send SNI)"
	}
	if st.s.Options.jitr() {
		return "Register your CA certificate with AWS IoT, " + proof + ",\n" +
			"set it ACTIVE and allow auto-registration without a template: from now on, a device certificate signed\n" +
			"by this CA is registered PENDING_ACTIVATION the first time it connects (JITR). A CA already registered is reused."
	}
	return "Register your CA certificate with AWS IoT, " + proof + ",\n" +
		"set it ACTIVE and allow auto-registration with your template: from now on, a device certificate signed\n" +
		"by this CA is provisioned the first time it connects. A CA already registered is found and reused."
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
			return false, fmt.Errorf("verification certificate: %v — run step 5 again", err)
		}
		in.VerificationCertificatePEM = string(verifPEM)
	}
	var want *aws.RegistrationConfig // JITR: none
	if !s.Options.jitr() {
		b, err := os.ReadFile(s.Path(FileTemplate))
		if err != nil {
			return false, fmt.Errorf("%s: %v — run step 7 again", FileTemplate, err)
		}
		rc, err := template.ParseRegistrationConfig(b)
		if err != nil {
			return false, fmt.Errorf("%s: %w — run step 7 again", FileTemplate, err)
		}
		want = &aws.RegistrationConfig{TemplateBody: rc.TemplateBody, RoleArn: rc.RoleArn, TemplateName: rc.TemplateName}
	}
	in.RegistrationConfig = want
	in.OnRoleRetry = func(wait, left time.Duration, msg string) {
		st.reportf("AWS IoT cannot use the provisioning role yet (a new role takes a few seconds to propagate in IAM): retrying in %s, %s left — %s",
			wait.Round(100*time.Millisecond), left.Round(time.Second), msg)
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
		ref = aws.CARef{ID: firstNonEmpty(ae.ResourceID, s.CA.CertID), ARN: ae.ResourceARN}
		st.reportf("the CA is already registered (ID %s): reusing it", abbrev(ref.ID))
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
	mode := firstNonEmpty(d.CertificateMode, "DEFAULT")
	if wantMode := firstNonEmpty(st.s.Options.certificateMode(), "DEFAULT"); mode != wantMode {
		return fmt.Errorf("the CA is already registered in %s mode, and a CA's mode cannot be changed — to register it in %s mode, remove it first (jitpwiz clean), or keep --ca-mode %s",
			mode, wantMode, map[string]string{"DEFAULT": CAModeDefault, "SNI_ONLY": CAModeSNIOnly}[mode])
	}
	var in aws.UpdateCAInput
	if d.Status != aws.StatusActive {
		in.NewStatus = aws.StatusActive
		st.reportf("setting the CA ACTIVE (was %s)", d.Status)
	}
	if d.AutoRegistrationStatus != aws.AutoRegEnable {
		in.NewAutoRegistrationStatus = aws.AutoRegEnable
		st.reportf("enabling auto-registration (was %s)", d.AutoRegistrationStatus)
	}
	switch {
	case want == nil:
		if d.RegistrationConfig != nil && (d.RegistrationConfig.TemplateBody != "" || d.RegistrationConfig.TemplateName != "") {
			in.RemoveAutoRegistration = true
			st.reportf("removing the CA's JITP template (registrationConfig): with JITR the first connect only registers the certificate")
		}
	case d.RegistrationConfig == nil || d.RegistrationConfig.TemplateBody != want.TemplateBody || d.RegistrationConfig.RoleArn != want.RoleArn:
		in.RegistrationConfig = want
		st.reportf("updating the CA's registration config to %s", FileTemplate)
	}
	if in == (aws.UpdateCAInput{}) {
		return nil
	}
	return c.UpdateCA(ctx, id, in)
}

func (st *registerCAStep) Result() []ResultLine {
	ca := st.s.CA
	out := []ResultLine{
		valueLine("CA certificate ID", ca.RegisteredID),
		valueLine("CA certificate ARN", ca.RegisteredARN),
	}
	if ca.Intermediate {
		out = append(out, noteLine("registered your intermediate CA as the issuing CA"))
	}
	what := "the template"
	if st.s.Options.jitr() {
		what = "no template (JITR)"
	}
	if st.s.Options.sniOnly() {
		what += ", in SNI_ONLY mode"
	}
	if ca.Reused {
		out = append(out, noteLine("the CA was already registered: reused, made ACTIVE with auto-registration and "+what))
	} else {
		out = append(out, noteLine("registered ACTIVE with auto-registration ENABLE and "+what))
	}
	return out
}

func (st *registerCAStep) Summary() string {
	sum := "CA " + st.s.CA.RegisteredID + " ACTIVE, auto-registration on"
	if st.s.Options.jitr() {
		sum += ", no template (JITR)"
	}
	if st.s.Options.sniOnly() {
		sum += ", SNI_ONLY"
	}
	return sum
}
