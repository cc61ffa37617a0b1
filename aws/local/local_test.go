package local

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	iottypes "github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

func startServer(t *testing.T, dir string) *Server {
	t.Helper()
	s, err := Start(context.Background(), Options{Dir: dir, APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type result struct {
	out  string
	code int
}

// run runs a command in dir with a deadline and returns its combined output and exit code.
func run(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %v timed out: %s", name, args, buf.String())
	}
	return result{buf.String(), code}
}

// awsCLI runs the Debian AWS CLI against s with the dummy credentials, as a user
// following the walkthrough would (output JSON decoded into v when non-nil).
func awsCLI(t *testing.T, s *Server, dir string, v any, args ...string) {
	t.Helper()
	home := filepath.Join(dir, ".home")
	_ = os.MkdirAll(home, 0o700)
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_PAGER=",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none")}, s.Env()...)
	r := run(t, dir, env, "/usr/bin/aws", append(args, "--endpoint-url", s.EndpointURL(), "--output", "json")...)
	if r.code != 0 {
		t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), r.code, r.out)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.out), v); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, r.out)
		}
	}
}

func mosquittoPub(t *testing.T, s *Server, dir, cert, clientID, topic string) result {
	t.Helper()
	return run(t, dir, []string{"PATH=" + os.Getenv("PATH")}, "mosquitto_pub",
		"--cafile", s.RootCAPath(), "--cert", cert, "--key", "deviceCert.key",
		"-h", s.MQTTHost(), "-p", strconv.Itoa(s.MQTTPort()), "-q", "1", "-t", topic, "-i", clientID,
		"--tls-version", "tlsv1.2", "-m", "Hello", "-d")
}

// walkthroughFiles writes the walkthrough's CA and device files into dir (keys 0600)
// and returns the CA.
type files struct {
	ca    *x509.Certificate
	caKey crypto.Signer
}

func writeWalkthroughFiles(t *testing.T, dir string, subject pki.Subject) files {
	t.Helper()
	caKey, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.SelfSignCA(caKey, pki.Subject{Country: "IN", Organization: "AMZ"}, 3650)
	if err != nil {
		t.Fatal(err)
	}
	devKey, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NewCSR(devKey, subject)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := pki.IssueCert(ca, caKey, csr, 365)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodeKeyPEM(devKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte, mode os.FileMode) {
		if err := pki.WriteFile(filepath.Join(dir, name), b, mode, true); err != nil {
			t.Fatal(err)
		}
	}
	write(pki.FileCACert, pki.EncodeCertPEM(ca), 0o644)
	write(pki.FileDeviceKey, keyPEM, 0o600)
	write(pki.FileDeviceCert, pki.EncodeCertPEM(dev), 0o644)
	write(pki.FileDeviceBundle, pki.Bundle(dev, ca), 0o644)
	return files{ca, caKey}
}

func (f files) writeVerification(t *testing.T, dir, code string) {
	t.Helper()
	key, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NewCSR(key, pki.Subject{CommonName: code})
	if err != nil {
		t.Fatal(err)
	}
	v, err := pki.IssueCert(f.ca, f.caKey, csr, 500)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteFile(filepath.Join(dir, pki.FileVerifCert), pki.EncodeCertPEM(v), 0o644, true); err != nil {
		t.Fatal(err)
	}
}

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// waitEvent waits for an event of kind on ch.
func waitEvent(t *testing.T, ch <-chan store.Event, kind string) store.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Kind == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

