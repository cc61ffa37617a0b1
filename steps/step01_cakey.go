package steps

import (
	"context"
	"fmt"

	"github.com/jitpwiz/jitpwiz/pki"
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
func (*caKeyStep) Title() string { return "CA key" }
func (*caKeyStep) Explain() string {
	return "Create the private key of your own root certificate authority (CA).\n" +
		"Every device certificate will be signed with it, and AWS IoT will trust devices because it trusts this CA.\n" +
		"The key never leaves this machine: it is written 0600 and never shown."
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
		r.redo = "--force-new-keys asks for a new CA key"
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
		Key: "ca", Label: "Certificate authority",
		Help: "generate new (default), or the files of your own root or intermediate CA: steps 1–3 are then skipped",
		Choices: []Option{
			{Value: choiceGenerate, Label: "generate new", Help: "a new key and certificate in the workspace"},
			{Value: choiceExisting, Label: "use existing files", Help: "your CA certificate and its private key (read, never rewritten)"},
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
			return fmt.Errorf("certificate authority: choose generate new or use existing files")
		},
	}
}

// fileFields are the paths of the user's CA (shown once "use existing files" is chosen).
func (st *caKeyStep) fileFields() []Field {
	s := st.s
	return st.files.fields(
		pathInput{"ca-cert", "CA certificate file", "PEM certificate of your CA (root or intermediate: it becomes the issuing CA registered in step 8)",
			func() string { return s.Options.CACertFile },
			func(p string) error {
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
				return nil
			}},
		pathInput{"ca-key", "CA private key file", "PEM private key of that CA (it stays where it is; jitpwiz signs with it)",
			func() string { return s.Options.CAKeyFile },
			func(p string) error {
				if _, err := pki.LoadKeyFile(p); err != nil {
					return fmt.Errorf("CA private key file: %v — give the PEM private key of your CA", err)
				}
				return nil
			}},
		st.use)
}

// use makes the CA files cert + key the session's CA, as --ca-cert/--ca-key would.
func (st *caKeyStep) use(cert, key string) error {
	s := st.s
	if _, err := pki.LoadCAFiles(cert, key, s.Now()); err != nil {
		return fmt.Errorf("CA files: %w", err)
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
		Key: "key", Label: "Key type", Help: "type of the private keys jitpwiz creates (AWS IoT accepts RSA 2048+ and EC P-256/P-384)",
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
		return false, fmt.Errorf("certificate authority: you chose to use existing files — give your CA certificate and key files, or choose generate new")
	}
	k, reused, note, err := ensureKey(s, s.Path(pki.FileCAKey), "CA private key", keyType(s))
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
		fileLine("CA private key (0600)", pki.FileCAKey),
		valueLine("key type", st.s.CA.KeyType),
	}
}

func (st *caKeyStep) Summary() string { return fmt.Sprintf("%s (%s)", pki.FileCAKey, st.s.CA.KeyType) }

// modeField is the choice between JITP and JITR (--mode), on the wizard's first screen.
func modeField(s *Session) Field {
	return Field{
		Key: "mode", Label: "Onboarding",
		Help: "JITP: a template provisions the device; JITR: it is registered, then activated (step 11a)",
		Choices: []Option{
			{Value: ModeJITP, Label: "JITP", Help: "Just-in-Time Provisioning (the walkthrough)"},
			{Value: ModeJITR, Label: "JITR", Help: "Just-in-Time Registration, then activation"},
		},
		Get: func() string { return s.Options.Mode },
		Set: func(v string) error {
			if v != ModeJITP && v != ModeJITR {
				return fmt.Errorf("onboarding: choose JITP or JITR")
			}
			s.Options.Mode = v
			return nil
		},
	}
}
