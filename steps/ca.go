package steps

import (
	"cmp"
	"crypto/x509"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// The signing CA — the workspace's own (steps 1–3) or one the user brings — and the
// files a user brings: --ca-cert/--ca-key and --device-cert/--device-key, or the same
// chosen in the wizard (steps 1 and 9).

// choiceExisting is the value of the CA and device choice fields for files of your own.
const choiceExisting = "existing"

// filePair is a certificate and its key whose paths the user types in the wizard, one at a
// time (steps 1 and 9): each path is checked as it is typed, and once both are there and
// valid, use takes the two (as --ca-cert/--ca-key or --device-cert/--device-key would). Until
// then the paths valid so far wait here; they are never saved.
type filePair struct{ cert, key string }

// pathInput is one input of a filePair: its field, the option it shows once stored, and the
// check of a file typed there.
type pathInput struct {
	key, label, help string
	get              func() string
	check            func(p string) error
}

func (fp *filePair) fields(cert, key pathInput, use func(cert, key string) error) []Field {
	return []Field{
		pathField(cert.key, cert.label, cert.help, cert.get, func(p string) error {
			fp.cert = ""
			if err := cert.check(p); err != nil {
				return err
			}
			if fp.key != "" {
				if err := use(p, fp.key); err != nil {
					return err
				}
			}
			fp.cert = p
			return nil
		}),
		pathField(key.key, key.label, key.help, key.get, func(p string) error {
			fp.key = ""
			if err := key.check(p); err != nil {
				return err
			}
			if fp.cert != "" {
				if err := use(fp.cert, p); err != nil {
					return err
				}
			}
			fp.key = p
			return nil
		}),
	}
}

// suppliedCA says why steps 1–3 do not apply: the user brought a CA ("" otherwise).
func suppliedCA(s *Session) string {
	if !s.CA.Supplied {
		return ""
	}
	return i18n.T("ca.supplied", i18n.Args{"File": s.relName(s.CA.CertFile)})
}

// signingCA returns the signing CA: the workspace's deviceRootCA.pem + .key, or the supplied one.
func signingCA(s *Session) (*pki.CA, error) {
	if s.ca != nil {
		return s.ca, nil
	}
	certFile, keyFile := s.Path(cmp.Or(s.CA.CertFile, pki.FileCACert)), s.Path(cmp.Or(s.CA.KeyFile, pki.FileCAKey))
	ca, err := pki.LoadCAFiles(certFile, keyFile, s.Now())
	if err != nil {
		return nil, err
	}
	s.ca = ca
	return ca, nil
}

// setCA records the signing CA (after step 3, or for a supplied CA).
func setCA(s *Session, ca *pki.CA, certFile, keyFile string) {
	s.ca = ca
	s.CA.CertFile = certFile
	s.CA.KeyFile = keyFile
	s.CA.CertID = ca.ID()
	s.CA.KeyID = keyID(ca.Key)
	s.CA.Subject = pki.SubjectOf(ca.Cert).String()
	s.CA.Intermediate = ca.Cert.Subject.String() != ca.Cert.Issuer.String() || ca.Cert.CheckSignatureFrom(ca.Cert) != nil
}

// caCertName is how commands refer to the CA certificate (workspace-relative when possible).
func caCertName(s *Session) string {
	return s.relName(cmp.Or(s.CA.CertFile, s.Options.CACertFile, pki.FileCACert))
}

func caKeyName(s *Session) string {
	return s.relName(cmp.Or(s.CA.KeyFile, s.Options.CAKeyFile, pki.FileCAKey))
}

// verifyCommand is the openssl verify line for a certificate signed by the session's CA
// (-partial_chain for an intermediate CA, which openssl would otherwise not accept alone).
func verifyCommand(s *Session, cert string) pki.Command {
	if s.CA.Intermediate {
		return pki.VerifyIntermediateCommand(caCertName(s), cert)
	}
	return pki.VerifyCommand(caCertName(s), cert)
}

// issuedBy reports whether c was issued by ca now: issuer name, signature and validity
// (pki.CheckIssuedBy: a CA remade with the same key but another subject is not the issuer).
func issuedBy(s *Session, c *x509.Certificate, ca *pki.CA) bool {
	return pki.CheckIssuedBy(c, ca.Cert, s.Now()) == nil
}

// checkSupplied loads and checks the files of a bring-your-own CA (--ca-cert/--ca-key, root
// or intermediate: it becomes the issuing CA registered in step 8, and steps 1–3 are skipped)
// and device (--device-cert/--device-key: step 9 checks it instead of making one). Supplied
// files are only read, never rewritten. Errors name the flag and the fix.
func (s *Session) checkSupplied() error {
	o := &s.Options
	if o.CACertFile == "" && s.CA.Supplied {
		s.CA = CAResult{} // back to a CA of the workspace's own (steps 1–3 run)
	}
	if d := s.DeviceFor(o.Thing); o.DeviceCertFile == "" && d != nil && d.Supplied {
		// --device-cert cleared: this thing gets a certificate of the workspace's own (at the
		// walkthrough's names if it is the primary thing). Other things keep theirs.
		delete(s.Devices, o.Thing)
	}
	if d := s.DeviceFor(o.Thing); o.DeviceCertFile != "" && d != nil && !d.Supplied {
		// Now testing the user's certificate for a thing that had one made here: the record
		// switches to the supplied files (the workspace's files stay on disk).
		delete(s.Devices, o.Thing)
	}
	if o.CACertFile != "" {
		ca, err := pki.LoadCAFiles(o.CACertFile, o.CAKeyFile, s.Now())
		if err != nil {
			return i18n.WrapError(err, "ca.flags")
		}
		setCA(s, ca, o.CACertFile, o.CAKeyFile)
		s.CA.Supplied = true
	}
	if o.DeviceCertFile != "" {
		c, err := pki.LoadCertFile(o.DeviceCertFile)
		if err != nil {
			return i18n.WrapError(err, "ca.device-cert", i18n.Args{"File": o.DeviceCertFile})
		}
		k, err := pki.LoadKeyFile(o.DeviceKeyFile)
		if err != nil {
			return i18n.WrapError(err, "ca.device-key", i18n.Args{"File": o.DeviceKeyFile})
		}
		if !pki.KeyMatchesCert(k, c) {
			return i18n.NewError("ca.key-mismatch", i18n.Args{"Key": o.DeviceKeyFile, "Cert": o.DeviceCertFile})
		}
		if s.ca != nil {
			if err := c.CheckSignatureFrom(s.ca.Cert); err != nil {
				return i18n.NewError("ca.not-signed", i18n.Args{"Cert": o.DeviceCertFile, "CA": o.CACertFile})
			}
		}
		cn := c.Subject.CommonName
		if o.Thing == "" {
			if cn == "" {
				return i18n.NewError("ca.no-cn", i18n.Args{"Cert": o.DeviceCertFile})
			}
			o.Thing = cn
		}
		if err := pki.ValidateThingName(o.Thing); err != nil {
			return i18n.WrapError(err, "ca.thing-from-cn")
		}
	}
	return nil
}

// applySupplied checks o as Open does (Options.Validate, then checkSupplied on a copy of the
// session) and, when it passes, makes o the session's options and records the supplied files.
// On error the session is unchanged.
func applySupplied(s *Session, o Options) error {
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

// pathField is a file path input. Empty, missing and directory paths are refused naming the
// field; set receives an absolute path and checks the content. Get is left out while the
// option holds no file: an input left empty is then still checked when the step runs (an
// unchanged value counts as valid).
func pathField(key, label, help string, get func() string, set func(p string) error) Field {
	f := Field{Flag: key, Label: label, Help: help,
		Set: func(v string) error {
			if v == "" {
				return i18n.NewError("base.path.empty", i18n.Args{"Field": label})
			}
			p := v
			if rest, ok := strings.CutPrefix(p, "~/"); ok {
				if home, err := os.UserHomeDir(); err == nil {
					p = filepath.Join(home, rest)
				}
			}
			p, err := filepath.Abs(p)
			if err != nil {
				return i18n.WrapError(err, "base.path.bad", i18n.Args{"Field": label, "Value": v})
			}
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				return i18n.NewError("base.path.missing", i18n.Args{"Field": label, "Value": v})
			case fi.IsDir():
				return i18n.NewError("base.path.dir", i18n.Args{"Field": label, "Value": v})
			}
			return set(p)
		}}
	f.Get = get
	return f
}
