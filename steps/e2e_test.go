package steps_test

// End-to-end tests: the real jitpwiz binary (built once in TestMain) runs the 13 steps against
// the embedded local AWS IoT Core; checks then go through the same Session + aws.Client, and
// through real openssl.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jitpwiz-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "jitpwiz")
	cmd := exec.Command("go", "build", "-o", binary, "github.com/jitpwiz/jitpwiz")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building jitpwiz:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type runResult struct {
	out, errOut string
	err         error
}

func (r runResult) String() string { return "stdout:\n" + r.out + "\nstderr:\n" + r.errOut }

// all is what the user sees: a failure `run` reports is on stdout (its ✗ line) and is not
// repeated on stderr; one it does not report (bad flags) is on stderr.
func (r runResult) all() string { return r.out + r.errOut }

// jitpwiz runs the binary with args (stdin is not a terminal) in this process's
// environment, without colour.
func jitpwiz(t *testing.T, args ...string) runResult {
	t.Helper()
	return runEnv(t, append(os.Environ(), "NO_COLOR=1"), args...)
}

// runEnv runs the binary with args in the environment env (stdin is not a terminal), for at
// most three minutes.
func runEnv(t *testing.T, env []string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = env
	err := cmd.Run()
	return runResult{out.String(), errOut.String(), err}
}

func mustRun(t *testing.T, args ...string) runResult {
	t.Helper()
	r := jitpwiz(t, args...)
	if r.err != nil {
		t.Fatalf("jitpwiz %s: %v\n%s", strings.Join(args, " "), r.err, r)
	}
	return r
}

// runFresh runs `jitpwiz run --dir <a new workspace> --yes` with flags, which must succeed,
// and returns the workspace and what the run printed.
func runFresh(t *testing.T, flags ...string) (string, runResult) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ws")
	return dir, mustRun(t, append([]string{"run", "--dir", dir, "--yes"}, flags...)...)
}

// completedWorkspace is a new workspace in which `jitpwiz run --yes` (with flags) did the whole
// procedure.
func completedWorkspace(t *testing.T, flags ...string) string {
	t.Helper()
	dir, _ := runFresh(t, flags...)
	return dir
}

// mustFail runs the binary and requires it to fail; why says what a success would mean.
func mustFail(t *testing.T, why string, args ...string) runResult {
	t.Helper()
	r := jitpwiz(t, args...)
	if r.err == nil {
		t.Fatalf("%s:\n%s", why, r)
	}
	return r
}

// session opens the workspace in-process and connects to its local IoT Core (the binary
// is not running, so the state in .local-iot is free).
func session(t *testing.T, dir string) *steps.Session {
	t.Helper()
	s, err := steps.Open(steps.Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open %s: %v", dir, err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// byHand runs a shown command line as a user would: sh -c in dir, with dummy AWS
// credentials (any work against the local IoT Core) and no pager.
func byHand(dir, line string) (string, error) {
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// templateNeedingO is the workspace's registration config with its template changed to also
// need the certificate's O (a thing attribute org), which the walkthrough's device subject
// lacks: registered behind the workspace's back, JITP fails for a new device.
func templateNeedingO(t *testing.T, dir string) aws.RegistrationConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, steps.FileTemplate))
	if err != nil {
		t.Fatal(err)
	}
	var rc aws.RegistrationConfig
	if err := json.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(rc.TemplateBody), &body); err != nil {
		t.Fatal(err)
	}
	body["Parameters"].(map[string]any)["AWS::IoT::Certificate::Organization"] = map[string]any{"Type": "String"}
	props := body["Resources"].(map[string]any)["thing"].(map[string]any)["Properties"].(map[string]any)
	props["AttributePayload"].(map[string]any)["org"] = map[string]any{"Ref": "AWS::IoT::Certificate::Organization"}
	nb, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	rc.TemplateBody = string(nb)
	return rc
}

func opensslVerify(t *testing.T, ca, cert string) {
	t.Helper()
	openssl := testtool.Need(t, "openssl")
	out, err := exec.Command(openssl, "verify", "-CAfile", ca, cert).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify -CAfile %s %s: %v\n%s", ca, cert, err, out)
	}
}

// checkProvisioned checks, through the control plane, what JITP created for thing.
func checkProvisioned(t *testing.T, s *steps.Session, thing string, wantAttrs map[string]string) (certID string, policies []string) {
	t.Helper()
	return checkProvisionedAs(t, s, thing, thing, wantAttrs)
}

