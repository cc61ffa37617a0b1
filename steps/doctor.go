package steps

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/spf13/pflag"
)

// doctor checks a JITP setup against the known failure modes and says, per check, what it
// found (✓, ✗ or –), and for each failure the cause in plain words and a fix as commands
// that run as they stand, the likeliest culprit first (docs/doctor.md). It checks a
// workspace (--dir, as a run left it), or — for a support engineer — a customer's files
// alone: the CA certificate (never its key), the device certificate and key, the template,
// against what the target (AWS, or a `jitpwiz local`) says about them. It only reads,
// except that --connect connects as the device (a first connect runs JITP).

// DoctorOptions are the inputs of `jitpwiz doctor` (flags: BindFlags).
type DoctorOptions struct {
	// Dir is the workspace to check (when no --ca-cert is given; "" is DefaultDir).
	Dir string
	// The files alone (no workspace): --ca-cert is required, the others optional.
	CACertFile           string
	DeviceCertFile       string
	DeviceKeyFile        string
	TemplateFile         string
	VerificationCertFile string
	ServerCAFile         string
	Thing                string
	ClientID             string
	Topic                string
	// MQTTEndpoint is the host[:port] the device connects to (default: DescribeEndpoint's).
	MQTTEndpoint string
	Target       string
	EndpointURL  string
	Region       string
	Profile      string
	// Connect connects as the device (always in a workspace).
	Connect bool
	JSON    bool
	// Bundle is a .tar.gz support bundle to write besides the report.
	Bundle string
	// Version is jitpwiz's version and commit, for the report and the bundle.
	Version string
}

// DefaultLocalEndpointURL is where `jitpwiz local` serves its control plane by default.
const DefaultLocalEndpointURL = "http://" + local.DefaultAPIAddr

// BindFlags defines doctor's flags on fs, bound to o.
func (o *DoctorOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Dir, "dir", "", "workspace `DIR` to check (default "+DefaultDir+"; not with --ca-cert)")
	fs.StringVar(&o.CACertFile, "ca-cert", "", "check a customer's files without a workspace: their CA certificate `FILE` (no key needed)")
	fs.StringVar(&o.DeviceCertFile, "device-cert", "", "the device certificate `FILE` (alone, or followed by its CA as the device sends it)")
	fs.StringVar(&o.DeviceKeyFile, "device-key", "", "the device's private key `FILE` (only to check it matches and to --connect)")
	fs.StringVar(&o.TemplateFile, "template", "", "the registration config or template `FILE` meant to run (jitp_template.json)")
	fs.StringVar(&o.VerificationCertFile, "verification-cert", "", "the verification certificate `FILE` of the CA's registration")
	fs.StringVar(&o.ServerCAFile, "server-ca", "", "the CA `FILE` the device verifies the broker with (mosquitto_pub --cafile)")
	fs.StringVar(&o.Thing, "thing", "", "the thing `NAME` the device is (default: what the template makes of the certificate)")
	fs.StringVar(&o.ClientID, "client-id", "", "the MQTT client `ID` the device uses (default: the thing name)")
	fs.StringVar(&o.Topic, "topic", "", "a `TOPIC` the device publishes and subscribes to")
	fs.StringVar(&o.MQTTEndpoint, "mqtt-endpoint", "", "the `HOST[:PORT]` the device connects to (default: DescribeEndpoint iot:Data-ATS)")
	fs.StringVar(&o.Target, "target", "", "`TARGET`: local (a running `jitpwiz local`, default) or aws")
	fs.StringVar(&o.EndpointURL, "endpoint-url", "", "control-plane `URL` (default for local: "+DefaultLocalEndpointURL+")")
	fs.StringVar(&o.Region, "region", "", "AWS `REGION` the CA is registered in")
	fs.StringVar(&o.Profile, "profile", "", "AWS shared-config `PROFILE` (target aws)")
	fs.BoolVar(&o.Connect, "connect", false, "also connect as the device (a certificate's first connect runs JITP)")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON (docs/doctor.md)")
	fs.StringVar(&o.Bundle, "bundle", "", "also write a support bundle `FILE.tar.gz` (no private keys)")
}

