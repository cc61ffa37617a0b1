package steps

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 8: register the CA with auto-registration and the template (this turns JITP on).
type registerCAStep struct{ Base }

func (*registerCAStep) ID() ID        { return IDRegisterCA }
func (*registerCAStep) Title() string { return "Register CA" }
func (*registerCAStep) Explain() string {
	return "Register your CA certificate with AWS IoT, proving possession with the verification certificate,\n" +
		"set it ACTIVE and allow auto-registration with your template: from now on, a device certificate signed\n" +
		"by this CA is provisioned the first time it connects. A CA already registered is found and reused."
}

func (st *registerCAStep) record() record {
	s := st.s
	return record{
		after: []ID{IDVerifCert, IDTemplate},
		inputs: map[string]string{
			"CA certificate":           s.CA.CertID,
			"verification certificate": s.VerificationCertID,
			"template":                 s.Template.BodySHA256,
			"role":                     s.Role.ARN,
			"target":                   targetID(s),
		},
	}
}

func (st *registerCAStep) Commands() []string {
	s := st.s
	return []string{awsCmd(s, "iot", "register-ca-certificate",
		"--ca-certificate", "file://"+caCertName(s),
		"--verification-cert", "file://"+pki.FileVerifCert,
		"--set-as-active", "--allow-auto-registration",
		"--registration-config", "file://"+FileTemplate)}
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
	verifPEM, err := os.ReadFile(s.Path(pki.FileVerifCert))
	if err != nil {
		return false, fmt.Errorf("verification certificate: %v — run step 5 again", err)
	}
	b, err := os.ReadFile(s.Path(FileTemplate))
	if err != nil {
		return false, fmt.Errorf("%s: %v — run step 7 again", FileTemplate, err)
	}
	rc, err := template.ParseRegistrationConfig(b)
	if err != nil {
		return false, fmt.Errorf("%s: %w — run step 7 again", FileTemplate, err)
	}
	want := &aws.RegistrationConfig{TemplateBody: rc.TemplateBody, RoleArn: rc.RoleArn, TemplateName: rc.TemplateName}
	// Only the issuing CA's own certificate is registered (an intermediate, when it is one).
	caOnly := pki.EncodeCertPEM(ca.Cert)
	ref, err := c.RegisterCA(ctx, aws.RegisterCAInput{
		CACertificatePEM:           string(caOnly),
		VerificationCertificatePEM: string(verifPEM),
		SetAsActive:                true,
		AllowAutoRegistration:      true,
		RegistrationConfig:         want,
	})
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
	s.CA.RegisteredID, s.CA.RegisteredARN, s.CA.Reused = ref.ID, ref.ARN, reused
	return reused, nil
}

// align makes an already-registered CA ACTIVE, with auto-registration and our template.
func (st *registerCAStep) align(ctx context.Context, c aws.Client, id string, want *aws.RegistrationConfig) error {
	d, err := c.DescribeCA(ctx, id)
	if err != nil {
		return err
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
	if d.RegistrationConfig == nil || d.RegistrationConfig.TemplateBody != want.TemplateBody || d.RegistrationConfig.RoleArn != want.RoleArn {
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
	if ca.Reused {
		out = append(out, noteLine("the CA was already registered: reused, made ACTIVE with auto-registration and this template"))
	} else {
		out = append(out, noteLine("registered ACTIVE with auto-registration ENABLE and the template"))
	}
	return out
}

func (st *registerCAStep) Summary() string {
	return "CA " + st.s.CA.RegisteredID + " ACTIVE, auto-registration on"
}
