package steps

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 9: the device certificate (or the user's own, checked).
//
// File layout: the workspace's first thing (Session.PrimaryThing) uses the walkthrough's names
// at the workspace root (deviceCert.key, deviceCert.csr, deviceCert.crt,
// deviceCertAndCACert.crt); every further thing gets the same names under devices/<thing>/,
// so adding a device never touches the first one's files.
type deviceCertStep struct {
	Base
	// The wizard's choice of an existing device certificate, pending until both paths are
	// valid (they then become --device-cert/--device-key); never saved.
	existing bool
	files    filePair
}

func (*deviceCertStep) ID() ID          { return IDDeviceCert }
func (*deviceCertStep) Title() string   { return i18n.T("step09.title") }
func (*deviceCertStep) Explain() string { return i18n.T("step09.explain") }

func (st *deviceCertStep) record() record {
	s := st.s
	d := s.Device()
	r := record{perDevice: true, after: []ID{IDCACert}}
	m := map[string]string{"CA certificate": s.CA.CertID, "thing": s.Options.Thing}
	if d.Supplied {
		m["device certificate file"] = d.CertFile + " " + abbrev(fileSHA256(d.CertFile))
		r.inputs, r.outputs = m, []string{d.CertFile, d.KeyFile, d.BundleFile}
		return r
	}
	m["country"] = s.Options.Country
	m["organization"] = s.Options.Org
	m["organizational unit"] = s.Options.OrgUnit
	m["state"] = s.Options.State
	m["device key file"] = fileSHA256(s.Path(d.KeyFile))
	r.inputs, r.outputs = m, []string{d.KeyFile, d.CSRFile, d.CertFile, d.BundleFile}
	if s.Options.ForceNewKeys {
		r.redo = "--force-new-keys asks for a new device key"
	}
	return r
}

// choiceNew is the value of the device choice for a new certificate (choiceExisting for yours).
const choiceNew = "new"

// choice is "existing" when the current thing is tested with the user's certificate (or the
// user chose so).
func (st *deviceCertStep) choice() string {
	if st.s.Options.DeviceCertFile != "" || st.existing {
		return choiceExisting
	}
	return choiceNew
}

func (st *deviceCertStep) Inputs() []Field {
	s := st.s
	if st.choice() == choiceExisting {
		return append([]Field{st.sourceField()}, within("device", withGet(st.fileFields()))...)
	}
	text := func(key, label, help string, get func(o *Options) *string, validate func(o *Options) error) Field {
		return Field{Flag: key, Label: label, Help: help,
			Get: func() string { return *get(&s.Options) },
			Set: func(v string) error {
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
		extra = append(extra, forceNewKeysField(s))
	}
	return append([]Field{
		st.sourceField(),
		text("thing", i18n.T("step09.field.thing"), i18n.T("step09.field.thing-help"),
			func(o *Options) *string { return &o.Thing }, func(o *Options) error {
				if err := pki.ValidateThingName(o.Thing); err != nil {
					return err
				}
				return subj(o)
			}),
		text("country", i18n.T("step09.field.country"), i18n.T("step09.field.country-help"),
			func(o *Options) *string { return &o.Country }, subj),
		text("org", i18n.T("step09.field.org"), "", func(o *Options) *string { return &o.Org }, subj),
		text("ou", i18n.T("step09.field.ou"), "", func(o *Options) *string { return &o.OrgUnit }, subj),
		text("state", i18n.T("step09.field.state"), "", func(o *Options) *string { return &o.State }, subj),
	}, extra...)
}

// sourceField is the choice between a new device certificate and the user's own.
func (st *deviceCertStep) sourceField() Field {
	s := st.s
	return Field{
		Flag: "device", Label: i18n.T("step09.field.device"),
		Help: i18n.T("step09.field.device-help"),
		Choices: []Option{
			{Value: choiceNew, Label: i18n.T("step09.choice.new"), Help: i18n.T("step09.choice.new-help")},
			{Value: choiceExisting, Label: i18n.T("step09.choice.existing"), Help: i18n.T("step09.choice.existing-help")},
		},
		Get: st.choice,
		Set: func(v string) error {
			switch v {
			case choiceNew:
				st.existing, st.files = false, filePair{}
				if s.Options.DeviceCertFile == "" {
					return nil
				}
				o := s.Options
				o.DeviceCertFile, o.DeviceKeyFile = "", ""
				return applySupplied(s, o)
			case choiceExisting:
				if !s.CA.Supplied {
					return i18n.NewError("step09.err.existing-needs-ca")
				}
				st.existing = true
				return nil
			}
			return i18n.NewError("step09.err.choice")
		},
	}
}

// fileFields are the paths of the user's device certificate and key (shown once "use an
// existing device cert" is chosen).
func (st *deviceCertStep) fileFields() []Field {
	s := st.s
	return st.files.fields(
		pathInput{"device-cert", i18n.T("step09.field.cert-file"), i18n.T("step09.field.cert-file-help"),
			func() string { return s.Options.DeviceCertFile },
			func(p string) error {
				c, err := pki.LoadCertFile(p)
				if err != nil {
					return i18n.NewError("step09.err.cert-file", i18n.Args{"Err": err})
				}
				if c.Subject.CommonName == "" {
					return i18n.NewError("step09.err.no-cn", i18n.Args{"Path": p})
				}
				return nil
			}},
		pathInput{"device-key", i18n.T("step09.field.key-file"), i18n.T("step09.field.key-file-help"),
			func() string { return s.Options.DeviceKeyFile },
			func(p string) error {
				if _, err := pki.LoadKeyFile(p); err != nil {
					return i18n.NewError("step09.err.key-file", i18n.Args{"Err": err})
				}
				return nil
			}},
		st.use)
}

// use makes cert + key the current thing's certificate, as --device-cert/--device-key would;
// the thing is the certificate's CN, and its subject is linted against the template.
func (st *deviceCertStep) use(cert, key string) error {
	s := st.s
	c, err := pki.LoadCertFile(cert)
	if err != nil {
		return i18n.NewError("step09.err.cert-file-load", i18n.Args{"Err": err})
	}
	o := s.Options
	o.DeviceCertFile, o.DeviceKeyFile = cert, key
	o.Thing = c.Subject.CommonName
	if err := lintDevice(s, pki.JITPParameters(c), yoursWhat(pki.SubjectOf(c))); err != nil {
		return err
	}
	return applySupplied(s, o)
}

func (st *deviceCertStep) Commands() []string {
	s := st.s
	cert, key, csr, bundle := deviceFiles(s)
	if s.Device().Supplied {
		return cmdLines(
			verifyCommand(s, cert),
			pki.BundleCommand(cert, caCertName(s), bundle),
			pki.FingerprintCommand(cert),
		)
	}
	return cmdLines(
		pki.GenKeyCommand(keyType(s), key),
		pki.CSRCommand(key, csr, s.Options.DeviceSubject()),
		pki.SignCommand(csr, caCertName(s), caKeyName(s), cert, pki.DeviceDays),
		pki.BundleCommand(cert, caCertName(s), bundle),
		verifyCommand(s, cert),
		pki.FingerprintCommand(cert),
	)
}

func (st *deviceCertStep) act(ctx context.Context) (bool, error) {
	s := st.s
	ca, err := signingCA(s)
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
		return checkSuppliedDevice(s, ca, d)
	}
	if st.existing {
		return false, i18n.NewError("step09.err.existing-pending")
	}
	sub := s.Options.DeviceSubject()
	if err := lintDevice(s, plannedParams(sub), deviceWhat(sub)); err != nil {
		return false, err
	}
	// Reuse a device certificate with this subject, from this CA, for this key.
	keyPath := s.Path(d.KeyFile)
	if err := secureKeyFile(keyPath, st.reportf); err != nil {
		return false, err
	}
	if c, err := pki.LoadCertFile(s.Path(d.CertFile)); err == nil && !s.Options.ForceNewKeys &&
		pki.SubjectOf(c) == sub && issuedBy(s, c, ca) &&
		pki.FileExists(s.Path(d.CSRFile)) && sameFile(s.Path(d.BundleFile), pki.Bundle(c, ca.Cert)) {
		if k, err := pki.LoadKeyFile(keyPath); err == nil && keyID(k) != "" && pki.KeyMatchesCert(k, c) {
			setDeviceCert(s, d, c)
			return true, nil
		}
	}
	key, _, note, err := ensureKey(s, keyPath, i18n.T("step09.what.key"), keyType(s))
	if err != nil {
		return false, err
	}
	if note != "" {
		st.Report(Event{Message: note})
	}
	r, err := pki.IssueDeviceCert(pki.IssueOptions{
		Dir: filepath.Dir(s.Path(d.CertFile)), CA: ca, CACertFile: caCertName(s), CAKeyFile: caKeyName(s),
		KeyType: keyType(s), Key: key, Overwrite: true,
	}, sub)
	if err != nil {
		return false, err
	}
	setDeviceCert(s, d, r.Cert)
	return false, nil
}

// lintDevice checks the template against a device's JITP parameters before anything
// connects: a missing subject attribute would leave the certificate PENDING_ACTIVATION.
func lintDevice(s *Session, params map[string]string, what string) error {
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
	if _, err := lintTemplate(s, t, params, what); err != nil {
		return i18n.WrapError(err, "step09.err.lint")
	}
	return nil
}

// checkSuppliedDevice validates the user's device certificate and key (never rewriting them),
// writes the bundle into the workspace and records the certificate.
func checkSuppliedDevice(s *Session, ca *pki.CA, d *Device) (bool, error) {
	c, err := pki.LoadCertFile(d.CertFile)
	if err != nil {
		return false, i18n.WrapError(err, "step07.err.device-cert")
	}
	k, err := pki.LoadKeyFile(d.KeyFile)
	if err != nil {
		return false, i18n.WrapError(err, "step09.err.device-key", i18n.Args{"Path": d.KeyFile})
	}
	if !pki.KeyMatchesCert(k, c) {
		return false, i18n.NewError("step09.err.key-mismatch", i18n.Args{"Key": d.KeyFile, "Cert": d.CertFile})
	}
	if err := pki.CheckIssuedBy(c, ca.Cert, s.Now()); err != nil {
		return false, i18n.NewError("step09.err.not-issued", i18n.Args{"Cert": d.CertFile, "CA": s.CA.Subject, "Err": err})
	}
	if err := lintDevice(s, pki.JITPParameters(c), yoursWhat(pki.SubjectOf(c))); err != nil {
		return false, err
	}
	bundle := pki.Bundle(c, ca.Cert)
	reused := sameFile(s.Path(d.BundleFile), bundle)
	if !reused {
		if err := pki.WriteFile(s.Path(d.BundleFile), bundle, pki.CertMode, true); err != nil {
			return false, err
		}
	}
	setDeviceCert(s, d, c)
	return reused, nil
}

// setDeviceCert records the device certificate of d; a different certificate than before
// drops the results obtained with the old one.
func setDeviceCert(s *Session, d *Device, c *x509.Certificate) {
	id := pki.CertID(c)
	if d.CertID != id {
		d.retireCert()
		d.FirstConnect, d.Verify, d.Policies, d.Use, d.ProvisionedThing = nil, nil, nil, nil, ""
	}
	d.CertID = id
	d.Subject = pki.SubjectOf(c).String()
	if !d.Supplied {
		d.SubjectOptions = &SubjectOptions{Country: s.Options.Country, Org: s.Options.Org, OrgUnit: s.Options.OrgUnit, State: s.Options.State}
	}
	d.CertARN = certARN(s, id)
}

func (st *deviceCertStep) Result() []ResultLine {
	d := st.s.Device()
	out := []ResultLine{}
	if d.Supplied {
		out = append(out, fileLine(i18n.T("step09.result.your-cert"), d.CertFile), fileLine(i18n.T("step09.result.your-key"), d.KeyFile))
	} else {
		out = append(out, fileLine(i18n.T("step09.result.key"), d.KeyFile), fileLine(i18n.T("step09.result.csr"), d.CSRFile), fileLine(i18n.T("step09.result.cert"), d.CertFile))
	}
	out = append(out,
		fileLine(i18n.T("step09.result.bundle"), d.BundleFile),
		valueLine(i18n.T("step09.result.subject"), d.Subject),
		valueLine(i18n.T("step09.result.cert-id"), d.CertID),
	)
	return out
}

func (st *deviceCertStep) Summary() string {
	s := st.s
	d := s.Device()
	return i18n.T("step09.summary", i18n.Args{"File": s.relName(d.CertFile), "Subject": d.Subject, "ID": d.CertID})
}