// filesOnly are the flags that check files without a workspace.
func (o *DoctorOptions) filesOnly() []string {
	var out []string
	for flag, v := range map[string]string{"--device-cert": o.DeviceCertFile, "--device-key": o.DeviceKeyFile, "--template": o.TemplateFile,
		"--verification-cert": o.VerificationCertFile, "--server-ca": o.ServerCAFile, "--mqtt-endpoint": o.MQTTEndpoint, "--target": o.Target,
		"--endpoint-url": o.EndpointURL, "--region": o.Region, "--profile": o.Profile} {
		if v != "" {
			out = append(out, flag)
		}
	}
	return out
}

// RunDoctor runs doctor as `jitpwiz doctor` does and writes its report to w (text, or JSON
// with o.JSON), and the support bundle o.Bundle. The error is nil when nothing failed, a
// *DoctorError with the exit code otherwise, or an error about the options (nothing was
// checked).
func RunDoctor(ctx context.Context, o DoctorOptions, w io.Writer) error {
	s, in, mode, err := openDoctor(o)
	if err != nil {
		return err
	}
	defer s.Close()
	if mode == "files" && s.Options.Target == TargetLocal {
		// The region is the one the local IoT Core serves (a --region given is compared
		// with it); Connect reports an IoT Core that does not answer.
		if _, _, _, region, err := localInfo(ctx, s, s.Options.EndpointURL); err == nil {
			s.Options.Region = region
		}
	}
	connErr := s.Connect(ctx)
	d := newDoctorRun(s, in)
	rep := d.run(ctx, connErr, mode)
	rep.Version = o.Version
	if o.Bundle != "" {
		if err := writeBundle(ctx, o.Bundle, s, d, rep); err != nil {
			return err
		}
	}
	if o.JSON {
		if err := rep.WriteJSON(w); err != nil {
			return err
		}
	} else {
		rep.WriteText(w)
		if o.Bundle != "" {
			fmt.Fprintln(w, i18n.T("doctor.bundle-written", i18n.Args{"File": o.Bundle}))
		}
	}
	return rep.Err()
}

// openDoctor makes the session doctor works on: the workspace, or one of the files alone.
func openDoctor(o DoctorOptions) (*Session, doctorInput, string, error) {
	if o.CACertFile == "" {
		if f := o.filesOnly(); len(f) > 0 {
			return nil, doctorInput{}, "", i18n.NewError("doctor.opt.files-need-ca", i18n.Args{"Flags": strings.Join(sortedStrings(f), ", ")})
		}
		if o.Connect {
			return nil, doctorInput{}, "", i18n.NewError("doctor.opt.connect-workspace")
		}
		s, err := OpenExisting(Options{Dir: cmp.Or(o.Dir, DefaultDir), Thing: o.Thing})
		if err != nil {
			if o.Dir == "" {
				err = i18n.WrapError(err, "doctor.opt.or-files")
			}
			return nil, doctorInput{}, "", err
		}
		s.ReadOnly() // doctor runs alongside a run or the wizard (lock.go)
		return s, workspaceInput(s, o), "workspace", nil
	}
	if o.Dir != "" {
		return nil, doctorInput{}, "", i18n.NewError("doctor.opt.dir-and-ca")
	}
	s, in, err := filesSession(o)
	return s, in, "files", err
}

func sortedStrings(v []string) []string {
	out := append([]string(nil), v...)
	sort.Strings(out)
	return out
}

// workspaceInput is what doctor checks of a workspace: its CA, the current thing's files,
// jitp_template.json, awsRootCA.pem, and a connection as the thing.
func workspaceInput(s *Session, o DoctorOptions) doctorInput {
	d := s.Device()
	in := doctorInput{workspace: true, caFile: s.Path(cmp.Or(s.CA.CertFile, pki.FileCACert)),
		devFile: s.Path(d.CertFile), devKeyFile: s.Path(d.KeyFile), serverCAFile: s.Path(pki.FileServerRootCA),
		thing: s.Options.Thing, clientID: o.ClientID, topic: cmp.Or(o.Topic, s.Options.Thing+"/test"), connect: true, caKey: caKeyName(s), caID: s.CA.RegisteredID,
		jitr: s.Options.jitr(), sniOnly: s.Options.sniOnly(), alpn443: s.Options.alpn443()}
	if !in.jitr {
		in.templateFile = s.Path(FileTemplate)
	}
	if pki.FileExists(s.Path(pki.FileVerifCert)) && !in.sniOnly {
		in.verifFile = s.Path(pki.FileVerifCert)
	}
	return in
}