// checkProvisionedAs is checkProvisioned for the device of --thing device, which the template
// provisions as thing.
func checkProvisionedAs(t *testing.T, s *steps.Session, device, thing string, wantAttrs map[string]string) (certID string, policies []string) {
	t.Helper()
	ctx := context.Background()
	c := s.Client()
	d := s.DeviceFor(device)
	if d == nil || d.CertID == "" {
		t.Fatalf("no device record for %s", thing)
	}
	cert, err := pki.LoadCertFile(s.Path(d.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := pki.CertID(cert); got != d.CertID {
		t.Fatalf("recorded cert ID %s, file has %s", d.CertID, got)
	}
	desc, err := c.DescribeCertificate(ctx, d.CertID)
	if err != nil || desc.Status != aws.StatusActive {
		t.Fatalf("certificate %s: %v status %q", d.CertID, err, desc.Status)
	}
	th, err := c.DescribeThing(ctx, thing)
	if err != nil {
		t.Fatalf("thing %s: %v", thing, err)
	}
	for k, v := range wantAttrs {
		if th.Attributes[k] != v {
			t.Errorf("thing %s attribute %s = %q, want %q (all: %v)", thing, k, th.Attributes[k], v, th.Attributes)
		}
	}
	principals, err := c.ListThingPrincipals(ctx, thing)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range principals {
		if strings.HasSuffix(p, "/"+d.CertID) {
			found = true
		}
	}
	if !found {
		t.Errorf("certificate %s not attached to %s: %v", d.CertID, thing, principals)
	}
	pols, err := c.ListAttachedPolicies(ctx, desc.ARN)
	if err != nil || len(pols) == 0 {
		t.Fatalf("policies of the certificate: %v %v", pols, err)
	}
	for _, p := range pols {
		policies = append(policies, p.Name)
	}
	return d.CertID, policies
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum)
}

func countLines(out, prefix string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestE2ETemplates(t *testing.T) {
	t.Parallel()
	custom := filepath.Join(t.TempDir(), "custom.json")
	// A bare template (not a registration config): attributes from O and OU, a scoped policy.
	body := `{"Parameters":{"AWS::IoT::Certificate::CommonName":{"Type":"String"},"AWS::IoT::Certificate::Organization":{"Type":"String"},` +
		`"AWS::IoT::Certificate::OrganizationalUnit":{"Type":"String","Default":"none"},"AWS::IoT::Certificate::Id":{"Type":"String"}},` +
		`"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Fn::Join":["-",["dev",{"Ref":"AWS::IoT::Certificate::CommonName"}]]},` +
		`"AttributePayload":{"org":{"Ref":"AWS::IoT::Certificate::Organization"},"unit":{"Ref":"AWS::IoT::Certificate::OrganizationalUnit"}}}},` +
		`"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"},"Status":"ACTIVE"}},` +
		`"policy":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*\"}]}"}}}}`
	if err := os.WriteFile(custom, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		thing string // the --thing (device record)
		attrs map[string]string
		as    string // the thing the template provisions, when not the CN
	}{
		{"scoped", nil, steps.DefaultThing, map[string]string{"version": "v1", "country": "IN"}, ""},
		{"admin", []string{"--template", "admin", "--thing", "AdminThing", "--country", "DE"}, "AdminThing", map[string]string{"version": "v1", "country": "DE"}, ""},
		{"named offered", []string{"--template", "named", "--policy-name", "MyDevicePolicy", "--create-policy"}, steps.DefaultThing, map[string]string{"country": "IN"}, ""},
		{"custom file", []string{"--template", custom, "--thing", "Custom-1", "--org", "Acme", "--ou", "Lab"}, "Custom-1", map[string]string{"org": "Acme", "unit": "Lab"}, "dev-Custom-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, r := runFresh(t, tc.args...)
			if n := countLines(r.out, "✓ "); n != 14 { // 13 steps + the final line
				t.Errorf("want 13 ✓ step lines and the final line, got %d:\n%s", n, r.out)
			}
			if !strings.Contains(r.out, "published as itself") {
				t.Errorf("no final success line:\n%s", r.out)
			}
			if !strings.Contains(r.out, "dropped by the broker while provisioning (expected)") {
				t.Errorf("first connect not reported as the expected drop:\n%s", r.out)
			}
			// Step 11's progress tells the story in order: connect → dropped → status → ACTIVE.
			connect, dropped := strings.Index(r.out, "connecting to "), strings.Index(r.out, "the broker dropped the connection")
			status := strings.Index(r.out, "certificate status after ")
			if connect < 0 || dropped < connect || status < dropped {
				t.Errorf("step 11 progress out of order (connect %d, dropped %d, status %d):\n%s", connect, dropped, status, r.out)
			}
			s := session(t, dir)
			d := s.DeviceFor(tc.thing)
			opensslVerify(t, filepath.Join(dir, pki.FileCACert), filepath.Join(dir, pki.FileVerifCert))
			opensslVerify(t, filepath.Join(dir, pki.FileCACert), s.Path(d.CertFile))
			as := tc.thing
			if tc.as != "" {
				as = tc.as
			}
			_, pols := checkProvisionedAs(t, s, tc.thing, as, tc.attrs)
			if !strings.Contains(r.out, "as "+as) {
				t.Errorf("step 13 did not act as %s:\n%s", as, r.out)
			}
			if tc.name == "named offered" && (len(pols) != 1 || pols[0] != "MyDevicePolicy") {
				t.Errorf("named template: policies %v, want [MyDevicePolicy]", pols)
			}
			if l := lineWith(r.out, "· warning: "); tc.name == "admin" && (!strings.Contains(l, "admin policy") || !strings.Contains(l, "labs only")) {
				t.Errorf("admin: no labs-only warning in the run's output:\n%s", r.out)
			}
			if tc.name == "scoped" && !strings.Contains(r.out, "other/test refused") {
				t.Errorf("scoped: the outside topic was not shown refused:\n%s", r.out)
			}
		})
	}
}

func TestE2ENamedPolicyPrecreatedAndMissing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	// Run up to the role so the local IoT Core exists, then create the policy by hand.
	r := mustFail(t, "--stop-after should kill the process", "run", "--dir", dir, "--yes", "--template", "named", "--policy-name", "Precreated", "--stop-after", "role")
	// Without --yes/--create-policy a missing named policy is an error naming the fix.
	r = jitpwiz(t, "run", "--dir", dir)
	if r.err == nil || !strings.Contains(r.out, "--create-policy") || !strings.Contains(r.out, "Precreated") {
		t.Fatalf("missing policy: want an error naming the policy and --create-policy:\n%s", r)
	}
	s := session(t, dir)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`
	if _, err := s.Client().CreatePolicy(context.Background(), "Precreated", doc); err != nil {
		t.Fatal(err)
	}
	s.Close()
	mustRun(t, "run", "--dir", dir)
	s = session(t, dir)
	_, pols := checkProvisioned(t, s, steps.DefaultThing, map[string]string{"country": "IN"})
	if len(pols) != 1 || pols[0] != "Precreated" {
		t.Fatalf("policies %v", pols)
	}
	if s.Template.PolicyCreated {
		t.Error("a pre-created policy is recorded as created by jitpwiz")
	}
	s.Close()
	// clean removes what the workspace made, but not the user's own policy.
	mustRun(t, "clean", "--dir", dir, "--yes")
	s = session(t, dir)
	if _, err := s.Client().GetPolicy(context.Background(), "Precreated"); err != nil {
		t.Errorf("clean deleted the user's policy: %v", err)
	}
	if _, err := s.Client().DescribeThing(context.Background(), steps.DefaultThing); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("thing not cleaned: %v", err)
	}
}

// TestE2EResumeAfterKill kills the process right after each step boundary (SIGKILL, via the
// hidden --stop-after) and re-runs: every run resumes where the previous one died, no key is
// regenerated, and the cloud side holds exactly one CA, thing and policy.
func TestE2EResumeAfterKill(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	keys := map[string]string{}
	for i, st := range steps.NewPlan(&steps.Session{}).Steps()[:12] {
		r := jitpwiz(t, "run", "--dir", dir, "--yes", "--stop-after", string(st.ID()))
		var ee *exec.ExitError
		if !errors.As(r.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run --stop-after %s: want death by SIGKILL, got %v\n%s", st.ID(), r.err, r)
		}
		// The step that was killed right after is recorded; the earlier ones are "done before".
		if i > 0 && countLines(r.out, "✓ ") != i+1 {
			t.Errorf("after a kill at step %d the re-run should show %d ✓ lines:\n%s", i, i+1, r.out)
		}
		if i > 0 && !strings.Contains(r.out, "done before") {
			t.Errorf("re-run does not say what it reuses:\n%s", r.out)
		}
		for _, k := range []string{pki.FileCAKey, pki.FileVerifKey, pki.FileDeviceKey} {
			p := filepath.Join(dir, k)
			if _, err := os.Stat(p); err != nil {
				continue
			}
			h := fileHash(t, p)
			if old, ok := keys[k]; ok && old != h {
				t.Fatalf("%s was regenerated by the re-run after step %s", k, st.ID())
			}
			keys[k] = h
		}
	}
	r := mustRun(t, "run", "--dir", dir)
	if !strings.Contains(r.out, "published as itself") {
		t.Fatalf("final run:\n%s", r.out)
	}
	for k, h := range keys {
		if fileHash(t, filepath.Join(dir, k)) != h {
			t.Fatalf("%s changed on the final run", k)
		}
	}
	s := session(t, dir)
	ctx := context.Background()
	cas, err := s.Client().ListCAs(ctx)
	if err != nil || len(cas) != 1 {
		t.Errorf("CAs: %v %v, want exactly 1", cas, err)
	}
	things, err := s.Client().ListThings(ctx)
	if err != nil || len(things) != 1 {
		t.Errorf("things: %v %v, want exactly 1", things, err)
	}
	_, pols := checkProvisioned(t, s, steps.DefaultThing, map[string]string{"country": "IN"})
	if len(pols) != 1 {
		t.Errorf("policies %v, want exactly 1", pols)
	}

	// A second full run is a fast no-op that says so, without even starting the back-end.
	start := time.Now()
	r = mustRun(t, "run", "--dir", dir)
	if !strings.Contains(r.out, "already done") || strings.Contains(r.out, "connected:") {
		t.Errorf("second run is not a no-op:\n%s", r.out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("no-op run took %s", d)
	}
}

func TestE2EChangesAndSecondDevice(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t, "--json")
	caKey := fileHash(t, filepath.Join(dir, pki.FileCAKey))
	devCert := fileHash(t, filepath.Join(dir, pki.FileDeviceCert))
	devKey := fileHash(t, filepath.Join(dir, pki.FileDeviceKey))

	// A second device on the same CA: only the device steps run; the first device's files stay.
	r := mustRun(t, "run", "--dir", dir, "--thing", "Second", "--country", "FR")
	for _, n := range []string{" 1/13", " 3/13", " 8/13", "10/13"} {
		if !strings.Contains(r.out, "✓ "+n) || !strings.Contains(lineWith(r.out, n), "done before") {
			t.Errorf("step %s should be reused for a second device:\n%s", n, r.out)
		}
	}
	if strings.Contains(lineWith(r.out, " 9/13"), "done before") {
		t.Errorf("the second device needs its own certificate:\n%s", r.out)
	}
	if fileHash(t, filepath.Join(dir, pki.FileDeviceCert)) != devCert || fileHash(t, filepath.Join(dir, pki.FileDeviceKey)) != devKey {
		t.Fatal("the first device's files changed")
	}
	second := filepath.Join(dir, "devices", "Second")
	if !strings.Contains(r.out, "(this device's: "+second+")") {
		t.Errorf("the final line does not say where the second device's files are:\n%s", r.out)
	}
	opensslVerify(t, filepath.Join(dir, pki.FileCACert), filepath.Join(second, pki.FileDeviceCert))
	s := session(t, dir)
	checkProvisioned(t, s, "Second", map[string]string{"country": "FR", "version": "v1"})
	checkProvisioned(t, s, steps.DefaultThing, map[string]string{"country": "IN"})
	cas, _ := s.Client().ListCAs(context.Background())
	if len(cas) != 1 {
		t.Errorf("CAs %v, want the one CA", cas)
	}
	s.Close()

	// A new CA organization: the CA and everything after it is redone; the CA key is kept.
	r = mustRun(t, "run", "--dir", dir, "--thing", steps.DefaultThing, "--ca-org", "NewOrg")
	if !strings.Contains(r.out, "CA organization changed: AMZ → NewOrg") {
		t.Errorf("no reason given for redoing the CA:\n%s", r.out)
	}
	if !strings.Contains(lineWith(r.out, " 1/13"), "done before") || strings.Contains(lineWith(r.out, " 8/13"), "done before") {
		t.Errorf("a new CA keeps the key but registers again:\n%s", r.out)
	}
	if fileHash(t, filepath.Join(dir, pki.FileCAKey)) != caKey {
		t.Fatal("CA key regenerated")
	}
	opensslVerify(t, filepath.Join(dir, pki.FileCACert), filepath.Join(dir, pki.FileDeviceCert))
}

func lineWith(out, sub string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func TestE2EJSONEvents(t *testing.T) {
	t.Parallel()
	dir, r := runFresh(t, "--json", "--key", "ec256")
	sc := bufio.NewScanner(strings.NewReader(r.out))
	nsteps := 0
	var last steps.RunEvent
	for sc.Scan() {
		var e steps.RunEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a JSON event line: %q: %v", sc.Text(), err)
		}
		if e.Event == "step" && e.Step == steps.IDRegisterCA && (len(e.Commands) != 1 || !strings.Contains(e.Commands[0], "aws iot register-ca-certificate")) {
			t.Errorf("register-ca event commands %q", e.Commands)
		}
		if e.Event == "step" {
			nsteps++
			if e.Status != "done" && e.Status != "reused" {
				t.Errorf("step %s status %s", e.Step, e.Status)
			}
		}
		last = e
	}
	if nsteps != 13 || last.Event != "end" || last.OK == nil || !*last.OK {
		t.Fatalf("want 13 step events and a final ok event; got %d, last %+v", nsteps, last)
	}
	k, err := pki.LoadKeyFile(filepath.Join(dir, pki.FileCAKey))
	if err != nil {
		t.Fatal(err)
	}
	if kt, _ := pki.KeyTypeOf(k); kt != pki.EC256 {
		t.Errorf("CA key type %s, want ec256", kt)
	}
}

func TestE2EBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--country", "India"}, "--country"},
		{[]string{"--thing", "bad thing"}, "--thing"},
		{[]string{"--region", "mars-1"}, "--region"},
		{[]string{"--template", "/no/such/template.json"}, "--template"},
		{[]string{"--ca-cert", "/etc/hostname"}, "--ca-key"},
		{[]string{"--target", "azure"}, "--target"},
		{[]string{"--key", "rsa1024"}, "--key"},
		{nil, "--thing"}, // a new workspace without --yes and no terminal
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "ws")
			args := append([]string{"run", "--dir", dir}, tc.args...)
			if tc.args != nil {
				args = append(args, "--yes")
			}
			r := mustFail(t, "succeeded", args...)
			if !strings.Contains(r.errOut, tc.want) {
				t.Errorf("error does not name %s:\n%s", tc.want, r)
			}
			if strings.Contains(r.errOut, "goroutine") || strings.Contains(r.errOut, "panic") {
				t.Errorf("stack trace:\n%s", r.errOut)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("bad input created the workspace")
			}
		})
	}
}

// makeCA writes a root CA and an intermediate CA signed by it with real openssl.
func makeCAs(t *testing.T, dir string) (rootCert, rootKey, interCert, interKey string) {
	t.Helper()
	openssl := testtool.Need(t, "openssl")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ext := filepath.Join(dir, "ca.ext")
	if err := os.WriteFile(ext, []byte("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-days", "30", "-subj", "/C=US/O=Customer/CN=Customer Root",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "inter.key", "-out", "inter.csr", "-subj", "/C=US/O=Customer/CN=Customer Issuing CA")
	run("x509", "-req", "-in", "inter.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out", "inter.pem", "-days", "30", "-sha256", "-extfile", ext)
	return filepath.Join(dir, "root.pem"), filepath.Join(dir, "root.key"), filepath.Join(dir, "inter.pem"), filepath.Join(dir, "inter.key")
}

// makeDevice issues dir/dev.key + dev.pem with subject subj, signed by dir/<ca>.pem + <ca>.key,
// the way a customer's PKI would (openssl).
func makeDevice(t *testing.T, dir, ca, subj string) {
	t.Helper()
	openssl := testtool.Need(t, "openssl")
	for _, args := range [][]string{
		{"req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "dev.key", "-out", "dev.csr", "-subj", subj},
		{"x509", "-req", "-in", "dev.csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial", "-out", "dev.pem", "-days", "30", "-sha256"},
	} {
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl: %v\n%s", err, out)
		}
	}
}

func TestE2EBringYourOwnPKI(t *testing.T) {
	t.Parallel()
	pkiDir := t.TempDir()
	_, _, interCert, interKey := makeCAs(t, pkiDir)
	// The customer's device certificate, issued by their intermediate CA.
	makeDevice(t, pkiDir, "inter", "/C=US/O=Customer/CN=Customer-Device-7")
	supplied := map[string]string{}
	for _, f := range []string{"inter.pem", "inter.key", "dev.pem", "dev.key"} {
		supplied[f] = fileHash(t, filepath.Join(pkiDir, f))
	}
	dir, r := runFresh(t, "--ca-cert", interCert, "--ca-key", interKey,
		"--device-cert", filepath.Join(pkiDir, "dev.pem"), "--device-key", filepath.Join(pkiDir, "dev.key"))
	if n := countLines(r.out, "↷ "); n != 3 {
		t.Errorf("steps 1–3 should be skipped for your own CA, got %d skip lines:\n%s", n, r.out)
	}
	for f, h := range supplied {
		if fileHash(t, filepath.Join(pkiDir, f)) != h {
			t.Errorf("supplied file %s was rewritten", f)
		}
	}
	for _, f := range []string{pki.FileCAKey, pki.FileCACert, pki.FileDeviceKey, pki.FileDeviceCert} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s written although the PKI was supplied", f)
		}
	}
	s := session(t, dir)
	if !s.CA.Intermediate || !s.CA.Supplied {
		t.Errorf("CA record %+v: want a supplied intermediate", s.CA)
	}
	ca, err := pki.LoadCertFile(interCert)
	if err != nil {
		t.Fatal(err)
	}
	if s.CA.RegisteredID != pki.CertID(ca) {
		t.Errorf("registered CA %s, want the intermediate %s", s.CA.RegisteredID, pki.CertID(ca))
	}
	checkProvisioned(t, s, "Customer-Device-7", map[string]string{"country": "US"})
	// The shown openssl verify lines work by hand for the intermediate (openssl needs
	// -partial_chain to accept an intermediate without its root).
	for _, id := range []steps.ID{steps.IDDeviceCert, steps.IDVerifCert} {
		for _, line := range steps.NewPlan(s).Lookup(id).Commands() {
			if !strings.HasPrefix(line, "openssl verify") {
				continue
			}
			if out, err := byHand(dir, line); err != nil {
				t.Errorf("%s (step %s) fails by hand: %v\n%s", line, id, err, out)
			}
		}
	}
}

func TestE2EBringYourOwnDeviceLintFails(t *testing.T) {
	t.Parallel()
	pkiDir := t.TempDir()
	rootCert, rootKey, _, _ := makeCAs(t, pkiDir)
	// No country in the subject: the scoped template's Ref to Country cannot resolve.
	makeDevice(t, pkiDir, "root", "/CN=NoCountry")
	dir := filepath.Join(t.TempDir(), "ws")
	r := jitpwiz(t, "run", "--dir", dir, "--yes", "--ca-cert", rootCert, "--ca-key", rootKey,
		"--device-cert", filepath.Join(pkiDir, "dev.pem"), "--device-key", filepath.Join(pkiDir, "dev.key"))
	if r.err == nil {
		t.Fatalf("a device without the country the template needs was accepted:\n%s", r)
	}
	if !strings.Contains(r.out+r.errOut, "Country") || !strings.Contains(r.out, "✗  7/13") {
		t.Errorf("want the template step to fail naming Country before registering:\n%s", r)
	}
	s := session(t, dir)
	if cas, _ := s.Client().ListCAs(context.Background()); len(cas) != 0 {
		t.Errorf("a CA was registered although the template lint failed: %v", cas)
	}
}

func TestE2EClean(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	s := session(t, dir)
	certID, pols := checkProvisioned(t, s, steps.DefaultThing, nil)
	caID := s.CA.RegisteredID
	s.Close()

	r := jitpwiz(t, "clean", "--dir", dir)
	if r.err == nil || !strings.Contains(r.errOut, "--yes") {
		t.Fatalf("clean without --yes and no terminal must refuse:\n%s", r)
	}
	r = mustRun(t, "clean", "--dir", dir, "--yes")
	order := []string{"from certificate", "INACTIVE", "detach certificate", "delete certificate", "delete thing", "delete policy", "set CA", "delete CA"}
	pos := -1
	for _, w := range order {
		i := strings.Index(r.out[max(pos, 0):], w)
		if i < 0 {
			t.Fatalf("clean output lacks %q in order:\n%s", w, r.out)
		}
		pos = max(pos, 0) + i
	}
	s = session(t, dir)
	ctx := context.Background()
	if _, err := s.Client().DescribeCertificate(ctx, certID); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("certificate still there: %v", err)
	}
	if _, err := s.Client().DescribeThing(ctx, steps.DefaultThing); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("thing still there: %v", err)
	}
	for _, p := range pols {
		if _, err := s.Client().GetPolicy(ctx, p); !aws.IsKind(err, aws.KindNotFound) {
			t.Errorf("policy %s still there: %v", p, err)
		}
	}
	if ca, err := s.Client().FindCA(ctx, caID); err != nil || ca != nil {
		t.Errorf("CA still there: %v %v", ca, err)
	}
	s.Close()
	// Idempotent: nothing left to clean (not the same list again, as if the first clean had
	// not worked); and a new run provisions everything again, which clean then lists again.
	r = mustRun(t, "clean", "--dir", dir, "--yes")
	if !strings.Contains(r.out, "nothing to clean") || strings.Contains(r.out, "delete certificate") {
		t.Errorf("a second clean should find nothing to do:\n%s", r.out)
	}
	mustRun(t, "run", "--dir", dir)
	s = session(t, dir)
	checkProvisioned(t, s, steps.DefaultThing, map[string]string{"country": "IN"})
	var plan []string
	for _, a := range s.CleanPlan() {
		plan = append(plan, a.What)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "delete certificate") {
		t.Errorf("after a new run clean must remove the certificate again; plan: %q", plan)
	}
}

// TestE2ECommandsWorkByHand runs the commands the steps show — the AWS CLI with
// --endpoint-url and mosquitto_pub with the real host/port/cafile — against the local IoT
// Core, as a user would, including the walkthrough's first connect by hand.
func TestE2ECommandsWorkByHand(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "aws")
	testtool.Need(t, "mosquitto_pub")
	dir := completedWorkspace(t)
	// A second device, made but not yet connected.
	r := mustFail(t, "--stop-after did not stop", "run", "--dir", dir, "--thing", "ByHand", "--stop-after", "server-trust")
	s := session(t, dir)
	sh := func(line string) (string, error) { return byHand(dir, line) }
	// Step 4 by hand: the same registration code.
	cmds := steps.NewPlan(s).Lookup(steps.IDRegCode).Commands()
	if len(cmds) != 1 || !strings.Contains(cmds[0], "--endpoint-url http://") {
		t.Fatalf("registration code command %q lacks --endpoint-url", cmds)
	}
	out, err := sh(cmds[0])
	if err != nil || !strings.Contains(out, s.RegistrationCode) {
		t.Fatalf("%s: %v\n%s", cmds[0], err, out)
	}
	// Step 11 by hand: mosquitto_pub is dropped (the expected first-connect drop)...
	cmds = steps.NewPlan(s).Lookup(steps.IDFirstConnect).Commands()
	if !strings.Contains(cmds[0], fmt.Sprintf("-p %d", s.Endpoint.Port)) || !strings.Contains(cmds[0], "--cafile awsRootCA.pem") ||
		!strings.Contains(cmds[0], "devices/ByHand/deviceCertAndCACert.crt") {
		t.Fatalf("first connect command %q", cmds[0])
	}
	out, err = sh(cmds[0])
	if err == nil {
		t.Errorf("the first connect by hand should be dropped, mosquitto_pub succeeded:\n%s", out)
	}
	// ...and the certificate is then ACTIVE: JITP provisioned it.
	d := s.DeviceFor("ByHand")
	var status string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		desc, err := s.Client().DescribeCertificate(context.Background(), d.CertID)
		if err == nil {
			if status = desc.Status; status == aws.StatusActive {
				break
			}
		}
	}
	if status != aws.StatusActive {
		t.Fatalf("after the manual first connect the certificate is %q", status)
	}
	// Step 13 by hand: publishing as the thing works.
	cmds = steps.NewPlan(s).Lookup(steps.IDUse).Commands()
	if out, err := sh(cmds[0]); err != nil {
		t.Fatalf("%s: %v\n%s", cmds[0], err, out)
	}
	s.Close()
	// The run then finds the device already provisioned and finishes.
	r = mustRun(t, "run", "--dir", dir)
	if !strings.Contains(r.out, "already provisioned") || !strings.Contains(r.out, "published as itself") {
		t.Errorf("resume after a manual first connect:\n%s", r.out)
	}
}

// TestE2EEndpointURL runs against a local IoT Core started separately (like `jitpwiz local`),
// reached through --endpoint-url.
func TestE2EEndpointURL(t *testing.T) {
	t.Parallel()
	srvDir := t.TempDir()
	srv, err := local.Start(context.Background(), local.Options{Dir: srvDir, APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir, r := runFresh(t, "--endpoint-url", srv.EndpointURL())
	if !strings.Contains(r.out, "published as itself") {
		t.Fatalf("%s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, ".local-iot")); err == nil {
		t.Error("an embedded IoT Core was started although --endpoint-url was given")
	}
	c, err := aws.New(context.Background(), aws.Config{EndpointURL: srv.EndpointURL(), Region: srv.Region(),
		StaticAccessKeyID: local.AccessKeyID, StaticSecretKey: local.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	th, err := c.DescribeThing(context.Background(), steps.DefaultThing)
	if err != nil || th.Attributes["country"] != "IN" {
		t.Fatalf("thing on the separate local IoT Core: %+v %v", th, err)
	}
	// A region the running IoT Core does not serve is refused before anything is asked or
	// saved (it used to fail at step 4 and leave the wrong region in the session).
	other := filepath.Join(t.TempDir(), "ws")
	r = jitpwiz(t, "run", "--dir", other, "--yes", "--endpoint-url", srv.EndpointURL(), "--region", "eu-west-1")
	if r.err == nil || !strings.Contains(r.out, "--region eu-west-1: the local IoT Core at "+srv.EndpointURL()+" serves region "+srv.Region()) {
		t.Errorf("--region the local IoT Core does not serve:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(other, steps.SessionFile)); err == nil {
		t.Error("a session was saved for a region the IoT Core does not serve")
	}
}

// TestE2EInterrupt sends Ctrl+C (SIGINT) to a running `jitpwiz run`: it stops cleanly with a
// message saying how to resume, exits non-zero, and the next run completes from there.
func TestE2EInterrupt(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	cmd := exec.Command(binary, "run", "--dir", dir, "--yes", "--pause-after", "register-ca")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "paused after register-ca") {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("interrupted run: want exit code 1, got %v\n%s\n%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "cancelled — the session is saved; run again to resume at step 9") {
		t.Errorf("no resume hint:\n%s", out.String())
	}
	if strings.Contains(errOut.String(), "goroutine") {
		t.Errorf("stack trace on interrupt:\n%s", errOut.String())
	}
	r := mustRun(t, "run", "--dir", dir)
	if !strings.Contains(lineWith(r.out, " 8/13"), "done before") || !strings.Contains(r.out, "published as itself") {
		t.Errorf("resume after Ctrl+C:\n%s", r.out)
	}
}

func TestE2EDoctor(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	r := mustRun(t, "doctor", "--dir", dir)
	if strings.Contains(r.out, "✗") || countLines(r.out, "✓ ") < 8 {
		t.Fatalf("doctor on a working workspace:\n%s", r)
	}
	// A thing the workspace does not have is named as such, with the command that makes it.
	r = jitpwiz(t, "doctor", "--dir", dir, "--thing", "Nope")
	if r.err == nil || !strings.Contains(r.out, "✗ device Nope: this workspace has no device Nope (it has DemoThing)") ||
		!strings.Contains(r.out, "jitpwiz run --dir "+dir+" --thing Nope") {
		t.Errorf("doctor --thing Nope:\n%s", r)
	}
	mustRun(t, "clean", "--dir", dir, "--yes")
	r = jitpwiz(t, "doctor", "--dir", dir)
	if r.err == nil || !strings.Contains(r.out, "✗ CA registered") || !strings.Contains(r.out, "jitpwiz run --dir "+dir+" (step 8)") {
		t.Fatalf("doctor after clean should find the CA unregistered and say how to register it:\n%s", r)
	}
	if r := jitpwiz(t, "doctor", "--dir", filepath.Join(dir, "nope")); r.err == nil || !strings.Contains(r.errOut, "no jitpwiz workspace") {
		t.Errorf("doctor on no workspace:\n%s", r)
	}
}

// TestE2EAWSWithoutCredentials: the aws target with no credentials anywhere fails before
// anything is written, saying how to fix it.
func TestE2EAWSWithoutCredentials(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	cmd := exec.Command(binary, "run", "--dir", dir, "--yes", "--target", "aws", "--region", "eu-west-1")
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AWS_") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true")
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errOut, &errOut
	if err := cmd.Run(); err == nil {
		t.Fatal("the aws target without credentials succeeded")
	}
	if !strings.Contains(errOut.String(), "no AWS credentials") || !strings.Contains(errOut.String(), "--profile") {
		t.Errorf("error without the cause and fix:\n%s", errOut.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("the workspace was created")
	}
}

// TestE2ERegisterCAByHand: the user registers the CA with the shown AWS CLI command; the
// next run finds it registered and reuses it instead of failing or duplicating it.
func TestE2ERegisterCAByHand(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "aws")
	dir := filepath.Join(t.TempDir(), "ws")
	if r := jitpwiz(t, "run", "--dir", dir, "--yes", "--stop-after", "template"); r.err == nil {
		t.Fatalf("--stop-after did not stop:\n%s", r)
	}
	s := session(t, dir)
	line := steps.NewPlan(s).Lookup(steps.IDRegisterCA).Commands()[0]
	for _, want := range []string{"aws iot register-ca-certificate --ca-certificate file://deviceRootCA.pem --verification-cert file://verificationCert.crt --set-as-active --allow-auto-registration --registration-config file://jitp_template.json --region us-east-2 --endpoint-url http://"} {
		if !strings.Contains(line, want) {
			t.Fatalf("register command %q lacks %q", line, want)
		}
	}
	out, err := byHand(dir, line)
	if err != nil || !strings.Contains(out, s.CA.CertID) {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	s.Close()
	r := mustRun(t, "run", "--dir", dir)
	if !strings.Contains(lineWith(r.out, " 8/13"), "(reused)") || !strings.Contains(r.out, "already registered") {
		t.Errorf("step 8 should find the CA registered and reuse it:\n%s", r.out)
	}
	if !strings.Contains(r.out, "published as itself") {
		t.Fatalf("%s", r)
	}
	s = session(t, dir)
	if cas, _ := s.Client().ListCAs(context.Background()); len(cas) != 1 {
		t.Errorf("CAs %v, want 1", cas)
	}
}

func TestE2EJSONFailure(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	// The named template without the policy and without consent fails at step 7.
	r := mustFail(t, "succeeded", "run", "--dir", dir, "--thing", "J", "--country", "US", "--template", "named", "--json")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	var last, failed steps.RunEvent
	for _, l := range lines {
		var e steps.RunEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if e.Status == "failed" {
			failed = e
		}
		last = e
	}
	if failed.Step != steps.IDTemplate || !strings.Contains(failed.Error, "--create-policy") {
		t.Errorf("failed step event %+v", failed)
	}
	if last.Event != "end" || last.OK == nil || *last.OK || last.Error == "" {
		t.Errorf("last event %+v, want end with ok=false and the error", last)
	}
}

func TestE2EBringYourOwnCANotACA(t *testing.T) {
	t.Parallel()
	openssl := testtool.Need(t, "openssl")
	pkiDir := t.TempDir()
	cmd := exec.Command(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.pem", "-days", "30",
		"-subj", "/CN=Not a CA", "-addext", "basicConstraints=critical,CA:FALSE")
	cmd.Dir = pkiDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "ws")
	r := jitpwiz(t, "run", "--dir", dir, "--yes", "--ca-cert", filepath.Join(pkiDir, "leaf.pem"), "--ca-key", filepath.Join(pkiDir, "leaf.key"))
	if r.err == nil || !strings.Contains(r.all(), "--ca-cert") || !strings.Contains(r.all(), "CA") {
		t.Fatalf("a certificate without CA:TRUE was accepted as the CA, or the error does not say so:\n%s", r)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("the workspace was created")
	}
}

// TestE2EKillAtEachBoundaryThenComplete: for every step boundary, a fresh workspace whose
// process is killed (SIGKILL) right after that step completes on the next run, with the keys
// made before the kill untouched and the cloud side holding one CA and one thing.
func TestE2EKillAtEachBoundaryThenComplete(t *testing.T) {
	t.Parallel()
	for _, st := range steps.NewPlan(&steps.Session{}).Steps()[:12] {
		id := st.ID()
		t.Run(string(id), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "ws")
			r := jitpwiz(t, "run", "--dir", dir, "--yes", "--key", "ec256", "--stop-after", string(id))
			var ee *exec.ExitError
			if !errors.As(r.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("want death by SIGKILL after %s, got %v\n%s", id, r.err, r)
			}
			keys := map[string]string{}
			for _, k := range []string{pki.FileCAKey, pki.FileVerifKey, pki.FileDeviceKey} {
				if _, err := os.Stat(filepath.Join(dir, k)); err == nil {
					keys[k] = fileHash(t, filepath.Join(dir, k))
				}
			}
			r = mustRun(t, "run", "--dir", dir)
			if !strings.Contains(r.out, "published as itself") {
				t.Fatalf("re-run after a kill at %s did not complete:\n%s", id, r.out)
			}
			if n := countLines(r.out, "✓ ") - 1; n != 13 {
				t.Errorf("%d step lines", n)
			}
			for k, h := range keys {
				if fileHash(t, filepath.Join(dir, k)) != h {
					t.Errorf("%s regenerated after a kill at %s", k, id)
				}
			}
			s := session(t, dir)
			cas, _ := s.Client().ListCAs(context.Background())
			things, _ := s.Client().ListThings(context.Background())
			if len(cas) != 1 || len(things) != 1 {
				t.Errorf("after a kill at %s: %d CAs, %d things", id, len(cas), len(things))
			}
		})
	}
}

// TestE2ECADeactivatedBehindOurBack: someone set the CA INACTIVE after it was registered. A new
// device's first connect fails with that cause, and the next run re-activates the CA (step 8
// runs again) and completes.
func TestE2ECADeactivatedBehindOurBack(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	s := session(t, dir)
	if err := s.Client().UpdateCA(context.Background(), s.CA.RegisteredID, aws.UpdateCAInput{NewStatus: aws.StatusInactive}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	r := jitpwiz(t, "run", "--dir", dir, "--thing", "Late")
	if r.err == nil || !strings.Contains(r.out, "✗ 11/13") || !strings.Contains(r.out, "INACTIVE") {
		t.Fatalf("first connect with an inactive CA should fail and say why:\n%s", r)
	}
	r = mustRun(t, "run", "--dir", dir)
	if !strings.Contains(lineWith(r.out, "↻  8/13"), "runs again") || !strings.Contains(r.out, "setting the CA ACTIVE") || !strings.Contains(r.out, "published as itself") {
		t.Errorf("the next run should re-activate the CA and finish:\n%s", r.out)
	}
}

// TestE2ENewCountrySameThing: a new country redoes only the device certificate and the device
// steps (same key); the thing, provisioned before, keeps its attributes, so verify marks the
// attribute ✗ (the thing does not say what the new certificate says) and says why.
func TestE2ENewCountrySameThing(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	key := fileHash(t, filepath.Join(dir, pki.FileDeviceKey))
	r := mustFail(t, "verify passed although the thing's country is not the certificate's", "run", "--dir", dir, "--country", "US")
	for _, n := range []string{" 1/13", " 2/13", " 3/13", " 4/13", " 5/13", " 6/13", " 7/13", " 8/13", "10/13"} {
		if !strings.Contains(lineWith(r.out, n), "done before") {
			t.Errorf("step %s should not run again for a new country:\n%s", n, r.out)
		}
	}
	if !strings.Contains(r.out, "↻  9/13 Device cert        runs again: country changed: IN → US") {
		t.Errorf("no reason for the new device cert:\n%s", r.out)
	}
	if l := lineWith(r.out, "✗ thing has the template's attributes"); !strings.Contains(l, `country="US" (got "IN")`) || !strings.Contains(l, "existed before this certificate") {
		t.Errorf("verify after a new country:\n%s", r.out)
	}
	if fileHash(t, filepath.Join(dir, pki.FileDeviceKey)) != key {
		t.Error("device key regenerated")
	}
	openssl := testtool.Need(t, "openssl")
	if out, _ := exec.Command(openssl, "x509", "-in", filepath.Join(dir, pki.FileDeviceCert), "-noout", "-subject").Output(); !strings.Contains(string(out), "C = US") && !strings.Contains(string(out), "C=US") {
		t.Errorf("device cert subject %s", out)
	}
}

// TestE2ECommandsByHandAfterRun follows `jitpwiz run --commands` on the embedded IoT Core:
// the commands name the in-process IoT Core's ports, which close when the run ends, so
// the run must say how to serve the same state on those ports again — and following that
// hint, a printed command works verbatim.
func TestE2ECommandsByHandAfterRun(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "aws")
	var lastErr string
	// Another test may take the freed ports between the run and the restart; try again then.
	for attempt := 0; attempt < 3; attempt++ {
		dir, r := runFresh(t, "--commands")
		var hint []string
		var regCmd string
		for _, l := range strings.Split(r.out, "\n") {
			if i := strings.Index(l, "jitpwiz local --dir "); i >= 0 {
				hint = strings.Fields(l[i+len("jitpwiz "):])
			}
			if c, ok := strings.CutPrefix(strings.TrimSpace(l), "$ aws iot get-registration-code"); ok {
				regCmd = "aws iot get-registration-code" + c
			}
		}
		if len(hint) != 7 || regCmd == "" {
			t.Fatalf("no `jitpwiz local --dir D --api-port P --mqtt-port Q` hint or no registration-code command:\n%s", r.out)
		}
		s := session(t, dir)
		if want := fmt.Sprintf("--endpoint-url http://127.0.0.1:%s", hint[4]); !strings.Contains(regCmd, want) {
			t.Fatalf("hint's --api-port %s does not match the command %q", hint[4], regCmd)
		}
		if !strings.Contains(r.out, fmt.Sprintf("-p %s ", hint[6])) {
			t.Fatalf("hint's --mqtt-port %s does not match the mosquitto_pub commands:\n%s", hint[6], r.out)
		}
		code := s.RegistrationCode
		s.Close()

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		srv := exec.CommandContext(ctx, binary, hint...)
		var srvOut bytes.Buffer
		srv.Stdout, srv.Stderr = &srvOut, &srvOut
		if err := srv.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Wait() }()
		out, err := "", error(nil)
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			out, err = byHand(dir, regCmd)
			if err == nil {
				break
			}
			select {
			case <-done:
				err = errors.New("jitpwiz local exited")
				deadline = time.Now()
			default:
			}
		}
		_ = srv.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
		cancel()
		if strings.Contains(srvOut.String(), "address already in use") {
			lastErr = srvOut.String()
			continue
		}
		if err != nil || !strings.Contains(out, code) {
			t.Fatalf("%s after `jitpwiz %s`: %v\n%s\njitpwiz local:\n%s", regCmd, strings.Join(hint, " "), err, out, srvOut.String())
		}
		return
	}
	t.Fatalf("the hinted ports stayed taken by other tests: %s", lastErr)
}

// TestE2EWorkspaceServedByJitpwizLocal: while `jitpwiz local --dir D` serves a workspace
// (here: local.Start in this process as Run starts it, holding the lock), doctor, run and
// clean on D use that IoT Core instead of failing with advice about an --endpoint-url flag
// doctor and clean do not have. A workspace busy with another run is not shared.
func TestE2EWorkspaceServedByJitpwizLocal(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	busy, err := local.Start(context.Background(), local.Options{Dir: dir, APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	r := jitpwiz(t, "run", "--dir", dir, "--yes", "--thing", "Busy")
	if r.err == nil || !strings.Contains(r.out, "in use by another jitpwiz process") {
		t.Errorf("a run while another run owns the workspace must be refused:\n%s", r)
	}
	busy.Close()
	srv, err := local.Start(context.Background(), local.Options{Dir: dir, APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", Standalone: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r = mustRun(t, "doctor", "--dir", dir)
	if !strings.Contains(r.out, "✓ CA ACTIVE") || strings.Contains(r.out, "cannot reach") {
		t.Errorf("doctor did not check the cloud side through the running jitpwiz local:\n%s", r)
	}
	r = mustRun(t, "run", "--dir", dir, "--yes", "--thing", "Second")
	if !strings.Contains(r.out, "served by `jitpwiz local`") || !strings.Contains(r.out, "published as itself") {
		t.Errorf("run did not use the running jitpwiz local:\n%s", r)
	}
	c, err := aws.New(context.Background(), aws.Config{EndpointURL: srv.EndpointURL(), Region: srv.Region(),
		StaticAccessKeyID: local.AccessKeyID, StaticSecretKey: local.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeThing(context.Background(), "Second"); err != nil {
		t.Errorf("thing Second is not on the running IoT Core: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, steps.SessionFile)); strings.Contains(string(b), srv.EndpointURL()) {
		t.Errorf("the running server's URL was saved in the session; it is only for this run")
	}
}

// TestE2EDoctorBrokenCA: a CA changed behind the workspace's back (deactivated, auto-
// registration off, a template that needs O) is found by doctor, each with a fix that works
// verbatim, and the template that runs — the one registered with the CA — is the one checked.
func TestE2EDoctorBrokenCA(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "aws")
	dir := completedWorkspace(t)
	s := session(t, dir)
	ctx := context.Background()
	// The template now also needs O, which the device certificate (/C=IN/CN=DemoThing) lacks.
	rc := templateNeedingO(t, dir)
	if err := s.Client().UpdateCA(ctx, s.CA.RegisteredID, aws.UpdateCAInput{NewStatus: aws.StatusInactive,
		NewAutoRegistrationStatus: aws.AutoRegDisable, RegistrationConfig: &rc}); err != nil {
		t.Fatal(err)
	}
	lines := map[string]steps.ResultLine{}
	var all []string
	for _, l := range s.Doctor(ctx) {
		lines[l.Label] = l
		all = append(all, l.Label+": "+l.Value)
	}
	report := strings.Join(all, "\n")
	sh := func(line string) {
		t.Helper()
		if out, err := byHand(dir, line); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
	}
	for _, label := range []string{"CA ACTIVE", "CA auto-registration ENABLE"} {
		l, ok := lines[label]
		if !ok || l.OK {
			t.Fatalf("doctor did not flag %q:\n%s", label, report)
		}
		_, fix, found := strings.Cut(l.Value, ": aws iot update-ca-certificate")
		if !found {
			t.Fatalf("%s has no update-ca-certificate fix: %s", label, l.Value)
		}
		sh("aws iot update-ca-certificate" + fix)
	}
	if l, ok := lines["registered template's parameters resolve from the device subject"]; !ok || l.OK || !strings.Contains(l.Value, "no O (organization)") {
		t.Errorf("doctor did not check the device against the registered template:\n%s", report)
	}
	if !strings.Contains(report, "differs from "+steps.FileTemplate) {
		t.Errorf("doctor did not say the registered template differs from the workspace's:\n%s", report)
	}
	// After the printed fixes the CA is ACTIVE with auto-registration on again.
	for _, l := range s.Doctor(ctx) {
		if (l.Label == "CA ACTIVE" || l.Label == "CA auto-registration ENABLE") && !l.OK {
			t.Errorf("after the printed fix: %s: %s", l.Label, l.Value)
		}
	}
}

// TestE2EKeyTypeOnFinishedWorkspace: --key on a finished workspace changes nothing (keys are
// replaced only with --force-new-keys), and the run says so instead of ignoring the flag.
func TestE2EKeyTypeOnFinishedWorkspace(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	before := fileHash(t, filepath.Join(dir, pki.FileCAKey))
	r := mustRun(t, "run", "--dir", dir, "--key", "ec256")
	if !strings.Contains(r.out, "--key ec256 applies to keys jitpwiz creates") || !strings.Contains(r.out, "--force-new-keys") {
		t.Errorf("no note that --key does not replace the existing keys:\n%s", r.out)
	}
	if fileHash(t, filepath.Join(dir, pki.FileCAKey)) != before {
		t.Error("the CA key changed without --force-new-keys")
	}
}

// TestFirstConnectStopsOnProvisioningFailure: the template registered with the CA is
// changed behind the workspace's back to need O, which a new device's certificate lacks.
// The local IoT Core records the failed provisioning before it drops the connection, so
// step 11 stops polling the certificate at its first status (not after the 5 s timeout)
// and reports the failure with AWS's message.
func TestFirstConnectStopsOnProvisioningFailure(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	ctx := context.Background()

	s := session(t, dir)
	rc := templateNeedingO(t, dir)
	if err := s.Client().UpdateCA(ctx, s.CA.RegisteredID, aws.UpdateCAInput{RegistrationConfig: &rc}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2, err := steps.Open(steps.Options{Dir: dir, Thing: "Second", Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var out bytes.Buffer
	err = steps.NewPlan(s2).Run(ctx, steps.RunConfig{Out: &out})
	if !steps.Reported(err) || !strings.Contains(err.Error(), "step 11") {
		t.Fatalf("want step 11 to fail (reported), got %v\n%s", err, out.String())
	}
	failed := lineWith(out.String(), "✗ 11/13")
	if !strings.Contains(failed, "Cannot resolve reference value") || !strings.Contains(failed, "Organization") {
		t.Errorf("step 11 should fail with AWS's message about the Organization reference:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "· certificate status after"); n != 1 {
		t.Errorf("the recorded failure should stop the status polling at the first poll, polled %d times:\n%s", n, out.String())
	}
}
