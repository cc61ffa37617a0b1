package steps

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/spf13/pflag"
)

func openT(t *testing.T, o Options) *Session {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func runStep(t *testing.T, s *Session, id ID) {
	t.Helper()
	runStepReporting(t, s, id, nil)
}

// runStepReporting runs step id of the workspace's plan, its progress going to report.
func runStepReporting(t *testing.T, s *Session, id ID, report func(Event)) {
	t.Helper()
	st := NewPlan(s).Lookup(id)
	st.base().onEvent = report
	if err := st.Run(context.Background()); err != nil {
		t.Fatalf("step %s: %v", id, err)
	}
}

// status is step id's state in the workspace.
func status(s *Session, id ID) StepStatus { return NewPlan(s).Status(id) }

func TestOpenBadInputWritesNothing(t *testing.T) {
	t.Parallel()
	badTemplate := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(badTemplate, []byte(`{"templateBody": "{ not json"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(t.TempDir(), "t.txt")
	if err := os.WriteFile(notJSON, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    Options
		want string // the flag the error must name
	}{
		{"country lower case", Options{Country: "in"}, "--country"},
		{"country unknown", Options{Country: "XX"}, "--country"},
		{"country long", Options{Country: "IND"}, "--country"},
		{"thing with space", Options{Thing: "my thing"}, "--thing"},
		{"thing with slash", Options{Thing: "a/b"}, "--thing"},
		{"region", Options{Region: "useast2"}, "--region"},
		{"region upper", Options{Region: "US-EAST-2"}, "--region"},
		{"target", Options{Target: "gcp"}, "--target"},
		{"key", Options{KeyType: "dsa1024"}, "--key"},
		{"ca country", Options{CACountry: "UK"}, "--ca-country"},
		{"endpoint", Options{EndpointURL: "localhost:4566"}, "--endpoint-url"},
		{"template missing file", Options{Template: "/nonexistent/template.json"}, "--template"},
		{"template not json", Options{Template: notJSON}, "--template"},
		{"template bad body", Options{Template: badTemplate}, "--template"},
		{"ca cert without key", Options{CACertFile: notJSON}, "--ca-key"},
		{"ca cert is a directory", Options{CACertFile: filepath.Dir(notJSON), CAKeyFile: notJSON}, "--ca-cert " + filepath.Dir(notJSON) + " is a directory"},
		{"device without ca", Options{DeviceCertFile: notJSON, DeviceKeyFile: notJSON}, "--ca-cert"},
		{"policy name without named", Options{PolicyName: "P"}, "--policy-name"},
		{"create policy without named", Options{CreatePolicy: true}, "--create-policy"},
		{"policy name invalid", Options{Template: "named", PolicyName: "bad name"}, "--policy-name"},
		{"profile with local", Options{Profile: "dev"}, "--profile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "ws")
			tc.o.Dir = dir
			_, err := Open(tc.o)
			if err == nil {
				t.Fatalf("Open(%+v) succeeded, want an error naming %s", tc.o, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("workspace %s was created for bad input", dir)
			}
		})
	}
}

func TestOpenDirIsAFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "notadir")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{Dir: file})
	if err == nil || !strings.Contains(err.Error(), "--dir "+file+" exists and is not a directory") {
		t.Fatalf("Open(--dir a file) = %v, want the --dir error saying it is not a directory", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Errorf("the file given as --dir was changed: %q", b)
	}
}

func TestOpenDefaultsAndOverlay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir})
	if s.Options.Target != TargetLocal || s.Options.Thing != DefaultThing || s.Options.Country != DefaultCountry ||
		s.Options.Template != VariantScoped || s.Options.KeyType != "rsa2048" || s.Options.Region != DefaultLocalRegion {
		t.Fatalf("defaults: %+v", s.Options)
	}
	if got := strings.Join(s.Options.Defaulted(), ","); got != "--thing,--country" {
		t.Errorf("Defaulted = %q, want --thing,--country", got)
	}
	s.Options.Thing = "Saved"
	s.Finished = map[string]Finished{"ca-key": {}}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, SessionFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v mode %v", err, fi.Mode())
	}
	// A re-run keeps saved options that are not given, and takes the given ones.
	s2 := openT(t, Options{Dir: dir, Country: "US"})
	if s2.Options.Thing != "Saved" || s2.Options.Country != "US" {
		t.Errorf("overlay: thing %q country %q", s2.Options.Thing, s2.Options.Country)
	}
	if len(s2.Options.Defaulted()) != 0 {
		t.Errorf("an existing workspace has no defaulted required inputs, got %v", s2.Options.Defaulted())
	}
}

func TestSessionFileHasNoKeyMaterial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir, Yes: true})
	for _, id := range []ID{IDCAKey, IDOpenSSLConf, IDCACert} {
		runStep(t, s, id)
	}
	b, err := os.ReadFile(filepath.Join(dir, SessionFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "PRIVATE KEY") || strings.Contains(string(b), "BEGIN") {
		t.Fatalf("session file holds PEM material:\n%s", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("session file is not JSON: %v", err)
	}
	for _, f := range []string{pki.FileCAKey, pki.FileVerifKey} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}

func TestCAStepsResumeAndInvalidate(t *testing.T) {
	t.Parallel()
	openssl := testtool.Need(t, "openssl")
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir, Yes: true})
	for _, id := range []ID{IDCAKey, IDOpenSSLConf, IDCACert} {
		if st := status(s, id); st.State != StatePending {
			t.Fatalf("%s before running: %s", id, st.State)
		}
		runStep(t, s, id)
		if st := status(s, id); st.State != StateDone {
			t.Fatalf("%s after running: %s (%s)", id, st.State, st.Reason)
		}
	}
	// The CA certificate is a real CA for openssl.
	out, err := exec.Command(openssl, "verify", "-CAfile", filepath.Join(dir, pki.FileCACert), filepath.Join(dir, pki.FileCACert)).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	key1, _ := os.ReadFile(filepath.Join(dir, pki.FileCAKey))
	caID := s.CA.CertID

	// Reopen: everything is done.
	s2 := openT(t, Options{Dir: dir})
	for _, id := range []ID{IDCAKey, IDOpenSSLConf, IDCACert} {
		if st := status(s2, id); st.State != StateDone {
			t.Fatalf("after reopen %s: %s (%s)", id, st.State, st.Reason)
		}
	}
	// A new CA country redoes the conf and the CA cert, not the key, and says why.
	s3 := openT(t, Options{Dir: dir, CACountry: "US"})
	if st := status(s3, IDCAKey); st.State != StateDone {
		t.Errorf("ca-key after a CA country change: %s", st.State)
	}
	st := status(s3, IDOpenSSLConf)
	if st.State != StateRedo || !strings.Contains(st.Reason, "CA country changed: IN → US") {
		t.Errorf("openssl-conf: %s %q", st.State, st.Reason)
	}
	if st := status(s3, IDCACert); st.State != StateRedo {
		t.Errorf("ca-cert: %s", st.State)
	}
	if st := status(s3, IDVerifCert); st.State != StatePending {
		t.Errorf("verification cert: %s", st.State)
	}
	runStep(t, s3, IDOpenSSLConf)
	runStep(t, s3, IDCACert)
	if s3.CA.CertID == caID || !strings.Contains(s3.CA.Subject, "C=US") {
		t.Errorf("CA not remade: %s %s", s3.CA.CertID, s3.CA.Subject)
	}
	key2, _ := os.ReadFile(filepath.Join(dir, pki.FileCAKey))
	if string(key1) != string(key2) {
		t.Fatal("the CA key was regenerated by a subject change")
	}

	// Another key type never replaces an existing key: --key applies to new keys.
	s4 := openT(t, Options{Dir: dir, KeyType: "ec256"})
	if st := status(s4, IDCAKey); st.State != StateDone {
		t.Fatalf("ca-key with another --key: %s %q", st.State, st.Reason)
	}
	var notes []string
	runStepReporting(t, s4, IDCAKey, func(e Event) { notes = append(notes, e.Message) })
	key3, _ := os.ReadFile(filepath.Join(dir, pki.FileCAKey))
	if string(key1) != string(key3) {
		t.Fatal("the CA key changed without --force-new-keys")
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "kept the existing CA private key") || !strings.Contains(notes[0], "--force-new-keys") {
		t.Errorf("no note about the kept key: %q", notes)
	}
	// With --force-new-keys it is replaced, and the CA cert depends on the new key.
	s5 := openT(t, Options{Dir: dir, KeyType: "ec256", ForceNewKeys: true})
	if st := status(s5, IDCAKey); st.State != StateRedo || !strings.Contains(st.Reason, "--force-new-keys") {
		t.Fatalf("ca-key with --force-new-keys: %s %q", st.State, st.Reason)
	}
	runStep(t, s5, IDCAKey)
	if st := status(s5, IDCAKey); st.State != StateDone {
		t.Errorf("ca-key after replacing: %s %q", st.State, st.Reason)
	}
	if st := status(s5, IDCACert); st.State != StateRedo || !strings.Contains(st.Reason, "CA key changed") {
		t.Errorf("ca-cert after a new key: %s %q", st.State, st.Reason)
	}
	k, err := pki.LoadKeyFile(filepath.Join(dir, pki.FileCAKey))
	if err != nil {
		t.Fatal(err)
	}
	if kt, _ := pki.KeyTypeOf(k); kt != pki.EC256 {
		t.Errorf("new CA key is %s", kt)
	}
	// A key file replaced behind jitpwiz's back is noticed.
	if err := os.WriteFile(filepath.Join(dir, pki.FileCAKey), key1, 0o600); err != nil {
		t.Fatal(err)
	}
	s6 := openT(t, Options{Dir: dir})
	if st := status(s6, IDCAKey); st.State != StateRedo || !strings.Contains(st.Reason, "CA key file changed") {
		t.Errorf("replaced key file: %s %q", st.State, st.Reason)
	}
}

func TestDeviceCertLayoutAndCountryChange(t *testing.T) {
	t.Parallel()
	openssl := testtool.Need(t, "openssl")
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir, Yes: true})
	for _, id := range []ID{IDCAKey, IDOpenSSLConf, IDCACert, IDDeviceCert} {
		runStep(t, s, id)
	}
	d := s.Device()
	if d.CertFile != pki.FileDeviceCert || s.PrimaryThing != DefaultThing {
		t.Fatalf("first device files: %+v", d)
	}
	for _, f := range []string{pki.FileDeviceKey, pki.FileDeviceCSR, pki.FileDeviceCert, pki.FileDeviceBundle} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	out, err := exec.Command(openssl, "verify", "-CAfile", filepath.Join(dir, pki.FileCACert), filepath.Join(dir, pki.FileDeviceCert)).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	key1, _ := os.ReadFile(filepath.Join(dir, pki.FileDeviceKey))

	// New country: only the device cert runs again, with the same key.
	s2 := openT(t, Options{Dir: dir, Country: "US"})
	for _, id := range []ID{IDCAKey, IDOpenSSLConf, IDCACert} {
		if st := status(s2, id); st.State != StateDone {
			t.Errorf("%s after a device country change: %s", id, st.State)
		}
	}
	st := status(s2, IDDeviceCert)
	if st.State != StateRedo || st.Reason != "country changed: IN → US" {
		t.Fatalf("device-cert: %s %q", st.State, st.Reason)
	}
	runStep(t, s2, IDDeviceCert)
	key2, _ := os.ReadFile(filepath.Join(dir, pki.FileDeviceKey))
	if string(key1) != string(key2) {
		t.Fatal("device key regenerated by a country change")
	}
	if !strings.Contains(s2.Device().Subject, "/C=US/") {
		t.Errorf("subject %q", s2.Device().Subject)
	}

	// A second thing gets its own files under devices/<thing>/; the first one's stay.
	s3 := openT(t, Options{Dir: dir, Thing: "Second"})
	if st := status(s3, IDDeviceCert); st.State != StatePending {
		t.Fatalf("second thing device-cert: %s", st.State)
	}
	runStep(t, s3, IDDeviceCert)
	d2 := s3.Device()
	if d2.CertFile != filepath.Join("devices", "Second", pki.FileDeviceCert) {
		t.Fatalf("second device file %s", d2.CertFile)
	}
	key3, _ := os.ReadFile(filepath.Join(dir, pki.FileDeviceKey))
	if string(key3) != string(key1) {
		t.Fatal("the first device's key was touched by a second device")
	}
	fi, err := os.Stat(filepath.Join(dir, "devices", "Second"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("devices/Second: %v %v", err, fi)
	}
	if got := s3.Things(); len(got) != 2 || got[0] != DefaultThing {
		t.Errorf("Things() = %v", got)
	}
}

func TestParseIDAndPlanOrder(t *testing.T) {
	t.Parallel()
	want := []ID{IDCAKey, IDOpenSSLConf, IDCACert, IDRegCode, IDVerifCert, IDRole, IDTemplate, IDRegisterCA, IDDeviceCert, IDServerTrust, IDFirstConnect, IDVerify, IDUse}
	p := NewPlan(&Session{}).Steps()
	if len(p) != len(want) {
		t.Fatalf("plan has %d steps", len(p))
	}
	for i, st := range p {
		if st.ID() != want[i] {
			t.Errorf("step %d = %s, want %s", i+1, st.ID(), want[i])
		}
		if n := strings.Count(strings.TrimSpace(st.Explain()), "\n") + 1; n < 2 || n > 4 {
			t.Errorf("%s: explanation has %d lines, want 2–4", st.ID(), n)
		}
		if id, err := ParseID(string(want[i])); err != nil || id != want[i] {
			t.Errorf("ParseID(%s) = %s, %v", want[i], id, err)
		}
	}
	if id, err := ParseID("9"); err != nil || id != IDDeviceCert {
		t.Errorf("ParseID(9) = %s, %v", id, err)
	}
	if _, err := ParseID("14"); err == nil {
		t.Error("ParseID(14) succeeded")
	}
}

func TestRunRequiredInputs(t *testing.T) {
	t.Parallel()
	// No terminal, no --yes: the error names the flags and the defaults; nothing is written.
	dir := filepath.Join(t.TempDir(), "ws")
	s := openT(t, Options{Dir: dir})
	err := NewPlan(s).Run(context.Background(), RunConfig{})
	if err == nil || !strings.Contains(err.Error(), "--thing") || !strings.Contains(err.Error(), "--country") || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("want an error naming --thing, --country and --yes, got %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("the workspace was created")
	}
	// Given explicitly, nothing is missing.
	s = openT(t, Options{Dir: dir, Thing: "T1", Country: "DE"})
	if m := s.Options.Defaulted(); len(m) != 0 {
		t.Fatalf("defaulted %v", m)
	}
	// With a terminal, the runner asks; a bad answer is explained and asked again.
	s = openT(t, Options{Dir: dir})
	answers := map[string][]string{"thing": {"bad name", "Asked-1"}, "country": {""}}
	var asked []string
	r := &runner{p: NewPlan(s), s: s, cfg: RunConfig{Out: &strings.Builder{}, Prompt: func(f Field, cur string) (string, error) {
		asked = append(asked, f.Flag+"="+cur)
		a := answers[f.Flag][0]
		answers[f.Flag] = answers[f.Flag][1:]
		return a, nil
	}}}
	if err := r.askRequired(); err != nil {
		t.Fatal(err)
	}
	if s.Options.Thing != "Asked-1" || s.Options.Country != DefaultCountry {
		t.Errorf("after prompting: thing %q country %q", s.Options.Thing, s.Options.Country)
	}
	if strings.Join(asked, ",") != "thing=DemoThing,thing=DemoThing,country=IN" {
		t.Errorf("asked %v", asked)
	}
}

func TestConfigFile(t *testing.T) {
	t.Parallel()
	cfgDir := t.TempDir()
	cfg := filepath.Join(cfgDir, "jitp.yaml")
	if err := os.WriteFile(filepath.Join(cfgDir, "tmpl.json"), []byte(`{"Resources":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	yml := "thing: FromConfig\ncountry: DE\ntemplate: tmpl.json\nca-org: Cfg Org\nyes: true\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := Options{ConfigFile: cfg, Country: "FR", Dir: DefaultDir}.WithConfig()
	if err != nil {
		t.Fatal(err)
	}
	if o.Thing != "FromConfig" || o.Country != "FR" || o.CAOrg != "Cfg Org" || !o.Yes {
		t.Errorf("config overlay: %+v", o)
	}
	if o.Template != filepath.Join(cfgDir, "tmpl.json") {
		t.Errorf("template path %q is not relative to the config file", o.Template)
	}
	if err := os.WriteFile(cfg, []byte("thingg: X\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (Options{ConfigFile: cfg}).WithConfig(); err == nil || !strings.Contains(err.Error(), "thingg") {
		t.Errorf("unknown key: %v", err)
	} else if msg := err.Error(); !strings.Contains(msg, `line 1: unknown key "thingg"`) || strings.Contains(msg, "steps.Options") ||
		!strings.Contains(msg, "thing, country") || !strings.Contains(msg, "policy-name") {
		// The user wrote a YAML file, not Go: no Go type names; the keys that exist are listed.
		t.Errorf("unknown key message: %s", msg)
	}
	if _, err := (Options{ConfigFile: filepath.Join(cfgDir, "none.yaml")}).WithConfig(); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("missing file: %v", err)
	}
}

// Looking at the device step (as the TUI does before the user types the thing name) must not
// fix the layout: the thing that first gets a certificate uses the walkthrough's names.
func TestPrimaryThingIsTheFirstCertified(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir, Yes: true})
	p := NewPlan(s)
	st := p.Lookup(IDDeviceCert)
	_ = st.Inputs()
	_ = st.Commands()
	_ = p.Statuses()
	for _, f := range st.Inputs() {
		if f.Flag == "thing" {
			if err := f.Set("Mine"); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range []ID{IDCAKey, IDOpenSSLConf, IDCACert, IDDeviceCert} {
		runStep(t, s, id)
	}
	if s.PrimaryThing != "Mine" || s.Device().CertFile != pki.FileDeviceCert || len(s.Devices) != 1 {
		t.Fatalf("primary %q, device %+v, devices %d", s.PrimaryThing, s.Device(), len(s.Devices))
	}
	if _, err := os.Stat(filepath.Join(dir, pki.FileDeviceCert)); err != nil {
		t.Fatal(err)
	}
}

func TestUnsetOption(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir, Yes: true, Org: "Acme", EndpointURL: "http://127.0.0.1:4599"})
	s.Finished = map[string]Finished{"x": {}}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, Options{Dir: dir, Org: Unset, EndpointURL: Unset})
	if s.Options.Org != "" || s.Options.EndpointURL != "" {
		t.Errorf("not cleared: org %q endpoint %q", s.Options.Org, s.Options.EndpointURL)
	}
	if s.Options.Thing != DefaultThing {
		t.Errorf("thing %q", s.Options.Thing)
	}
}

// BenchmarkStatuses measures the plan check the runner and the TUI's sidebar make (it hashes
// the key files and compares every step's inputs).
func BenchmarkStatuses(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(Options{Dir: dir, Yes: true, KeyType: "ec256"})
	if err != nil {
		b.Fatal(err)
	}
	p := NewPlan(s)
	for _, id := range []ID{IDCAKey, IDOpenSSLConf, IDCACert, IDDeviceCert} {
		if err := p.Lookup(id).Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = p.Statuses()
	}
}

// TestFlagsRefuseEmptyValues: `--thing "$THING"` with THING unset must not quietly run with
// the default thing (or ./jitp for --dir); the error names the flag. Help text is unchanged.
func TestFlagsRefuseEmptyValues(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"--dir", "--thing", "--country", "--region", "--template", "--ca-cert", "--endpoint-url"} {
		var o Options
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o.BindFlags(fs)
		err := fs.Parse([]string{flag, " "})
		if err == nil || !strings.Contains(err.Error(), `"`+flag+`"`) || !strings.Contains(err.Error(), "empty") {
			t.Errorf("%s with an empty value: %v", flag, err)
		}
	}
	var o Options
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse([]string{"--thing", "Dev-1", "--country", "DE"}); err != nil || o.Thing != "Dev-1" || o.Country != "DE" || o.Dir != DefaultDir {
		t.Errorf("parse: %v, %+v", err, o)
	}
	usage := fs.FlagUsages()
	for _, want := range []string{"--dir DIR ", `(default "` + DefaultDir + `")`, "--thing NAME ", "--key TYPE "} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage lacks %q:\n%s", want, usage)
		}
	}
}