// filesSession is a session of the given files alone: nothing is read from or written to a
// workspace; the target is a running `jitpwiz local` (its endpoint URL) or AWS.
func filesSession(o DoctorOptions) (*Session, doctorInput, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, doctorInput{}, err
	}
	opts := Options{Target: cmp.Or(o.Target, TargetLocal), Profile: o.Profile, Region: o.Region, EndpointURL: o.EndpointURL,
		Mode: ModeJITP, CAMode: CAModeDefault, Port: Port8883}
	if err := opts.validateTarget(); err != nil {
		return nil, doctorInput{}, err
	}
	if opts.Target == TargetLocal {
		opts.EndpointURL = cmp.Or(opts.EndpointURL, DefaultLocalEndpointURL)
		opts.Region = "" // the region the local IoT Core serves; --region is compared with it
	}
	abs := func(flag, p string) (string, error) {
		if p == "" {
			return "", nil
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return "", i18n.WrapError(err, "doctor.opt.path", i18n.Args{"Flag": flag, "Path": p})
		}
		if fi, err := os.Stat(a); err != nil {
			return "", i18n.NewError("doctor.opt.no-file", i18n.Args{"Flag": flag, "Path": p})
		} else if fi.IsDir() {
			return "", i18n.NewError("doctor.opt.is-dir", i18n.Args{"Flag": flag, "Path": p})
		}
		return a, nil
	}
	in := doctorInput{thing: o.Thing, clientID: o.ClientID, topic: o.Topic, connect: o.Connect}
	for _, f := range []struct {
		flag string
		v    string
		dst  *string
	}{{"--ca-cert", o.CACertFile, &in.caFile}, {"--device-cert", o.DeviceCertFile, &in.devFile}, {"--device-key", o.DeviceKeyFile, &in.devKeyFile},
		{"--template", o.TemplateFile, &in.templateFile}, {"--verification-cert", o.VerificationCertFile, &in.verifFile}, {"--server-ca", o.ServerCAFile, &in.serverCAFile}} {
		if *f.dst, err = abs(f.flag, f.v); err != nil {
			return nil, doctorInput{}, err
		}
	}
	if in.devKeyFile != "" && in.devFile == "" {
		return nil, doctorInput{}, i18n.NewError("doctor.opt.key-needs-cert")
	}
	if o.Connect && (in.devFile == "" || in.devKeyFile == "") {
		return nil, doctorInput{}, i18n.NewError("doctor.opt.connect-needs")
	}
	if o.Thing != "" {
		if err := pki.ValidateThingName(o.Thing); err != nil {
			return nil, doctorInput{}, fmt.Errorf("--thing: %w", err)
		}
	}
	if o.MQTTEndpoint != "" {
		host, port, err := doctorEndpoint(o.MQTTEndpoint)
		if err != nil {
			return nil, doctorInput{}, err
		}
		in.mqttHost, in.mqttPort, in.mqttGiven = host, port, true
		in.alpn443 = port == 443
	}
	if opts.Target == TargetLocal {
		in.region = o.Region
	}
	s := &Session{Version: sessionVersion, dir: cwd, Options: opts}
	s.ReadOnly() // nothing is locked or written in the current directory
	s.CA.CertFile = in.caFile
	return s, in, nil
}

// doctorEndpoint reads doctor's --mqtt-endpoint HOST[:PORT] (no port: the target's default).
func doctorEndpoint(v string) (string, int, error) {
	if _, _, err := net.SplitHostPort(v); err != nil && strings.Contains(err.Error(), "missing port") {
		return strings.Trim(v, "[]"), 0, nil
	}
	ep, err := parseHostPort(v)
	if err != nil {
		return "", 0, i18n.NewError("doctor.opt.mqtt-endpoint", i18n.Args{"Value": strconv.Quote(v)})
	}
	return ep.Host, ep.Port, nil
}

func newDoctorRun(s *Session, in doctorInput) *doctorRun { return &doctorRun{s: s, in: in} }

