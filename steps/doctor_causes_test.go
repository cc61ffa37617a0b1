package steps_test

// The named causes of `jitpwiz doctor` (docs/doctor.md), each built on the local IoT Core as a
// customer builds a setup — openssl for the PKI, the AWS CLI (/usr/bin/aws --endpoint-url)
// for the control plane, mosquitto_pub for the device; never `jitpwiz run` — and named by
// `jitpwiz doctor --ca-cert … --json`, given the customer's files without a workspace.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps"
)

// customer is one customer's directory of files on a shared `jitpwiz local`.
type customer struct {
	t   *testing.T
	dir string
	l   *localServer
	env []string
}

// causeBase is what the causes share: the IoT Core, its account, the provisioning role, the
// registration code, and a CA registered with the walkthrough's scoped template.
type causeBase struct {
	l        *localServer
	account  string
	roleARN  string
	code     string
	dir      string // the base customer's directory (CA "Base Root CA")
	caID     string
	binDir   string // aws → /usr/bin/aws, first on PATH
	mqttPort string
}

var bannerAccount = regexp.MustCompile(`\(account (\d{12}), region`)

// reports are the JSON reports the causes produced (for the schema check).
var reports struct {
	sync.Mutex
	all [][]byte
}

func newCustomer(t *testing.T, b *causeBase) *customer {
	t.Helper()
	dir := t.TempDir()
	return &customer{t: t, dir: dir, l: b.l, env: append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_PAGER=", "PATH="+b.binDir+string(os.PathListSeparator)+os.Getenv("PATH"))}
}

func (c *customer) sh(line string) (string, error) {
	cmd := exec.Command("bash", "-c", line)
	cmd.Dir, cmd.Env = c.dir, c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *customer) must(line string) string {
	c.t.Helper()
	out, err := c.sh(line)
	if err != nil {
		c.t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return out
}

// aws runs the AWS CLI against the IoT Core.
func (c *customer) aws(args string) string {
	c.t.Helper()
	return c.must("aws " + args + " --region us-east-2 --endpoint-url " + c.l.url + " --output json")
}

// awsFails runs the AWS CLI and requires it to fail.
func (c *customer) awsFails(args string) string {
	c.t.Helper()
	line := "aws " + args + " --region us-east-2 --endpoint-url " + c.l.url + " --output json"
	out, err := c.sh(line)
	if err == nil {
		c.t.Fatalf("%s succeeded; the broken setup should be refused:\n%s", line, out)
	}
	return out
}

// newCA makes a CA key and certificate name.key/name.pem with openssl (a CA unless ext says otherwise).
func (c *customer) newCA(name string, ext ...string) string {
	c.t.Helper()
	if len(ext) == 0 {
		ext = []string{"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"}
	}
	c.must("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name + ".pem -days 30 -subj '/C=US/O=Customer/CN=" + name + " Root CA' " + strings.Join(ext, " "))
	return name + ".pem"
}

// verification makes <ca>-verif.crt with CN cn, signed by the CA.
func (c *customer) verification(ca, cn string) string {
	c.t.Helper()
	v := strings.TrimSuffix(ca, ".pem") + "-verif"
	c.must("openssl req -new -newkey rsa:2048 -nodes -keyout " + v + ".key -out " + v + ".csr -subj '/CN=" + cn + "' && " +
		signCmd(ca, v, v+".crt", "30"))
	return v + ".crt"
}

// signCmd is the openssl line with which the CA caPath (its key beside it: .key for .pem)
// signs name.csr into out, valid days. Its serial file is name.srl in the customer's own
// directory: the cases run in parallel and sign with the same base CA, whose default serial
// file (Base.srl, next to the CA) two of them would write at once.
func signCmd(caPath, name, out, days string) string {
	return "openssl x509 -req -in " + name + ".csr -CA " + caPath + " -CAkey " + strings.TrimSuffix(caPath, ".pem") + ".key" +
		" -CAserial " + name + ".srl -CAcreateserial -out " + out + " -days " + days + " -sha256"
}

// register registers the CA with a verification certificate for code, active, with
// auto-registration unless noAuto, and with the registration config file regConfig ("" none).
func (c *customer) register(ca, code, regConfig string, noAuto bool) string {
	c.t.Helper()
	args := "iot register-ca-certificate --ca-certificate file://" + ca + " --verification-cert file://" + c.verification(ca, code) + " --set-as-active"
	if !noAuto {
		args += " --allow-auto-registration"
	}
	if regConfig != "" {
		args += " --registration-config file://" + regConfig
	}
	var out struct{ CertificateID string }
	if err := json.Unmarshal([]byte(c.aws(args)), &out); err != nil || out.CertificateID == "" {
		c.t.Fatalf("register-ca-certificate: %v", err)
	}
	return out.CertificateID
}

// device issues name.key/name.pem (subject subj) with the CA ca (its .pem, .key in dir
// caDir), days valid, and name-bundle.pem (device, then CA).
func (c *customer) device(caDir, ca, name, subj, days string) {
	c.t.Helper()
	caPath := filepath.Join(caDir, ca)
	c.must("openssl req -new -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name + ".csr -subj '" + subj + "' && " +
		signCmd(caPath, name, name+".pem", days) + " && " +
		"cat " + name + ".pem " + caPath + " > " + name + "-bundle.pem")
}

// provisionedDevice issues name (subject /C=IN/CN=name, valid 30 days) with the base CA, whose
// scoped template provisions it, and makes its first connect (dropped, as JITP does).
func (c *customer) provisionedDevice(b *causeBase, name string) {
	c.t.Helper()
	c.device(b.dir, "Base.pem", name, "/C=IN/CN="+name, "30")
	c.firstConnect(name)
}

// fixPublishes runs the first line of chk's fix (a mosquitto_pub) and requires the publish to
// be acknowledged; what says what the fix changes.
func (c *customer) fixPublishes(chk steps.DoctorCheck, what string) {
	c.t.Helper()
	if out := c.must(chk.Fix[0]); !strings.Contains(out, "PUBACK") {
		c.t.Errorf("the fix (%s) did not publish:\n%s", what, out)
	}
}

// pub connects with mosquitto_pub as the device does.
func (c *customer) pub(cert, key, host, client, topic string) (string, error) {
	return c.sh("mosquitto_pub --cafile " + c.l.rootCA + " --cert " + cert + " --key " + key + " -h " + host + " -p " + c.l.mqttPort +
		" -q 1 -t " + topic + " -i " + client + " --tls-version tlsv1.2 -m hello -d")
}

// firstConnect is the device's first connect with its bundle: dropped by the broker.
func (c *customer) firstConnect(name string) {
	c.t.Helper()
	if out, err := c.pub(name+"-bundle.pem", name+".key", "localhost", "anyclientID", "foo/bar"); err == nil {
		c.t.Fatalf("the first connect of %s was not dropped:\n%s", name, out)
	}
}

// certID is the AWS IoT certificate ID of a PEM file, as openssl prints it.
func (c *customer) certID(file string) string {
	c.t.Helper()
	return strings.TrimSpace(c.must("openssl x509 -in " + file + " -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f"))
}

// doctor runs `jitpwiz doctor --json` on the customer's files and returns its report and
// exit code.
func (c *customer) doctor(args ...string) (*steps.DoctorReport, int) {
	c.t.Helper()
	pre := []string{"doctor", "--json", "--endpoint-url", c.l.url}
	if len(args) > 0 && args[0] == "--dir" {
		pre = pre[:2] // a workspace: its own target
	}
	cmd := exec.Command(binary, append(pre, args...)...)
	cmd.Dir, cmd.Env = c.dir, c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("doctor %s: %v", strings.Join(args, " "), err)
	}
	var rep steps.DoctorReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		c.t.Fatalf("doctor %s: not a JSON report (%v):\n%s\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	if code != rep.Summary.Exit {
		c.t.Errorf("doctor exited %d, its report says %d", code, rep.Summary.Exit)
	}
	reports.Lock()
	reports.all = append(reports.all, out.Bytes())
	reports.Unlock()
	return &rep, code
}

// check is the report's check id (failing the test if there is none).
func check(t *testing.T, rep *steps.DoctorReport, id string) steps.DoctorCheck {
	t.Helper()
	for _, c := range rep.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("the report has no check %s:\n%s", id, dump(rep))
	return steps.DoctorCheck{}
}

func dump(rep *steps.DoctorReport) string {
	b, _ := json.MarshalIndent(rep.Checks, "", " ")
	return string(b)
}

// named requires the report to name cause as the cause of check id, failed, with a fix
// (and, when first, as the likeliest cause).
func named(t *testing.T, rep *steps.DoctorReport, id string, cause steps.Cause, first bool) steps.DoctorCheck {
	t.Helper()
	c := check(t, rep, id)
	if c.Status != steps.CheckFail || c.Cause != cause || c.Why == "" {
		t.Fatalf("check %s: status %s, cause %q, want a failure with cause %s:\n%s", id, c.Status, c.Cause, cause, dump(rep))
	}
	if !slices.Contains(rep.Summary.Causes, cause) || rep.Summary.Exit == steps.DoctorExitOK {
		t.Fatalf("summary %+v lacks %s", rep.Summary, cause)
	}
	if first && rep.Summary.Causes[0] != cause {
		t.Errorf("the likeliest cause is %s, want %s (causes %v)", rep.Summary.Causes[0], cause, rep.Summary.Causes)
	}
	if first && rep.Checks[0].Cause != cause {
		t.Errorf("the first check is %s (%s), want the culprit %s first", rep.Checks[0].ID, rep.Checks[0].Cause, cause)
	}
	return c
}

// passes requires check id to pass.
func passes(t *testing.T, rep *steps.DoctorReport, id string) steps.DoctorCheck {
	t.Helper()
	c := check(t, rep, id)
	if c.Status != steps.CheckPass {
		t.Fatalf("check %s: %s, want pass:\n%s", id, c.Status, dump(rep))
	}
	return c
}

// fix runs a check's fix commands verbatim.
func (c *customer) fix(chk steps.DoctorCheck) {
	c.t.Helper()
	if len(chk.Fix) == 0 {
		c.t.Fatalf("check %s has no fix", chk.ID)
	}
	for _, line := range chk.Fix {
		c.must(line)
	}
}

// writeConfig writes a registration config file of a template body and role.
func (c *customer) writeConfig(name string, body map[string]any, roleARN string) string {
	c.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg, _ := json.MarshalIndent(map[string]string{"templateBody": string(b), "roleArn": roleARN}, "", " ")
	if err := os.WriteFile(filepath.Join(c.dir, name), cfg, 0o644); err != nil {
		c.t.Fatal(err)
	}
	return name
}

// scopedBody is the walkthrough's scoped template body, as a map to change.
func (b *causeBase) scopedBody(t *testing.T) map[string]any {
	t.Helper()
	rc, err := template.RenderConfig(template.Scoped, "us-east-2", b.account, b.roleARN, "")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(rc.TemplateBody), &body); err != nil {
		t.Fatal(err)
	}
	return body
}

func thingProps(body map[string]any) map[string]any {
	return body["Resources"].(map[string]any)["thing"].(map[string]any)["Properties"].(map[string]any)
}

// setupCauseBase starts the IoT Core and does what every customer here did first: the role,
// the registration code, and the base CA registered with the scoped template.
func setupCauseBase(t *testing.T) *causeBase {
	awsCLI := testtool.Need(t, "aws")
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		awsCLI = "/usr/bin/aws"
	}
	testtool.Need(t, "openssl")
	testtool.Need(t, "mosquitto_pub")
	b := &causeBase{binDir: t.TempDir()}
	if err := os.Symlink(awsCLI, filepath.Join(b.binDir, "aws")); err != nil {
		t.Fatal(err)
	}
	b.l = startJitpwizLocal(t, "--dir", t.TempDir())
	m := bannerAccount.FindStringSubmatch(b.l.out.String())
	if m == nil {
		t.Fatalf("no account in the banner:\n%s", b.l.out.String())
	}
	b.account, b.mqttPort = m[1], b.l.mqttPort
	c := newCustomer(t, b)
	b.dir = c.dir
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if err := os.WriteFile(filepath.Join(c.dir, "trust.json"), []byte(trust), 0o644); err != nil {
		t.Fatal(err)
	}
	var role struct{ Role struct{ Arn string } }
	if err := json.Unmarshal([]byte(c.aws("iam create-role --role-name JITPRole --assume-role-policy-document file://trust.json")), &role); err != nil {
		t.Fatal(err)
	}
	b.roleARN = role.Role.Arn
	c.aws("iam attach-role-policy --role-name JITPRole --policy-arn arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")
	var code struct{ RegistrationCode string }
	if err := json.Unmarshal([]byte(c.aws("iot get-registration-code")), &code); err != nil || code.RegistrationCode == "" {
		t.Fatalf("get-registration-code: %v", err)
	}
	b.code = code.RegistrationCode
	c.newCA("Base")
	c.writeConfig("jitp_template.json", b.scopedBody(t), b.roleARN)
	b.caID = c.register("Base.pem", b.code, "jitp_template.json", false)
	return b
}

