package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-2"
	roleARN     = "arn:aws:iam::" + testAccount + ":role/JITPRole"
	// iotARNPrefix starts the ARNs of the test account's IoT resources.
	iotARNPrefix = "arn:aws:iot:" + testRegion + ":" + testAccount
	// endpointName stands for what DescribeEndpoint returns; it resolves nowhere, so
	// tests use it only as SNI.
	endpointName = "a1b2c3d4e5f6g7-ats.iot.us-east-2.localhost"
)

const iotTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// testCA is a device root CA (the walkthrough's deviceRootCA).
type testCA struct{ *pkitest.CA }

func newTestCA(t testing.TB, cn string) *testCA {
	t.Helper()
	return newTestCAKey(t, cn, pki.EC256)
}

// newTestCAKey makes a CA whose key, and the keys of the devices it issues, are of
// type kt (the walkthrough uses RSA 2048; EC keeps the other tests fast).
func newTestCAKey(t testing.TB, cn string, kt pki.KeyType) *testCA {
	t.Helper()
	ca := pkitest.NewCA(t, kt, pki.Subject{Country: "IN", Organization: "AMZ", CommonName: cn})
	ca.DeviceKeyType = kt
	return &testCA{ca}
}

// device is a device certificate with its files written like the walkthrough's.
type device struct {
	*pkitest.Device
	pkitest.Files
}

func (ca *testCA) issue(t testing.TB, s pki.Subject) *device {
	t.Helper()
	d := ca.Issue(t, s)
	return &device{Device: d, Files: d.WriteFiles(t, ca.CA)}
}

// tlsCert returns the device's TLS client certificate, optionally with the CA in the chain.
func (d *device) tlsCert(ca *testCA, withCA bool) tls.Certificate {
	if withCA {
		return d.TLSCertificate(ca.CA)
	}
	return d.TLSCertificate(nil)
}

// env is a store + started broker in a temp workspace.
type env struct {
	t      testing.TB
	dir    string // .local-iot
	st     *store.Store
	b      *Broker
	host   string
	port   string
	rootCA string
}

func newEnv(t testing.TB, mods ...func(*Options)) *env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ".local-iot")
	st, err := store.Open(dir, store.Options{Account: testAccount, Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st}
	e.start(mods...)
	return e
}

func (e *env) start(mods ...func(*Options)) {
	e.t.Helper()
	// localhost is what the local core's DescribeEndpoint returns by default.
	opts := Options{Store: e.st, Dir: e.dir, Addr: "127.0.0.1:0", Hostnames: []string{"localhost", endpointName}}
	for _, m := range mods {
		m(&opts)
	}
	b, err := New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { b.Close() })
	e.b = b
	_, e.port, _ = net.SplitHostPort(b.Addr().String())
	e.host = "localhost"
	e.rootCA = b.RootCAPath()
}

