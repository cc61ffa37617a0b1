package steps

import (
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// `jitpwiz fleet`: N devices of the workspace's CA come online — each one's certificate is
// issued, it connects for the first time (the broker provisions it through JITP and drops
// the connection), reconnects as the thing and publishes once. It is not one of the 13
// documented steps: it needs a workspace whose CA is registered for JITP (steps 1–8) and
// uses the shared parts of the package only (the signing CA, the registered template, the
// session's endpoint and client).
//
// The engine (Fleet.Run) is the same for the live view (ui) and the headless runner
// (Fleet.RunHeadless); both read Fleet.Progress.

// Fleet defaults and bounds.
const (
	DefaultFleetNames       = "Fleet-%05d"
	DefaultFleetConcurrency = 32
	DefaultFleetKey         = pki.EC256
	// MaxFleetDevices bounds -n: the report keeps one row per device in memory.
	MaxFleetDevices = 100000
	// MaxFleetConcurrency bounds --concurrency: each device in flight holds a connection
	// (and a file descriptor) on both sides.
	MaxFleetConcurrency = 1000
	// DefaultFleetRateAWS is the default --rate on --target aws: devices started per
	// second, 80% of the lowest AWS quota one JITP provisioning consumes (FleetAWSQuotas).
	DefaultFleetRateAWS = 8.0
	// fleetProvisionWaitAWS bounds how long a device retries its reconnect on AWS, where
	// JITP finishes 1–3 s after the drop (the local IoT Core finishes before it drops).
	fleetProvisionWaitAWS = ProvisionTimeoutAWS
)

// FleetAWSQuotas names the AWS IoT Core quotas the default rate on AWS stays under, and
// where they come from. One provisioning is one automatically registered device
// certificate, one RegisterThing (JITP runs the template through it) and two or more MQTT
// CONNECTs; RegisterThing's 10 per second is the lowest.
const FleetAWSQuotas = "AWS IoT Core default quotas: RegisterThing 10/s (JITP runs the template through it), " +
	"device certificates registered 15/s, MQTT CONNECT 500/s per account and 1/s per client ID — " +
	"AWS IoT Developer Guide, \"AWS IoT limits\" (2019); AWS now lists them at " +
	"docs.aws.amazon.com/general/latest/gr/iot-core.html and in Service Quotas, where an account may have higher ones (then raise --rate)"

// FleetOptions are the choices of `jitpwiz fleet`.
type FleetOptions struct {
	Devices     int // -n
	Concurrency int // devices in flight at once (0: DefaultFleetConcurrency)
	// Rate is the most devices started per second; 0 means no limit. RateSet tells a
	// given 0 from none given: without it the target's default applies (none on the local
	// target, DefaultFleetRateAWS on aws).
	Rate    float64
	RateSet bool
	Names   string // thing-name pattern with one number verb (default DefaultFleetNames)
	KeyType string // device key type (default ec256)
	// SaveKeys writes every device's key (0600) and certificates under
	// fleet/<id>/devices/<name>/ (0700 directories). By default the keys exist in memory
	// only, for the run: a fleet is a rehearsal of devices coming online, its devices are
	// removed with `clean`, and 10,000 key files would be 10,000 secrets on disk for
	// nobody; the certificate IDs are recorded (certificates.jsonl) so clean can remove
	// what was provisioned. Save them to reuse a device by hand (mosquitto_pub).
	SaveKeys bool
	// Clock is the time the fleet measures and waits with (tests); nil: the wall clock.
	Clock Clock
}

// namePattern is a validated --names pattern: literal text around one integer verb.
type namePattern struct {
	pattern string
}

// parseNamePattern checks a --names pattern: exactly one integer verb (%d, with an optional
// 0 flag and width, e.g. %05d), and literal text of thing-name characters, so that every
// name 1…n is a valid thing name (and certificate CN).
func parseNamePattern(p string, n int) (namePattern, error) {
	verbs := 0
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			continue
		}
		j := i + 1
		if j < len(p) && p[j] == '0' {
			j++
		}
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		if j >= len(p) || p[j] != 'd' {
			return namePattern{}, i18n.NewError("fleet.names.verb", i18n.Args{"Pattern": strconv.Quote(p), "Verb": strconv.Quote(p[i:min(j+1, len(p))]), "Pos": i + 1})
		}
		if w, _ := strconv.Atoi(strings.TrimLeft(p[i+1:j], "0")); w > 20 {
			return namePattern{}, i18n.NewError("fleet.names.width", i18n.Args{"Pattern": strconv.Quote(p), "Width": w})
		}
		verbs++
		i = j
	}
	if verbs != 1 {
		return namePattern{}, i18n.NewError("fleet.names.verbs", i18n.Args{"Pattern": strconv.Quote(p), "Verbs": verbs})
	}
	np := namePattern{pattern: p}
	for _, i := range []int{1, n} {
		if err := pki.ValidateThingName(np.name(i)); err != nil {
			return namePattern{}, i18n.WrapError(err, "fleet.names.thing", i18n.Args{"Pattern": strconv.Quote(p), "N": i, "Name": strconv.Quote(np.name(i))})
		}
	}
	return np, nil
}

