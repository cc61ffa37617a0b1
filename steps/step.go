// Package steps holds the documented JITP procedure: one file per step, each with its
// explanation, inputs, equivalent commands, action and result. The TUI (ui/) and the
// headless runner (`jitpwiz run`) execute exactly the same actions.
package steps

import "context"

// ID names a step; it is stable and used in the session file and on the command line.
type ID string

// The 13 documented steps, in order (design.md §1).
const (
	IDCAKey        ID = "ca-key"
	IDOpenSSLConf  ID = "openssl-conf"
	IDCACert       ID = "ca-cert"
	IDRegCode      ID = "registration-code"
	IDVerifCert    ID = "verification-cert"
	IDRole         ID = "role"
	IDTemplate     ID = "template"
	IDRegisterCA   ID = "register-ca"
	IDDeviceCert   ID = "device-cert"
	IDServerTrust  ID = "server-trust"
	IDFirstConnect ID = "first-connect"
	IDVerify       ID = "verify"
	IDUse          ID = "use"
)

// Step is one documented step. Steps are pure over the Session: they never print.
type Step interface {
	ID() ID
	Title() string
	// Explain says what the step does and why, in 2–4 short lines.
	Explain() string
	// Inputs are the values the user may set before Run, with defaults and validation.
	Inputs(s *Session) []Field
	// Commands are the equivalent commands a user could run by hand, with their values.
	Commands(s *Session) []string
	// Skip reports that the step does not apply (e.g. CA steps when the user brings a CA).
	Skip(s *Session) bool
	// Done reports that the step's results are in the session and its files exist.
	Done(s *Session) bool
	// Run performs the step. Progress may be reported through s.Report while it runs.
	Run(ctx context.Context, s *Session) error
	// Result describes what the step produced, for display (files, IDs, evidence).
	Result(s *Session) []ResultLine
}

// Field is one input of a step.
type Field struct {
	Key     string   // flag-like name, e.g. "country"
	Label   string   // "Country (2 letters)"
	Help    string   // one line shown under the input
	Options []Option // non-empty: choose one of these (list), else free text
	Secret  bool     // never echo (passphrases)
	// Get returns the current value (the default when the user set nothing).
	Get func(s *Session) string
	// Set validates and stores a value; the error names the field and the fix.
	Set func(s *Session, v string) error
}

// Option is one choice of a list input.
type Option struct {
	Value string
	Label string
	Help  string
}

// ResultKind tells the view how to show a result line.
type ResultKind string

const (
	ResultFile     ResultKind = "file"     // a path written or reused
	ResultValue    ResultKind = "value"    // an ID, ARN, code, duration
	ResultCheck    ResultKind = "check"    // an evidence line: OK true = ✓, false = ✗
	ResultNote     ResultKind = "note"     // plain words (e.g. "the drop is expected")
	ResultDocument ResultKind = "document" // a multi-line document (policy, template, conf)
)

// ResultLine is one line of a step's result.
type ResultLine struct {
	Kind  ResultKind
	Label string
	Value string
	OK    bool
}

// Event is progress reported by a running step (e.g. "cert status PENDING_ACTIVATION").
type Event struct {
	Step    ID
	Message string
	Line    *ResultLine // optional structured line
}