// TestWalkthroughEndToEnd is the AWS JITP walkthrough against the local IoT Core with
// the clients nobody here wrote: the Debian AWS CLI and mosquitto_pub, used exactly as
// the walkthrough uses them.
func TestWalkthroughEndToEnd(t *testing.T) {
	testtool.Need(t, "/usr/bin/aws")
	testtool.Need(t, "mosquitto_pub")
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	evs, cancel := s.Events()
	defer cancel()
	f := writeWalkthroughFiles(t, dir, pki.Subject{Country: "IN", CommonName: "DemoThing"})

	var rc struct{ RegistrationCode string }
	awsCLI(t, s, dir, &rc, "iot", "get-registration-code")
	f.writeVerification(t, dir, rc.RegistrationCode)
	if err := os.WriteFile(filepath.Join(dir, "trust.json"), []byte(trustPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	var role struct{ Role struct{ Arn string } }
	awsCLI(t, s, dir, &role, "iam", "create-role", "--role-name", "JITPRole", "--assume-role-policy-document", "file://trust.json")
	awsCLI(t, s, dir, nil, "iam", "attach-role-policy", "--role-name", "JITPRole", "--policy-arn", "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")
	cfg, err := template.Render(template.Scoped, s.Region(), s.Account(), role.Role.Arn, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "jitp_template.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	var reg struct{ CertificateId string }
	awsCLI(t, s, dir, &reg, "iot", "register-ca-certificate", "--ca-certificate", "file://deviceRootCA.pem",
		"--verification-certificate", "file://verificationCert.crt", "--set-as-active", "--allow-auto-registration",
		"--registration-config", "file://jitp_template.json")
	var ca struct {
		CertificateDescription struct{ Status, AutoRegistrationStatus string }
	}
	awsCLI(t, s, dir, &ca, "iot", "describe-ca-certificate", "--certificate-id", reg.CertificateId)
	if ca.CertificateDescription.Status != "ACTIVE" || ca.CertificateDescription.AutoRegistrationStatus != "ENABLE" {
		t.Fatalf("CA: %+v", ca.CertificateDescription)
	}
	var ep struct{ EndpointAddress string }
	awsCLI(t, s, dir, &ep, "iot", "describe-endpoint", "--endpoint-type", "iot:Data-ATS")
	if ep.EndpointAddress != s.MQTTHost() {
		t.Fatalf("describe-endpoint %q, broker host %q", ep.EndpointAddress, s.MQTTHost())
	}

	// First connect: dropped while JITP provisions.
	r := mosquittoPub(t, s, dir, pki.FileDeviceBundle, "anyclientID", "foo/bar")
	if r.code != 7 || !strings.Contains(r.out, "Error: The connection was lost.") {
		t.Fatalf("first connect: exit %d\n%s", r.code, r.out)
	}
	prov := waitEvent(t, evs, store.EventProvisioned)
	if prov.Thing != "DemoThing" {
		t.Fatalf("provisioned %+v", prov)
	}

	var thing struct {
		ThingName  string
		Attributes map[string]string
	}
	awsCLI(t, s, dir, &thing, "iot", "describe-thing", "--thing-name", "DemoThing")
	if thing.Attributes["version"] != "v1" || thing.Attributes["country"] != "IN" {
		t.Fatalf("describe-thing: %+v", thing)
	}
	var principals struct{ Principals []string }
	awsCLI(t, s, dir, &principals, "iot", "list-thing-principals", "--thing-name", "DemoThing")
	if len(principals.Principals) != 1 {
		t.Fatalf("list-thing-principals: %+v", principals)
	}
	certARN := principals.Principals[0]
	certID := certARN[strings.LastIndex(certARN, "/")+1:]
	dev, err := pki.LoadCertFile(filepath.Join(dir, pki.FileDeviceCert))
	if err != nil {
		t.Fatal(err)
	}
	if certID != pki.CertID(dev) {
		t.Fatalf("principal %s is not deviceCert.crt (%s)", certARN, pki.CertID(dev))
	}
	var cert struct {
		CertificateDescription struct{ Status, CaCertificateId string }
	}
	awsCLI(t, s, dir, &cert, "iot", "describe-certificate", "--certificate-id", certID)
	if cert.CertificateDescription.Status != "ACTIVE" || cert.CertificateDescription.CaCertificateId != reg.CertificateId {
		t.Fatalf("describe-certificate: %+v", cert.CertificateDescription)
	}
	var pols struct{ Policies []struct{ PolicyName string } }
	awsCLI(t, s, dir, &pols, "iot", "list-attached-policies", "--target", certARN)
	if len(pols.Policies) != 1 {
		t.Fatalf("list-attached-policies: %+v", pols)
	}
	var pol struct{ PolicyDocument string }
	awsCLI(t, s, dir, &pol, "iot", "get-policy", "--policy-name", pols.Policies[0].PolicyName)
	if !strings.Contains(pol.PolicyDocument, "${iot:Connection.Thing.ThingName}") {
		t.Fatalf("policy: %s", pol.PolicyDocument)
	}

	// Use it: the thing's own topic with deviceCert.crt alone gets PUBACK...
	r = mosquittoPub(t, s, dir, pki.FileDeviceCert, "DemoThing", "DemoThing/test")
	if r.code != 0 || !strings.Contains(r.out, "received PUBACK") {
		t.Fatalf("publish as DemoThing: exit %d\n%s", r.code, r.out)
	}
	// ...and a topic outside DemoThing/* is refused.
	r = mosquittoPub(t, s, dir, pki.FileDeviceCert, "DemoThing", "foo/bar")
	if r.code == 0 || strings.Contains(r.out, "received PUBACK") {
		t.Fatalf("publish to foo/bar as DemoThing: exit %d\n%s", r.code, r.out)
	}
	waitEvent(t, evs, store.EventAuthorizationFailure)
}

// TestRestartKeepsProvisionedDevice provisions a device, stops the server, starts a
// new one on the same workspace, and connects the device again.
func TestRestartKeepsProvisionedDevice(t *testing.T) {
	testtool.Need(t, "mosquitto_pub")
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	ctx := context.Background()
	registerForJITP(t, s, dir, pki.Subject{Country: "IN", CommonName: "Restarted"})
	if r := mosquittoPub(t, s, dir, pki.FileDeviceBundle, "anyclientID", "foo/bar"); r.code != 7 {
		t.Fatalf("first connect: exit %d\n%s", r.code, r.out)
	}
	rootBefore := s.RootCAPEM()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, dir)
	if !bytes.Equal(rootBefore, s2.RootCAPEM()) {
		t.Fatal("awsRootCA.pem changed across restart; clients would stop trusting the broker")
	}
	r := mosquittoPub(t, s2, dir, pki.FileDeviceCert, "Restarted", "Restarted/test")
	if r.code != 0 || !strings.Contains(r.out, "received PUBACK") {
		t.Fatalf("reconnect after restart: exit %d\n%s", r.code, r.out)
	}
	iotc2, _ := sdkClients(s2)
	th, err := iotc2.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: sdkaws.String("Restarted")})
	if err != nil || *th.ThingName != "Restarted" {
		t.Fatalf("thing after restart: %v", err)
	}
}