func (np namePattern) name(i int) string { return fmt.Sprintf(np.pattern, i) }

// resolve checks o and fills its defaults for target; errors name the flag and the fix.
func (o *FleetOptions) resolve(target string) error {
	if o.Devices < 1 || o.Devices > MaxFleetDevices {
		return i18n.NewError("fleet.opt.devices", i18n.Args{"N": o.Devices, "Max": MaxFleetDevices})
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultFleetConcurrency
	}
	if o.Concurrency < 1 || o.Concurrency > MaxFleetConcurrency {
		return i18n.NewError("fleet.opt.concurrency", i18n.Args{"N": o.Concurrency, "Max": MaxFleetConcurrency})
	}
	if o.Rate < 0 || o.Rate > 100000 {
		return i18n.NewError("fleet.opt.rate", i18n.Args{"Rate": strconv.FormatFloat(o.Rate, 'g', -1, 64)})
	}
	if !o.RateSet && target == TargetAWS {
		o.Rate = DefaultFleetRateAWS
	}
	if o.Names == "" {
		o.Names = DefaultFleetNames
	}
	if o.KeyType == "" {
		o.KeyType = string(DefaultFleetKey)
	}
	if _, err := pki.ParseKeyType(o.KeyType); err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	return nil
}

// Fleet is one run of `jitpwiz fleet`, prepared by NewFleet and started by Run.
type Fleet struct {
	s       *Session
	o       FleetOptions
	names   namePattern
	keyType pki.KeyType
	subject pki.Subject // of every device but its CN
	ca      *pki.CA
	tmpl    *template.Template // nil: the thing is named after the CN
	rec     *fleetRecord
	limiter *RateLimiter
	clock   Clock
	wait    time.Duration // how long a device's reconnect may be retried
	server  *x509.CertPool
	first   *fleetDev // device 1, issued by NewFleet to check the template against
	// connect makes one connection attempt (tests replace it).
	connect func(ctx context.Context, o mqttprobe.Options, m *mqttprobe.Material) (fleetConn, mqttprobe.Outcome)
	tap     *fleetTap

	mu        sync.Mutex
	warnings  []string
	start     time.Time
	end       time.Time
	issued    int
	started   int
	inFlight  int
	done      int
	failed    int
	provision int
	rows      []fleetRow
	latencies []time.Duration
	failures  map[string]*FleetFailure // by cause
	interrupt bool
	finished  bool
	diagMu    sync.Mutex
	diagnosed map[string][2]string // failure signature → cause, fix
}

// fleetConn is an accepted connection of a device.
type fleetConn interface {
	Publish(ctx context.Context, topic string, payload []byte, timeout time.Duration) error
	Close()
}

