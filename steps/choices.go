package steps

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The wizard's bring-your-own choices: the CA step offers "generate new" or "use existing
// files", the template step the three variants or "load a file", the device step "issue new"
// or "use an existing device cert". They fill the very options `jitpwiz run` takes as
// --ca-cert/--ca-key, --template FILE and --device-cert/--device-key: each path is checked as
// it is typed, and once a pair is complete and valid the options are checked as Open checks
// them (Options.Validate, then checkSupplied) and only then stored. Supplied files are read,
// never rewritten.

// wizardChoices remembers, in this process only, a choice of existing files whose paths are
// not complete yet, and the paths that are valid so far (the options get them as a pair).
type wizardChoices struct {
	caExisting     bool
	templateFile   bool
	deviceExisting bool

	caCert, caKey         string
	deviceCert, deviceKey string
}

// Values of the choice fields.
const (
	choiceGenerate = "generate"
	choiceExisting = "existing"
	choiceFile     = "file"
	choiceNew      = "new"
)

// caChoice is "existing" when the session uses (or the user chose) a CA of their own.
func caChoice(s *Session) string {
	if s.CA.Supplied || s.wiz.caExisting {
		return choiceExisting
	}
	return choiceGenerate
}

// caSourceField is step 1's choice between a new CA and the user's own files.
func caSourceField() Field {
	return Field{
		Key: "ca", Label: "Certificate authority",
		Help: "generate new (default), or the files of your own root or intermediate CA: steps 1–3 are then skipped",
		Options: []Option{
			{Value: choiceGenerate, Label: "generate new", Help: "a new key and certificate in the workspace"},
			{Value: choiceExisting, Label: "use existing files", Help: "your CA certificate and its private key (read, never rewritten)"},
		},
		Get: caChoice,
		Set: func(s *Session, v string) error {
			switch v {
			case choiceGenerate:
				s.wiz.caExisting, s.wiz.caCert, s.wiz.caKey = false, "", ""
				return nil
			case choiceExisting:
				s.wiz.caExisting = true
				return nil
			}
			return fmt.Errorf("certificate authority: choose generate new or use existing files")
		},
	}
}

// caFileFields are the paths of the user's CA (shown once "use existing files" is chosen).
func caFileFields() []Field {
	return []Field{
		pathField("ca-cert", "CA certificate file", "PEM certificate of your CA (root or intermediate: it becomes the issuing CA registered in step 8)",
			func(s *Session) string { return s.Options.CACertFile },
			func(s *Session, p string) error {
				s.wiz.caCert = ""
				c, err := pki.LoadCertFile(p)
				if err != nil {
					return fmt.Errorf("CA certificate file: %v — give the PEM file of your CA certificate", err)
				}
				if !c.BasicConstraintsValid || !c.IsCA {
					return fmt.Errorf("CA certificate file %s is not a CA certificate (no basicConstraints CA:TRUE), so it cannot sign device certificates — give your CA's certificate, not a device's", p)
				}
				if err := pki.CheckValidity(c, s.Now()); err != nil {
					return fmt.Errorf("CA certificate file %s: %w", p, err)
				}
				if s.wiz.caKey != "" {
					if err := s.useCA(p, s.wiz.caKey); err != nil {
						return err
					}
				}
				s.wiz.caCert = p
				return nil
			}),
		pathField("ca-key", "CA private key file", "PEM private key of that CA (it stays where it is; jitpwiz signs with it)",
			func(s *Session) string { return s.Options.CAKeyFile },
			func(s *Session, p string) error {
				s.wiz.caKey = ""
				if _, err := pki.LoadKeyFile(p); err != nil {
					return fmt.Errorf("CA private key file: %v — give the PEM private key of your CA", err)
				}
				if s.wiz.caCert != "" {
					if err := s.useCA(s.wiz.caCert, p); err != nil {
						return err
					}
				}
				s.wiz.caKey = p
				return nil
			}),
	}
}