// TestRunPrintsBannerAndStreamsEvents runs the `jitpwiz local` loop: the banner has
// everything needed to connect, events appear as they happen, and cancelling stops it.
func TestRunPrintsBannerAndStreamsEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out testtool.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Dir: dir, APIAddr: ":0", MQTTAddr: ":0", Region: "eu-west-1", ShowAPICalls: true}, &out)
	}()
	banner := waitFor(t, &out, "Events (Ctrl+C to stop):")
	// Run is `jitpwiz local`: it records itself as standalone, so other jitpwiz processes
	// on this workspace use it rather than being refused.
	if o, err := store.ReadOwner(StateDir(dir)); err != nil || o == nil || !o.Standalone { // Running(dir) is nil in-process
		t.Errorf("Run's owner record %+v is not marked standalone", o)
	}
	for _, want := range []string{
		"export AWS_ACCESS_KEY_ID=" + AccessKeyID + " AWS_SECRET_ACCESS_KEY=" + SecretAccessKey + " AWS_REGION=eu-west-1",
		"--endpoint-url http://127.0.0.1:",
		filepath.Join(dir, ".local-iot", "awsRootCA.pem"),
		"mosquitto_pub --cafile",
		"MQTT over TLS, mutual auth      localhost:",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	m := regexp.MustCompile(`export AWS_ENDPOINT_URL=(\S+)`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no endpoint in banner:\n%s", banner)
	}
	u, err := url.Parse(m[1])
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("endpoint %q is not loopback", m[1])
	}
	cfg := sdkaws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""), RetryMaxAttempts: 1}
	ep := m[1]
	iamc := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = &ep })
	iotc := iot.NewFromConfig(cfg, func(o *iot.Options) { o.BaseEndpoint = &ep })
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String("R"), AssumeRolePolicyDocument: sdkaws.String(trustPolicy)}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String("Nope")}); err == nil {
		t.Fatal("GetRole of a missing role succeeded")
	}
	waitFor(t, &out, "CreateRole → 200")
	waitFor(t, &out, "GetRole → 404 NoSuchEntity")
	code, err := iotc.GetRegistrationCode(ctx, &iot.GetRegistrationCodeInput{})
	if err != nil {
		t.Fatal(err)
	}
	f := writeWalkthroughFiles(t, dir, pki.Subject{CommonName: "x"})
	f.writeVerification(t, dir, *code.RegistrationCode)
	verif, _ := os.ReadFile(filepath.Join(dir, pki.FileVerifCert))
	if _, err := iotc.RegisterCACertificate(ctx, &iot.RegisterCACertificateInput{
		CaCertificate: sdkaws.String(string(pki.EncodeCertPEM(f.ca))), VerificationCertificate: sdkaws.String(string(verif))}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, store.EventCARegistered)
	waitFor(t, &out, "API iot                RegisterCACertificate → 200")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	if !strings.Contains(out.String(), "Stopping; the state is saved in") {
		t.Errorf("no stop message:\n%s", out.String())
	}
}

