package steps

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"github.com/jitpwiz/jitpwiz/steps/stepstest"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// The wizard's bring-your-own choices (CA, template file, device), driven through the step
// models' Update with keystrokes, as the TUI sends them.

// choiceModel is step id of the workspace's plan, shown in the wizard with real styles and keys.
func choiceModel(t *testing.T, s *Session, id ID) *Base {
	t.Helper()
	st := theme.DefaultStyles(nil)
	p := NewPlan(s)
	p.Attach(&Shared{Ctx: context.Background(), Styles: &st, Keys: theme.DefaultKeyMap()})
	step := p.Lookup(id)
	step.Show()
	return step.base()
}

func press(m *Base, keys ...string) {
	for _, k := range keys {
		m.Update(stepstest.Key(k))
	}
}

// typeText replaces the focused text input's value with v.
func typeText(m *Base, v string) { press(m, "ctrl+u", v) }

func fieldKeys(m *Base) []string {
	var out []string
	for _, f := range m.fields {
		out = append(out, f.field.Flag)
	}
	return out
}

func focusedKey(m *Base) string { return m.fields[m.focus].field.Flag }

// wantInvalid fails unless field key shows an error containing every part.
func wantInvalid(t *testing.T, m *Base, key string, parts ...string) {
	t.Helper()
	msg, ok := m.Invalid()[key]
	if !ok {
		t.Fatalf("field %s shows no error (errors: %v)", key, m.Invalid())
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("field %s error %q lacks %q", key, msg, p)
		}
	}
}

func wantFieldValid(t *testing.T, m *Base, key string) {
	t.Helper()
	if msg, bad := m.Invalid()[key]; bad {
		t.Fatalf("field %s: %s", key, msg)
	}
}

func wantValid(t *testing.T, m *Base) {
	t.Helper()
	if bad := m.Invalid(); len(bad) > 0 {
		t.Fatalf("inputs invalid: %v", bad)
	}
}