// existingCACommands show how to look at the CA files typed so far by hand (what jitpwiz
// checks: CA:TRUE, validity, and that the key is the certificate's).
func existingCACommands(s *Session) []string {
	var out []string
	if s.wiz.caCert != "" {
		out = append(out, "openssl x509 -in "+pki.ShellQuote(s.wiz.caCert)+" -noout -subject -dates -ext basicConstraints")
	}
	if s.wiz.caCert != "" && s.wiz.caKey != "" {
		out = append(out, "openssl x509 -in "+pki.ShellQuote(s.wiz.caCert)+" -noout -pubkey | cmp - <(openssl pkey -in "+pki.ShellQuote(s.wiz.caKey)+" -pubout) && echo the key matches")
	}
	return out
}

// useCA makes the CA files cert + key the session's CA, as --ca-cert/--ca-key would.
func (s *Session) useCA(cert, key string) error {
	if _, err := pki.LoadCAFiles(cert, key, s.Now()); err != nil {
		return fmt.Errorf("CA files: %w", err)
	}
	o := s.Options
	o.CACertFile, o.CAKeyFile = cert, key
	return s.applySupplied(o)
}

// applySupplied checks o as Open does (Options.Validate, then checkSupplied on a copy of the
// session) and, when it passes, makes o the session's options and records the supplied files.
// On error the session is unchanged.
func (s *Session) applySupplied(o Options) error {
	if err := o.resolve(false); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	trial := *s
	trial.Options = o
	trial.Devices = maps.Clone(s.Devices)
	if err := trial.checkSupplied(); err != nil {
		return err
	}
	s.Options = trial.Options
	return s.checkSupplied()
}

// templateChoice is the template field's value: a variant, or "file" for a template file.
func templateChoice(s *Session) string {
	if s.Options.Variant() == VariantCustom || s.wiz.templateFile {
		return choiceFile
	}
	return s.Options.Template
}

// templateFileField is the path of the user's template (shown once "load a file" is chosen).
func templateFileField() Field {
	return pathField("template-file", "Template file",
		`a registration config like jitp_template.json ({"templateBody": …}) or a bare template ({"Resources": …}); read, never rewritten`,
		func(s *Session) string {
			if s.Options.Variant() == VariantCustom {
				return s.Options.Template
			}
			return ""
		},
		func(s *Session, p string) error {
			rc, err := loadTemplateFile(p)
			if err != nil {
				return err
			}
			t, err := template.Parse(rc.TemplateBody)
			if err != nil {
				return fmt.Errorf("template file %s: %w", p, err)
			}
			params, what, err := s.lintSubject()
			if err != nil {
				return err
			}
			if _, err := s.lint(t, params, what); err != nil {
				return fmt.Errorf("template file %s: %w — fix the template, or the device subject in step 9", p, err)
			}
			return setTemplate(s, p)
		})
}

// lintSubject is the JITP dictionary templates are linted against: the supplied device
// certificate's, else the one the planned device subject will give.
func (s *Session) lintSubject() (map[string]string, string, error) {
	if s.Options.DeviceCertFile != "" {
		dc, err := pki.LoadCertFile(s.Options.DeviceCertFile)
		if err != nil {
			return nil, "", fmt.Errorf("--device-cert: %w", err)
		}
		return pki.JITPParameters(dc), "your device certificate " + pki.SubjectOf(dc).String(), nil
	}
	sub := s.Options.DeviceSubject()
	return plannedParams(sub), "the planned device subject " + sub.String(), nil
}

// deviceChoice is "existing" when the current thing is tested with the user's certificate
// (or the user chose so).
func deviceChoice(s *Session) string {
	if s.Options.DeviceCertFile != "" || s.wiz.deviceExisting {
		return choiceExisting
	}
	return choiceNew
}

// deviceSourceField is step 9's choice between a new device certificate and the user's own.
func deviceSourceField() Field {
	return Field{
		Key: "device", Label: "Device certificate",
		Help: "issue new (default, signed by your CA), or test an existing device certificate and key",
		Options: []Option{
			{Value: choiceNew, Label: "issue new", Help: "a new key and certificate with the subject below"},
			{Value: choiceExisting, Label: "use an existing device cert", Help: "its CN is the thing name (read, never rewritten)"},
		},
		Get: deviceChoice,
		Set: func(s *Session, v string) error {
			switch v {
			case choiceNew:
				s.wiz.deviceExisting, s.wiz.deviceCert, s.wiz.deviceKey = false, "", ""
				if s.Options.DeviceCertFile == "" {
					return nil
				}
				o := s.Options
				o.DeviceCertFile, o.DeviceKeyFile = "", ""
				return s.applySupplied(o)
			case choiceExisting:
				if !s.CA.Supplied {
					return fmt.Errorf("device certificate: an existing one must be checked against the CA that issued it — go back to step 1 and choose \"use existing files\" with that CA (the CA generated here signed no certificate of yours)")
				}
				s.wiz.deviceExisting = true
				return nil
			}
			return fmt.Errorf("device certificate: choose issue new or use an existing device cert")
		},
	}
}