// TestRelativeDirGivesAbsolutePaths: `jitpwiz local --dir ws` prints paths that work
// after a cd, and a jitpwiz elsewhere (run --endpoint-url) can read the root CA it names.
func TestRelativeDirGivesAbsolutePaths(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	s, err := Start(context.Background(), Options{Dir: "ws", APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := filepath.Join(base, "ws", ".local-iot", "awsRootCA.pem")
	if s.RootCAPath() != want {
		t.Errorf("RootCAPath = %q, want %q", s.RootCAPath(), want)
	}
	var banner bytes.Buffer
	WriteBanner(&banner, s)
	if !strings.Contains(banner.String(), "--cafile "+want+" ") || !strings.Contains(banner.String(), filepath.Join(base, "ws", ".local-iot", store.DBFile)) {
		t.Errorf("banner does not give absolute paths:\n%s", banner.String())
	}
	resp, err := http.Get(s.EndpointURL() + "/jitpwiz/local")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct{ RootCAPath string }
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.RootCAPath != want {
		t.Errorf("/jitpwiz/local rootCAPath = %q (%v), want %q", info.RootCAPath, err, want)
	}
}

// TestStartBadOptionsWriteNothing: each unusable `jitpwiz local` option is refused with
// its flag named, before the state directory is created.
func TestStartBadOptionsWriteNothing(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // the parallel subtests run after this function returns
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"negative api port", Options{APIAddr: ":-1"}, "--api-port -1 is not a port number"},
		{"mqtt port too large", Options{MQTTAddr: ":99999"}, "--mqtt-port 99999 is not a port number"},
		{"alpn port too large", Options{ALPNAddr: ":70000"}, "--alpn-port 70000 is not a port number"},
		{"same port twice", Options{APIAddr: ":18883", MQTTAddr: ":18883"}, "--api-port and --mqtt-port are both 18883"},
		{"region", Options{Region: "mars"}, `--region "mars" is not an AWS region name`},
		{"endpoint host", Options{EndpointHost: "bad host"}, `--endpoint-host "bad host" is not a host name`},
		{"endpoint host IP", Options{EndpointHost: "127.0.0.1"}, `--endpoint-host "127.0.0.1" is an IP address`},
		{"endpoint host IPv6", Options{EndpointHost: "::1"}, `no SNI for an IP address`},
		{"alpn port taken", Options{APIAddr: ":0", MQTTAddr: ":0", ALPNAddr: ":" + busyPort}, "--alpn-port 0 for a free one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.o.Dir = filepath.Join(t.TempDir(), "ws")
			s, err := Start(context.Background(), tc.o)
			if err == nil {
				s.Close()
				t.Fatalf("Start(%+v) succeeded", tc.o)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if tc.name == "alpn port taken" {
				return // the state is opened before the listeners; what matters is the flag named
			}
			if _, err := os.Stat(tc.o.Dir); !os.IsNotExist(err) {
				t.Errorf("%s was created for a bad option", tc.o.Dir)
			}
		})
	}
}

