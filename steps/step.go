// Package steps holds the documented JITP procedure: one file per step, each with its
// explanation, inputs, equivalent commands, action and result. The TUI (ui/) and the
// headless runner (`jitpwiz run`) execute exactly the same actions.
//
// # Session and workspace
//
// Open(Options) loads <dir>/jitpwiz.json (or starts a new workspace) and overlays the options
// given on the saved ones: an empty option keeps its saved value, so a re-run needs no flags.
// Session.Connect starts the embedded IoT Core (target local, state in <dir>/.local-iot) or
// builds the AWS client (target aws); Close stops it. Every Step.Run saves the session
// atomically (0600), whoever calls it. The session never holds key material.
//
// Files (commands are shown relative to the workspace, as after `cd <dir>`):
//
//	deviceRootCA.key/.pem/.csr, deviceRootCA_openssl.conf   steps 1–3 (not with --ca-cert)
//	verificationCert.key/.csr/.crt                          step 5
//	jitp_template.json                                      step 7 (the registrationConfig)
//	deviceCert.key/.csr/.crt, deviceCertAndCACert.crt       step 9, the first thing
//	devices/<thing>/deviceCert.*, .../deviceCertAndCACert.crt  step 9, every further thing
//	awsRootCA.pem                                           step 10
//
// Supplied files (--ca-cert/--ca-key, --device-cert/--device-key) are read where they are and
// never rewritten.
//
// # Resume and invalidation
//
// Each step declares the values it consumes (options such as the country, and results of
// earlier steps such as the CA certificate ID) and the steps it depends on. A finished step
// records those values; it is done while they are unchanged, its files exist and the steps it
// depends on are done. A changed option therefore redoes exactly the dependent steps, and
// StepStatus.Reason says why ("country changed: IN → US"). Device steps (9, 11, 12, 13) are
// recorded per thing, so a new --thing reuses the CA, role and registration. Keys are reused
// whenever their file exists; only --force-new-keys replaces them.
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
	// Get returns the current value (the default when the user set nothing). It may be nil
	// for an input with no value yet (a file path to type): Set then checks every value,
	// even an unchanged empty one, so the step cannot run with it left empty.
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
	Kind  ResultKind `json:"kind"`
	Label string     `json:"label,omitempty"`
	Value string     `json:"value,omitempty"`
	OK    bool       `json:"ok"`
}

// Event is progress reported by a running step (e.g. "cert status PENDING_ACTIVATION").
type Event struct {
	Step    ID
	Message string
	Line    *ResultLine // optional structured line
}