// fleetDev is a device in memory: its record, and its key and chain (leaf, CA).
type fleetDev struct {
	idx int
	fleetDevice
	chain []*x509.Certificate
	key   crypto.Signer
}

// fleetRow is one device's outcome (one row of devices.csv).
type fleetRow struct {
	fleetDevice
	Outcome   string // provisioned | failed | not-run
	Phase     string // where it failed
	Cause     string
	Start     time.Duration // since the fleet started
	First     time.Duration // first connect (dropped by JITP)
	Reconnect time.Duration // reconnect as the thing, retries included
	Publish   time.Duration // publish until PUBACK
	Total     time.Duration // first connect until PUBACK
	Attempts  int           // reconnect attempts
	number    int           // the device's number, 1…n
	fix       string        // the diagnosed fix of Cause
}

// Outcomes and phases of a device.
const (
	OutcomeProvisioned = "provisioned"
	OutcomeFailed      = "failed"
	OutcomeNotRun      = "not-run"

	PhaseIssue     = "issue"
	PhaseFirst     = "first connect"
	PhaseReconnect = "reconnect as the thing"
	PhasePublish   = "publish"
)

// FleetFailure is one cause of failure and how many devices it stopped.
type FleetFailure struct {
	Phase   string `json:"phase"`
	Cause   string `json:"cause"`
	Fix     string `json:"fix,omitempty"`
	Count   int    `json:"count"`
	Example string `json:"exampleDevice"`
}

// ErrFleetNeedsCA is returned by NewFleet for a workspace whose CA is not registered yet.
var ErrFleetNeedsCA = errors.New("the workspace's CA is not registered for JITP")

// dirArg is the workspace as a --dir argument in a command shown to the user: relative to
// the current directory when it is below it, quoted for the shell.
func dirArg(s *Session) string {
	dir := s.dir
	if cwd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(cwd, s.dir); err == nil && !strings.HasPrefix(r, "..") {
			dir = r
		}
	}
	return pki.ShellQuote(dir)
}

// fleetNeedsCA words ErrFleetNeedsCA for the session's workspace.
func fleetNeedsCA(s *Session, why string) error {
	return i18n.WrapError(ErrFleetNeedsCA, "fleet.needs-ca", i18n.Args{"Why": why, "Dir": dirArg(s)})
}