// base is the base CA's certificate, as a customer hands it over.
func (b *causeBase) base() string { return filepath.Join(b.dir, "Base.pem") }

// TestDoctorCauses builds each named cause and checks that doctor names it; then that the
// JSON reports match their schema in docs/doctor.md.
func TestDoctorCauses(t *testing.T) {
	t.Parallel()
	b := setupCauseBase(t)
	var ran atomic.Int32
	t.Run("causes", func(t *testing.T) {
		for _, tc := range causeTests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ran.Add(1)
				tc.run(t, b, newCustomer(t, b))
			})
		}
	})
	if !t.Failed() && int(ran.Load()) == len(causeTests) { // all of them: -run may pick some
		checkSchema(t)
	}
}

var causeTests = []struct {
	name string
	run  func(t *testing.T, b *causeBase, c *customer)
}{
	{"01-first-connect-drop", func(t *testing.T, b *causeBase, c *customer) {
		// The customer's device was dropped on its first connect, and they took it for a failure.
		c.provisionedDevice(b, "Drop01")
		rep, code := c.doctor("--ca-cert", b.base(), "--device-cert", "Drop01-bundle.pem", "--device-key", "Drop01.key")
		fc := passes(t, rep, "first-connect")
		if code != 0 || fc.Cause != steps.CauseFirstConnectDrop || !strings.Contains(fc.Why, "that drop is expected") {
			t.Fatalf("exit %d, first-connect %+v:\n%s", code, fc, dump(rep))
		}
		passes(t, rep, "device-registered")
		passes(t, rep, "thing")
		// And the device, connecting again as its thing, stays connected.
		if out, err := c.pub("Drop01.pem", "Drop01.key", "localhost", "Drop01", "Drop01/test"); err != nil {
			t.Errorf("the provisioned device cannot publish: %v\n%s", err, out)
		}
	}},
	{"02-template-parameter-missing", func(t *testing.T, b *causeBase, c *customer) {
		// The subject has no C, which the scoped template's country attribute needs.
		c.device(b.dir, "Base.pem", "NoC02", "/CN=NoC02", "30")
		c.firstConnect("NoC02")
		rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", "NoC02-bundle.pem", "--device-key", "NoC02.key")
		p := named(t, rep, "template-parameters", steps.CauseTemplateParameter, true)
		if !strings.Contains(p.Why, "AWS::IoT::Certificate::Country") {
			t.Errorf("the missing parameter is not named: %s", p.Why)
		}
		st := named(t, rep, "device-registered", steps.CauseTemplateParameter, false)
		if !strings.Contains(st.Evidence, "PENDING_ACTIVATION") || !strings.Contains(strings.Join(st.Notes, "\n"), "RegisterThingFailed") {
			t.Errorf("the status or the event log is not shown: %+v", st)
		}
	}},
	{"03-ca-inactive", func(t *testing.T, b *causeBase, c *customer) {
		c.newCA("Inactive03")
		c.writeConfig("t.json", b.scopedBody(t), b.roleARN)
		id := c.register("Inactive03.pem", b.code, "t.json", false)
		c.aws("iot update-ca-certificate --certificate-id " + id + " --new-status INACTIVE")
		c.device(c.dir, "Inactive03.pem", "Dev03", "/C=IN/CN=Dev03", "30")
		if _, err := c.pub("Dev03-bundle.pem", "Dev03.key", "localhost", "Dev03", "Dev03/x"); err == nil {
			t.Fatal("a device of an inactive CA connected")
		}
		rep, _ := c.doctor("--ca-cert", "Inactive03.pem", "--device-cert", "Dev03-bundle.pem")
		c.fix(named(t, rep, "ca-active", steps.CauseCAInactive, true))
		rep, _ = c.doctor("--ca-cert", "Inactive03.pem", "--device-cert", "Dev03-bundle.pem")
		passes(t, rep, "ca-active")
	}},
	{"04-auto-registration-disabled", func(t *testing.T, b *causeBase, c *customer) {
		c.newCA("NoAuto04")
		c.writeConfig("t.json", b.scopedBody(t), b.roleARN)
		c.register("NoAuto04.pem", b.code, "t.json", true) // --allow-auto-registration forgotten
		rep, _ := c.doctor("--ca-cert", "NoAuto04.pem")
		c.fix(named(t, rep, "ca-auto-registration", steps.CauseAutoRegistration, true))
		rep, _ = c.doctor("--ca-cert", "NoAuto04.pem")
		passes(t, rep, "ca-auto-registration")
	}},
	{"05-device-cert-other-or-unregistered-ca", func(t *testing.T, b *causeBase, c *customer) {
		// The device certificate was issued by another CA of the customer's, never registered.
		c.newCA("Other05")
		c.device(c.dir, "Other05.pem", "Dev05", "/C=IN/CN=Dev05", "30")
		c.firstConnect("Dev05")
		rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", "Dev05-bundle.pem")
		named(t, rep, "device-signed-by-ca", steps.CauseOtherCA, true)
		// Given the CA that did sign it: that CA is not registered.
		rep, _ = c.doctor("--ca-cert", "Other05.pem", "--device-cert", "Dev05-bundle.pem")
		reg := named(t, rep, "ca-registered", steps.CauseCANotRegistered, true)
		if !strings.Contains(reg.Why, "SNI_ONLY") || !strings.Contains(strings.Join(reg.Fix, "\n"), "register-ca-certificate --ca-certificate file://Other05.pem") {
			t.Errorf("ca-not-registered: %+v", reg)
		}
	}},
	{"06-no-sni-no-ca-in-chain", func(t *testing.T, b *causeBase, c *customer) {
		// The device connects by IP address (no SNI) with its leaf certificate alone.
		c.device(b.dir, "Base.pem", "Ip06", "/C=IN/CN=Ip06", "30")
		if out, err := c.pub("Ip06.pem", "Ip06.key", "127.0.0.1", "Ip06", "Ip06/x"); err == nil {
			t.Fatalf("a connection without SNI was accepted:\n%s", out)
		}
		rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", "Ip06.pem", "--device-key", "Ip06.key", "--mqtt-endpoint", "127.0.0.1:"+b.mqttPort, "--connect")
		sni := named(t, rep, "sni", steps.CauseNoSNINoChain, true)
		if !strings.Contains(sni.Evidence, "holds the device certificate alone") {
			t.Errorf("sni: %+v", sni)
		}
		if conn := check(t, rep, "connect"); conn.Status != steps.CheckFail || conn.Cause != steps.CauseNoSNINoChain {
			t.Errorf("connect: %+v", conn)
		}
		if st := check(t, rep, "device-registered"); !strings.Contains(strings.Join(st.Notes, "\n"), "ConnectRefused") {
			t.Errorf("the broker's refusal is not shown: %+v", st)
		}
		// The fix, with the endpoint name: provisioned.
		out := c.must(sni.Fix[0] + " || true")
		if !strings.Contains(out, "CONNECT") {
			t.Errorf("the fix did not connect: %s", out)
		}
		rep, _ = c.doctor("--ca-cert", b.base(), "--device-cert", "Ip06.pem", "--device-key", "Ip06.key")
		passes(t, rep, "sni")
		passes(t, rep, "first-connect")
	}},
	{"07a-role-missing", func(t *testing.T, b *causeBase, c *customer) {
		roleCause(t, b, c, "Missing07", "", steps.CauseRoleMissing, "role")
	}},
	{"07b-role-not-trusted", func(t *testing.T, b *causeBase, c *customer) {
		roleCause(t, b, c, "Ec207", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, steps.CauseRoleNotTrusted, "role-trust")
	}},
	{"07c-role-permissions", func(t *testing.T, b *causeBase, c *customer) {
		roleCause(t, b, c, "Bare07", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, steps.CauseRolePermissions, "role-permissions")
	}},
	{"08-policy-missing", func(t *testing.T, b *causeBase, c *customer) {
		rc, err := template.RenderConfig(template.Named, "us-east-2", b.account, b.roleARN, "Missing08Policy")
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.Unmarshal([]byte(rc.TemplateBody), &body)
		c.newCA("Named08")
		c.writeConfig("t.json", body, b.roleARN)
		c.register("Named08.pem", b.code, "t.json", false)
		c.device(c.dir, "Named08.pem", "Dev08", "/C=IN/CN=Dev08", "30")
		c.firstConnect("Dev08")
		rep, _ := c.doctor("--ca-cert", "Named08.pem", "--device-cert", "Dev08-bundle.pem")
		c.fix(named(t, rep, "template-policies", steps.CausePolicyMissing, true))
		if st := check(t, rep, "device-registered"); st.Cause != steps.CausePolicyMissing {
			t.Errorf("device-registered: %+v", st)
		}
		rep, _ = c.doctor("--ca-cert", "Named08.pem", "--device-cert", "Dev08-bundle.pem")
		passes(t, rep, "template-policies")
	}},
	{"09-template-mis-escaped", func(t *testing.T, b *causeBase, c *customer) {
		// templateBody written as a JSON object, not escaped into a string.
		cfg, _ := json.MarshalIndent(map[string]any{"templateBody": b.scopedBody(t), "roleArn": b.roleARN}, "", " ")
		if err := os.WriteFile(filepath.Join(c.dir, "jitp_template.json"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		c.newCA("Escape09")
		c.awsFails("iot register-ca-certificate --ca-certificate file://Escape09.pem --verification-cert file://" + c.verification("Escape09.pem", b.code) +
			" --set-as-active --allow-auto-registration --registration-config file://jitp_template.json")
		rep, _ := c.doctor("--ca-cert", "Escape09.pem", "--template", "jitp_template.json")
		f := named(t, rep, "template-file", steps.CauseTemplateEscaping, false)
		c.fix(f)
		rep, _ = c.doctor("--ca-cert", "Escape09.pem", "--template", "jitp_template-escaped.json")
		passes(t, rep, "template-file")
		// A body that is a string but whose quotes were escaped once too few.
		bad := `{"templateBody": "{ \"Parameters\": { \"AWS::IoT::Certificate::Id\": {\"Type\": \"String\"} }, \"Resources\": { \"certificate\": { \"Type\": \"AWS::IoT::Certificate\", \"Properties\": { \"CertificateId\": {\"Ref\": \"AWS::IoT::Certificate::Id\"}, \"Status\": \"ACTIVE\" } }, \"policy\": { \"Type\": \"AWS::IoT::Policy\", \"Properties\": { \"PolicyDocument\": \"{ \"Version\": \"2012-10-17\" }\" } } } }", "roleArn": "` + b.roleARN + `"}`
		if err := os.WriteFile(filepath.Join(c.dir, "inner.json"), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, _ = c.doctor("--ca-cert", "Escape09.pem", "--template", "inner.json")
		if p := named(t, rep, "template-parse", steps.CauseTemplateEscaping, false); !strings.Contains(p.Evidence, "not valid JSON") {
			t.Errorf("template-parse: %+v", p)
		}
	}},
	{"10-client-id-not-thing-name", func(t *testing.T, b *causeBase, c *customer) {
		c.provisionedDevice(b, "Client10")
		if _, err := c.pub("Client10.pem", "Client10.key", "localhost", "sensor-1", "Client10/x"); err == nil {
			t.Fatal("a client ID other than the thing name connected")
		}
		rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", "Client10.pem", "--device-key", "Client10.key", "--client-id", "sensor-1")
		f := named(t, rep, "client-id", steps.CauseClientID, true)
		c.fixPublishes(f, "client ID = thing name")
	}},
	{"11-topic-not-allowed", func(t *testing.T, b *causeBase, c *customer) {
		c.provisionedDevice(b, "Topic11")
		if _, err := c.pub("Topic11.pem", "Topic11.key", "localhost", "Topic11", "sensors/temp"); err == nil {
			t.Fatal("a topic outside the policy was allowed")
		}
		rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", "Topic11.pem", "--device-key", "Topic11.key", "--topic", "sensors/temp", "--connect")
		f := named(t, rep, "topic", steps.CauseTopic, true)
		c.fixPublishes(f, "a topic under the thing")
		if ct := check(t, rep, "connect-topic"); ct.Status != steps.CheckFail || ct.Cause != steps.CauseTopic {
			t.Errorf("connect-topic: %+v", ct)
		}
	}},
	{"12-ca-not-a-ca", func(t *testing.T, b *causeBase, c *customer) {
		c.newCA("Leaf12", "-addext", "basicConstraints=critical,CA:FALSE")
		out := c.awsFails("iot register-ca-certificate --ca-certificate file://Leaf12.pem --verification-cert file://" + c.verification("Leaf12.pem", b.code) + " --set-as-active")
		if !strings.Contains(out, "basicConstraints") {
			t.Errorf("register-ca-certificate: %s", out)
		}
		rep, _ := c.doctor("--ca-cert", "Leaf12.pem")
		f := named(t, rep, "ca-cert", steps.CauseNotCA, true)
		named(t, rep, "ca-registered", steps.CauseCANotRegistered, false)
		c.fix(f)
		rep, _ = c.doctor("--ca-cert", "Leaf12-v3.pem")
		passes(t, rep, "ca-cert")
	}},
	{"13-verification-cn-not-code", func(t *testing.T, b *causeBase, c *customer) {
		c.newCA("Verif13")
		v := c.verification("Verif13.pem", "0123456789abcdef") // the code of another account, say
		c.awsFails("iot register-ca-certificate --ca-certificate file://Verif13.pem --verification-cert file://" + v + " --set-as-active")
		rep, _ := c.doctor("--ca-cert", "Verif13.pem", "--verification-cert", v)
		f := named(t, rep, "verification-cert", steps.CauseVerificationCN, true)
		for _, l := range f.Fix {
			if !strings.HasPrefix(l, "#") {
				c.must(l)
			}
		}
		rep, _ = c.doctor("--ca-cert", "Verif13.pem", "--verification-cert", v)
		passes(t, rep, "verification-cert")
		c.aws("iot register-ca-certificate --ca-certificate file://Verif13.pem --verification-cert file://" + v + " --set-as-active")
	}},
	{"14-ca-already-registered", func(t *testing.T, b *causeBase, c *customer) {
		c.newCA("Again14")
		c.writeConfig("t.json", b.scopedBody(t), b.roleARN)
		c.register("Again14.pem", b.code, "t.json", false)
		// A new template, "registered" again: refused, the CA keeps its first one.
		body := b.scopedBody(t)
		thingProps(body)["AttributePayload"].(map[string]any)["fleet"] = "v2"
		c.writeConfig("t2.json", body, b.roleARN)
		out := c.awsFails("iot register-ca-certificate --ca-certificate file://Again14.pem --verification-cert file://Again14-verif.crt --set-as-active --allow-auto-registration --registration-config file://t2.json")
		if !strings.Contains(out, "ResourceAlreadyExists") {
			t.Errorf("register again: %s", out)
		}
		rep, _ := c.doctor("--ca-cert", "Again14.pem", "--template", "t2.json")
		if reg := passes(t, rep, "ca-registered"); reg.Cause != steps.CauseCAAlreadyRegistered || !strings.Contains(reg.Why, "ResourceAlreadyExistsException") {
			t.Errorf("ca-registered: %+v", reg)
		}
		c.fix(named(t, rep, "template-registered", steps.CauseCAAlreadyRegistered, true))
		rep, _ = c.doctor("--ca-cert", "Again14.pem", "--template", "t2.json")
		passes(t, rep, "template-registered")
	}},
	{"15-wrong-server-ca", func(t *testing.T, b *causeBase, c *customer) {
		// The device trusts the customer's own CA for the broker.
		c.device(b.dir, "Base.pem", "Srv15", "/C=IN/CN=Srv15", "30")
		c.must("cp " + b.base() + " server.pem")
		if out, err := c.sh("mosquitto_pub --cafile server.pem --cert Srv15-bundle.pem --key Srv15.key -h localhost -p " + b.mqttPort + " -q 1 -t foo/bar -i x -m hi"); err == nil {
			t.Fatalf("TLS with a wrong server CA succeeded:\n%s", out)
		}
		rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", "Srv15-bundle.pem", "--server-ca", "server.pem")
		f := named(t, rep, "server-ca", steps.CauseServerCA, true)
		if !strings.Contains(f.Why, "your own CA") {
			t.Errorf("server-ca: %+v", f)
		}
		c.fix(f)
		rep, _ = c.doctor("--ca-cert", b.base(), "--device-cert", "Srv15-bundle.pem", "--server-ca", "server.pem")
		passes(t, rep, "server-ca")
	}},
	{"16-wrong-region-or-endpoint", func(t *testing.T, b *causeBase, c *customer) {
		// The device was set up with an endpoint of another region.
		c.device(b.dir, "Base.pem", "Eu16", "/C=IN/CN=Eu16", "30")
		rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", "Eu16.pem", "--mqtt-endpoint", "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com:8883")
		ep := named(t, rep, "mqtt-endpoint", steps.CauseRegionEndpoint, true)
		if !strings.Contains(ep.Why, "eu-west-1") || !strings.Contains(ep.Why, "us-east-2") {
			t.Errorf("mqtt-endpoint: %+v", ep)
		}
		// doctor asked about another region than the CA's.
		rep, _ = c.doctor("--ca-cert", b.base(), "--region", "eu-west-1")
		named(t, rep, "region", steps.CauseRegionEndpoint, true)
	}},
	{"17-device-cert-not-active", func(t *testing.T, b *causeBase, c *customer) {
		for _, st := range []string{"INACTIVE", "REVOKED"} {
			name := "Dev17" + strings.ToLower(st)
			c.provisionedDevice(b, name)
			c.aws("iot update-certificate --certificate-id " + c.certID(name+".pem") + " --new-status " + st)
			if _, err := c.pub(name+".pem", name+".key", "localhost", name, name+"/x"); err == nil {
				t.Fatalf("a %s certificate connected", st)
			}
			rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", name+".pem")
			f := named(t, rep, "device-registered", steps.CauseCertNotActive, true)
			if !strings.Contains(f.Evidence, st) {
				t.Errorf("device-registered: %+v", f)
			}
			if st == "INACTIVE" {
				c.fix(f)
				rep, _ = c.doctor("--ca-cert", b.base(), "--device-cert", name+".pem")
				passes(t, rep, "device-registered")
			}
		}
	}},
	{"18-template-resource-missing", func(t *testing.T, b *causeBase, c *customer) {
		body := b.scopedBody(t)
		thingProps(body)["ThingTypeName"] = "Sensor18"
		thingProps(body)["ThingGroups"] = []string{"Fleet18"}
		c.newCA("Typed18")
		c.writeConfig("t.json", body, b.roleARN)
		c.register("Typed18.pem", b.code, "t.json", false)
		c.device(c.dir, "Typed18.pem", "Dev18", "/C=IN/CN=Dev18", "30")
		c.firstConnect("Dev18")
		rep, _ := c.doctor("--ca-cert", "Typed18.pem", "--device-cert", "Dev18-bundle.pem", "--device-key", "Dev18.key")
		c.fix(named(t, rep, "thing-type", steps.CauseTemplateResource, true))
		c.fix(named(t, rep, "thing-groups", steps.CauseTemplateResource, false))
		named(t, rep, "device-registered", steps.CauseTemplateResource, false)
		// Fixed: the next connect provisions the device.
		c.firstConnect("Dev18")
		rep, code := c.doctor("--ca-cert", "Typed18.pem", "--device-cert", "Dev18-bundle.pem", "--device-key", "Dev18.key")
		if code != 0 {
			t.Errorf("doctor after the fixes: exit %d\n%s", code, dump(rep))
		}
	}},
	{"18b-provisioning-template-by-name", func(t *testing.T, b *causeBase, c *customer) {
		// The CA names a provisioning template (templateName): doctor reads the template and
		// its role through DescribeProvisioningTemplate. (Neither AWS nor the local IoT Core
		// lets a template the CA uses be deleted.)
		body, _ := json.Marshal(b.scopedBody(t))
		if err := os.WriteFile(filepath.Join(c.dir, "body.json"), body, 0o644); err != nil {
			t.Fatal(err)
		}
		c.aws("iot create-provisioning-template --template-name Tmpl18 --type JITP --template-body file://body.json --provisioning-role-arn " + b.roleARN + " --enabled")
		if err := os.WriteFile(filepath.Join(c.dir, "byname.json"), []byte(`{"templateName":"Tmpl18"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		c.newCA("Named18")
		c.register("Named18.pem", b.code, "byname.json", false)
		c.device(c.dir, "Named18.pem", "Dev18b", "/C=IN/CN=Dev18b", "30")
		c.firstConnect("Dev18b")
		rep, code := c.doctor("--ca-cert", "Named18.pem", "--device-cert", "Dev18b.pem", "--device-key", "Dev18b.key")
		if p := passes(t, rep, "provisioning-template"); code != 0 || !strings.Contains(p.Evidence, "role "+b.roleARN) {
			t.Fatalf("exit %d, provisioning-template %+v", code, p)
		}
		passes(t, rep, "role-permissions")
		passes(t, rep, "first-connect")
	}},
	{"19-other-certificate-on-thing", func(t *testing.T, b *causeBase, c *customer) {
		c.device(b.dir, "Base.pem", "Old19", "/C=IN/CN=Reissued19", "30")
		c.firstConnect("Old19")
		c.device(b.dir, "Base.pem", "New19", "/C=IN/CN=Reissued19", "30") // the re-issued device
		c.firstConnect("New19")
		rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", "New19.pem", "--device-key", "New19.key")
		f := named(t, rep, "other-certificates", steps.CauseOtherCertOnThing, true)
		if !strings.Contains(f.Evidence, c.certID("Old19.pem")[:12]) {
			t.Errorf("the old certificate is not named: %+v", f)
		}
		c.fix(f)
		rep, _ = c.doctor("--ca-cert", b.base(), "--device-cert", "New19.pem", "--device-key", "New19.key")
		passes(t, rep, "other-certificates")
		if _, err := c.pub("Old19.pem", "Old19.key", "localhost", "Reissued19", "Reissued19/x"); err == nil {
			t.Error("the old certificate still connects after the fix")
		}
	}},
	{"20-certificate-not-valid-now", func(t *testing.T, b *causeBase, c *customer) {
		c.device(b.dir, "Base.pem", "Exp20", "/C=IN/CN=Exp20", "-1") // expired
		if _, err := c.pub("Exp20-bundle.pem", "Exp20.key", "localhost", "x", "foo/bar"); err == nil {
			t.Fatal("an expired certificate connected")
		}
		rep, _ := c.doctor("--ca-cert", b.base(), "--device-cert", "Exp20-bundle.pem", "--device-key", "Exp20.key")
		named(t, rep, "device-validity", steps.CauseValidity, true)
		// A CA certificate that expired (openssl req refuses -days -1; openssl x509 does not).
		c.must("printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign\\n' > ca.ext && " +
			"openssl req -new -newkey rsa:2048 -nodes -keyout Old20.key -out Old20.csr -subj '/C=US/O=Customer/CN=Old20 Root CA' && " +
			"openssl x509 -req -in Old20.csr -signkey Old20.key -days -1 -extfile ca.ext -out Old20.pem")
		rep, _ = c.doctor("--ca-cert", "Old20.pem")
		named(t, rep, "ca-validity", steps.CauseValidity, true)
	}},
	{"target-unreachable", func(t *testing.T, b *causeBase, c *customer) {
		rep, code := c.doctor("--ca-cert", b.base(), "--endpoint-url", "http://127.0.0.1:1")
		if code != steps.DoctorExitUnreachable || rep.Target.Reachable || rep.Target.Error == "" {
			t.Fatalf("exit %d, target %+v", code, rep.Target)
		}
		named(t, rep, "target", steps.CauseUnreachable, true)
	}},
	{"workspace", func(t *testing.T, b *causeBase, c *customer) {
		// --dir as before, in JSON: a completed workspace has nothing wrong.
		dir := completedWorkspace(t)
		rep, code := c.doctor("--dir", dir)
		if code != 0 || rep.Mode != "workspace" || rep.Inputs.Workspace != dir || rep.Summary.Failed != 0 {
			t.Fatalf("exit %d, %+v\n%s", code, rep.Summary, dump(rep))
		}
		passes(t, rep, "connect")
		passes(t, rep, "role-permissions")
	}},
	{"jitr-not-activated", func(t *testing.T, b *causeBase, c *customer) {
		// Issue 14's diagnosis, from the files alone: a JITR CA, a device nobody activated.
		c.newCA("Jitr")
		c.register("Jitr.pem", b.code, "", false)
		c.device(c.dir, "Jitr.pem", "DevJ", "/C=IN/CN=DevJ", "30")
		c.firstConnect("DevJ")
		rep, _ := c.doctor("--ca-cert", "Jitr.pem", "--device-cert", "DevJ-bundle.pem", "--device-key", "DevJ.key")
		f := named(t, rep, "device-registered", steps.CauseJITRPending, true)
		if f.Label != "device certificate ACTIVE (JITR)" || !strings.Contains(f.Evidence, "nothing activated it") {
			t.Errorf("device-registered: %+v", f)
		}
		c.fix(f)
		if out, err := c.pub("DevJ.pem", "DevJ.key", "localhost", "DevJ", "DevJ/test"); err != nil {
			t.Errorf("after the printed activation the device cannot publish: %v\n%s", err, out)
		}
	}},
}

// roleCause: a CA whose template names a role that is missing (trust ""), or made with trust
// and no permission policy; doctor names the cause, and its fix makes the role checks pass.
func roleCause(t *testing.T, b *causeBase, c *customer, name, trust string, cause steps.Cause, id string) {
	roleARN := "arn:aws:iam::" + b.account + ":role/" + name
	if trust != "" {
		if err := os.WriteFile(filepath.Join(c.dir, "trust.json"), []byte(trust), 0o644); err != nil {
			t.Fatal(err)
		}
		c.aws("iam create-role --role-name " + name + " --assume-role-policy-document file://trust.json")
		if cause == steps.CauseRoleNotTrusted {
			c.aws("iam attach-role-policy --role-name " + name + " --policy-arn arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")
		}
	}
	c.newCA(name)
	c.writeConfig("t.json", b.scopedBody(t), roleARN)
	c.register(name+".pem", b.code, "t.json", false)
	c.device(c.dir, name+".pem", "D"+name, "/C=IN/CN=D"+name, "30")
	c.firstConnect("D" + name)
	rep, _ := c.doctor("--ca-cert", name+".pem", "--device-cert", "D"+name+"-bundle.pem")
	c.fix(named(t, rep, id, cause, true))
	if st := check(t, rep, "device-registered"); st.Cause != cause {
		t.Errorf("device-registered: %+v", st)
	}
	rep, _ = c.doctor("--ca-cert", name+".pem", "--device-cert", "D"+name+"-bundle.pem")
	for _, id := range []string{"role", "role-trust", "role-permissions"} {
		passes(t, rep, id)
	}
}

// checkSchema: every field of the JSON reports is in docs/doctor.md's field table, and every
// field of the table is in one of the reports.
func checkSchema(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "doctor.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	row := regexp.MustCompile("(?m)^\\| `([a-zA-Z\\[\\].]+)` \\| ")
	_, fields, _ := strings.Cut(string(doc), "## `--json`")
	fields, _, _ = strings.Cut(fields, "\n## ")
	for _, m := range row.FindAllStringSubmatch(fields, -1) {
		documented[m[1]] = true
	}
	seen := map[string]bool{}
	reports.Lock()
	defer reports.Unlock()
	for _, r := range reports.all {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		jsonPaths("", v, seen)
	}
	for p := range seen {
		if !documented[p] {
			t.Errorf("doctor --json has %s, which docs/doctor.md does not document", p)
		}
	}
	for p := range documented {
		if !seen[p] {
			t.Errorf("docs/doctor.md documents %s, which no report of the causes has", p)
		}
	}
}

// jsonPaths adds the field paths of a JSON value ("checks[].id").
func jsonPaths(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			jsonPaths(p, e, out)
		}
	case []any:
		for _, e := range x {
			if _, ok := e.(map[string]any); ok {
				jsonPaths(prefix+"[]", e, out)
			}
		}
	}
}
