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

func stepRegisterCA() *step {
	return &step{
		id:    IDRegisterCA,
		title: "Register CA",
		explain: "Register your CA certificate with AWS IoT, proving possession with the verification certificate,\n" +
			"set it ACTIVE and allow auto-registration with your template: from now on, a device certificate signed\n" +
			"by this CA is provisioned the first time it connects. A CA already registered is found and reused.",
		after: []ID{IDVerifCert, IDTemplate},
		inputs: func(s *Session) map[string]string {
			return map[string]string{
				"CA certificate":           s.CA.CertID,
				"verification certificate": s.VerificationCertID,
				"template":                 s.Template.BodySHA256,
				"role":                     s.Role.ARN,
				"target":                   s.targetID(),
			}
		},
		cmds: func(s *Session) []string {
			return []string{s.awsCmd("iot", "register-ca-certificate",
				"--ca-certificate", "file://"+s.caCertName(),
				"--verification-cert", "file://"+pki.FileVerifCert,
				"--set-as-active", "--allow-auto-registration",
				"--registration-config", "file://"+FileTemplate)}
		},
		run:    runRegisterCA,
		result: registerResult,
	}
}

func runRegisterCA(ctx context.Context, s *Session) (bool, error) {
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	ca, err := s.loadCA()
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
		s.reportf(IDRegisterCA, "the CA is already registered (ID %s): reusing it", short(ref.ID))
		if err := s.alignCA(ctx, c, ref.ID, want); err != nil {
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

// alignCA makes an already-registered CA ACTIVE, with auto-registration and our template.
func (s *Session) alignCA(ctx context.Context, c aws.Client, id string, want *aws.RegistrationConfig) error {
	d, err := c.DescribeCA(ctx, id)
	if err != nil {
		return err
	}
	var in aws.UpdateCAInput
	if d.Status != aws.StatusActive {
		in.NewStatus = aws.StatusActive
		s.reportf(IDRegisterCA, "setting the CA ACTIVE (was %s)", d.Status)
	}
	if d.AutoRegistrationStatus != aws.AutoRegEnable {
		in.NewAutoRegistrationStatus = aws.AutoRegEnable
		s.reportf(IDRegisterCA, "enabling auto-registration (was %s)", d.AutoRegistrationStatus)
	}
	if d.RegistrationConfig == nil || d.RegistrationConfig.TemplateBody != want.TemplateBody || d.RegistrationConfig.RoleArn != want.RoleArn {
		in.RegistrationConfig = want
		s.reportf(IDRegisterCA, "updating the CA's registration config to %s", FileTemplate)
	}
	if in == (aws.UpdateCAInput{}) {
		return nil
	}
	return c.UpdateCA(ctx, id, in)
}

func registerResult(s *Session) []ResultLine {
	out := []ResultLine{
		valueLine("CA certificate ID", s.CA.RegisteredID),
		valueLine("CA certificate ARN", s.CA.RegisteredARN),
	}
	if s.CA.Intermediate {
		out = append(out, noteLine("registered your intermediate CA as the issuing CA"))
	}
	if s.CA.Reused {
		out = append(out, noteLine("the CA was already registered: reused, made ACTIVE with auto-registration and this template"))
	} else {
		out = append(out, noteLine("registered ACTIVE with auto-registration ENABLE and the template"))
	}
	return out
}