// NewFleet prepares a fleet on a connected session: it checks the options and that the
// workspace's CA is registered for JITP on this target, loads the CA and the template,
// checks the names (valid thing names, not used by another fleet of the workspace, no such
// thing on the target yet) and issues device 1 to check the template against. It writes
// nothing: Run does. What will make devices fail (an inactive CA, auto-registration off, a
// template the certificates cannot satisfy) is a warning, not an error — the fleet then
// shows how it fails.
func NewFleet(ctx context.Context, s *Session, o FleetOptions) (*Fleet, error) {
	if s.client == nil {
		return nil, i18n.NewError("fleet.not-connected")
	}
	if err := o.resolve(s.Options.Target); err != nil {
		return nil, err
	}
	reg, ok := s.Finished[string(IDRegisterCA)]
	if !ok || s.CA.RegisteredID == "" {
		return nil, fleetNeedsCA(s, i18n.T("fleet.needs-ca.not-registered"))
	}
	if s.Options.jitr() {
		return nil, i18n.WrapError(ErrFleetNeedsCA, "fleet.needs-ca.jitr")
	}
	if was := reg.Inputs["target"]; was != "" && was != targetID(s) {
		return nil, fleetNeedsCA(s, i18n.T("fleet.needs-ca.other-target", i18n.Args{"Was": was, "Target": targetID(s)}))
	}
	ca, err := signingCA(s)
	if err != nil {
		return nil, i18n.WrapError(err, "fleet.ca-unusable", i18n.Args{"Dir": dirArg(s)})
	}
	names, err := parseNamePattern(o.Names, o.Devices)
	if err != nil {
		return nil, err
	}
	kt, _ := pki.ParseKeyType(o.KeyType)
	f := &Fleet{s: s, o: o, names: names, keyType: kt, ca: ca, clock: o.Clock,
		limiter: NewRateLimiter(o.Rate, o.Clock), failures: map[string]*FleetFailure{}, diagnosed: map[string][2]string{}}
	f.subject = pki.Subject{Country: s.Options.Country, Organization: s.Options.Org, OrganizationalUnit: s.Options.OrgUnit, State: s.Options.State}
	probe := f.subject
	probe.CommonName = names.name(o.Devices)
	if err := probe.ValidateDevice(); err != nil {
		return nil, i18n.WrapError(err, "fleet.subject-unusable", i18n.Args{"Subject": probe.String(), "Dir": dirArg(s)})
	}
	f.wait = ProvisionTimeoutLocal
	if s.Options.Target == TargetAWS {
		f.wait = fleetProvisionWaitAWS
	}
	f.server = x509.NewCertPool()
	if !f.server.AppendCertsFromPEM(s.serverRoot) {
		return nil, i18n.NewError("fleet.no-server-ca")
	}
	f.connect = func(ctx context.Context, o mqttprobe.Options, m *mqttprobe.Material) (fleetConn, mqttprobe.Outcome) {
		c, out := mqttprobe.ConnectMaterial(ctx, o, m)
		if c == nil {
			return nil, out
		}
		return c, out
	}
	if err := f.checkNames(ctx); err != nil {
		return nil, err
	}
	// The template as the target has it (it may have been changed behind the workspace's
	// back), else the workspace's jitp_template.json.
	if body := f.checkCA(ctx); body != "" {
		if f.tmpl, err = template.Parse(body); err != nil {
			f.warnings = append(f.warnings, i18n.T("fleet.warn.template-parse", i18n.Args{"Err": err}))
		}
	} else if t, err := registeredTemplate(s); err == nil {
		f.tmpl = t
	} else {
		f.warnings = append(f.warnings, i18n.T("fleet.warn.template-unreadable", i18n.Args{"Err": err}))
	}
	if f.first, err = f.issue(1); err != nil {
		return nil, err
	}
	return f, nil
}

// checkNames refuses names another fleet of the workspace uses, or the workspace's own
// devices, and names of things that already exist on the target (first and last are
// asked): JITP would attach the fleet's certificate to such a thing, and clean would then
// delete a thing the fleet did not make.
func (f *Fleet) checkNames(ctx context.Context) error {
	used, err := usedFleetNames(f.s)
	if err != nil {
		return err
	}
	n := f.o.Devices
	for i := 1; i <= n; i++ {
		name := f.names.name(i)
		if id := used[name]; id != "" {
			return i18n.NewError("fleet.names.other-fleet", i18n.Args{"Pattern": strconv.Quote(f.o.Names), "Name": name, "Fleet": id})
		}
		if f.s.DeviceFor(name) != nil {
			return i18n.NewError("fleet.names.workspace-device", i18n.Args{"Pattern": strconv.Quote(f.o.Names), "Name": name})
		}
	}
	for _, i := range []int{1, n} {
		name := f.names.name(i)
		if _, err := f.s.client.DescribeThing(ctx, name); err == nil {
			return i18n.NewError("fleet.names.thing-exists", i18n.Args{"Pattern": strconv.Quote(f.o.Names), "Name": name})
		} else if !aws.IsKind(err, aws.KindNotFound) {
			return i18n.WrapError(err, "fleet.names.check-thing", i18n.Args{"Name": name})
		}
	}
	return nil
}

