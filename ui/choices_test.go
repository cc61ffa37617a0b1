package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps"
)

// The wizard's bring-your-own choices, driven by keystrokes against the embedded local IoT
// Core: an existing CA on step 1, a template file on step 7, an existing device certificate
// on step 9.

// sums returns the SHA-256 of each file (supplied files must never be rewritten).
func sums(t *testing.T, paths ...string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		out = append(out, hex.EncodeToString(h[:]))
	}
	return out
}

// customerCA makes a CA the way a customer brings one, outside the workspace.
func customerCA(t *testing.T) (ca *pki.CA, certFile, keyFile string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "customer-ca")
	ca, _, err := pki.CreateRootCA(dir, pki.RootCAOptions{Country: "US", Organization: "Customer"})
	if err != nil {
		t.Fatal(err)
	}
	return ca, filepath.Join(dir, pki.FileCACert), filepath.Join(dir, pki.FileCAKey)
}

// chooseExistingCA picks "use existing files" on step 1 and types the two paths; the wizard
// then skips steps 1–3 by itself.
func chooseExistingCA(t *testing.T, d *driver, certFile, keyFile string) {
	t.Helper()
	if got := d.m.Active().ID(); got != steps.IDCAKey {
		t.Fatalf("wizard opens on %s", got)
	}
	d.press("j")
	if scr := d.screen(); !strings.Contains(scr, "(●) use existing files") || !strings.Contains(scr, "CA certificate file") {
		t.Fatalf("choosing existing files shows no path inputs:\n%s", scr)
	}
	d.press("tab", certFile, "tab", keyFile)
	d.until("steps 1–3 skipped", func() bool { return d.m.Active().ID() == steps.IDRegCode })
	scr := d.screen()
	for _, want := range []string{"CA key (skipped)", "OpenSSL conf (skipped)", "CA cert (skipped)"} {
		if !strings.Contains(scr, want) {
			t.Fatalf("sidebar lacks %q:\n%s", want, scr)
		}
	}
}

func opensslVerifies(t *testing.T, caFile, certFile string) {
	t.Helper()
	openssl := testtool.Need(t, "openssl")
	out, err := exec.Command(openssl, "verify", "-CAfile", caFile, certFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify -CAfile %s %s: %v\n%s", caFile, certFile, err, out)
	}
}

// TestWizardExistingCA: "use existing files" on step 1 with a CA made outside the workspace:
// steps 1–3 are skipped, the run completes with that CA, and the device certificate the
// wizard issues verifies against it. The CA files are not rewritten.
func TestWizardExistingCA(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs the whole procedure")
	}
	ca, caCert, caKey := customerCA(t)
	before := sums(t, caCert, caKey)
	dir := filepath.Join(t.TempDir(), "ws")
	s := openWorkspace(t, dir)
	d := drive(t, realWizard(s, nil), 120, 40)
	chooseExistingCA(t, d, caCert, caKey)
	enterThrough(t, d, "")
	if !d.m.Finished() || !steps.NewPlan(s).Complete() {
		t.Fatalf("not finished:\n%s", d.screen())
	}
	if !s.CA.Supplied || s.CA.CertID != ca.ID() {
		t.Fatalf("session CA %s (supplied %v), want %s", s.CA.CertID, s.CA.Supplied, ca.ID())
	}
	desc, err := s.Client().DescribeCA(context.Background(), s.CA.RegisteredID)
	if err != nil || desc.CertificatePEM == "" {
		t.Fatalf("registered CA %s: %v", s.CA.RegisteredID, err)
	}
	if got, err := pki.ParseCertPEM([]byte(desc.CertificatePEM)); err != nil || pki.CertID(got) != ca.ID() {
		t.Fatalf("the IoT Core registered another CA than the one chosen (%v)", err)
	}
	devCert := s.Path(s.Device().CertFile)
	c, err := pki.LoadCertFile(devCert)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.CheckIssuedBy(c, ca.Cert, time.Now()); err != nil {
		t.Fatalf("device certificate not issued by the chosen CA: %v", err)
	}
	opensslVerifies(t, caCert, devCert)
	for _, f := range []string{pki.FileCAKey, pki.FileCACert} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s made in the workspace although a CA was supplied", f)
		}
	}
	if got := sums(t, caCert, caKey); !slices.Equal(got, before) {
		t.Error("the supplied CA files were rewritten")
	}
	if final := d.screen(); !strings.Contains(final, "published and received as DemoThing") {
		t.Errorf("final screen lacks the received message:\n%s", final)
	}
}

