package steps

import (
	"context"
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 1: the root CA's private key. Steps 1–3 are skipped when the user brings a CA:
// --ca-cert/--ca-key, or "use existing files" here.
type caKeyStep struct {
	Base
	// The wizard's choice of the user's own CA files, pending until both paths are valid
	// (they then become --ca-cert/--ca-key); never saved.
	existing bool
	files    filePair
}

func (*caKeyStep) ID() ID        { return IDCAKey }
func (*caKeyStep) Title() string { return i18n.T("step01.title") }
func (*caKeyStep) Explain() string {
	return i18n.T("step01.explain")
}

func (st *caKeyStep) Skip() string { return suppliedCA(st.s) }

func (st *caKeyStep) record() record {
	s := st.s
	r := record{
		// The key file itself is the input: an existing key is reused whatever --key says
		// (--key applies to keys jitpwiz creates; --force-new-keys replaces them).
		inputs:  map[string]string{"CA key file": fileSHA256(s.Path(pki.FileCAKey))},
		outputs: []string{pki.FileCAKey},
	}
	if s.Options.ForceNewKeys {
		r.redo = i18n.T("step01.redo-force")
	}
	return r
}

// choiceGenerate is the value of the CA choice for a new CA (choiceExisting for your own).
const choiceGenerate = "generate"

// choice is "existing" when the session uses (or the user chose) a CA of their own.
func (st *caKeyStep) choice() string {
	if st.s.CA.Supplied || st.existing {
		return choiceExisting
	}
	return choiceGenerate
}

// Inputs: the CA, and the onboarding mode (JITP or JITR: the wizard's first screen is where
// it is chosen).
func (st *caKeyStep) Inputs() []Field {
	s := st.s
	out := []Field{st.sourceField()}
	if st.choice() == choiceExisting {
		return append(append(out, within("ca", withGet(st.fileFields()))...), modeField(s))
	}
	out = append(out, keyTypeField(s))
	if pki.FileExists(s.Path(pki.FileCAKey)) {
		out = append(out, forceNewKeysField(s))
	}
	return append(out, modeField(s))
}

// sourceField is the choice between a new CA and the user's own files.
func (st *caKeyStep) sourceField() Field {
	return Field{
		Flag: "ca", Label: i18n.T("step01.ca.label"),
		Help: i18n.T("step01.ca.help"),
		Choices: []Option{
			{Value: choiceGenerate, Label: i18n.T("step01.ca.generate"), Help: i18n.T("step01.ca.generate-help")},
			{Value: choiceExisting, Label: i18n.T("step01.ca.existing"), Help: i18n.T("step01.ca.existing-help")},
		},
		Get: st.choice,
		Set: func(v string) error {
			switch v {
			case choiceGenerate:
				st.existing, st.files = false, filePair{}
				return nil
			case choiceExisting:
				st.existing = true
				return nil
			}
			return i18n.NewError("step01.ca.choose")
		},
	}
}

// fileFields are the paths of the user's CA (shown once "use existing files" is chosen).
func (st *caKeyStep) fileFields() []Field {
	s := st.s
	return st.files.fields(
		pathInput{"ca-cert", i18n.T("step01.ca-cert.label"), i18n.T("step01.ca-cert.help"),
			func() string { return s.Options.CACertFile },
			func(p string) error {
				c, err := pki.LoadCertFile(p)
				if err != nil {
					return i18n.WrapError(err, "step01.ca-cert.unreadable")
				}
				if !c.BasicConstraintsValid || !c.IsCA {
					return i18n.NewError("step01.ca-cert.not-ca", i18n.Args{"File": p})
				}
				if err := pki.CheckValidity(c, s.Now()); err != nil {
					return i18n.WrapError(err, "step01.ca-cert.invalid", i18n.Args{"File": p})
				}
				return nil
			}},
		pathInput{"ca-key", i18n.T("step01.ca-key.label"), i18n.T("step01.ca-key.help"),
			func() string { return s.Options.CAKeyFile },
			func(p string) error {
				if _, err := pki.LoadKeyFile(p); err != nil {
					return i18n.WrapError(err, "step01.ca-key.unreadable")
				}
				return nil
			}},
		st.use)
}

// use makes the CA files cert + key the session's CA, as --ca-cert/--ca-key would.
func (st *caKeyStep) use(cert, key string) error {
	s := st.s
	if _, err := pki.LoadCAFiles(cert, key, s.Now()); err != nil {
		return i18n.WrapError(err, "step01.ca-files")
	}
	o := s.Options
	o.CACertFile, o.CAKeyFile = cert, key
	return applySupplied(s, o)
}

// keyTypeField is the type of the keys jitpwiz creates (--key).
func keyTypeField(s *Session) Field {
	var opts []Option
	for _, t := range pki.KeyTypes {
		opts = append(opts, Option{Value: string(t), Label: t.Label()})
	}
	return Field{
		Flag: "key", Label: i18n.T("step01.key.label"), Help: i18n.T("step01.key.help"),
		Choices: opts,
		Get:     func() string { return s.Options.KeyType },
		Set: func(v string) error {
			if _, err := pki.ParseKeyType(v); err != nil {
				return err
			}
			s.Options.KeyType = v
			return nil
		},
	}
}

// Commands: openssl genrsa, or how to look at the CA files typed so far by hand (what
// jitpwiz checks: CA:TRUE, validity, and that the key is the certificate's).
func (st *caKeyStep) Commands() []string {
	if st.choice() != choiceExisting {
		return cmdLines(pki.GenKeyCommand(keyType(st.s), pki.FileCAKey))
	}
	var out []string
	cert, key := st.files.cert, st.files.key
	if cert != "" {
		out = append(out, "openssl x509 -in "+pki.ShellQuote(cert)+" -noout -subject -dates -ext basicConstraints")
	}
	if cert != "" && key != "" {
		out = append(out, "openssl x509 -in "+pki.ShellQuote(cert)+" -noout -pubkey | cmp - <(openssl pkey -in "+pki.ShellQuote(key)+" -pubout) && echo the key matches")
	}
	return out
}

func (st *caKeyStep) act(ctx context.Context) (bool, error) {
	s := st.s
	if st.existing && !s.CA.Supplied {
		return false, i18n.NewError("step01.ca.files-missing")
	}
	k, reused, note, err := ensureKey(s, s.Path(pki.FileCAKey), i18n.T("step01.key-what"), keyType(s))
	if err != nil {
		return false, err
	}
	if note != "" {
		st.Report(Event{Message: note})
	}
	s.CA.KeyFile = pki.FileCAKey
	s.CA.KeyID = keyID(k)
	if kt, err := pki.KeyTypeOf(k); err == nil {
		s.CA.KeyType = string(kt)
	}
	s.ca = nil
	return reused, nil
}

func (st *caKeyStep) Result() []ResultLine {
	return []ResultLine{
		fileLine(i18n.T("step01.result.key"), pki.FileCAKey),
		valueLine(i18n.T("step01.result.key-type"), st.s.CA.KeyType),
	}
}

func (st *caKeyStep) Summary() string { return fmt.Sprintf("%s (%s)", pki.FileCAKey, st.s.CA.KeyType) }

// modeField is the choice between JITP and JITR (--mode), on the wizard's first screen.
func modeField(s *Session) Field {
	return Field{
		Flag: "mode", Label: i18n.T("step01.mode.label"),
		Help: i18n.T("step01.mode.help"),
		Choices: []Option{
			{Value: ModeJITP, Label: "JITP", Help: i18n.T("step01.mode.jitp-help")},
			{Value: ModeJITR, Label: "JITR", Help: i18n.T("step01.mode.jitr-help")},
		},
		Get: func() string { return s.Options.Mode },
		Set: func(v string) error {
			if v != ModeJITP && v != ModeJITR {
				return i18n.NewError("step01.mode.choose")
			}
			s.Options.Mode = v
			return nil
		},
	}
}