// checkCA warns about a CA registration that will make every device fail, and returns
// the CA's template body ("" when it has none or cannot be asked).
func (f *Fleet) checkCA(ctx context.Context) string {
	ca, err := f.s.client.FindCA(ctx, f.s.CA.RegisteredID)
	switch {
	case err != nil:
		f.warnings = append(f.warnings, i18n.T("fleet.warn.ca-unchecked", i18n.Args{"Err": err}))
	case ca == nil:
		f.warnings = append(f.warnings, i18n.T("fleet.warn.ca-gone", i18n.Args{"CA": abbrev(f.s.CA.RegisteredID)}))
	case ca.Status != aws.StatusActive:
		f.warnings = append(f.warnings, i18n.T("fleet.warn.ca-inactive", i18n.Args{"CA": abbrev(ca.ID), "Status": ca.Status}))
	case ca.AutoRegistrationStatus != aws.AutoRegEnable:
		f.warnings = append(f.warnings, i18n.T("fleet.warn.auto-registration", i18n.Args{"Status": cmp.Or(ca.AutoRegistrationStatus, aws.AutoRegDisable), "CA": abbrev(ca.ID)}))
	}
	if ca == nil || ca.RegistrationConfig == nil {
		return ""
	}
	return ca.RegistrationConfig.TemplateBody
}

// issue makes device i: its key, CSR, certificate (signed by the workspace CA, 365 days)
// and the thing the template makes of it.
func (f *Fleet) issue(i int) (*fleetDev, error) {
	name := f.names.name(i)
	key, err := pki.GenerateKey(f.keyType)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", name, err)
	}
	subj := f.subject
	subj.CommonName = name
	csr, err := pki.NewCSR(key, subj)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", name, err)
	}
	cert, err := f.ca.Issue(csr, pki.DeviceDays)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", name, err)
	}
	d := &fleetDev{idx: i, key: key, chain: []*x509.Certificate{cert, f.ca.Cert}}
	d.Name, d.CertID, d.Thing = name, pki.CertID(cert), name
	if f.tmpl != nil {
		plan, err := f.tmpl.Evaluate(pki.JITPParameters(cert))
		switch {
		case err != nil && i == 1:
			f.warnings = append(f.warnings, i18n.T("fleet.warn.template-apply", i18n.Args{"Err": err}))
		case err == nil && plan.Thing != nil && plan.Thing.Name != "":
			d.Thing = plan.Thing.Name
		case err == nil && plan.Thing == nil:
			d.Thing = ""
		}
	}
	return d, nil
}

// clientID is the MQTT client ID of a device's connections: the thing name (the policy
// lets only that one connect), and for the first connect another one — AWS allows one
// CONNECT per second per client ID.
func (d *fleetDev) clientID(first bool) string {
	id := cmp.Or(d.Thing, d.Name)
	if !first {
		return id
	}
	if len(id) <= 122 {
		return "first-" + id
	}
	return "first-" + d.CertID[:32]
}

// Warnings are what NewFleet found that will make devices fail.
func (f *Fleet) Warnings() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.warnings...)
}

