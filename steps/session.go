package steps

import (
	"cmp"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The workspace's data: what jitpwiz.json holds — the options a user chose and the results
// of the steps — how it is saved, and where the session is connected (Where). Opening a
// workspace is in open.go, the back-ends (Connect, Close) in connect.go, the workspace lock
// in lock.go; how options are given (flags, a config file) and checked is in options.go.

// Defaults of a new workspace (the AWS walkthrough's values).
const (
	DefaultDir         = "jitp"
	DefaultTarget      = TargetLocal
	DefaultLocalRegion = "us-east-2"
	DefaultThing       = "DemoThing"
	DefaultCountry     = "IN"
	DefaultCACountry   = "IN"
	DefaultCAOrg       = "AMZ"
	DefaultTemplate    = VariantScoped
	DefaultPolicyName  = "JITPDevicePolicy"
	DefaultRoleName    = "JITPRole"
	DefaultMode        = ModeJITP
	DefaultCAMode      = CAModeDefault
	DefaultPort        = Port8883
)

// Onboarding modes (--mode), CA registration modes (--ca-mode) and device ports (--port).
const (
	ModeJITP = "jitp" // Just-in-Time Provisioning: the CA's template provisions the device
	ModeJITR = "jitr" // Just-in-Time Registration: registered PENDING_ACTIVATION, then activated

	CAModeDefault = "default"  // verification certificate proves possession of the CA key
	CAModeSNIOnly = "sni-only" // registered without proof (multi-account); devices must send SNI

	Port8883 = "8883" // MQTT over TLS
	Port443  = "443"  // MQTT over TLS with ALPN x-amzn-mqtt-ca
)

// Targets.
const (
	TargetLocal = "local" // the embedded IoT Core, in-process
	TargetAWS   = "aws"   // real AWS (or any compatible --endpoint-url)
)

// Template variants: the walkthrough's three, or a template file of your own.
const (
	VariantScoped = "scoped"
	VariantAdmin  = "admin"
	VariantNamed  = "named"
	VariantCustom = "custom" // --template FILE
)

// Options are what a user chooses. Empty strings mean "keep the saved value" (or the default
// in a new workspace); the session file stores the effective values. Flags, the YAML config
// file (--config, keys = flag names) and the TUI's fields all fill the same struct.
type Options struct {
	Dir         string `json:"-" yaml:"dir"`
	Target      string `json:"target,omitempty" yaml:"target"`
	Profile     string `json:"profile,omitempty" yaml:"profile"`
	Region      string `json:"region,omitempty" yaml:"region"`
	EndpointURL string `json:"endpointUrl,omitempty" yaml:"endpoint-url"`

	// Mode is how a device is onboarded: jitp (a template provisions it) or jitr (the
	// certificate is only registered; the activate step, or a rule + Lambda, does the rest).
	Mode string `json:"mode,omitempty" yaml:"mode"`
	// CAMode is how the CA is registered: default (proof of possession with a verification
	// certificate) or sni-only (no proof; devices must send SNI).
	CAMode string `json:"caMode,omitempty" yaml:"ca-mode"`
	// Port is the device port: 8883, or 443 with ALPN x-amzn-mqtt-ca.
	Port string `json:"port,omitempty" yaml:"port"`

	// KeyType is the type of the keys jitpwiz creates (CA, verification, device).
	KeyType string `json:"keyType,omitempty" yaml:"key"`
	// CA subject (the OpenSSL conf defaults of step 2).
	CACountry string `json:"caCountry,omitempty" yaml:"ca-country"`
	CAOrg     string `json:"caOrg,omitempty" yaml:"ca-org"`
	// Device subject (step 9): C and CN = thing name are what the templates need.
	Thing   string `json:"thing,omitempty" yaml:"thing"`
	Country string `json:"country,omitempty" yaml:"country"`
	Org     string `json:"org,omitempty" yaml:"org"`
	OrgUnit string `json:"orgUnit,omitempty" yaml:"ou"`
	State   string `json:"state,omitempty" yaml:"state"`

	// Template is scoped | admin | named | a template file path.
	Template   string `json:"template,omitempty" yaml:"template"`
	PolicyName string `json:"policyName,omitempty" yaml:"policy-name"`

	// MQTTEndpoint (HOST:PORT) and ServerCA (a PEM file) are the MQTT broker of --target aws
	// and the CA that signs its certificate, for an endpoint that is not AWS IoT itself (its
	// DescribeEndpoint gives a host without a port, and Amazon's roots do not sign it).
	MQTTEndpoint string `json:"mqttEndpoint,omitempty" yaml:"mqtt-endpoint"`
	ServerCA     string `json:"serverCa,omitempty" yaml:"server-ca"`

	// RoleARN is a provisioning role made by someone else (--role-arn): step 6 uses it and
	// makes no IAM change. TrustCondition "on" adds the confused-deputy condition to the
	// trust policy of a role step 6 creates (--trust-condition; off by default).
	RoleARN        string `json:"roleArn,omitempty" yaml:"role-arn"`
	TrustCondition string `json:"trustCondition,omitempty" yaml:"trust-condition"`

	// Bring your own PKI (never rewritten).
	CACertFile     string `json:"caCert,omitempty" yaml:"ca-cert"`
	CAKeyFile      string `json:"caKey,omitempty" yaml:"ca-key"`
	DeviceCertFile string `json:"deviceCert,omitempty" yaml:"device-cert"`
	DeviceKeyFile  string `json:"deviceKey,omitempty" yaml:"device-key"`

	// Per-run choices, never saved.
	ConfigFile   string `json:"-" yaml:"-"`
	Yes          bool   `json:"-" yaml:"yes"`
	JSON         bool   `json:"-" yaml:"json"`
	ForceNewKeys bool   `json:"-" yaml:"force-new-keys"`
	CreatePolicy bool   `json:"-" yaml:"create-policy"`
	// CleanWait bounds how long clean waits for AWS's asynchronous detaches (clean --wait;
	// 0: DefaultCleanWait; negative: no wait).
	CleanWait time.Duration `json:"-" yaml:"-"`
	// AtRecordedRegion: with --target aws and no --region, connect to the region the
	// workspace registered its resources in (clean goes where they are), not the profile's.
	AtRecordedRegion bool `json:"-" yaml:"-"`

	// defaulted lists the required inputs that took their default in a new workspace.
	defaulted []string
}

// isVariant says whether t names one of the walkthrough's templates (not a file).
func isVariant(t string) bool {
	return t == VariantScoped || t == VariantAdmin || t == VariantNamed
}

// jitr reports Just-in-Time Registration (--mode jitr): the CA is registered without a
// template and the activate step (or a rule + Lambda) activates what the first connect registered.
func (o *Options) jitr() bool { return o.Mode == ModeJITR }

// sniOnly reports a CA registered in SNI_ONLY mode (--ca-mode sni-only): no registration code,
// no verification certificate (steps 4–5 are skipped), and devices must send SNI.
func (o *Options) sniOnly() bool { return o.CAMode == CAModeSNIOnly }

// alpn443 reports devices connecting on port 443 with ALPN x-amzn-mqtt-ca (--port 443).
func (o *Options) alpn443() bool { return o.Port == Port443 }

// certificateMode is the CA's certificateMode as steps record it: "SNI_ONLY", or "" for
// DEFAULT (so that workspaces made before the mode existed stay done).
func (o *Options) certificateMode() string {
	if o.sniOnly() {
		return "SNI_ONLY"
	}
	return ""
}

// SessionFile is the name of the session file inside the workspace.
const SessionFile = "jitpwiz.json"

// FileTemplate is the registration-config file the walkthrough passes to register-ca-certificate
// (step 7 writes it; steps 8, 9 and 12 and doctor read it).
const FileTemplate = "jitp_template.json"

// sessionVersion is the format version of jitpwiz.json.
const sessionVersion = 1

// Session is the options and results of one workspace, persisted as <workspace>/jitpwiz.json
// after every step. It never holds key material: keys live only in their 0600 files.
//
// The back-ends (the aws.Client and, for the local target, the embedded IoT Core) hang off the
// Session once Connect has run; they are not persisted.
type Session struct {
	Version int `json:"version"`
	// Options are the effective options (saved ones overlaid with what this run was given).
	Options Options `json:"options"`

	// Cloud identity, resolved by Connect.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	// Endpoint is the MQTT data endpoint devices connect to (iot:Data-ATS, or the local broker).
	Endpoint Endpoint `json:"endpoint"`

	RegistrationCode string `json:"registrationCode,omitempty"`
	// VerificationCertID is the cert ID of verificationCert.crt (step 5).
	VerificationCertID string      `json:"verificationCertId,omitempty"`
	CA                 CAResult    `json:"ca"`
	Role               RoleResult  `json:"role"`
	Template           TemplateRes `json:"template"`
	// Activation is what JITR's activate step (11a) made that all devices share.
	Activation ActivationRes `json:"activation,omitzero"`
	// ServerRootSHA256 is the SHA-256 of awsRootCA.pem as written by step 10.
	ServerRootSHA256 string `json:"serverRootSha256,omitempty"`
	// PrimaryThing is the first device of the workspace; its files use the walkthrough's names
	// at the workspace root. Other things live under devices/<thing>/.
	PrimaryThing string             `json:"primaryThing,omitempty"`
	Devices      map[string]*Device `json:"devices,omitempty"`

	// Finished records each finished step (key: step ID, or "ID@thing" for device steps) with
	// the inputs it ran with, so a re-run knows what is done and what a changed option redoes.
	Finished map[string]Finished `json:"finished,omitempty"`
	// Failures records the last error of a step that failed (cleared when it succeeds).
	Failures map[string]string `json:"failures,omitempty"`
	// Redo asks for a finished step to run again, with the reason (cleared when it has).
	Redo map[string]string `json:"redo,omitempty"`
	// PendingPolicyDeletes are policies clean could not delete yet (AWS refuses DeletePolicy
	// for minutes after a detach); the next clean deletes them.
	PendingPolicyDeletes []string `json:"pendingPolicyDeletes,omitempty"`
	// CleanedAt is when clean last removed everything the workspace had registered.
	CleanedAt time.Time `json:"cleanedAt,omitzero"`

	dir    string
	client aws.Client
	// localURL is the embedded IoT Core's control-plane URL while it runs.
	localURL string
	// sharedLocalPID is set when the workspace's IoT Core is served by another process
	// (`jitpwiz local --dir` in another shell) and Connect uses that one.
	sharedLocalPID int
	// serverRoot is the PEM of the CA that signs the broker's server certificate, known after Connect.
	serverRoot []byte
	// serverRootPath is where the local IoT Core keeps that CA (for the shown command).
	serverRootPath string
	backend        Backend
	now            func() time.Time
	// ran records the steps run by this process (finished key → true).
	ran map[string]bool
	// ca is the loaded signing CA (cert + key), cached after step 3 or loadCA.
	ca *pki.CA
	// notices are what Connect has to tell once (e.g. that the local IoT Core's state was
	// migrated); the runner prints them after the connection line.
	notices []string
	// movedPorts are the in-process local IoT Core's default ports that were busy (Where).
	movedPorts []PortMove
}

// AWSDataPort is the MQTT-over-TLS port of AWS IoT Core.
const AWSDataPort = 8883

// Endpoint is the MQTT endpoint of the data plane.
type Endpoint struct {
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	// Addr, when set, is dialled instead of Host:Port (the local target: a loopback address,
	// while Host stays the name the broker's certificate is valid for).
	Addr string `json:"addr,omitempty"`
}

// CAResult is the signing CA and its registration.
type CAResult struct {
	CertFile string `json:"certFile,omitempty"` // absolute or workspace-relative path
	KeyFile  string `json:"keyFile,omitempty"`
	// Supplied: the user brought the CA (--ca-cert/--ca-key); its files are never rewritten.
	Supplied     bool   `json:"supplied,omitempty"`
	Intermediate bool   `json:"intermediate,omitempty"`
	Subject      string `json:"subject,omitempty"`
	CertID       string `json:"certId,omitempty"` // SHA-256 of the DER
	KeyID        string `json:"keyId,omitempty"`  // SHA-256 of the public key (notices a replaced key)
	KeyType      string `json:"keyType,omitempty"`
	// RegisteredID/ARN are set once step 8 registered (or found) the CA.
	RegisteredID  string `json:"registeredId,omitempty"`
	RegisteredARN string `json:"registeredArn,omitempty"`
	// Reused: step 8 found the CA already registered and reused it.
	Reused bool `json:"reused,omitempty"`
	// EarlierRegisteredIDs are CA registrations of this workspace that a later step 8
	// replaced (a new CA certificate): clean removes them too.
	EarlierRegisteredIDs []string `json:"earlierRegisteredIds,omitempty"`
}

// RoleResult is the provisioning role of step 6.
type RoleResult struct {
	Name    string   `json:"name,omitempty"`
	ARN     string   `json:"arn,omitempty"`
	Created bool     `json:"created,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// TemplateRes is the provisioning template of step 7.
type TemplateRes struct {
	File    string `json:"file,omitempty"`    // jitp_template.json
	Variant string `json:"variant,omitempty"` // scoped | admin | named | custom
	// Source is the user's template file for the custom variant.
	Source string `json:"source,omitempty"`
	// BodySHA256 is the SHA-256 of the template body as registered.
	BodySHA256 string `json:"bodySha256,omitempty"`
	// PolicyName is the named variant's policy; PolicyCreated: jitpwiz created it.
	PolicyName    string   `json:"policyName,omitempty"`
	PolicyCreated bool     `json:"policyCreated,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
}

// JITRPolicyName is the policy the activate step (11a) attaches to every JITR device
// certificate: the scoped walkthrough policy (the client, topics and filters of its own thing).
const JITRPolicyName = "JITRDevicePolicy"

// registeredTopic is where AWS IoT announces a certificate JITR registered (step 11 shows the
// event, step 11a's topic rule selects it).
func registeredTopic(caID string) string { return "$aws/events/certificates/registered/" + caID }

// ActivationRes is the JITR policy of step 11a; PolicyCreated: jitpwiz created it (clean
// deletes it).
type ActivationRes struct {
	PolicyName    string `json:"policyName,omitempty"`
	PolicyCreated bool   `json:"policyCreated,omitempty"`
}

// ActivateResult is what step 11a did for one device.
type ActivateResult struct {
	Thing        string   `json:"thing"`
	ThingCreated bool     `json:"thingCreated,omitempty"`
	Actions      []string `json:"actions,omitempty"` // "create thing T: done" / "...: already done"
}

// Device is one thing's files and results (steps 9, 11, 11a, 12, 13).
type Device struct {
	Thing      string `json:"thing"`
	Dir        string `json:"dir,omitempty"` // "" for the primary thing (workspace root)
	KeyFile    string `json:"keyFile,omitempty"`
	CSRFile    string `json:"csrFile,omitempty"`
	CertFile   string `json:"certFile,omitempty"`
	BundleFile string `json:"bundleFile,omitempty"`
	// Supplied: the user brought the device cert/key (--device-cert/--device-key).
	Supplied bool   `json:"supplied,omitempty"`
	Subject  string `json:"subject,omitempty"`
	// SubjectOptions are the subject flags the certificate was made with; switching back to
	// this thing reuses them unless new ones are given.
	SubjectOptions *SubjectOptions `json:"subjectOptions,omitempty"`
	CertID         string          `json:"certId,omitempty"`
	CertARN        string          `json:"certArn,omitempty"`
	// ProvisionedThing is the thing the registered template makes for this certificate
	// (its CN with the walkthrough's templates), as step 11 worked it out.
	ProvisionedThing string `json:"provisionedThing,omitempty"`

	FirstConnect *FirstConnectResult `json:"firstConnect,omitempty"`
	Activation   *ActivateResult     `json:"activation,omitempty"`
	Verify       []ResultLine        `json:"verify,omitempty"`
	Policies     []string            `json:"policies,omitempty"` // policies attached to the cert
	Use          *UseResult          `json:"use,omitempty"`
	// Cleaned: clean removed this device's certificate and thing, and it has not connected
	// since (a first connect may register it again), so clean has nothing to do for it.
	Cleaned bool `json:"cleaned,omitempty"`
	// EarlierCerts are this thing's certificates from before the current one (re-issued with
	// another subject or key) that may be registered on the target: clean removes them too,
	// and verify names them when they are still attached to the thing.
	EarlierCerts []CertRecord `json:"earlierCerts,omitempty"`
}

// CertRecord is a device certificate the workspace issued and the target may have registered.
type CertRecord struct {
	CertID string `json:"id"`
	ARN    string `json:"arn,omitempty"`
	// Thing is the thing it was provisioned as (attached to).
	Thing string `json:"thing,omitempty"`
}

// retireCert records d's current certificate among its earlier ones before a new one
// replaces it, when a first connect may have registered it (clean must then remove it).
func (d *Device) retireCert() {
	if d.CertID == "" || d.Cleaned || (d.FirstConnect == nil && d.ProvisionedThing == "" && d.Activation == nil) {
		return
	}
	for _, e := range d.EarlierCerts {
		if e.CertID == d.CertID {
			return
		}
	}
	d.EarlierCerts = append(d.EarlierCerts, CertRecord{CertID: d.CertID, ARN: d.CertARN, Thing: cmp.Or(d.ProvisionedThing, d.Thing)})
}

// SubjectOptions are a device's subject options besides the thing name.
type SubjectOptions struct {
	Country string `json:"country,omitempty"`
	Org     string `json:"org,omitempty"`
	OrgUnit string `json:"orgUnit,omitempty"`
	State   string `json:"state,omitempty"`
}

// FirstConnectResult is what step 11 saw.
type FirstConnectResult struct {
	Outcome  string        `json:"outcome"` // plain words: "dropped by the broker while provisioning (expected)"
	Dropped  bool          `json:"dropped"`
	Status   string        `json:"status,omitempty"` // cert status after polling
	Duration time.Duration `json:"duration"`
	// RegisteredEvent is JITR's registered event as step 11 saw it (in-process local IoT Core).
	RegisteredEvent string `json:"registeredEvent,omitempty"`
}

// UseResult is what step 13 saw.
type UseResult struct {
	Topic     string        `json:"topic"`
	RoundTrip time.Duration `json:"roundTrip"`
	// RefusedTopic is the topic outside <thing>/* that was tried (scoped variant) and Refused
	// whether the broker refused it.
	RefusedTopic string `json:"refusedTopic,omitempty"`
	Refused      bool   `json:"refused,omitempty"`
}

// Finished records one finished step.
type Finished struct {
	At       time.Time         `json:"at"`
	Duration time.Duration     `json:"duration"`
	Inputs   map[string]string `json:"inputs,omitempty"`
	// Reused: the step found its results already in place and did not redo them.
	Reused bool `json:"reused,omitempty"`
}

// Backend is a running back-end the Session owns (the embedded local IoT Core).
type Backend interface {
	Close() error
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

// fileLine is a ResultLine for a file.
func fileLine(label, path string) ResultLine {
	return ResultLine{Kind: ResultFile, Label: label, Value: path, OK: true}
}

func valueLine(label, v string) ResultLine {
	return ResultLine{Kind: ResultValue, Label: label, Value: v, OK: true}
}

func noteLine(v string) ResultLine { return ResultLine{Kind: ResultNote, Value: v, OK: true} }

func checkLine(label, evidence string, ok bool) ResultLine {
	return ResultLine{Kind: ResultCheck, Label: label, Value: evidence, OK: ok}
}

// Dir is the workspace directory.
func (s *Session) Dir() string { return s.dir }

// Path returns the absolute path of a file name inside the workspace; absolute paths are
// returned unchanged.
func (s *Session) Path(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(s.dir, name)
}

// Client is the cloud client; nil until Connect.
func (s *Session) Client() aws.Client { return s.client }

// Now is the session clock.
func (s *Session) Now() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Device returns the current thing's device record. A thing without a record yet gets a
// fresh one (not stored until step 9 keeps it) with its file layout.
func (s *Session) Device() *Device { return s.device(s.Options.Thing) }

// DeviceFor returns the device record of thing, or nil.
func (s *Session) DeviceFor(thing string) *Device {
	if s.Devices == nil {
		return nil
	}
	return s.Devices[thing]
}

// device returns the record of thing, or a new unstored one. The first thing of the
// workspace uses the walkthrough's file names at the workspace root; others use
// devices/<thing>/.
func (s *Session) device(thing string) *Device {
	if d := s.DeviceFor(thing); d != nil {
		return d
	}
	d := &Device{Thing: thing}
	if s.PrimaryThing != "" && thing != s.PrimaryThing {
		d.Dir = filepath.Join("devices", thing)
	}
	d.KeyFile = filepath.Join(d.Dir, pki.FileDeviceKey)
	d.CSRFile = filepath.Join(d.Dir, pki.FileDeviceCSR)
	d.CertFile = filepath.Join(d.Dir, pki.FileDeviceCert)
	d.BundleFile = filepath.Join(d.Dir, pki.FileDeviceBundle)
	if s.Options.DeviceCertFile != "" {
		d.Supplied = true
		d.CertFile = s.Options.DeviceCertFile
		d.KeyFile = s.Options.DeviceKeyFile
		d.CSRFile = ""
	}
	return d
}

// keepDevice stores d (step 9); the first device kept becomes the primary thing.
func (s *Session) keepDevice(d *Device) {
	if s.Devices == nil {
		s.Devices = map[string]*Device{}
	}
	if s.PrimaryThing == "" {
		s.PrimaryThing = d.Thing
	}
	s.Devices[d.Thing] = d
}

// Things returns the things of the workspace, the primary one first.
func (s *Session) Things() []string {
	var out []string
	for t := range s.Devices {
		if t != s.PrimaryThing {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	if _, ok := s.Devices[s.PrimaryThing]; ok {
		out = append([]string{s.PrimaryThing}, out...)
	}
	return out
}

// sanitize drops records a hand-edited or damaged session file could hold that the code
// cannot use (they are simply redone).
func (s *Session) sanitize() {
	for thing, d := range s.Devices {
		if d == nil || d.Thing != thing || pki.ValidateThingName(thing) != nil {
			delete(s.Devices, thing)
			for key := range s.Finished {
				if strings.HasSuffix(key, "@"+thing) {
					delete(s.Finished, key)
				}
			}
		}
	}
	if _, ok := s.Devices[s.PrimaryThing]; !ok && len(s.Devices) == 0 {
		s.PrimaryThing = ""
	}
	// Files jitpwiz writes always follow the layout, whatever the file says.
	for thing, d := range s.Devices {
		d.Dir = ""
		if thing != s.PrimaryThing {
			d.Dir = filepath.Join("devices", thing)
		}
		d.BundleFile = filepath.Join(d.Dir, pki.FileDeviceBundle)
		if !d.Supplied {
			d.KeyFile = filepath.Join(d.Dir, pki.FileDeviceKey)
			d.CSRFile = filepath.Join(d.Dir, pki.FileDeviceCSR)
			d.CertFile = filepath.Join(d.Dir, pki.FileDeviceCert)
		}
	}
}

// IsNew reports a workspace with no finished step (a new or empty one).
func (s *Session) IsNew() bool { return len(s.Finished) == 0 }

// Save writes the session atomically to <workspace>/jitpwiz.json (0600), creating the
// workspace (0700) if needed.
func (s *Session) Save() error {
	if err := pki.EnsureWorkspace(s.dir); err != nil {
		return err
	}
	s.Version = sessionVersion
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err // not reached: every field of a Session marshals
	}
	b = append(b, '\n')
	return pki.WriteFile(filepath.Join(s.dir, SessionFile), b, pki.KeyMode, true)
}

// relName shows path relative to the workspace when it is inside it.
func (s *Session) relName(p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	if r, err := filepath.Rel(s.dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// Where is what the session is connected to, as the wizard's header shows it.
type Where struct {
	Target  string // local or aws
	Account string
	Region  string
	Profile string // --profile, else AWS_PROFILE ("" for the default chain)
	// EndpointURL is the control plane commands name with --endpoint-url ("" for AWS itself):
	// --endpoint-url, or the local IoT Core's.
	EndpointURL string
	MQTT        string // host:port devices connect to
	// SharedPID is the `jitpwiz local` process serving the workspace (0: none, or in-process).
	SharedPID int
	// Moved are the local IoT Core's default ports that were busy, and the ports used instead.
	Moved []PortMove
}

// PortMove is a default port that was busy and the free one used instead.
type PortMove struct {
	What          string // "API" (control plane) or "MQTT" (broker)
	Default, Used int
}

// Where reports what Connect reached (zero values before it).
func (s *Session) Where() Where {
	w := Where{Target: s.Options.Target, Account: s.Account, Region: s.Region, Profile: s.Options.Profile,
		EndpointURL: cmp.Or(s.Options.EndpointURL, s.localURL), SharedPID: s.sharedLocalPID, Moved: s.movedPorts}
	if w.Profile == "" && w.Target == TargetAWS {
		w.Profile = os.Getenv("AWS_PROFILE") // the SDK's profile when --profile is not given
	}
	if s.Endpoint.Host != "" {
		w.MQTT = net.JoinHostPort(s.Endpoint.Host, strconv.Itoa(s.Endpoint.Port))
	}
	return w
}

// movedPorts compares the ports an in-process local IoT Core listens on with its defaults:
// a default port that another program holds makes it take a free one.
func movedPorts(api string, mqttPort int) []PortMove {
	var out []PortMove
	if u, err := url.Parse(api); err == nil {
		if used, def := atoi(u.Port()), defaultPort(local.DefaultAPIAddr); used != 0 && used != def {
			out = append(out, PortMove{What: "API", Default: def, Used: used})
		}
	}
	if def := defaultPort(local.DefaultMQTTAddr); mqttPort != 0 && mqttPort != def {
		out = append(out, PortMove{What: "MQTT", Default: def, Used: mqttPort})
	}
	return out
}

func defaultPort(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	return atoi(p)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
