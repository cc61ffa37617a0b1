package steps

import (
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/api"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// What doctor reports — checks with their evidence, named causes and fixes, the likeliest
// culprit first — and how it is written (text, or --json as docs/doctor.md documents); the
// state a run shares and the few helpers every check uses. The checks themselves are in
// doctor_files.go (the files given), doctor_cloud.go (the CA, its template and role, as the
// target says) and doctor_device.go (the device); doctor.go runs them.

// DoctorSchema names the format of `doctor --json` (docs/doctor.md); it changes only when
// a field changes meaning or goes away.
const DoctorSchema = "jitpwiz-doctor/1"

// Exit codes of doctor.
const (
	DoctorExitOK          = 0 // nothing failed
	DoctorExitFailed      = 1 // a check failed
	DoctorExitUnreachable = 3 // the target could not be reached (its checks could not run)
)

// CheckStatus is the outcome of one check: ✓ pass, ✗ fail, – not checked.
type CheckStatus string

const (
	CheckPass CheckStatus = "pass"
	CheckFail CheckStatus = "fail"
	CheckSkip CheckStatus = "skip" // not applicable, or what it needs is missing (the evidence says which)
)

func (st CheckStatus) mark() string {
	switch st {
	case CheckPass:
		return "✓"
	case CheckFail:
		return "✗"
	}
	return "–"
}

// Cause names a reason a Just-in-Time Provisioning setup fails (or, on a passing check, what
// the check explains: CauseFirstConnectDrop). docs/doctor.md lists them with their numbers.
type Cause string

// The named causes; the number is the one docs/doctor.md and issue 15 use.
const (
	CauseFirstConnectDrop    Cause = "first-connect-drop"         // 1: the drop was the expected one; the device is provisioned
	CauseTemplateParameter   Cause = "template-parameter-missing" // 2: the subject lacks a parameter (PENDING_ACTIVATION)
	CauseCAInactive          Cause = "ca-inactive"                // 3
	CauseAutoRegistration    Cause = "auto-registration-disabled" // 4
	CauseOtherCA             Cause = "device-cert-other-ca"       // 5: signed by another CA
	CauseCANotRegistered     Cause = "ca-not-registered"          // 5: signed by a CA not registered (here)
	CauseNoSNINoChain        Cause = "no-sni-no-ca-in-chain"      // 6
	CauseRoleMissing         Cause = "role-missing"               // 7
	CauseRoleNotTrusted      Cause = "role-not-trusted"           // 7
	CauseRolePermissions     Cause = "role-permissions"           // 7
	CausePolicyMissing       Cause = "policy-missing"             // 8
	CauseTemplateEscaping    Cause = "template-mis-escaped"       // 9
	CauseClientID            Cause = "client-id-not-thing-name"   // 10
	CauseTopic               Cause = "topic-not-allowed"          // 11
	CauseNotCA               Cause = "ca-not-a-ca"                // 12
	CauseVerificationCN      Cause = "verification-cn-not-code"   // 13
	CauseCAAlreadyRegistered Cause = "ca-already-registered"      // 14
	CauseServerCA            Cause = "wrong-server-ca"            // 15
	CauseRegionEndpoint      Cause = "wrong-region-or-endpoint"   // 16
	CauseCertNotActive       Cause = "device-cert-not-active"     // 17
	CauseTemplateResource    Cause = "template-resource-missing"  // 18
	CauseOtherCertOnThing    Cause = "other-certificate-on-thing" // 19
	CauseValidity            Cause = "certificate-not-valid-now"  // 20

	// Beyond the twenty.
	CauseUnreachable    Cause = "target-unreachable"  // the control plane cannot be reached
	CauseNoSNI          Cause = "no-sni"              // no SNI although the CA is in the chain (AWS refuses it too)
	CauseJITRPending    Cause = "jitr-not-activated"  // JITR registered it; nothing activated it
	CauseNoTemplate     Cause = "ca-without-template" // JITR where JITP was meant
	CauseTemplateFailed Cause = "template-failed"     // provisioning failed for another reason (see the evidence)
	CauseNoThing        Cause = "certificate-not-on-thing"
	CauseNoPolicy       Cause = "no-policy-attached"
	CauseConnectDenied  Cause = "connect-denied" // the policy refuses iot:Connect for other reasons
	CauseInput          Cause = "input"          // a given file cannot be used (unreadable, not PEM, key mismatch)
	CauseWorkspace      Cause = "workspace"      // the workspace lacks what the check needs
	CauseCAMode         Cause = "ca-mode"        // the CA's certificate mode is not the workspace's --ca-mode
	CauseConnect        Cause = "connect-failed" // the connection failed for a reason no check above names
)

// NamedCauses are the twenty causes of issue 15, in their order (docs/doctor.md numbers them).
var NamedCauses = []Cause{
	CauseFirstConnectDrop, CauseTemplateParameter, CauseCAInactive, CauseAutoRegistration, CauseOtherCA,
	CauseNoSNINoChain, CauseRoleMissing, CausePolicyMissing, CauseTemplateEscaping, CauseClientID,
	CauseTopic, CauseNotCA, CauseVerificationCN, CauseCAAlreadyRegistered, CauseServerCA,
	CauseRegionEndpoint, CauseCertNotActive, CauseTemplateResource, CauseOtherCertOnThing, CauseValidity,
}

// DoctorCheck is one line of the doctor's report.
type DoctorCheck struct {
	ID       string      `json:"id"`
	Status   CheckStatus `json:"status"`
	Label    string      `json:"label"`
	Evidence string      `json:"evidence,omitempty"`
	// Cause names the reason of a failure; on a passing check, what it explains.
	Cause Cause `json:"cause,omitempty"`
	// Why is the cause in plain words.
	Why string `json:"why,omitempty"`
	// Fix are shell commands that fix it, in order, each runnable as it stands.
	Fix   []string `json:"fix,omitempty"`
	Notes []string `json:"notes,omitempty"`
}

// checkRank is where a check stands in the chain of causes, from what a device meets
// first (the endpoint, TLS, the CA) to what it meets last (its policy): the failure that
// ranks first is the likeliest culprit, as the later ones often follow from it.
var checkRank = ranks(
	"target", "region", "workspace-device",
	"ca-cert", "ca-validity", "ca-key", "device-cert", "device-key", "device-signed-by-ca", "device-validity",
	"server-ca", "mqtt-endpoint", "sni",
	"verification-cert",
	"ca-registered", "ca-active", "ca-auto-registration", "ca-mode", "ca-template", "provisioning-template",
	"template-file", "template-parse", "template-parameters", "template-registered",
	"role", "role-trust", "role-permissions",
	"template-policies", "thing-type", "thing-groups", "billing-group",
	"device-registered", "first-connect",
	"thing", "other-certificates", "attached-policies",
	"client-id", "topic", "connect",
)

// ranks numbers ids in their order.
func ranks(ids ...string) map[string]int {
	m := make(map[string]int, len(ids))
	for i, id := range ids {
		m[id] = i
	}
	return m
}

func rankOf(id string) int {
	if r, ok := checkRank[id]; ok {
		return r
	}
	return len(checkRank)
}

// DoctorTarget is the target doctor asked, and whether it answered.
type DoctorTarget struct {
	Name         string `json:"name"` // local | aws
	EndpointURL  string `json:"endpointUrl,omitempty"`
	Region       string `json:"region,omitempty"`
	Account      string `json:"account,omitempty"`
	MQTTEndpoint string `json:"mqttEndpoint,omitempty"` // host:port devices connect to (DescribeEndpoint)
	Reachable    bool   `json:"reachable"`
	Error        string `json:"error,omitempty"`
}

// DoctorInputs are what doctor was given (file names, never their contents).
type DoctorInputs struct {
	Workspace        string `json:"workspace,omitempty"`
	CACert           string `json:"caCert,omitempty"`
	DeviceCert       string `json:"deviceCert,omitempty"`
	DeviceKey        string `json:"deviceKey,omitempty"` // the path only
	Template         string `json:"template,omitempty"`
	VerificationCert string `json:"verificationCert,omitempty"`
	ServerCA         string `json:"serverCa,omitempty"`
	Thing            string `json:"thing,omitempty"`
	ClientID         string `json:"clientId,omitempty"`
	Topic            string `json:"topic,omitempty"`
	MQTTEndpoint     string `json:"mqttEndpoint,omitempty"` // what the device connects to, when given
	Connect          bool   `json:"connect"`
}

// DoctorSummary counts the checks and names the causes of the failures, likeliest first.
type DoctorSummary struct {
	Passed  int     `json:"passed"`
	Failed  int     `json:"failed"`
	Skipped int     `json:"skipped"`
	Causes  []Cause `json:"causes"`
	// Exit is doctor's exit code: DoctorExitOK, DoctorExitFailed or DoctorExitUnreachable.
	Exit int `json:"exit"`
}

// DoctorReport is the doctor's whole report (`doctor --json`).
type DoctorReport struct {
	Schema  string        `json:"schema"`
	Version string        `json:"version,omitempty"` // jitpwiz's version
	Time    time.Time     `json:"time"`
	Mode    string        `json:"mode"` // workspace | files
	Target  DoctorTarget  `json:"target"`
	Inputs  DoctorInputs  `json:"inputs"`
	Summary DoctorSummary `json:"summary"`
	// Checks: the failed ones first, the likeliest culprit first; then the others in the
	// order they were made.
	Checks []DoctorCheck `json:"checks"`
}

// TargetAnswer is one answer of the target as doctor got it (for the support bundle).
type TargetAnswer struct {
	Op     string `json:"op"`
	Input  string `json:"input,omitempty"`
	Output any    `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

// doctorRun is one run of the doctor: what it was given, what it found out so far (the
// facts later checks build on) and the checks made.
type doctorRun struct {
	s      *Session // the workspace, or a session of the given files alone (no workspace)
	in     doctorInput
	c      aws.Client // nil when the target could not be reached
	checks []DoctorCheck

	ca       *x509.Certificate
	caID     string
	caDesc   *aws.CADescription // nil: not registered, or not known (caKnown false)
	caKnown  bool
	chain    []*x509.Certificate // the device certificate file, leaf first
	dev      *x509.Certificate
	devKey   crypto.Signer
	devDesc  *aws.CertDescription // nil: not registered, or not known (devKnown false)
	devKnown bool

	// body and roleARN are the template that runs on a first connect (the CA's
	// registrationConfig, or the provisioning template it names) and its role.
	body, roleARN string
	tmpl          *template.Template
	plan          *template.Plan // tmpl evaluated on the device certificate
	fileRC        *template.RegistrationConfig
	jitr          bool // the CA has no template: Just-in-Time Registration

	thing     string   // the thing the device is (or will be)
	things    []string // things the device certificate is attached to
	thingDesc map[string]*aws.Thing
	policies  []aws.Policy // policies attached to the device certificate
	events    []store.Event
	// lost: the target stopped answering during the run.
	lost bool
}

// doctorInput is what a doctor run checks.
type doctorInput struct {
	workspace    bool
	caFile       string
	devFile      string
	devKeyFile   string
	verifFile    string
	templateFile string // the template meant to run (--template, or the workspace's jitp_template.json)
	serverCAFile string
	thing        string
	clientID     string
	topic        string
	mqttHost     string // what the device connects to ("" : the DescribeEndpoint address)
	mqttPort     int
	mqttGiven    bool // --mqtt-endpoint was given
	connect      bool
	region       string // --region given with the files alone (the local IoT Core serves one)
	caKey        string // the CA key as fix commands name it (a workspace's; "": a guess)
	// caID is the ID the endpoint answered when the workspace registered the CA (step 8):
	// AWS's is the SHA-256 of the DER, another implementation's may not be (moto hashes
	// the PEM text). "": the ID computed from the certificate.
	caID string
	// In a workspace: its modes (the files alone: from what the target says).
	jitr, sniOnly, alpn443 bool
}

// add records a check.
func (d *doctorRun) add(c DoctorCheck) { d.checks = append(d.checks, c) }

func (d *doctorRun) pass(id, label, evidence string) {
	d.add(DoctorCheck{ID: id, Status: CheckPass, Label: label, Evidence: evidence})
}

func (d *doctorRun) skip(id, label, evidence string) {
	d.add(DoctorCheck{ID: id, Status: CheckSkip, Label: label, Evidence: evidence})
}

func (d *doctorRun) fail(id, label, evidence string, cause Cause, why string, fix ...string) {
	d.add(DoctorCheck{ID: id, Status: CheckFail, Label: label, Evidence: evidence, Cause: cause, Why: why, Fix: fix})
}

// failed reports whether check id failed.
func (d *doctorRun) failed(id string) bool {
	for _, c := range d.checks {
		if c.ID == id && c.Status == CheckFail {
			return true
		}
	}
	return false
}

// note adds a note to the last check.
func (d *doctorRun) note(n string) {
	if len(d.checks) > 0 && n != "" {
		last := &d.checks[len(d.checks)-1]
		last.Notes = append(last.Notes, n)
	}
}

// report orders the checks (failures first, likeliest first) and counts them.
func (d *doctorRun) report(mode string, t DoctorTarget, in DoctorInputs) *DoctorReport {
	var failed, rest []DoctorCheck
	for _, c := range d.checks {
		if c.Status == CheckFail {
			failed = append(failed, c)
		} else {
			rest = append(rest, c)
		}
	}
	sort.SliceStable(failed, func(i, j int) bool { return rankOf(failed[i].ID) < rankOf(failed[j].ID) })
	r := &DoctorReport{Schema: DoctorSchema, Time: d.s.Now().UTC(), Mode: mode, Target: t, Inputs: in,
		Checks: append(failed, rest...), Summary: DoctorSummary{Causes: []Cause{}}}
	seen := map[Cause]bool{}
	for _, c := range r.Checks {
		switch c.Status {
		case CheckPass:
			r.Summary.Passed++
		case CheckFail:
			r.Summary.Failed++
			if c.Cause != "" && !seen[c.Cause] {
				seen[c.Cause] = true
				r.Summary.Causes = append(r.Summary.Causes, c.Cause)
			}
		default:
			r.Summary.Skipped++
		}
	}
	switch {
	case !t.Reachable:
		r.Summary.Exit = DoctorExitUnreachable
	case r.Summary.Failed > 0:
		r.Summary.Exit = DoctorExitFailed
	}
	return r
}

// WriteText writes the report for a person: a header, then one line per check — ✓, ✗ or –,
// its label and evidence — each ✗ with its cause and fix under it, the likeliest first.
func (r *DoctorReport) WriteText(w io.Writer) {
	t := r.Target
	head := i18n.T("doctor.text.head", i18n.Args{"Target": t.Name})
	if t.EndpointURL != "" {
		head += " " + t.EndpointURL
	}
	var where []string
	if t.Region != "" {
		where = append(where, i18n.T("doctor.text.region", i18n.Args{"Region": t.Region}))
	}
	if t.Account != "" {
		where = append(where, i18n.T("doctor.text.account", i18n.Args{"Account": t.Account}))
	}
	if t.MQTTEndpoint != "" {
		where = append(where, "MQTT "+t.MQTTEndpoint)
	}
	if len(where) > 0 {
		head += " (" + strings.Join(where, ", ") + ")"
	}
	fmt.Fprintln(w, head)
	if r.Mode == "workspace" && r.Inputs.Workspace != "" {
		fmt.Fprintln(w, i18n.T("doctor.text.workspace", i18n.Args{"Dir": r.Inputs.Workspace}))
	}
	for _, c := range r.Checks {
		line := c.Status.mark() + " " + c.Label
		if c.Evidence != "" {
			line += ": " + c.Evidence
		}
		fmt.Fprintln(w, line)
		if c.Why != "" {
			label := i18n.T("doctor.text.why")
			if c.Status != CheckFail {
				label = i18n.T("doctor.text.note")
			}
			fmt.Fprintf(w, "    %s: %s\n", label, c.Why)
		}
		fixLabel := i18n.T("doctor.text.fix")
		for i, f := range c.Fix {
			prefix := "    " + fixLabel + ": "
			if i > 0 {
				// the commands line up under the first (the label's display width)
				prefix = strings.Repeat(" ", 4+ansi.StringWidth(fixLabel)+2)
			}
			fmt.Fprintln(w, prefix+f)
		}
		for _, n := range c.Notes {
			fmt.Fprintln(w, "    "+n)
		}
	}
	s := r.Summary
	switch {
	case s.Exit == DoctorExitUnreachable:
		fmt.Fprintln(w, i18n.N("doctor.text.unreachable", s.Failed, i18n.Args{"Skipped": s.Skipped}))
	case s.Failed > 0:
		fmt.Fprintln(w, i18n.N("doctor.text.failed", s.Failed, i18n.Args{"Causes": joinCauses(s.Causes), "Passed": s.Passed, "Skipped": s.Skipped}))
	default:
		fmt.Fprintln(w, i18n.N("doctor.text.ok", s.Passed, i18n.Args{"Skipped": s.Skipped}))
	}
}

func joinCauses(cs []Cause) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return strings.Join(out, ", ")
}

// WriteJSON writes the report as one indented JSON document (docs/doctor.md).
func (r *DoctorReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Err is nil when nothing failed; otherwise a DoctorError with the exit code.
func (r *DoctorReport) Err() error {
	if r.Summary.Exit == DoctorExitOK {
		return nil
	}
	return &DoctorError{Code: r.Summary.Exit, Failed: r.Summary.Failed, Causes: r.Summary.Causes}
}

// DoctorError is doctor's result when something failed; the report said what already.
type DoctorError struct {
	Code   int
	Failed int
	Causes []Cause
}

func (e *DoctorError) Error() string {
	if e.Code == DoctorExitUnreachable {
		return i18n.T("doctor.err.unreachable")
	}
	return i18n.N("doctor.err.failed", e.Failed, i18n.Args{"Causes": joinCauses(e.Causes)})
}

// ExitCode is the process exit code for this result.
func (e *DoctorError) ExitCode() int { return e.Code }

// resultLines is the report as the steps' result lines: a ✓/✗ line per check (its
// evidence, then its cause and fix), its notes under it; checks not made are left out.
func (r *DoctorReport) resultLines() []ResultLine {
	var out []ResultLine
	for _, c := range r.Checks {
		if c.Status == CheckSkip {
			out = append(out, noteLine(c.Label+": "+c.Evidence))
			continue
		}
		v := c.Evidence
		if c.Why != "" {
			v += " — " + c.Why
		}
		if len(c.Fix) > 0 {
			v += i18n.T("doctor.lines.fix", i18n.Args{"Fix": strings.Join(c.Fix, " && ")})
		}
		out = append(out, checkLine(c.Label, v, c.Status == CheckPass))
		for _, n := range c.Notes {
			out = append(out, noteLine(n))
		}
	}
	return out
}

// name is how commands and evidence name a file: relative to the workspace (or, for the
// files alone, the current directory) when it is inside it.
func (d *doctorRun) name(p string) string { return d.s.relName(p) }

// caKeyFile is the CA's private key as the fix commands name it: the workspace's, or for
// the files alone the CA certificate's name with .key (doctor never has the key).
func (d *doctorRun) caKeyFile() string {
	if d.in.caKey != "" {
		return d.in.caKey
	}
	n := d.name(d.in.caFile)
	return strings.TrimSuffix(n, filepath.Ext(n)) + ".key"
}

// validityWords is a certificate's validity period in words.
func validityWords(c *x509.Certificate) string {
	const day = "2006-01-02 15:04 MST"
	return i18n.T("doctor.validity", i18n.Args{"From": c.NotBefore.UTC().Format(day), "To": c.NotAfter.UTC().Format(day)})
}

// isEscaping reports a template error that comes from its escaping: JSON that does not
// parse, or a value that should be a string (an escaped JSON document) and is not.
func isEscaping(err error) bool {
	var ce *template.ConfigError
	if errors.As(err, &ce) {
		return ce.Reason == template.ReasonConfigNotObject || ce.Reason == template.ReasonNotString
	}
	var te *template.Error
	return errors.As(err, &te) && (te.Reason == template.ReasonSyntax || te.Reason == template.ReasonNotString)
}

func escapingWhy(err error) string {
	if !isEscaping(err) {
		return i18n.T("doctor.escaping.other")
	}
	return i18n.T("doctor.escaping.why")
}

// thingOr is the thing the device is, or def when it is not known.
func (d *doctorRun) thingOr(def string) string { return cmp.Or(d.thing, def) }

// sameJSON reports whether two JSON texts hold the same value (formatting aside).
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	return reflect.DeepEqual(va, vb)
}

// errCause is the cause of a failed call: the target unreachable, or else cause.
func (d *doctorRun) errCause(err error, cause Cause) Cause {
	if aws.IsKind(err, aws.KindUnavailable) {
		d.lost = true
		return CauseUnreachable
	}
	return cause
}

// lookupFailed records a call that failed with an error other than not found.
func (d *doctorRun) lookupFailed(id, label string, err error) {
	d.fail(id, label, err.Error(), d.errCause(err, CauseInput), i18n.T("doctor.lookup-failed"))
}

// loadEvents reads the local IoT Core's event log: from the IoT Core this process runs, or
// from the `jitpwiz local` at the endpoint URL. AWS keeps its counterpart in CloudTrail and
// CloudWatch Logs, which doctor does not read.
func (d *doctorRun) loadEvents(ctx context.Context) {
	s := d.s
	if s.Options.Target != TargetLocal {
		return
	}
	if srv, ok := s.backend.(interface {
		EventLog(after int64) []store.Event
	}); ok {
		d.events = srv.EventLog(0)
		return
	}
	u := cmp.Or(s.localURL, s.Options.EndpointURL)
	if u == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(u, "/")+api.EventsPath, nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		var evs []store.Event
		if json.NewDecoder(resp.Body).Decode(&evs) == nil {
			d.events = evs
		}
	}
}

// describeThing is the thing (nil when it does not exist or cannot be read), asked once.
func (d *doctorRun) describeThing(ctx context.Context, name string) *aws.Thing {
	if d.thingDesc == nil {
		d.thingDesc = map[string]*aws.Thing{}
	}
	if t, ok := d.thingDesc[name]; ok {
		return t
	}
	t, err := d.c.DescribeThing(ctx, name)
	var out *aws.Thing
	if err == nil {
		out = &t
	}
	d.thingDesc[name] = out
	return out
}