// run makes every check and returns the report; connErr is Connect's.
func (d *doctorRun) run(ctx context.Context, connErr error, mode string) *DoctorReport {
	s := d.s
	t := DoctorTarget{Name: s.Options.Target, EndpointURL: apiURL(s)}
	if connErr != nil {
		t.Error = connErr.Error()
		fix := []string{awsCmd(s, "sts", "get-caller-identity")}
		why := i18n.T("doctor.target.why")
		if s.Options.Target == TargetLocal && !d.in.workspace {
			why = i18n.T("doctor.target.why-local", i18n.Args{"URL": s.Options.EndpointURL})
			fix = []string{"jitpwiz local"}
		}
		d.fail("target", i18n.T("doctor.target.label"), connErr.Error(), CauseUnreachable, why, fix...)
	} else {
		d.c = &recordingClient{Client: s.client}
		t.Reachable, t.Region, t.Account = true, s.Region, s.Account
		if s.Endpoint.Host != "" {
			t.MQTTEndpoint = net.JoinHostPort(s.Endpoint.Host, strconv.Itoa(s.Endpoint.Port))
		}
		d.pass("target", i18n.T("doctor.target.label"), i18n.T("doctor.target.evidence", i18n.Args{"Target": s.Options.Target, "Where": cmp.Or(apiURL(s), "AWS"),
			"Account": s.Account, "Region": s.Region}))
		if !d.in.workspace && d.wantRegion() != "" && d.wantRegion() != s.Region {
			d.fail("region", i18n.T("doctor.region.label", i18n.Args{"Region": d.wantRegion()}),
				i18n.T("doctor.region.evidence", i18n.Args{"Served": s.Region, "Region": d.wantRegion()}), CauseRegionEndpoint,
				i18n.T("doctor.region.why", i18n.Args{"Served": s.Region, "Region": d.wantRegion()}),
				awsCmd(s, "iot", "describe-endpoint", "--endpoint-type", "iot:Data-ATS"))
		}
	}
	if d.in.workspace {
		if !d.checkWorkspaceDevice() {
			d.in.devFile, d.in.devKeyFile = "", ""
		}
		d.checkCAKey()
	}
	d.checkCAFile()
	d.checkDeviceFiles()
	if d.in.workspace && d.in.jitr {
		d.skip("template-file", i18n.T("doctor.template.label"), i18n.T("doctor.template.jitr"))
	}
	d.checkTemplateFile()
	if d.c != nil {
		d.loadEvents(ctx)
		d.checkVerification(ctx)
		d.checkCARegistration(ctx)
	}
	d.checkServerCA()
	d.checkEndpoint()
	if d.c != nil {
		d.checkTemplates()
		d.checkRole(ctx)
		d.checkTemplateResources(ctx)
		d.checkDeviceRegistration(ctx)
		d.checkThings(ctx)
		d.checkAttachedPolicies(ctx)
		d.checkClientAndTopic(ctx)
		if d.in.connect {
			d.checkConnect(ctx)
		}
	} else {
		d.checkTemplates()
	}
	if d.lost {
		t.Reachable = false
	}
	in := DoctorInputs{CACert: d.in.caFile, DeviceCert: d.in.devFile, DeviceKey: d.in.devKeyFile, Template: d.in.templateFile,
		VerificationCert: d.in.verifFile, ServerCA: d.in.serverCAFile, Thing: d.thingOr(d.in.thing), ClientID: d.in.clientID,
		Topic: d.in.topic, Connect: d.in.connect}
	if d.in.mqttGiven {
		in.MQTTEndpoint = d.in.mqttHost
		if d.in.mqttPort != 0 {
			in.MQTTEndpoint = net.JoinHostPort(d.in.mqttHost, strconv.Itoa(d.in.mqttPort))
		}
	}
	if d.in.workspace {
		in.Workspace = s.dir
	}
	return d.report(mode, t, in)
}

// wantRegion is the --region given with the files alone.
func (d *doctorRun) wantRegion() string { return d.in.region }

// Doctor checks the workspace against the known JITP failure modes (docs/doctor.md) and
// returns the report as result lines: a ✓/✗ line per check with its evidence, cause and
// fix, the likeliest culprit first. It needs Connect for the checks of the target (without
// it, they fail as unreachable).
func (s *Session) Doctor(ctx context.Context) []ResultLine {
	var connErr error
	if s.client == nil {
		connErr = i18n.NewError("doctor.not-connected")
	}
	rep := newDoctorRun(s, workspaceInput(s, DoctorOptions{})).run(ctx, connErr, "workspace")
	return rep.resultLines()
}