// TestStartOptions checks defaults and refusals: loopback by default, a workspace is
// required, a bad --listen is explained, and a state keeps its region.
func TestStartOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Error("Start without a workspace succeeded")
	}
	if _, err := Start(context.Background(), Options{Dir: dir, Listen: "not-an-ip"}); err == nil || !strings.Contains(err.Error(), "--listen") {
		t.Errorf("bad listen: %v", err)
	}
	s := startServer(t, dir)
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(s.EndpointURL(), "http://"))
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("control plane on %s, want loopback", s.EndpointURL())
	}
	if a, ok := s.Broker().Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		t.Errorf("broker on %v, want loopback", s.Broker().Addr())
	}
	if s.Region() != DefaultRegion || s.Account() != Account || s.MQTTHost() != "localhost" {
		t.Errorf("defaults: %s %s %s", s.Region(), s.Account(), s.MQTTHost())
	}
	fi, err := os.Stat(StateDir(dir))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir: %v %v", fi, err)
	}
	if _, err := os.Stat(s.RootCAPath()); err != nil {
		t.Errorf("awsRootCA.pem: %v", err)
	}
	s.Close()
	if _, err := Start(context.Background(), Options{Dir: dir, Region: "ap-south-1", APIAddr: ":0", MQTTAddr: ":0"}); err == nil || !strings.Contains(err.Error(), DefaultRegion) {
		t.Errorf("restart with another region: %v", err)
	}
	// Cancelling Start's context stops the server.
	ctx, cancel := context.WithCancel(context.Background())
	s2, err := Start(ctx, Options{Dir: dir, APIAddr: ":0", MQTTAddr: ":0"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-s2.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop when its context was cancelled")
	}
}

// ---- helpers ----

// registerForJITP does the walkthrough's control-plane part through the SDK: it writes
// the walkthrough's files for a device of subject into dir (the verification certificate
// with s's registration code), creates a role that may provision, and registers the CA
// ACTIVE with auto-registration and the admin template.
func registerForJITP(t *testing.T, s *Server, dir string, subject pki.Subject) (*iot.Client, *iam.Client) {
	t.Helper()
	ctx := context.Background()
	iotc, iamc := sdkClients(s)
	f := writeWalkthroughFiles(t, dir, subject)
	code, err := iotc.GetRegistrationCode(ctx, &iot.GetRegistrationCodeInput{})
	if err != nil {
		t.Fatal(err)
	}
	f.writeVerification(t, dir, *code.RegistrationCode)
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String("JITPRole"), AssumeRolePolicyDocument: sdkaws.String(trustPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	// A role that only trusts IoT cannot provision (as on AWS): it needs permissions.
	if _, err := iamc.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role.Role.RoleName,
		PolicyArn: sdkaws.String("arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")}); err != nil {
		t.Fatal(err)
	}
	cfg, err := template.RenderConfig(template.Admin, s.Region(), s.Account(), *role.Role.Arn, "")
	if err != nil {
		t.Fatal(err)
	}
	verif, _ := os.ReadFile(filepath.Join(dir, pki.FileVerifCert))
	if _, err := iotc.RegisterCACertificate(ctx, &iot.RegisterCACertificateInput{
		CaCertificate: sdkaws.String(string(pki.EncodeCertPEM(f.ca))), VerificationCertificate: sdkaws.String(string(verif)),
		SetAsActive: true, AllowAutoRegistration: true,
		RegistrationConfig: &iottypes.RegistrationConfig{TemplateBody: &cfg.TemplateBody, RoleArn: &cfg.RoleArn},
	}); err != nil {
		t.Fatal(err)
	}
	return iotc, iamc
}

func sdkClients(s *Server) (*iot.Client, *iam.Client) {
	cfg := sdkaws.Config{Region: s.Region(), Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""), RetryMaxAttempts: 1}
	ep := s.EndpointURL()
	return iot.NewFromConfig(cfg, func(o *iot.Options) { o.BaseEndpoint = &ep }),
		iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = &ep })
}