// TestWizardTemplateFileAndExistingDevice: "load a file" on step 7 uses the user's template
// (the thing is named as that template says, dev-<CN>), and "use an existing device cert" on
// step 9 tests the user's certificate instead of making one.
func TestWizardTemplateFileAndExistingDevice(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs the whole procedure")
	}
	ca, caCert, caKey := customerCA(t)
	devDir := filepath.Join(t.TempDir(), "device")
	if _, err := pki.IssueDeviceCert(pki.IssueOptions{Dir: devDir, CA: ca, KeyType: pki.KeyType("ec256")},
		pki.Subject{Country: "DE", Organization: "Customer", CommonName: "Byo-Device-1"}); err != nil {
		t.Fatal(err)
	}
	devCert, devKey := filepath.Join(devDir, pki.FileDeviceCert), filepath.Join(devDir, pki.FileDeviceKey)
	tmpl := filepath.Join(t.TempDir(), "my_template.json")
	body := `{"Parameters":{"AWS::IoT::Certificate::CommonName":{"Type":"String"},"AWS::IoT::Certificate::Country":{"Type":"String"},"AWS::IoT::Certificate::Id":{"Type":"String"}},` +
		`"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Join":["-",["dev",{"Ref":"AWS::IoT::Certificate::CommonName"}]]},` +
		`"AttributePayload":{"land":{"Ref":"AWS::IoT::Certificate::Country"}}}},` +
		`"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"},"Status":"ACTIVE"}},` +
		`"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*\"}]}"}}}}`
	if err := os.WriteFile(tmpl, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	before := sums(t, caCert, caKey, devCert, devKey, tmpl)

	dir := filepath.Join(t.TempDir(), "ws")
	s := openWorkspace(t, dir)
	d := drive(t, realWizard(s, nil), 120, 40)
	chooseExistingCA(t, d, caCert, caKey)
	enterThrough(t, d, steps.IDRole)
	d.press("enter")
	d.until("the template step", func() bool { return d.m.Active().ID() == steps.IDTemplate })

	// step 7: load a file
	d.press("j", "j", "j", "tab", tmpl)
	scr := d.screen()
	if !strings.Contains(scr, "(●) load a file") || !strings.Contains(scr, "templateBody (custom)") {
		t.Fatalf("the template file is not chosen and previewed:\n%s", scr)
	}
	if len(d.m.Active().Invalid()) > 0 {
		t.Fatalf("inputs invalid: %v\n%s", d.m.Active().Invalid(), scr)
	}
	enterThrough(t, d, steps.IDTemplate)
	if s.Template.Variant != steps.VariantCustom || s.Template.Source != tmpl {
		t.Fatalf("template result %+v", s.Template)
	}
	enterThrough(t, d, steps.IDRegisterCA)
	d.press("enter")
	d.until("the device step", func() bool { return d.m.Active().ID() == steps.IDDeviceCert })

	// step 9: use an existing device cert
	d.press("j")
	if scr := d.screen(); !strings.Contains(scr, "Device certificate file") || strings.Contains(scr, "Thing name (CN)") {
		t.Fatalf("existing device: path inputs instead of the subject expected:\n%s", scr)
	}
	d.press("tab", devCert, "tab", devKey)
	if bad := d.m.Active().Invalid(); len(bad) > 0 || s.Options.Thing != "Byo-Device-1" {
		t.Fatalf("device files: errors %v, thing %q\n%s", bad, s.Options.Thing, d.screen())
	}
	enterThrough(t, d, steps.IDDeviceCert)
	if scr := d.screen(); !strings.Contains(scr, "your device certificate (not rewritten)") {
		t.Fatalf("step 9 does not show the supplied certificate:\n%s", scr)
	}
	if dev := s.Device(); !dev.Supplied || dev.CertFile != devCert {
		t.Fatalf("device record %+v", dev)
	}
	enterThrough(t, d, "")
	if !d.m.Finished() || !steps.NewPlan(s).Complete() {
		t.Fatalf("not finished:\n%s", d.screen())
	}
	th, err := s.Client().DescribeThing(context.Background(), "dev-Byo-Device-1")
	if err != nil {
		t.Fatalf("the template's thing dev-Byo-Device-1: %v", err)
	}
	if th.Attributes["land"] != "DE" {
		t.Errorf("thing attributes %v, want land=DE from the template", th.Attributes)
	}
	c, err := pki.LoadCertFile(devCert)
	if err != nil {
		t.Fatal(err)
	}
	if s.Device().CertID != pki.CertID(c) {
		t.Errorf("step 9 recorded certificate %s, the supplied one is %s", s.Device().CertID, pki.CertID(c))
	}
	if pki.FileExists(filepath.Join(dir, pki.FileDeviceKey)) {
		t.Error("a device key was made although one was supplied")
	}
	if got := sums(t, caCert, caKey, devCert, devKey, tmpl); !slices.Equal(got, before) {
		t.Error("a supplied file (CA, device or template) was rewritten")
	}
	if final := d.screen(); !strings.Contains(final, "published and received as dev-Byo-Device-1") {
		t.Errorf("final screen lacks the message of the template's thing:\n%s", final)
	}
}