// registerCA seeds the store as RegisterCACertificate --set-as-active
// --allow-auto-registration --registration-config would.
func (e *env) registerCA(ca *testCA, status, autoReg string, rc *store.RegistrationConfig) {
	e.t.Helper()
	err := e.st.Update(func(st *store.State) error {
		st.PutCA(&store.CA{
			ID:                     ca.ID,
			ARN:                    iotARNPrefix + ":cacert/" + ca.ID,
			PEM:                    string(pki.EncodeCertPEM(ca.Cert)),
			Status:                 status,
			AutoRegistrationStatus: autoReg,
			RegistrationConfig:     rc,
			Mode:                   store.ModeDefault,
			Owner:                  testAccount,
			CustomerVersion:        1,
			NotBefore:              ca.Cert.NotBefore,
			NotAfter:               ca.Cert.NotAfter,
			Created:                time.Now(),
			Modified:               time.Now(),
		})
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) createRole(name, trust string) {
	e.t.Helper()
	err := e.st.Update(func(st *store.State) error {
		st.PutRole(&store.Role{
			Name:             name,
			ID:               "AROA" + strings.ToUpper(name),
			ARN:              "arn:aws:iam::" + testAccount + ":role/" + name,
			Path:             "/",
			TrustPolicy:      trust,
			AttachedPolicies: []string{"arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration"},
			Created:          time.Now(),
		})
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// walkthroughConfig loads testdata/<name>.json (the walkthrough's registration
// config) with the account and region filled in.
func walkthroughConfig(t testing.TB, name string) *store.RegistrationConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "<ACCOUNT_ID>", testAccount)
	s = strings.ReplaceAll(s, "us-east-2", testRegion)
	var rc store.RegistrationConfig
	if err := json.Unmarshal([]byte(s), &rc); err != nil {
		t.Fatal(err)
	}
	return &rc
}

func (e *env) cert(id string) *store.Certificate {
	var out *store.Certificate
	_ = e.st.View(func(st *store.State) error {
		if c := st.LookupCertificate(id); c != nil {
			x := *c
			out = &x
		}
		return nil
	})
	return out
}

func (e *env) thing(name string) *store.Thing {
	var out *store.Thing
	_ = e.st.View(func(st *store.State) error {
		if c := st.LookupThing(name); c != nil {
			x := *c
			out = &x
		}
		return nil
	})
	return out
}

func (e *env) events(kind string) []store.Event {
	var out []store.Event
	for _, ev := range e.st.Events(0) {
		if kind == "" || ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// attachedPolicies returns the policies attached to a certificate.
func (e *env) attachedPolicies(certID string) []*store.Policy {
	var out []*store.Policy
	_ = e.st.View(func(st *store.State) error {
		for _, pol := range st.PoliciesForCert(certID) {
			p := *pol
			out = append(out, &p)
		}
		return nil
	})
	return out
}

func (e *env) thingPrincipals(thing string) []string {
	var out []string
	_ = e.st.View(func(st *store.State) error {
		out = st.PrincipalsOfThing(thing)
		return nil
	})
	return out
}

type cmdResult struct {
	out  string
	code int
}

// mosquittoPub runs mosquitto_pub against the broker with the walkthrough's flags.
func (e *env) mosquittoPub(t testing.TB, cert, key, clientID, topic string, extra ...string) cmdResult {
	t.Helper()
	bin := testtool.Need(t, "mosquitto_pub")
	args := []string{"--cafile", e.rootCA, "--cert", cert, "--key", key, "-h", e.host, "-p", e.port,
		"-q", "1", "-t", topic, "-i", clientID, "--tls-version", "tlsv1.2", "-m", "Hello", "-d"}
	args = append(args, extra...)
	return run(t, bin, args...)
}

func run(t testing.TB, bin string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s timed out:\n%s", bin, out)
	}
	return cmdResult{out: string(out), code: code}
}

func (r cmdResult) String() string { return "exit " + strconv.Itoa(r.code) + ":\n" + r.out }

// tlsClient dials the broker with a Go TLS client.
func (e *env) tlsDial(cfg *tls.Config) (*tls.Conn, error) {
	if cfg.RootCAs == nil {
		pool := x509.NewCertPool()
		pool.AddCert(e.b.id.root)
		cfg.RootCAs = pool
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	return tls.DialWithDialer(d, "tcp", net.JoinHostPort("127.0.0.1", e.port), cfg)
}

// mosquittoSub starts mosquitto_sub as clientID on filters (plus extra flags) and
// returns once the broker holds its subscription to the first filter; Wait on the
// command for its exit. mosquitto_sub buffers its output in a pipe, so the broker,
// not the output, tells when it has subscribed.
func (e *env) mosquittoSub(t testing.TB, ctx context.Context, dev *device, clientID string, filters []string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin := testtool.Need(t, "mosquitto_sub")
	args := []string{"--cafile", e.rootCA, "--cert", dev.CertFile, "--key", dev.KeyFile, "-h", e.host, "-p", e.port, "-i", clientID}
	for _, f := range filters {
		args = append(args, "-t", f)
	}
	cmd := exec.CommandContext(ctx, bin, append(args, extra...)...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for {
		if cl, ok := e.b.server.Clients.Get(clientID); ok {
			if _, ok := cl.State.Subscriptions.Get(filters[0]); ok {
				return cmd, out
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("mosquitto_sub never subscribed:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
