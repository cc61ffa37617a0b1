package steps_test

// End-to-end tests of --mode jitr, --ca-mode sni-only and --port 443 on the embedded local
// IoT Core: the real binary, then checks through the Session, mqttprobe, the AWS CLI and
// mosquitto_pub.

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps"
)

// TestE2EJITR: `run --mode jitr` registers the CA without a template, leaves the first
// connect's certificate PENDING_ACTIVATION with the registered event shown, activates it as
// the JITR guide's Lambda does, and the device publishes as its thing; the rule and Lambda
// files name the CA; clean removes the thing, the JITR policy and the CA.
func TestE2EJITR(t *testing.T) {
	t.Parallel()
	dir, r := runFresh(t, "--mode", "jitr", "--commands")
	wantAll(t, "run --mode jitr", r.out,
		"↷  6/13 Provisioning role  skipped: JITR runs no template",
		"no template (JITR)",
		"subscribed to $aws/events/certificates/registered/",
		"expected JITR behaviour",
		"certificate status: PENDING_ACTIVATION",
		`"certificateStatus":"PENDING_ACTIVATION"`,
		"✓ 11a/13 Activate",
		"set certificate",
		"$ aws iot create-topic-rule --rule-name JITRActivate --topic-rule-payload file://jitr_rule.json --region us-east-2\n",
		"registered Just-in-Time, activated and published as itself",
	)
	if strings.Contains(r.out, "Template") || strings.Contains(r.out, "--registration-config") {
		t.Errorf("the JITR plan has no template step and registers no template:\n%s", r.out)
	}
	s := session(t, dir)
	ctx := context.Background()
	ca, err := s.Client().DescribeCA(ctx, s.CA.RegisteredID)
	if err != nil || ca.RegistrationConfig != nil || ca.AutoRegistrationStatus != aws.AutoRegEnable || ca.Status != aws.StatusActive {
		t.Fatalf("the CA: %v %+v, want ACTIVE, auto-registration ENABLE and no registration config", err, ca)
	}
	certID, pols := checkProvisioned(t, s, steps.DefaultThing, nil)
	if len(pols) != 1 || pols[0] != steps.JITRPolicyName {
		t.Errorf("policies %v, want %s", pols, steps.JITRPolicyName)
	}
	rule, err := os.ReadFile(filepath.Join(dir, steps.FileJITRRule))
	if err != nil {
		t.Fatal(err)
	}
	var payload struct {
		SQL     string `json:"sql"`
		Actions []struct {
			Lambda struct{ FunctionArn string } `json:"lambda"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(rule, &payload); err != nil || payload.SQL != "SELECT * FROM '$aws/events/certificates/registered/"+s.CA.RegisteredID+"'" ||
		len(payload.Actions) != 1 || payload.Actions[0].Lambda.FunctionArn != "arn:aws:lambda:us-east-2:123456789012:function:jitr-activate" {
		t.Errorf("%s: %v\n%s", steps.FileJITRRule, err, rule)
	}
	if b, err := os.ReadFile(filepath.Join(dir, steps.FileJITRLambda)); err != nil || !strings.Contains(string(b), "UpdateCertificateCommand") {
		t.Errorf("%s: %v", steps.FileJITRLambda, err)
	}
	// The Lambda is valid JavaScript for Node.js.
	if out, err := exec.Command(testtool.Need(t, "node"), "--check", filepath.Join(dir, steps.FileJITRLambda)).CombinedOutput(); err != nil {
		t.Errorf("node --check %s: %v\n%s", steps.FileJITRLambda, err, out)
	}
	s.Close()

	// A second run has nothing to do; --stop-after knows the plan's steps.
	if r := mustRun(t, "run", "--dir", dir); !strings.Contains(r.out, "all 13 steps are already done") {
		t.Errorf("second run:\n%s", r.out)
	}
	if r := mustFail(t, "--stop-after template is no step of a JITR plan", "run", "--dir", dir, "--stop-after", "7"); !strings.Contains(r.errOut, "not in the plan of --mode jitr") {
		t.Errorf("--stop-after 7 in JITR:\n%s", r)
	}
	if r := mustFail(t, "--template is for JITP", "run", "--dir", dir, "--template", "admin"); !strings.Contains(r.errOut, "--template, --policy-name and --create-policy are for --mode jitp") {
		t.Errorf("--template with JITR:\n%s", r)
	}

	r = mustRun(t, "clean", "--dir", dir, "--yes")
	if !strings.Contains(r.out, "delete policy "+steps.JITRPolicyName) || !strings.Contains(r.out, "delete thing "+steps.DefaultThing) {
		t.Errorf("clean of a JITR workspace:\n%s", r.out)
	}
	s = session(t, dir)
	if _, err := s.Client().DescribeCertificate(ctx, certID); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("certificate still there: %v", err)
	}
	if _, err := s.Client().GetPolicy(ctx, steps.JITRPolicyName); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("policy still there: %v", err)
	}
	if _, err := s.Client().DescribeThing(ctx, steps.DefaultThing); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("thing still there: %v", err)
	}
}

// wantAll fails the test for each of wants that out (what produced it) lacks.
func wantAll(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, out)
		}
	}
}

// TestE2EJITRDoctorPending: a certificate JITR registered and nobody activated (the run
// killed right after the first connect) is diagnosed by doctor as PENDING_ACTIVATION, with
// what activates it; the next run activates it and doctor is content.
func TestE2EJITRDoctorPending(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	mustFail(t, "--stop-after kills the run", "run", "--dir", dir, "--yes", "--mode", "jitr", "--stop-after", "first-connect")
	r := mustFail(t, "doctor must fail on a certificate left PENDING_ACTIVATION", "doctor", "--dir", dir)
	wantAll(t, "doctor", r.out,
		"✓ CA has no JITP template (JITR)",
		"✗ device certificate ACTIVE (JITR): certificate ",
		"is PENDING_ACTIVATION: JITR registered it on the first connect and nothing activated it",
		"(step 11a activates it)",
		"with JITR it stays so until it is activated",
	)
	if strings.Contains(r.out, "template") && strings.Contains(r.out, "JITP ran the template") {
		t.Errorf("doctor blames a template JITR never ran:\n%s", r.out)
	}
	if r := mustRun(t, "run", "--dir", dir); !strings.Contains(r.out, "✓ 11a/13 Activate") {
		t.Fatalf("the run after the kill:\n%s", r.out)
	}
	if r := mustRun(t, "doctor", "--dir", dir); !strings.Contains(r.out, "✓ device certificate ACTIVE (JITR)") || strings.Contains(r.out, "✗") {
		t.Errorf("doctor after activation:\n%s", r.out)
	}
}

// localServer is `jitpwiz local` run by hand in another shell, on free ports.
type localServer struct {
	url, mqttPort, rootCA string
	out                   *strings.Builder
	stop                  func()
}

var (
	bannerURL  = regexp.MustCompile(`Control plane \(IoT, IAM, STS\)\s+(http://\S+)`)
	bannerMQTT = regexp.MustCompile(`MQTT over TLS, mutual auth\s+localhost:(\d+)`)
	bannerCA   = regexp.MustCompile(`Server CA \(--cafile\)\s+(\S+)`)
)

func startJitpwizLocal(t *testing.T, args ...string) *localServer {
	t.Helper()
	// The server lives until the test's cleanup stops it; the deadline only ends one a
	// hung test left behind (a test that shares it, TestDoctorCauses, runs for minutes on a
	// busy machine).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	cmd := exec.CommandContext(ctx, binary, append([]string{"local", "--api-port", "0", "--mqtt-port", "0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &localServer{out: &strings.Builder{}}
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var banner strings.Builder
	for !strings.Contains(banner.String(), "Events (Ctrl+C to stop)") {
		line, ok := <-lines
		if !ok {
			cancel()
			t.Fatalf("jitpwiz local exited:\n%s", banner.String())
		}
		banner.WriteString(line + "\n")
	}
	done := make(chan struct{})
	events := make(chan struct{})
	go func() {
		for line := range lines {
			_ = line // the event stream: kept flowing so the server never blocks on stdout
		}
		close(events)
	}()
	l.stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		<-events
		cancel()
	}
	t.Cleanup(l.stop)
	m1, m2, m3 := bannerURL.FindStringSubmatch(banner.String()), bannerMQTT.FindStringSubmatch(banner.String()), bannerCA.FindStringSubmatch(banner.String())
	if m1 == nil || m2 == nil || m3 == nil {
		t.Fatalf("banner without URL, MQTT port or server CA:\n%s", banner.String())
	}
	l.url, l.mqttPort, l.rootCA = m1[1], m2[1], m3[1]
	l.out.WriteString(banner.String())
	return l
}

// TestE2EJITRByHand is JITR done by hand as the JITR guide does it, with /usr/bin/aws,
// openssl and mosquitto_pub against `jitpwiz local --jitr-activator`: the CA registered with
// auto-registration and no template, a device certificate made with openssl, a first connect
// that is dropped, and — with nothing but the activator standing in for the rule + Lambda —
// the certificate ACTIVE, so the device's next connect publishes.
func TestE2EJITRByHand(t *testing.T) {
	t.Parallel()
	awsCLI := testtool.Need(t, "aws")
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		awsCLI = "/usr/bin/aws"
	}
	testtool.Need(t, "mosquitto_pub")
	dir := filepath.Join(t.TempDir(), "ws")
	// jitpwiz makes the CA and the verification certificate (steps 1–5), nothing else.
	mustFail(t, "--stop-after kills the run", "run", "--dir", dir, "--yes", "--mode", "jitr", "--stop-after", "verification-cert")
	l := startJitpwizLocal(t, "--dir", dir, "--jitr-activator")
	cli := func(args ...string) string {
		t.Helper()
		line := awsCLI + " " + strings.Join(args, " ") + " --region us-east-2 --endpoint-url " + l.url + " --output json"
		out, err := byHand(dir, line)
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		return out
	}
	out := cli("iot", "register-ca-certificate", "--ca-certificate", "file://deviceRootCA.pem", "--verification-cert", "file://verificationCert.crt",
		"--set-as-active", "--allow-auto-registration")
	var reg struct{ CertificateID string }
	if err := json.Unmarshal([]byte(out), &reg); err != nil || reg.CertificateID == "" {
		t.Fatalf("register-ca-certificate: %v\n%s", err, out)
	}
	makeDevice(t, dir, "deviceRootCA", "/C=IN/CN=HandThing")
	if out, err := byHand(dir, "cat dev.pem deviceRootCA.pem > devBundle.pem && cp "+l.rootCA+" server.pem"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	pub := func(cert, client, topic string) (string, error) {
		return byHand(dir, "mosquitto_pub --cafile server.pem --cert "+cert+" --key dev.key -h localhost -p "+l.mqttPort+
			" -q 1 -t "+topic+" -i "+client+" --tls-version tlsv1.2 -m hello -d")
	}
	if out, err := pub("devBundle.pem", "anyclientID", "foo/bar"); err == nil {
		t.Fatalf("the first connect must be dropped (JITR registers, then disconnects):\n%s", out)
	}
	// The activator works on the registered event; the AWS CLI shows when it is done.
	status := ""
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && status != aws.StatusActive; time.Sleep(50 * time.Millisecond) {
		var d struct{ Certificates []struct{ Status string } }
		_ = json.Unmarshal([]byte(cli("iot", "list-certificates-by-ca", "--ca-certificate-id", reg.CertificateID)), &d)
		if len(d.Certificates) == 1 {
			status = d.Certificates[0].Status
		}
	}
	if status != aws.StatusActive {
		t.Fatalf("the activator did not activate the certificate (status %q)", status)
	}
	if out := cli("iot", "list-thing-principals", "--thing-name", "HandThing"); !strings.Contains(out, ":cert/") {
		t.Errorf("the certificate is not attached to HandThing:\n%s", out)
	}
	if out, err := pub("dev.pem", "HandThing", "HandThing/test"); err != nil {
		t.Fatalf("the activated device cannot publish as its thing: %v\n%s", err, out)
	}
	if out, err := pub("dev.pem", "HandThing", "other/test"); err == nil || !strings.Contains(out, "PUBLISH") {
		t.Errorf("the JITR policy must refuse a topic outside HandThing/* (the connection is closed):\n%s", out)
	}
}

// TestE2ESNIOnly: --ca-mode sni-only skips the registration code and verification
// certificate, registers the CA with certificateMode SNI_ONLY, shows at the first connect that
// a device without SNI is refused, provisions with SNI; afterwards the device connects with
// SNI and is refused without it.
func TestE2ESNIOnly(t *testing.T) {
	t.Parallel()
	dir, r := runFresh(t, "--ca-mode", "sni-only", "--commands")
	wantAll(t, "run --ca-mode sni-only", r.out,
		"↷  4/13 Registration code  skipped: --ca-mode sni-only",
		"↷  5/13 Verification cert  skipped: --ca-mode sni-only",
		"--certificate-mode SNI_ONLY --set-as-active",
		"without SNI: refused",
		"published as itself",
	)
	if strings.Contains(r.out, "--verification-cert") {
		t.Errorf("an SNI_ONLY CA is registered without a verification certificate:\n%s", r.out)
	}
	s := session(t, dir)
	ctx := context.Background()
	ca, err := s.Client().DescribeCA(ctx, s.CA.RegisteredID)
	if err != nil || ca.CertificateMode != "SNI_ONLY" {
		t.Fatalf("the CA: %v mode %q, want SNI_ONLY", err, ca.CertificateMode)
	}
	checkProvisioned(t, s, steps.DefaultThing, map[string]string{"country": "IN"})
	o := deviceProbe(s, dir)
	if out := mqttprobe.Probe(ctx, o); !out.OK() {
		t.Errorf("with SNI the device connects: %s", out)
	}
	o.NoSNI = true
	if out := mqttprobe.Probe(ctx, o); out.OK() {
		t.Errorf("without SNI the device must be refused: %s", out)
	}
	s.Close()
	if r := mustRun(t, "doctor", "--dir", dir); !strings.Contains(r.out, "✓ CA certificate mode SNI_ONLY") {
		t.Errorf("doctor:\n%s", r.out)
	}
}

// TestE2EPort443: --port 443 connects with ALPN x-amzn-mqtt-ca to the in-process IoT Core's
// ALPN listener; the shown mosquitto_pub commands carry --tls-alpn and work by hand, and the
// same command without ALPN is refused; so is mqttprobe without ALPN.
func TestE2EPort443(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "mosquitto_pub")
	dir, r := runFresh(t, "--port", "443", "--mode", "jitr", "--commands")
	if !strings.Contains(r.out, "with ALPN x-amzn-mqtt-ca") || !strings.Contains(r.out, "--tls-alpn x-amzn-mqtt-ca") || !strings.Contains(r.out, "--alpn-port") {
		t.Fatalf("run --port 443:\n%s", r.out)
	}
	var use string
	for _, l := range strings.Split(r.out, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "$ mosquitto_pub"); ok && strings.Contains(c, "-t DemoThing/test") {
			use = "mosquitto_pub" + c
		}
	}
	if use == "" {
		t.Fatalf("no mosquitto_pub command of step 13:\n%s", r.out)
	}
	s := session(t, dir) // serves the workspace again, with its ALPN listener
	re := regexp.MustCompile(`-p \d+`)
	use = re.ReplaceAllString(use, "-p "+strconv.Itoa(s.Endpoint.Port))
	if out, err := byHand(dir, use); err != nil {
		t.Fatalf("%s: %v\n%s", use, err, out)
	}
	if out, err := byHand(dir, strings.Replace(use, "--tls-alpn x-amzn-mqtt-ca ", "", 1)); err == nil {
		t.Errorf("without ALPN the port must refuse the device:\n%s", out)
	}
	o := deviceProbe(s, dir)
	o.ALPN = []string{mqttprobe.ALPN}
	ctx := context.Background()
	if out := mqttprobe.Probe(ctx, o); !out.OK() {
		t.Errorf("with ALPN: %s", out)
	}
	o.ALPN = []string{}
	if out := mqttprobe.Probe(ctx, o); out.OK() {
		t.Errorf("without ALPN the device must be refused: %s", out)
	}
}

// deviceProbe is mqttprobe connecting as the workspace's device to its endpoint: the device's
// certificate and key, the workspace's Amazon root CA, the thing name as the client ID.
func deviceProbe(s *steps.Session, dir string) mqttprobe.Options {
	d := s.Device()
	return mqttprobe.Options{Host: s.Endpoint.Host, Port: s.Endpoint.Port, CertFile: s.Path(d.CertFile), KeyFile: s.Path(d.KeyFile),
		CAFile: filepath.Join(dir, "awsRootCA.pem"), ClientID: steps.DefaultThing}
}