// TestCreatePolicyOnlyWithNamed: --create-policy with another template is refused like
// --policy-name; switching the template field away from named drops both, so the switch
// itself is not refused.
func TestCreatePolicyOnlyWithNamed(t *testing.T) {
	t.Parallel()
	if _, err := Open(Options{Dir: filepath.Join(t.TempDir(), "ws"), Template: VariantAdmin, CreatePolicy: true}); err == nil ||
		!strings.Contains(err.Error(), "--create-policy") {
		t.Fatalf("--create-policy with --template admin: %v", err)
	}
	s, err := Open(Options{Dir: filepath.Join(t.TempDir(), "ws"), Template: VariantNamed, CreatePolicy: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range NewPlan(s).Lookup(IDTemplate).Inputs() {
		if f.Flag == "template" {
			if err := f.Set(VariantScoped); err != nil {
				t.Fatalf("switching named → scoped: %v", err)
			}
		}
	}
	if s.Options.Template != VariantScoped || s.Options.CreatePolicy || s.Options.PolicyName != "" {
		t.Errorf("after the switch: template %q, create-policy %v, policy name %q", s.Options.Template, s.Options.CreatePolicy, s.Options.PolicyName)
	}
}

// The local target's default region must not follow a workspace to --target aws, where the
// region comes from --region, AWS_REGION or the profile; an explicit --region is kept.
func TestLocalRegionNotCarriedToAWS(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, Options{Dir: dir})
	if s.Options.Region != DefaultLocalRegion {
		t.Fatalf("local default region = %q", s.Options.Region)
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, Options{Dir: dir, Target: TargetAWS})
	if s.Options.Region != "" || len(s.notices) != 1 || !strings.Contains(s.notices[0], "the region "+DefaultLocalRegion+" of the local target is not carried over") {
		t.Fatalf("region %q, notices %q", s.Options.Region, s.notices)
	}
	s = openT(t, Options{Dir: dir, Target: TargetAWS, Region: "eu-west-1"})
	if s.Options.Region != "eu-west-1" || len(s.notices) != 0 {
		t.Fatalf("explicit --region: %q, notices %q", s.Options.Region, s.notices)
	}
}