// waitFor polls until the output contains s and returns the output.
func waitFor(t *testing.T, b *testtool.Buffer, s string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if out := b.String(); strings.Contains(out, s) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("output never contained %q:\n%s", s, b.String())
	return ""
}

// TestServeHelperProcess is not a test: TestSecondProcessIsPointedAtTheFirst runs the
// test binary with LOCAL_SERVE_DIR set to serve a workspace from another process.
func TestServeHelperProcess(t *testing.T) {
	dir := os.Getenv("LOCAL_SERVE_DIR")
	if dir == "" {
		return
	}
	s, err := Start(context.Background(), Options{Dir: dir, APIAddr: ":0", MQTTAddr: ":0"})
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString(s.EndpointURL() + "\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	s.Close()
	os.Exit(0)
}

// TestSecondProcessIsPointedAtTheFirst: while `jitpwiz local` (another process) serves
// a workspace, Start on it fails naming the running endpoint, and Running finds it.
func TestSecondProcessIsPointedAtTheFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := testtool.StartHelper(t, "TestServeHelperProcess", "LOCAL_SERVE_DIR="+dir)
	line, err := h.ReadLine()
	if err != nil || !strings.HasPrefix(line, "http://127.0.0.1:") {
		t.Fatalf("helper: %q %v", line, err)
	}
	url := strings.TrimSpace(line)

	_, err = Start(context.Background(), Options{Dir: dir, APIAddr: ":0", MQTTAddr: ":0"})
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "--endpoint-url "+url) {
		t.Fatalf("Start on a served workspace: %v", err)
	}
	o := Running(dir)
	if o == nil || o.EndpointURL != url || o.PID != h.Cmd.Process.Pid || o.MQTTPort == 0 {
		t.Fatalf("Running = %+v, want %s", o, url)
	}
	resp, err := http.Get(o.EndpointURL + "/jitpwiz/local")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("running server's info: %v", err)
	}
	resp.Body.Close()

	if err := h.Stop(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if o := Running(dir); o != nil {
		t.Fatalf("Running after the other process stopped: %+v", o)
	}
	s := startServer(t, dir)
	s.Close()
}

// copyReleaseWorkspace copies the store's workspace made by the release before the
// database (aws/local/store/testdata) with a workspace's modes.
func copyReleaseWorkspace(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("store", "testdata", "release-workspace"))); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, StateDir(dir)} {
		if err := os.Chmod(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRunSaysItMigrated: `jitpwiz local` on a workspace of the previous release says in
// its banner that it migrated the state (and what), serves the migrated state, and says
// nothing the next time.
func TestRunSaysItMigrated(t *testing.T) {
	t.Parallel()
	dir := copyReleaseWorkspace(t)
	for i, want := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		var out testtool.Buffer
		done := make(chan error, 1)
		go func() { done <- Run(ctx, Options{Dir: dir, APIAddr: ":0", MQTTAddr: ":0"}, &out) }()
		banner := waitFor(t, &out, "Events (Ctrl+C to stop):")
		said := strings.Contains(banner, "migrated the local IoT Core state from state.json") && strings.Contains(banner, "4 things")
		if said != want {
			t.Errorf("start %d: migration line shown = %v, want %v:\n%s", i+1, said, want, banner)
		}
		m := regexp.MustCompile(`export AWS_ENDPOINT_URL=(\S+)`).FindStringSubmatch(banner)
		if m == nil {
			t.Fatalf("no endpoint in banner:\n%s", banner)
		}
		cfg := sdkaws.Config{Region: "us-east-2", Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""), RetryMaxAttempts: 1}
		iotc := iot.NewFromConfig(cfg, func(o *iot.Options) { o.BaseEndpoint = &m[1] })
		things, err := iotc.ListThings(ctx, &iot.ListThingsInput{})
		if err != nil || len(things.Things) != 4 || sdkaws.ToString(things.Things[0].ThingName) != "DemoThing" {
			t.Fatalf("things of the migrated state: %+v %v", things, err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