// byoFiles makes, outside the workspace, a root CA (deviceRootCA.*) in dir/ca, another CA in
// dir/other, and a device certificate of each (deviceCert.*) in dir/dev and dir/otherdev.
func byoFiles(t *testing.T, subject pki.Subject) (dir string) {
	t.Helper()
	dir = t.TempDir()
	ca, _, err := pki.CreateRootCA(filepath.Join(dir, "ca"), pki.RootCAOptions{Country: "US", Organization: "Customer"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := pki.CreateRootCA(filepath.Join(dir, "other"), pki.RootCAOptions{KeyType: pki.KeyType("ec256")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.IssueDeviceCert(pki.IssueOptions{Dir: filepath.Join(dir, "dev"), CA: ca, KeyType: pki.KeyType("ec256")}, subject); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.IssueDeviceCert(pki.IssueOptions{Dir: filepath.Join(dir, "otherdev"), CA: other, KeyType: pki.KeyType("ec256")}, subject); err != nil {
		t.Fatal(err)
	}
	return dir
}

func hashes(t *testing.T, paths ...string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		out = append(out, fileSHA256(p))
		if out[len(out)-1] == "" {
			t.Fatalf("cannot read %s", p)
		}
	}
	return out
}

func TestChoiceExistingCAChecksPathsAtOnce(t *testing.T) {
	t.Parallel()
	files := byoFiles(t, pki.Subject{Country: "IN", CommonName: "Dev-1"})
	caCert, caKey := filepath.Join(files, "ca", pki.FileCACert), filepath.Join(files, "ca", pki.FileCAKey)
	before := hashes(t, caCert, caKey)
	ws := filepath.Join(t.TempDir(), "ws")
	s := openT(t, Options{Dir: ws, Yes: true})
	m := choiceModel(t, s, IDCAKey)
	if got := fieldKeys(m); !slices.Equal(got, []string{"ca", "key", "mode"}) || m.fields[0].value() != choiceGenerate {
		t.Fatalf("step 1 fields %v (choice %q), want the CA choice on generate new, then the key type, then the onboarding mode", got, m.fields[0].value())
	}

	press(m, "j") // use existing files
	if got := fieldKeys(m); !slices.Equal(got, []string{"ca", "ca-cert", "ca-key", "mode"}) {
		t.Fatalf("after choosing existing files: fields %v", got)
	}
	wantValid(t, m)
	// enter with the paths left empty: refused, inline, and nothing runs
	press(m, "enter")
	if m.State() != StateEditing {
		t.Fatalf("ran with empty paths: phase %s", m.State())
	}
	wantInvalid(t, m, "ca-cert", "CA certificate file", "empty")
	wantInvalid(t, m, "ca-key", "CA private key file", "empty")
	if focusedKey(m) != "ca-cert" {
		t.Fatalf("focus on %s, want the first bad input", focusedKey(m))
	}

	// each path is checked as it is typed
	for _, c := range []struct {
		path  string
		parts []string
	}{
		{filepath.Join(files, "nope.pem"), []string{"CA certificate file", "no such file"}},
		{files, []string{"is a directory"}},
		{filepath.Join(files, "dev", pki.FileDeviceCert), []string{"not a CA certificate", "CA:TRUE"}},
		{filepath.Join(files, "ca", pki.FileCAKey), []string{"CA certificate file"}}, // a key is no certificate
	} {
		typeText(m, c.path)
		wantInvalid(t, m, "ca-cert", c.parts...)
	}
	typeText(m, caCert)
	wantFieldValid(t, m, "ca-cert")
	if s.CA.Supplied || s.Options.CACertFile != "" {
		t.Fatal("a certificate without its key must not be used yet")
	}
	press(m, "tab")
	typeText(m, filepath.Join(files, "other", pki.FileCAKey)) // another CA's key
	wantInvalid(t, m, "ca-key", "CA files", "key")
	if s.CA.Supplied {
		t.Fatal("a key that does not match was accepted")
	}
	press(m, "enter")
	if m.State() != StateEditing || pki.FileExists(filepath.Join(ws, pki.FileCAKey)) {
		t.Fatal("enter with a bad key ran step 1")
	}

	typeText(m, caKey)
	wantValid(t, m)
	if !s.CA.Supplied || s.Options.CACertFile != caCert || s.Options.CAKeyFile != caKey {
		t.Fatalf("CA not used: supplied %v, options %q %q", s.CA.Supplied, s.Options.CACertFile, s.Options.CAKeyFile)
	}
	for _, id := range []ID{IDCAKey, IDOpenSSLConf, IDCACert} {
		if NewPlan(s).Lookup(id).Skip() == "" {
			t.Errorf("step %s does not skip with an existing CA", id)
		}
	}
	ca, err := pki.LoadCAFiles(caCert, caKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.CA.CertID != ca.ID() {
		t.Errorf("session CA %s, want %s", s.CA.CertID, ca.ID())
	}
	// enter on a step that no longer applies runs nothing (the wizard moves on instead)
	press(m, "enter")
	if m.State() != StateEditing || pki.FileExists(filepath.Join(ws, pki.FileCAKey)) {
		t.Fatalf("step 1 ran although it is skipped (phase %s)", m.State())
	}
	if got := hashes(t, caCert, caKey); !slices.Equal(got, before) {
		t.Error("the supplied CA files were rewritten")
	}
	// the choice is the same as the flags: the next process resumes with it
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	s2 := openT(t, Options{Dir: ws})
	if !s2.CA.Supplied || s2.CA.CertID != ca.ID() {
		t.Fatalf("reopened session: supplied %v, CA %s", s2.CA.Supplied, s2.CA.CertID)
	}
}

func TestChoiceExistingCAExpired(t *testing.T) {
	t.Parallel()
	files := byoFiles(t, pki.Subject{Country: "IN", CommonName: "Dev-1"})
	s := openT(t, Options{Dir: filepath.Join(t.TempDir(), "ws"), Yes: true})
	s.now = func() time.Time { return time.Now().AddDate(20, 0, 0) }
	m := choiceModel(t, s, IDCAKey)
	press(m, "j", "tab")
	typeText(m, filepath.Join(files, "ca", pki.FileCACert))
	wantInvalid(t, m, "ca-cert", "CA certificate file", "expired")
	// back to generate new: the paths go away and the step runs as before
	press(m, "up", "k")
	if got := fieldKeys(m); !slices.Equal(got, []string{"ca", "key", "mode"}) || m.self.(*caKeyStep).existing {
		t.Fatalf("after generate new: fields %v", got)
	}
	wantValid(t, m)
}

// customTemplate is a bare template naming the thing dev-<CN>; needO makes it use the
// organization with no default (a lint error for a subject without O).
func customTemplate(t *testing.T, needO bool) string {
	t.Helper()
	param, attr := "AWS::IoT::Certificate::Country", "country"
	if needO {
		param, attr = "AWS::IoT::Certificate::Organization", "org"
	}
	body := `{"Parameters":{"AWS::IoT::Certificate::CommonName":{"Type":"String"},"` + param + `":{"Type":"String"},"AWS::IoT::Certificate::Id":{"Type":"String"}},` +
		`"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Join":["-",["dev",{"Ref":"AWS::IoT::Certificate::CommonName"}]]},` +
		`"AttributePayload":{"` + attr + `":{"Ref":"` + param + `"}}}},` +
		`"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"},"Status":"ACTIVE"}},` +
		`"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*\"}]}"}}}}`
	p := filepath.Join(t.TempDir(), "custom.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChoiceTemplateFile(t *testing.T) {
	t.Parallel()
	s := openT(t, Options{Dir: filepath.Join(t.TempDir(), "ws"), Yes: true})
	s.Role.ARN = "arn:aws:iam::123456789012:role/JITPRole" // step 6's result: the preview needs it
	m := choiceModel(t, s, IDTemplate)
	press(m, "j", "j", "j") // scoped → admin → named → load a file
	if got := fieldKeys(m); len(got) < 2 || got[1] != "template-file" || m.fields[0].value() != choiceFile {
		t.Fatalf("after load a file: fields %v", got)
	}
	if s.Options.Variant() == VariantCustom {
		t.Fatalf("choosing load a file set the template to %q before a file was given", s.Options.Template)
	}
	press(m, "enter")
	if m.State() != StateEditing {
		t.Fatalf("ran without a template file: phase %s", m.State())
	}
	wantInvalid(t, m, "template-file", "Template file", "empty")
	if v := m.View(); !strings.Contains(v, "type the path of your template file") || strings.Contains(v, "templateBody (named)") {
		t.Errorf("before a file is given the preview must not show the last variant:\n%s", v)
	}
	if focusedKey(m) != "template-file" {
		t.Fatalf("focus on %s", focusedKey(m))
	}
	notJSON := filepath.Join(t.TempDir(), "t.txt")
	if err := os.WriteFile(notJSON, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	typeText(m, filepath.Join(t.TempDir(), "missing.json"))
	wantInvalid(t, m, "template-file", "no such file")
	typeText(m, notJSON)
	wantInvalid(t, m, "template-file", "not JSON")
	typeText(m, customTemplate(t, true))
	wantInvalid(t, m, "template-file", "does not work with the planned device subject", "Organization")
	if s.Options.Variant() == VariantCustom {
		t.Fatal("a template with lint errors was stored")
	}
	good := customTemplate(t, false)
	sum := fileSHA256(good)
	typeText(m, good)
	wantValid(t, m)
	if s.Options.Template != good || s.Options.Variant() != VariantCustom {
		t.Fatalf("template = %q", s.Options.Template)
	}
	if fileSHA256(good) != sum {
		t.Error("the template file was rewritten")
	}
	// the preview shows the file's template
	if v := m.View(); !strings.Contains(v, "templateBody (custom)") || !strings.Contains(v, `"dev"`) || strings.Contains(v, DefaultPolicyName) {
		t.Errorf("preview does not show the file's template (or still a named policy):\n%s", v)
	}
	// a new model (resume, or back to this step) offers the file as chosen, with its path
	m2 := choiceModel(t, s, IDTemplate)
	if m2.fields[0].value() != choiceFile || m2.fields[1].value() != good {
		t.Fatalf("rebuilt: choice %q, path %q", m2.fields[0].value(), m2.fields[1].value())
	}
	// back to scoped: the path input goes away and the variant is stored
	press(m, "up", "k", "k", "k")
	if got := fieldKeys(m); slices.Contains(got, "template-file") || s.Options.Template != VariantScoped {
		t.Fatalf("after scoped: fields %v, template %q", got, s.Options.Template)
	}
}

func TestChoiceExistingDevice(t *testing.T) {
	t.Parallel()
	files := byoFiles(t, pki.Subject{Country: "IN", Organization: "Customer", CommonName: "Byo-Device-1"})
	devCert, devKey := filepath.Join(files, "dev", pki.FileDeviceCert), filepath.Join(files, "dev", pki.FileDeviceKey)
	before := hashes(t, devCert, devKey)

	// with a CA generated here, an existing device certificate cannot be checked: refused
	own := openT(t, Options{Dir: filepath.Join(t.TempDir(), "ws"), Yes: true})
	m := choiceModel(t, own, IDDeviceCert)
	if m.fields[0].field.Flag != "device" || m.fields[0].value() != choiceNew {
		t.Fatalf("step 9 starts with %v", fieldKeys(m))
	}
	press(m, "j")
	wantInvalid(t, m, "device", "step 1", "use existing files")
	if m.self.(*deviceCertStep).existing {
		t.Fatal("choice stored although refused")
	}

	s := openT(t, Options{Dir: filepath.Join(t.TempDir(), "ws"), Yes: true,
		CACertFile: filepath.Join(files, "ca", pki.FileCACert), CAKeyFile: filepath.Join(files, "ca", pki.FileCAKey)})
	m = choiceModel(t, s, IDDeviceCert)
	press(m, "j")
	if got := fieldKeys(m); !slices.Equal(got, []string{"device", "device-cert", "device-key"}) {
		t.Fatalf("after use an existing device cert: fields %v", got)
	}
	press(m, "enter")
	if m.State() != StateEditing {
		t.Fatalf("ran without device files: phase %s", m.State())
	}
	wantInvalid(t, m, "device-cert", "Device certificate file", "empty")
	// a device certificate of another CA: refused once its key is there
	typeText(m, filepath.Join(files, "otherdev", pki.FileDeviceCert))
	wantFieldValid(t, m, "device-cert")
	press(m, "tab")
	typeText(m, filepath.Join(files, "otherdev", pki.FileDeviceKey))
	wantInvalid(t, m, "device-key", "was not signed by")
	// the right certificate with another's key
	press(m, "up")
	typeText(m, devCert)
	press(m, "tab")
	typeText(m, filepath.Join(files, "otherdev", pki.FileDeviceKey))
	wantInvalid(t, m, "device-key", "does not belong")
	typeText(m, files)
	wantInvalid(t, m, "device-key", "is a directory")
	if s.Options.DeviceCertFile != "" {
		t.Fatal("bad device files were stored")
	}
	typeText(m, devKey)
	wantValid(t, m)
	if s.Options.DeviceCertFile != devCert || s.Options.DeviceKeyFile != devKey || s.Options.Thing != "Byo-Device-1" {
		t.Fatalf("options: %q %q thing %q", s.Options.DeviceCertFile, s.Options.DeviceKeyFile, s.Options.Thing)
	}
	if d := s.Device(); !d.Supplied || d.CertFile != devCert {
		t.Fatalf("device record %+v", d)
	}
	// step 9 checks it instead of making one, and never rewrites it
	if err := pki.EnsureWorkspace(s.Dir()); err != nil { // earlier steps would have made it
		t.Fatal(err)
	}
	runStep(t, s, IDDeviceCert)
	if got := hashes(t, devCert, devKey); !slices.Equal(got, before) {
		t.Error("the supplied device files were rewritten")
	}
	if pki.FileExists(filepath.Join(s.Dir(), pki.FileDeviceKey)) {
		t.Error("a device key was made although one was supplied")
	}
	// back to issue new (r shows the finished step's inputs again): the subject inputs return
	m = choiceModel(t, s, IDDeviceCert)
	if m.State() != StateDone {
		t.Fatalf("step 9 with the supplied files: phase %s", m.State())
	}
	press(m, "r", "k")
	if got := fieldKeys(m); !slices.Contains(got, "thing") || s.Options.DeviceCertFile != "" {
		t.Fatalf("after issue new: fields %v, device cert %q, errors %v", got, s.Options.DeviceCertFile, m.Invalid())
	}
	wantValid(t, m)
}

// TestWarningNoteSaysWarning: a warning among a step's results (a template lint finding, an
// earlier certificate still ACTIVE) reads "warning: …" in the wizard, in the run's language,
// and once; an ordinary note is its text alone.
func TestWarningNoteSaysWarning(t *testing.T) {
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang i18n.Lang
		want string
	}{{i18n.En, "warning: the key can still connect"}, {i18n.Ko, "경고: the key can still connect"}, {i18n.ZhHans, "警告：the key can still connect"}} {
		i18n.SetLang(tc.lang)
		m := choiceModel(t, s, IDVerify)
		warn := ansi.Strip(m.resultLine(ResultLine{Kind: ResultNote, Label: i18n.T("step07.result.warning"), Value: "the key can still connect", OK: false}, 80))
		if !strings.Contains(warn, tc.want) || strings.Count(warn, i18n.T("step07.result.warning")) != 1 {
			t.Errorf("%s: a warning note reads %q, want %q once", tc.lang, warn, tc.want)
		}
		if note := ansi.Strip(m.resultLine(noteLine("also attached"), 80)); strings.TrimSpace(note) != "also attached" {
			t.Errorf("%s: a note reads %q", tc.lang, note)
		}
	}
}
