package api

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

const (
	testRegion  = "us-east-2"
	testAccount = "123456789012"
	testAKID    = "AKIDLOCALTEST0000000"
	testSecret  = "local-test-secret-key-not-a-real-secret"
)

type testEnv struct {
	t     testing.TB
	dir   string // workspace-like temp dir for files
	st    *store.Store
	h     *Handler
	srv   *httptest.Server
	iot   *iot.Client
	iam   *iam.Client
	sts   *sts.Client
	certs []string // status changes seen by OnCertificateStatus
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.DirName), store.Options{Account: testAccount, Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, dir, st)
}

func newEnvOn(t testing.TB, dir string, st *store.Store, mods ...func(*Options)) *testEnv {
	e := &testEnv{t: t, dir: dir, st: st}
	opts := Options{EndpointHost: "localhost", MQTTPort: 8883, RootCAPath: "/x/awsRootCA.pem",
		OnCertificateStatus: func(id, status string) { e.certs = append(e.certs, id+"="+status) }}
	for _, m := range mods {
		m(&opts)
	}
	e.h = New(st, opts)
	// Served like the local server serves it: through Listener.
	e.srv = httptest.NewUnstartedServer(e.h)
	e.srv.Listener = Listener(e.srv.Listener)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	cfg := sdkaws.Config{
		Region:           testRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(testAKID, testSecret, ""),
		RetryMaxAttempts: 1,
	}
	ep := e.srv.URL
	e.iot = iot.NewFromConfig(cfg, func(o *iot.Options) { o.BaseEndpoint = &ep })
	e.iam = iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = &ep })
	e.sts = sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = &ep })
	return e
}

// cli runs the Debian AWS CLI v2 (/usr/bin/aws) against the server. It returns stdout,
// stderr and the exit code. The CLI's own code runs in testtool's long-lived driver (one
// Python start-up per test binary, not per command); cliCommand is what it runs.
func (e *testEnv) cli(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	r := testtool.AWSCLI(t, e.cliCommand(args...))
	return r.Stdout, r.Stderr, r.Code
}

// cliCommand is the command line and environment of one CLI run against the server.
func (e *testEnv) cliCommand(args ...string) testtool.AWSCLICommand {
	full := append(append([]string{}, args...), "--endpoint-url", e.srv.URL, "--output", "json")
	if !slices.Contains(args, "--region") {
		full = append(full, "--region", testRegion)
	}
	home := filepath.Join(e.dir, "home")
	_ = os.MkdirAll(home, 0o700)
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ACCESS_KEY_ID=" + testAKID, "AWS_SECRET_ACCESS_KEY=" + testSecret,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard",
	}
	return testtool.AWSCLICommand{Script: "/usr/bin/aws", Args: full, Env: env, Dir: e.dir}
}

// cliOK runs the CLI, requires exit 0 and decodes the JSON output into v (if non-nil).
func (e *testEnv) cliOK(t testing.TB, v any, args ...string) {
	t.Helper()
	out, errs, code := e.cli(t, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d\nstderr: %s", strings.Join(args, " "), code, errs)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// cliFail runs the CLI, requires a failure naming code, and returns stderr.
func (e *testEnv) cliFail(t testing.TB, code string, args ...string) string {
	t.Helper()
	_, errs, exit := e.cli(t, args...)
	if exit == 0 {
		t.Fatalf("aws %s succeeded, want %s", strings.Join(args, " "), code)
	}
	if !strings.Contains(errs, "("+code+")") {
		t.Fatalf("aws %s: want (%s) in stderr, got: %s", strings.Join(args, " "), code, errs)
	}
	return errs
}

func (e *testEnv) writeFile(name string, data []byte) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// signedRequest sends a raw request with a (syntactically valid, unverified) SigV4
// Authorization header for service, or none when service is "".
func (e *testEnv) rawRequest(method, path, service, contentType, body string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if service != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/20261124/"+testRegion+"/"+service+
			"/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// ---- certificates ----

func pemOf(c *x509.Certificate) string { return string(pki.EncodeCertPEM(c)) }

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`

// provisionDevice does in the store what JITP does on a first connect (the broker's
// job), so control-plane tests can inspect a provisioned device without MQTT.
func (e *testEnv) provisionDevice(ca *pkitest.CA, caID, thing, policyName string) (certID, certARN string) {
	e.t.Helper()
	dev := ca.Issue(e.t, pki.Subject{Country: "IN", CommonName: thing}).Cert
	err := e.st.Update(func(st *store.State) error {
		c, err := st.RegisterDeviceCert(dev, caID, store.StatusPendingActivation)
		if err != nil {
			return err
		}
		certID, certARN = c.ID, c.ARN
		if _, err := st.CreateThing(thing, "", map[string]string{"version": "v1", "country": "IN"}); err != nil {
			return err
		}
		if _, err := st.Policy(policyName); err != nil {
			if _, err := st.CreatePolicy(policyName, allowAll, nil); err != nil {
				return err
			}
		}
		if err := st.AttachPolicy(policyName, c.ARN); err != nil {
			return err
		}
		if err := st.AttachThingPrincipal(thing, c.ARN, ""); err != nil {
			return err
		}
		return st.SetCertificateStatus(c.ID, store.StatusActive)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return certID, certARN
}