// TestWizardBadPathsRefuse: wrong paths show inline errors, and neither enter nor a request
// to advance leaves the step or runs it.
func TestWizardBadPathsRefuse(t *testing.T) {
	files := t.TempDir()
	_, caCert, _ := customerCA(t)
	dir := filepath.Join(t.TempDir(), "ws")
	s := openWorkspace(t, dir)
	d := drive(t, realWizard(s, nil), 120, 40)
	d.press("j", "tab")
	clear := func() { d.send(tea.KeyMsg{Type: tea.KeyCtrlU}) }
	for _, c := range []struct{ path, want string }{
		{filepath.Join(files, "missing.pem"), "no such file"},
		{files, "is a directory"},
	} {
		clear()
		d.press(c.path)
		if scr, msg := d.screen(), d.m.Active().Invalid()["ca-cert"]; !strings.Contains(scr, "✗ CA certificate file") || !strings.Contains(msg, c.want) {
			t.Fatalf("typing %s: no inline error %q (%q):\n%s", c.path, c.want, msg, scr)
		}
		d.press("enter")
		d.send(steps.NextMsg{From: steps.IDCAKey})
		if d.m.Active().ID() != steps.IDCAKey || d.m.Active().State() != steps.StateEditing {
			t.Fatalf("left or ran step 1 with a bad path:\n%s", d.screen())
		}
	}
	// a good certificate but the key left empty: still refused
	clear()
	d.press(caCert, "enter")
	if _, bad := d.m.Active().Invalid()["ca-key"]; !bad || d.m.Active().ID() != steps.IDCAKey {
		t.Fatalf("empty key path accepted:\n%s", d.screen())
	}
	if !strings.Contains(d.screen(), "✗ CA private key file: empty") {
		t.Fatalf("no inline error for the empty key path:\n%s", d.screen())
	}
	if pki.FileExists(filepath.Join(dir, pki.FileCAKey)) || s.CA.Supplied {
		t.Fatal("something was made or used although the paths are bad")
	}
}
