package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 9: the device certificate (or the user's own, checked).
//
// File layout: the workspace's first thing (Session.PrimaryThing) uses the walkthrough's names
// at the workspace root (deviceCert.key, deviceCert.csr, deviceCert.crt,
// deviceCertAndCACert.crt); every further thing gets the same names under devices/<thing>/,
// so adding a device never touches the first one's files.

func stepDeviceCert() *step {
	return &step{
		id:        IDDeviceCert,
		title:     "Device cert",
		perDevice: true,
		explain: "Make the device's key and certificate, signed by your CA. JITP reads the template's parameters from its\n" +
			"subject: CN becomes the thing name and C the country attribute, so they must be there.\n" +
			"The bundle deviceCertAndCACert.crt (device cert, then CA cert) is what the device presents on its first connect.",
		after: []ID{IDCACert},
		inputs: func(s *Session) map[string]string {
			d := s.Device()
			m := map[string]string{"CA certificate": s.CA.CertID, "thing": s.Options.Thing}
			if d.Supplied {
				m["device certificate file"] = d.CertFile + " " + short(fileSHA256(d.CertFile))
				return m
			}
			m["country"] = s.Options.Country
			m["organization"] = s.Options.Org
			m["organizational unit"] = s.Options.OrgUnit
			m["state"] = s.Options.State
			m["device key file"] = fileSHA256(s.Path(d.KeyFile))
			return m
		},
		outputs: func(s *Session) []string {
			d := s.Device()
			if d.Supplied {
				return []string{d.CertFile, d.KeyFile, d.BundleFile}
			}
			return []string{d.KeyFile, d.CSRFile, d.CertFile, d.BundleFile}
		},
		redo: func(s *Session) string {
			if s.Options.ForceNewKeys && !s.Device().Supplied {
				return "--force-new-keys asks for a new device key"
			}
			return ""
		},
		fields: deviceFields,
		cmds:   deviceCommands,
		run:    runDeviceCert,
		result: deviceResult,
	}
}

func deviceFields(s *Session) []Field {
	if deviceChoice(s) == choiceExisting {
		return append([]Field{deviceSourceField()}, withGet(s, deviceFileFields())...)
	}
	text := func(key, label, help string, get func(o *Options) *string, validate func(o *Options) error) Field {
		return Field{Key: key, Label: label, Help: help,
			Get: func(s *Session) string { return *get(&s.Options) },
			Set: func(s *Session, v string) error {
				o := s.Options
				*get(&o) = v
				if err := validate(&o); err != nil {
					return err
				}
				*get(&s.Options) = v
				return nil
			}}
	}
	subj := func(o *Options) error { return o.DeviceSubject().ValidateDevice() }
	var extra []Field
	if d := s.DeviceFor(s.Options.Thing); d != nil && !d.Supplied && pki.FileExists(s.Path(d.KeyFile)) {
		extra = append(extra, forceNewKeysField())
	}
	return append([]Field{
		deviceSourceField(),
		text("thing", "Thing name (CN)", "the device certificate's Common Name; the template names the thing from it",
			func(o *Options) *string { return &o.Thing }, func(o *Options) error {
				if err := pki.ValidateThingName(o.Thing); err != nil {
					return err
				}
				return subj(o)
			}),
		text("country", "Country (C)", "2-letter ISO code; the scoped template stores it as the thing's country attribute",
			func(o *Options) *string { return &o.Country }, subj),
		text("org", "Organization (O, optional)", "", func(o *Options) *string { return &o.Org }, subj),
		text("ou", "Organizational unit (OU, optional)", "", func(o *Options) *string { return &o.OrgUnit }, subj),
		text("state", "State (ST, optional)", "", func(o *Options) *string { return &o.State }, subj),
	}, extra...)
}

// deviceNames are the file names commands use for the current device (workspace-relative).
func (s *Session) deviceNames() (key, csr, cert, bundle string) {
	d := s.Device()
	return s.relName(d.KeyFile), s.relName(d.CSRFile), s.relName(d.CertFile), s.relName(d.BundleFile)
}

func deviceCommands(s *Session) []string {
	key, csr, cert, bundle := s.deviceNames()
	if s.Device().Supplied {
		return cmdLines(
			s.verifyCommand(cert),
			pki.BundleCommand(cert, s.caCertName(), bundle),
			pki.FingerprintCommand(cert),
		)
	}
	return cmdLines(
		pki.GenKeyCommand(s.keyType(), key),
		pki.CSRCommand(key, csr, s.Options.DeviceSubject()),
		pki.SignCommand(csr, s.caCertName(), s.caKeyName(), cert, pki.DeviceDays),
		pki.BundleCommand(cert, s.caCertName(), bundle),
		s.verifyCommand(cert),
		pki.FingerprintCommand(cert),
	)
}

func runDeviceCert(ctx context.Context, s *Session) (bool, error) {
	ca, err := s.loadCA()
	if err != nil {
		return false, err
	}
	d := s.Device()
	s.keepDevice(d)
	if d.Dir != "" {
		if err := pki.EnsureWorkspace(s.Path(d.Dir)); err != nil {
			return false, err
		}
	}
	if d.Supplied {
		return s.checkSuppliedDevice(ca, d)
	}
	if s.wiz.deviceExisting {
		return false, fmt.Errorf("device certificate: you chose an existing one — give its certificate and key files, or choose issue new")
	}
	sub := s.Options.DeviceSubject()
	if err := s.lintDevice(plannedParams(sub), "the device subject "+sub.String()); err != nil {
		return false, err
	}
	// Reuse a device certificate with this subject, from this CA, for this key.
	keyPath := s.Path(d.KeyFile)
	if err := s.checkKeyFile(IDDeviceCert, keyPath); err != nil {
		return false, err
	}
	if c, err := pki.LoadCertFile(s.Path(d.CertFile)); err == nil && !s.Options.ForceNewKeys &&
		pki.SubjectOf(c) == sub && s.issuedBy(c, ca) &&
		pki.FileExists(s.Path(d.CSRFile)) && sameFile(s.Path(d.BundleFile), pki.Bundle(c, ca.Cert)) {
		if k, err := pki.LoadKeyFile(keyPath); err == nil && keyID(k) != "" && pki.KeyMatchesCert(k, c) {
			s.setDeviceCert(d, c)
			return true, nil
		}
	}
	key, _, err := s.ensureKey(IDDeviceCert, keyPath, "device private key", s.keyType())
	if err != nil {
		return false, err
	}
	r, err := pki.IssueDeviceCert(pki.IssueOptions{
		Dir: filepath.Dir(s.Path(d.CertFile)), CA: ca, CACertFile: s.caCertName(), CAKeyFile: s.caKeyName(),
		KeyType: s.keyType(), Key: key, Overwrite: true,
	}, sub)
	if err != nil {
		return false, err
	}
	s.setDeviceCert(d, r.Cert)
	return false, nil
}

// lintDevice checks the template against a device's JITP parameters before anything
// connects: a missing subject attribute would leave the certificate PENDING_ACTIVATION.
func (s *Session) lintDevice(params map[string]string, what string) error {
	b, err := os.ReadFile(s.Path(FileTemplate))
	if err != nil {
		return nil // no template yet (the TUI may run steps out of order); step 7 lints too
	}
	rc, err := template.ParseRegistrationConfig(b)
	if err != nil {
		return nil
	}
	t, err := template.Parse(rc.TemplateBody)
	if err != nil {
		return err
	}
	if _, err := s.lint(t, params, what); err != nil {
		return fmt.Errorf("%w\n  (fix the subject flags, e.g. --country, or the template, and run again)", err)
	}
	return nil
}

// checkSuppliedDevice validates the user's device certificate and key (never rewriting them),
// writes the bundle into the workspace and records the certificate.
func (s *Session) checkSuppliedDevice(ca *pki.CA, d *Device) (bool, error) {
	c, err := pki.LoadCertFile(d.CertFile)
	if err != nil {
		return false, fmt.Errorf("--device-cert: %w", err)
	}
	k, err := pki.LoadKeyFile(d.KeyFile)
	if err != nil {
		return false, fmt.Errorf("--device-key %s: %w", d.KeyFile, err)
	}
	if !pki.KeyMatchesCert(k, c) {
		return false, fmt.Errorf("--device-key %s does not belong to --device-cert %s — give the key the certificate was made from", d.KeyFile, d.CertFile)
	}
	if err := pki.CheckIssuedBy(c, ca.Cert, s.Now()); err != nil {
		return false, fmt.Errorf("--device-cert %s was not issued by the CA %s: AWS IoT would not recognise it — give the CA that issued it with --ca-cert/--ca-key (%v)", d.CertFile, s.CA.Subject, err)
	}
	if err := s.lintDevice(pki.JITPParameters(c), "your device certificate "+pki.SubjectOf(c).String()); err != nil {
		return false, err
	}
	bundle := pki.Bundle(c, ca.Cert)
	reused := sameFile(s.Path(d.BundleFile), bundle)
	if !reused {
		if err := pki.WriteFile(s.Path(d.BundleFile), bundle, pki.CertMode, true); err != nil {
			return false, err
		}
	}
	s.setDeviceCert(d, c)
	return reused, nil
}

func deviceResult(s *Session) []ResultLine {
	d := s.Device()
	out := []ResultLine{}
	if d.Supplied {
		out = append(out, fileLine("your device certificate (not rewritten)", d.CertFile), fileLine("your device key", d.KeyFile))
	} else {
		out = append(out, fileLine("device private key (0600)", d.KeyFile), fileLine("device CSR", d.CSRFile), fileLine("device certificate", d.CertFile))
	}
	out = append(out,
		fileLine("device + CA bundle", d.BundleFile),
		valueLine("subject", d.Subject),
		valueLine("device certificate ID (SHA-256 of the DER)", d.CertID),
	)
	return out
}