// runDevice brings one device online: first connect (expected: dropped while JITP
// provisions), reconnect as the thing (retried while provisioning may still be under way
// on AWS), publish once at QoS 1.
func (f *Fleet) runDevice(ctx context.Context, d *fleetDev) fleetRow {
	row := fleetRow{fleetDevice: d.fleetDevice, number: d.idx}
	t0 := f.clock.Now()
	row.Start = t0.Sub(f.start)
	ep := f.s.Endpoint
	bundle := &mqttprobe.Material{Chain: d.chain, Key: d.key, ServerCA: f.server}
	leaf := &mqttprobe.Material{Chain: d.chain[:1], Key: d.key, ServerCA: f.server}
	o := mqttprobe.Options{Host: ep.Host, Port: ep.Port, Addr: ep.Addr, ClientID: d.clientID(true)}
	applyPort(f.s, &o) // --port 443: ALPN x-amzn-mqtt-ca, as the workspace's own device connects
	fail := func(phase string, o mqttprobe.Options, m *mqttprobe.Material, out mqttprobe.Outcome) fleetRow {
		row.Outcome, row.Phase = OutcomeFailed, phase
		row.Cause, row.fix = f.cause(ctx, phase, d, o, m, out)
		row.Total = f.clock.Now().Sub(t0)
		return row
	}

	c, out := f.connect(ctx, o, bundle)
	if c != nil {
		c.Close()
	}
	t1 := f.clock.Now()
	row.First = t1.Sub(t0)
	if out.Class != mqttprobe.ClassDropped && out.Class != mqttprobe.ClassConnected {
		return fail(PhaseFirst, o, bundle, out)
	}

	o.ClientID = d.clientID(false)
	backoff := 100 * time.Millisecond
	if f.s.Options.Target == TargetAWS {
		backoff = time.Second // AWS takes one CONNECT per second per client ID
	}
	for {
		row.Attempts++
		c, out = f.connect(ctx, o, leaf)
		if c != nil {
			break
		}
		if ctx.Err() != nil || !f.retryable(out.Class) || f.clock.Now().Add(backoff).Sub(t1) > f.wait {
			row.Reconnect = f.clock.Now().Sub(t1)
			return fail(PhaseReconnect, o, leaf, out)
		}
		if f.clock.Sleep(ctx, backoff) != nil {
			row.Reconnect = f.clock.Now().Sub(t1)
			return fail(PhaseReconnect, o, leaf, out)
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	t2 := f.clock.Now()
	row.Reconnect = t2.Sub(t1)

	topic := o.ClientID + "/fleet"
	err := c.Publish(ctx, topic, []byte(`{"fleet":"`+f.rec.manifest.ID+`","device":"`+d.Name+`"}`), 0)
	c.Close()
	t3 := f.clock.Now()
	row.Publish, row.Total = t3.Sub(t2), t3.Sub(t0)
	if err != nil {
		row.Outcome, row.Phase, row.Cause = OutcomeFailed, PhasePublish, PhasePublish+": "+err.Error()
		return row
	}
	row.Outcome = OutcomeProvisioned
	return row
}

// retryable says whether a failed reconnect may still work: on AWS while JITP finishes
// after the drop (the certificate is PENDING_ACTIVATION or not registered yet for a
// moment), and anywhere when the connection itself failed.
func (f *Fleet) retryable(c mqttprobe.Class) bool {
	switch c {
	case mqttprobe.ClassDialFailed, mqttprobe.ClassNoResponse, mqttprobe.ClassTLSClosed:
		return true
	case mqttprobe.ClassDropped, mqttprobe.ClassTLSRejected, mqttprobe.ClassConnackRefused:
		return f.s.Options.Target == TargetAWS
	}
	return false
}

// cause says in plain words why a device failed. It is worked out (mqttprobe.Gather and
// Diagnose: the control plane's view of the certificate and the CA, the template, the
// local IoT Core's provisioning log) once for each kind of failure — the phase, how the
// connection ended, and the provisioning error the local IoT Core logged for the
// certificate — and counted for every device that fails the same way.
func (f *Fleet) cause(ctx context.Context, phase string, d *fleetDev, o mqttprobe.Options, m *mqttprobe.Material, out mqttprobe.Outcome) (cause, fix string) {
	perr := f.tap.errorOf(d.CertID)
	sig := strings.Join([]string{phase, string(out.Class), out.Alert, strconv.Itoa(int(out.ConnackCode)), perr}, "|")
	f.diagMu.Lock()
	defer f.diagMu.Unlock()
	if c, ok := f.diagnosed[sig]; ok {
		return c[0], c[1]
	}
	facts := mqttprobe.Facts{Outcome: &out, Options: o, Chain: m.Chain, CACert: f.ca.Cert, ThingName: d.Thing}
	if phase == PhaseFirst {
		facts.StatusBefore = mqttprobe.StatusNotRegistered
	}
	if perr != "" {
		facts.ProvisioningErrors = []string{perr}
	}
	if ctx.Err() == nil {
		mqttprobe.Gather(ctx, f.s.client, &facts)
	}
	dg := mqttprobe.Diagnose(facts)
	cause, fix = phase+": "+dg.Cause, dg.Fix
	if ctx.Err() != nil {
		return phase + ": interrupted (" + out.String() + ")", "" // not a diagnosis: not kept
	}
	f.diagnosed[sig] = [2]string{cause, fix}
	return cause, fix
}

// fleetTap collects the provisioning errors the in-process local IoT Core records while
// the fleet runs (AWS's error code and message, e.g. a template reference the certificate
// cannot resolve), by certificate. nil without an in-process IoT Core.
type fleetTap struct {
	mu   sync.Mutex
	errs map[string]string
	stop func()
}

func newFleetTap(s *Session) *fleetTap {
	src, ok := s.backend.(interface {
		Events() (<-chan store.Event, func())
	})
	if !ok {
		return nil
	}
	ch, cancel := src.Events()
	t := &fleetTap{errs: map[string]string{}, stop: cancel}
	go func() {
		for ev := range ch {
			if ev.Kind == store.EventProvisioningFailed && ev.CertID != "" {
				t.mu.Lock()
				t.errs[ev.CertID] = ev.Error + ": " + ev.Message
				t.mu.Unlock()
			}
		}
	}()
	return t
}

func (t *fleetTap) errorOf(certID string) string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.errs[certID]
}

// FleetProgress is a snapshot of a running fleet, for the live view and the headless lines.
type FleetProgress struct {
	ID          string
	Dir         string // the fleet's directory
	Target      string
	Devices     int
	Concurrency int
	Issued      int
	Started     int
	InFlight    int
	Done        int
	Provisioned int
	Failed      int
	NotRun      int // known at the end
	Failures    []FleetFailure
	Elapsed     time.Duration
	Rate        float64       // devices finished per second so far
	P50, P99    time.Duration // of the provisioned devices: first connect until PUBACK
	Limiter     LimiterState
	Finished    bool
	Interrupted bool
	Warnings    []string
	Keys        string // where the device keys are
}

// Progress is a snapshot of the fleet (safe to call while it runs).
func (f *Fleet) Progress() FleetProgress {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := FleetProgress{
		Target: f.s.Options.Target, Devices: f.o.Devices, Concurrency: f.o.Concurrency,
		Issued: f.issued, Started: f.started, InFlight: f.inFlight, Done: f.done,
		Provisioned: f.provision, Failed: f.failed, Finished: f.finished, Interrupted: f.interrupt,
		Limiter: f.limiter.State(), Warnings: append([]string(nil), f.warnings...), Keys: f.keysNote(),
	}
	if f.rec != nil {
		p.ID, p.Dir = f.rec.manifest.ID, f.rec.dir
	}
	if f.finished {
		p.NotRun = f.o.Devices - f.done
	}
	if !f.start.IsZero() {
		end := f.end
		if end.IsZero() {
			end = f.clock.Now()
		}
		p.Elapsed = end.Sub(f.start)
		if s := p.Elapsed.Seconds(); s > 0 {
			p.Rate = float64(f.done) / s
		}
	}
	lat := sortedDurations(f.latencies)
	p.P50, p.P99 = quantile(lat, 0.50), quantile(lat, 0.99)
	p.Failures = f.failureList()
	return p
}

func (f *Fleet) keysNote() string {
	if f.o.SaveKeys {
		return i18n.T("fleet.keys.saved")
	}
	return i18n.T("fleet.keys.memory")
}

// failureList is the failures by count, most first (f.mu held).
func (f *Fleet) failureList() []FleetFailure {
	out := make([]FleetFailure, 0, len(f.failures))
	for _, fc := range f.failures {
		out = append(out, *fc)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Cause < out[j].Cause
	})
	return out
}

func sortedDurations(d []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// quantile is the nearest-rank q-quantile of sorted durations (0 when there are none).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