// deviceFileFields are the paths of the user's device certificate and key.
func deviceFileFields() []Field {
	return []Field{
		pathField("device-cert", "Device certificate file", "PEM certificate of the device, issued by your CA; its CN becomes the thing name",
			func(s *Session) string { return s.Options.DeviceCertFile },
			func(s *Session, p string) error {
				s.wiz.deviceCert = ""
				c, err := pki.LoadCertFile(p)
				if err != nil {
					return fmt.Errorf("device certificate file: %v — give the PEM file of the device certificate", err)
				}
				if c.Subject.CommonName == "" {
					return fmt.Errorf("device certificate file %s has no Common Name (CN): JITP names the thing from it — use a certificate whose CN is the thing name", p)
				}
				if s.wiz.deviceKey != "" {
					if err := s.useDevice(p, s.wiz.deviceKey); err != nil {
						return err
					}
				}
				s.wiz.deviceCert = p
				return nil
			}),
		pathField("device-key", "Device private key file", "PEM private key of that certificate (used to connect, never copied)",
			func(s *Session) string { return s.Options.DeviceKeyFile },
			func(s *Session, p string) error {
				s.wiz.deviceKey = ""
				if _, err := pki.LoadKeyFile(p); err != nil {
					return fmt.Errorf("device private key file: %v — give the PEM private key of the device", err)
				}
				if s.wiz.deviceCert != "" {
					if err := s.useDevice(s.wiz.deviceCert, p); err != nil {
						return err
					}
				}
				s.wiz.deviceKey = p
				return nil
			}),
	}
}

// useDevice makes cert + key the current thing's certificate, as --device-cert/--device-key
// would; the thing is the certificate's CN, and its subject is linted against the template.
func (s *Session) useDevice(cert, key string) error {
	c, err := pki.LoadCertFile(cert)
	if err != nil {
		return fmt.Errorf("device certificate file: %v", err)
	}
	o := s.Options
	o.DeviceCertFile, o.DeviceKeyFile = cert, key
	o.Thing = c.Subject.CommonName
	if err := s.lintDevice(pki.JITPParameters(c), "your device certificate "+pki.SubjectOf(c).String()); err != nil {
		return err
	}
	return s.applySupplied(o)
}

// pathField is a file path input. Empty, missing and directory paths are refused naming the
// field; set receives an absolute path and checks the content. Get is left out while the
// option holds no file: an input left empty is then still checked when the step runs (an
// unchanged value counts as valid).
func pathField(key, label, help string, get func(*Session) string, set func(s *Session, p string) error) Field {
	f := Field{Key: key, Label: label, Help: help,
		Set: func(s *Session, v string) error {
			if v == "" {
				return fmt.Errorf("%s: empty — type the path of the file (~/ works)", label)
			}
			p := v
			if rest, ok := strings.CutPrefix(p, "~/"); ok {
				if home, err := os.UserHomeDir(); err == nil {
					p = filepath.Join(home, rest)
				}
			}
			p, err := filepath.Abs(p)
			if err != nil {
				return fmt.Errorf("%s %s: %v", label, v, err)
			}
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				return fmt.Errorf("%s %s: no such file — check the path", label, v)
			case fi.IsDir():
				return fmt.Errorf("%s %s is a directory — give the path of a file in it", label, v)
			}
			return set(s, p)
		}}
	f.Get = get
	return f
}

// withGet keeps f's Get only while it returns a value (see pathField).
func withGet(s *Session, fs []Field) []Field {
	for i := range fs {
		if fs[i].Get != nil && fs[i].Get(s) == "" {
			fs[i].Get = nil
		}
	}
	return fs
}
