package mqttprobe

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

const (
	localAccount = "123456789012"
	localRegion  = "us-east-2"
)

// localEnv is the embedded IoT Core (control plane + broker) and an SDK client for it.
type localEnv struct {
	host     string
	mqttAddr string
	rootPEM  []byte
	cloud    aws.Client
	srv      *local.Server
}

// localEndpointHost is an AWS-style data endpoint name served by the local broker
// (dialled on loopback), so the region in the endpoint name takes part in diagnoses.
const localEndpointHost = "a1b2c3d4e5f6g7-ats.iot." + localRegion + ".amazonaws.com"

func startLocalIoT(t *testing.T) *localEnv { return startLocalIoTAt(t, localEndpointHost) }

// startLocalIoTAt starts the local IoT Core with DescribeEndpoint returning
// endpointHost (a name that resolves, such as localhost, for clients like
// mosquitto_pub that dial the name they send as SNI).
func startLocalIoTAt(t *testing.T, endpointHost string) *localEnv {
	t.Helper()
	srv, err := local.Start(context.Background(), local.Options{Dir: t.TempDir(), Region: localRegion, Account: localAccount,
		APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", EndpointHost: endpointHost})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := aws.New(context.Background(), aws.Config{Region: localRegion, EndpointURL: srv.EndpointURL(), StaticAccessKeyID: local.AccessKeyID,
		StaticSecretKey: local.SecretAccessKey, MaxAttempts: 2, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	host, err := c.DataEndpoint(context.Background())
	if err != nil || host != srv.MQTTHost() {
		t.Fatalf("DataEndpoint = %q, %v; want %q", host, err, srv.MQTTHost())
	}
	return &localEnv{host: host, mqttAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.MQTTPort())), rootPEM: srv.RootCAPEM(), cloud: c, srv: srv}
}

type localCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	id   string
}

func newLocalCA(t *testing.T, cn string) localCA {
	t.Helper()
	k, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pki.SelfSignCA(k, pki.Subject{CommonName: cn, Country: "US"}, 3650)
	if err != nil {
		t.Fatal(err)
	}
	return localCA{cert: c, key: k, id: pki.CertID(c)}
}

func (ca localCA) issue(t *testing.T, s pki.Subject) (*x509.Certificate, []byte) {
	t.Helper()
	k, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NewCSR(k, s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pki.IssueCert(ca.cert, ca.key, csr, 365)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := pki.EncodeKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	return c, kp
}

type regOpts struct {
	inactive, noAutoReg bool
	templateBody        string // "" = the walkthrough's scoped template
}

func (e *localEnv) register(t *testing.T, ca localCA, ro regOpts) {
	t.Helper()
	ctx := context.Background()
	code, err := e.cloud.GetRegistrationCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ver, _ := ca.issue(t, pki.Subject{CommonName: code})
	role, err := e.cloud.EnsureRole(ctx, aws.RoleSpec{})
	if err != nil {
		t.Fatal(err)
	}
	body := ro.templateBody
	if body == "" {
		rc, err := template.RenderConfig(template.Scoped, localRegion, localAccount, role.ARN, "")
		if err != nil {
			t.Fatal(err)
		}
		body = rc.TemplateBody
	}
	if _, err := e.cloud.RegisterCA(ctx, aws.RegisterCAInput{CACertificatePEM: string(pki.EncodeCertPEM(ca.cert)),
		VerificationCertificatePEM: string(pki.EncodeCertPEM(ver)), SetAsActive: !ro.inactive, AllowAutoRegistration: !ro.noAutoReg,
		RegistrationConfig: &aws.RegistrationConfig{TemplateBody: body, RoleArn: role.ARN}}); err != nil {
		t.Fatal(err)
	}
}

func (e *localEnv) opts(certPEM, keyPEM []byte, clientID string) Options {
	return Options{Host: e.host, Addr: e.mqttAddr, CertPEM: certPEM, KeyPEM: keyPEM, CAPEM: e.rootPEM, ClientID: clientID,
		ConnectTimeout: 5 * time.Second}
}

var fastPoll = PollOptions{Timeout: 5 * time.Second, Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}

// diagnoseAfter gathers control-plane facts and diagnoses an outcome.
func (e *localEnv) diagnoseAfter(out Outcome, o Options, thing string, ca *x509.Certificate, before string) Diagnosis {
	f := Facts{Outcome: &out, Options: o, ThingName: thing, CACert: ca, StatusBefore: before}
	Gather(context.Background(), e.cloud, &f)
	return Diagnose(f)
}

// The walkthrough: expected drop on first connect, then success as the thing, and a
// topic outside <thing>/* refused.
func TestLocalExpectedDropThenSuccess(t *testing.T) {
	t.Parallel()
	e := startLocalIoT(t)
	ca := newLocalCA(t, "Walkthrough Root")
	e.register(t, ca, regOpts{})
	dev, key := ca.issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
	ctx := context.Background()

	var seen []string
	poll := fastPoll
	poll.OnStatus = func(o Observation) { seen = append(seen, o.Status) }
	// The outcome is told before the first status poll (connect → dropped → ACTIVE).
	var story []string
	onOutcome := func(o Outcome) {
		story = append(story, "outcome "+string(o.Class)+" after "+strconv.Itoa(len(seen))+" polls")
	}
	rep := FirstConnect(ctx, e.opts(pki.Bundle(dev, ca.cert), key, "anyclientID"), e.cloud, FirstConnectOptions{ThingName: "DemoThing", Poll: poll, OnOutcome: onOutcome})
	if rep.Outcome.Class != ClassDropped || !rep.Expected || !rep.Activated || rep.Diagnosis != nil {
		t.Fatalf("first connect: %s, activated %v, diag %+v", rep.Outcome, rep.Activated, rep.Diagnosis)
	}
	if want := "outcome " + string(ClassDropped) + " after 0 polls"; len(story) != 1 || story[0] != want {
		t.Fatalf("OnOutcome calls %q, want exactly [%q]", story, want)
	}
	if rep.StatusBefore != StatusNotRegistered || len(seen) == 0 || seen[len(seen)-1] != aws.StatusActive {
		t.Fatalf("before %q, statuses %v", rep.StatusBefore, seen)
	}
	all := strings.Join(rep.Changes, "\n")
	for _, want := range []string{"NOT_REGISTERED → ACTIVE", "attached to the certificate", "thing DemoThing exists with attributes country=IN, version=v1", "certificate attached to thing DemoThing"} {
		if !strings.Contains(all, want) {
			t.Errorf("changes %q lack %q", all, want)
		}
	}
	// Second connect with the bundle is accepted now (no re-provisioning).
	if out := Probe(ctx, e.opts(pki.Bundle(dev, ca.cert), key, "DemoThing")); out.Class != ClassConnected {
		t.Fatalf("second connect: %s", out)
	}
	// Use it: device cert only, client ID = thing name.
	o := e.opts(pki.EncodeCertPEM(dev), key, "DemoThing")
	res := Use(ctx, o, "", 5*time.Second)
	if !res.OK() || res.Topic != "DemoThing/test" || res.RTT <= 0 {
		t.Fatalf("use: %+v", res)
	}
	rr := ProveRefused(ctx, o, "other/test", false, 5*time.Second)
	if !rr.Refused {
		t.Fatalf("publish outside <thing>/* not refused: %+v", rr)
	}
	rr = ProveRefused(ctx, o, "other/#", true, 5*time.Second)
	if !rr.Refused {
		t.Fatalf("subscribe outside <thing>/* not refused: %+v", rr)
	}
}

// Each failure class, reproduced on the local IoT Core, produces its diagnosis.
func TestLocalFailureDiagnoses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("client ID is not the thing name", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		ca := newLocalCA(t, "Root A")
		e.register(t, ca, regOpts{})
		dev, key := ca.issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
		if rep := FirstConnect(ctx, e.opts(pki.Bundle(dev, ca.cert), key, "x"), e.cloud, FirstConnectOptions{Poll: fastPoll}); !rep.Activated {
			t.Fatalf("provisioning: %+v", rep.Diagnosis)
		}
		o := e.opts(pki.EncodeCertPEM(dev), key, "anyclientID")
		out := Probe(ctx, o)
		if out.Class != ClassDropped {
			t.Fatalf("outcome %s", out)
		}
		d := e.diagnoseAfter(out, o, "DemoThing", ca.cert, aws.StatusActive)
		if d.Class != DiagClientIDMismatch || !strings.Contains(d.Fix, "client ID DemoThing") {
			t.Fatalf("diagnosis %v", d)
		}
	})
	t.Run("topic outside the policy", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		ca := newLocalCA(t, "Root B")
		e.register(t, ca, regOpts{})
		dev, key := ca.issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
		if rep := FirstConnect(ctx, e.opts(pki.Bundle(dev, ca.cert), key, "x"), e.cloud, FirstConnectOptions{Poll: fastPoll}); !rep.Activated {
			t.Fatalf("provisioning: %+v", rep.Diagnosis)
		}
		o := e.opts(pki.EncodeCertPEM(dev), key, "DemoThing")
		res := Use(ctx, o, "other/test", 5*time.Second)
		if res.Denied != DeniedSubscribe {
			t.Fatalf("use: %+v", res)
		}
		f := Facts{Use: &res, Options: o, ThingName: "DemoThing"}
		Gather(ctx, e.cloud, &f)
		if d := Diagnose(f); d.Class != DiagTopicDenied || !strings.Contains(d.Cause, "outside the policy") {
			t.Fatalf("diagnosis %v", d)
		}
	})
	t.Run("template failed: cert stuck in PENDING_ACTIVATION", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		ca := newLocalCA(t, "Root C")
		e.register(t, ca, regOpts{})
		dev, key := ca.issue(t, pki.Subject{CommonName: "NoCountryThing"}) // the scoped template refs Country
		poll := fastPoll
		poll.Timeout = time.Minute // the failure in the log stops the polling long before
		// The local event log plays CloudTrail's part: what RegisterThing said.
		logReads := 0
		eventLog := func(_ context.Context, certID string) []string {
			logReads++
			var out []string
			for _, ev := range e.srv.EventLog(0) {
				if ev.CertID == certID && ev.Error != "" {
					out = append(out, ev.Error+": "+ev.Message)
				}
			}
			return out
		}
		rep := FirstConnect(ctx, e.opts(pki.Bundle(dev, ca.cert), key, "x"), e.cloud, FirstConnectOptions{Poll: poll, ProvisioningLog: eventLog})
		if rep.Activated || rep.Diagnosis == nil || rep.Cert == nil || rep.Cert.Status != aws.StatusPendingActivation {
			t.Fatalf("report %+v", rep)
		}
		d := rep.Diagnosis
		if d.Class != DiagCertPending || !strings.Contains(d.Cause, "AWS::IoT::Certificate::Country") || !strings.Contains(d.Cause, "Cannot resolve reference value") {
			t.Fatalf("diagnosis %v", d)
		}
		// The embedded IoT Core records the failure before it drops the connection: the
		// first status poll (PENDING_ACTIVATION) is the last one, and the log the diagnosis
		// quotes is the one that stopped the polling (read once, not again afterwards).
		var failed *ProvisioningFailedError
		if !errors.As(rep.PollErr, &failed) || !strings.Contains(strings.Join(failed.Log, "\n"), "Cannot resolve reference value") {
			t.Fatalf("the polling did not stop on the recorded failure: %v", rep.PollErr)
		}
		if len(rep.Observations) != 1 || rep.Observations[0].Status != aws.StatusPendingActivation || logReads != 1 {
			t.Errorf("want one status poll (PENDING_ACTIVATION) and one log read, got %d polls %+v, %d log reads", len(rep.Observations), rep.Observations, logReads)
		}
	})
	t.Run("cert deactivated", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		ca := newLocalCA(t, "Root D")
		e.register(t, ca, regOpts{})
		dev, key := ca.issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
		if rep := FirstConnect(ctx, e.opts(pki.Bundle(dev, ca.cert), key, "x"), e.cloud, FirstConnectOptions{Poll: fastPoll}); !rep.Activated {
			t.Fatalf("provisioning: %+v", rep.Diagnosis)
		}
		if err := e.cloud.UpdateCertificate(ctx, pki.CertID(dev), aws.StatusInactive); err != nil {
			t.Fatal(err)
		}
		o := e.opts(pki.EncodeCertPEM(dev), key, "DemoThing")
		out := Probe(ctx, o)
		d := e.diagnoseAfter(out, o, "DemoThing", ca.cert, "")
		if out.Class == ClassConnected || d.Class != DiagCertNotActive || !strings.Contains(d.Cause, "INACTIVE") {
			t.Fatalf("outcome %s diagnosis %v", out, d)
		}
	})
	t.Run("CA inactive", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		ca := newLocalCA(t, "Root E")
		e.register(t, ca, regOpts{inactive: true})
		dev, key := ca.issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
		poll := fastPoll
		poll.Timeout = 200 * time.Millisecond
		rep := FirstConnect(ctx, e.opts(pki.Bundle(dev, ca.cert), key, "x"), e.cloud, FirstConnectOptions{Poll: poll})
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagCAInactive {
			t.Fatalf("outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
	})
	t.Run("auto-registration off", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		ca := newLocalCA(t, "Root F")
		e.register(t, ca, regOpts{noAutoReg: true})
		dev, key := ca.issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
		poll := fastPoll
		poll.Timeout = 200 * time.Millisecond
		rep := FirstConnect(ctx, e.opts(pki.Bundle(dev, ca.cert), key, "x"), e.cloud, FirstConnectOptions{Poll: poll})
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagAutoRegOff {
			t.Fatalf("outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
	})
	t.Run("CA not registered / cert from another CA", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		registered := newLocalCA(t, "Registered Root")
		e.register(t, registered, regOpts{})
		stranger := newLocalCA(t, "Stranger Root")
		dev, key := stranger.issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
		o := e.opts(pki.Bundle(dev, stranger.cert), key, "x")
		out := Probe(ctx, o)
		if out.Class == ClassConnected {
			t.Fatalf("outcome %s", out)
		}
		// Knowing the user's CA (the registered one), the device cert is from another CA.
		if d := e.diagnoseAfter(out, o, "", registered.cert, ""); d.Class != DiagOtherCA || !strings.Contains(d.Cause, "Stranger Root") {
			t.Fatalf("with the user's CA: %v", d)
		}
		// Knowing only the chain, its CA is not registered in this region.
		if d := e.diagnoseAfter(out, o, "", nil, ""); d.Class != DiagCANotRegistered || !strings.Contains(d.Cause, localRegion) {
			t.Fatalf("from the chain: %v", d)
		}
	})
	t.Run("no SNI", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		ca := newLocalCA(t, "Root G")
		e.register(t, ca, regOpts{})
		dev, key := ca.issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
		o := e.opts(pki.EncodeCertPEM(dev), key, "x")
		o.NoSNI = true
		poll := fastPoll
		poll.Timeout = 200 * time.Millisecond
		rep := FirstConnect(ctx, o, e.cloud, FirstConnectOptions{Poll: poll})
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagNoSNI || !strings.Contains(rep.Diagnosis.Fix, e.host) {
			t.Fatalf("outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
		// The CA in the chain does not make up for SNI (issue 12), and an IP address
		// as host sends none either.
		o.CertPEM = pki.Bundle(dev, ca.cert)
		rep = FirstConnect(ctx, o, e.cloud, FirstConnectOptions{Poll: poll})
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagNoSNI {
			t.Fatalf("no SNI, CA in chain: outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
		o.NoSNI, o.Host = false, "127.0.0.1"
		rep = FirstConnect(ctx, o, e.cloud, FirstConnectOptions{Poll: poll})
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagNoSNI || !strings.Contains(rep.Diagnosis.Cause, "127.0.0.1") {
			t.Fatalf("IP host: outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
		if _, err := e.cloud.DescribeCertificate(ctx, pki.CertID(dev)); !aws.IsKind(err, aws.KindNotFound) {
			t.Fatalf("a connection without SNI registered the certificate: %v", err)
		}
		// localhost is in the broker's certificate, but the endpoint's name is another.
		o.Host = "localhost"
		rep = FirstConnect(ctx, o, e.cloud, FirstConnectOptions{Poll: poll})
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagWrongSNI || !strings.Contains(rep.Diagnosis.Fix, e.host) {
			t.Fatalf("SNI localhost: outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
		o.Host = e.host
		// The same device with SNI is provisioned.
		o.NoSNI = false
		if rep := FirstConnect(ctx, o, e.cloud, FirstConnectOptions{Poll: fastPoll}); !rep.Activated {
			t.Fatalf("with SNI: %s %+v", rep.Outcome, rep.Diagnosis)
		}
	})
	t.Run("wrong server CA", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		ca := newLocalCA(t, "Root H")
		dev, key := ca.issue(t, pki.Subject{CommonName: "DemoThing"})
		o := e.opts(pki.EncodeCertPEM(dev), key, "x")
		o.CAPEM = pki.EncodeCertPEM(ca.cert) // the device CA instead of the broker's root
		out := Probe(ctx, o)
		if d := Diagnose(Facts{Outcome: &out, Options: o}); out.Class != ClassServerUntrusted || d.Class != DiagWrongServerCA {
			t.Fatalf("outcome %s diagnosis %v", out, d)
		}
	})
	t.Run("endpoint of another region", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		ca := newLocalCA(t, "Root I")
		dev, key := ca.issue(t, pki.Subject{CommonName: "DemoThing"})
		o := e.opts(pki.EncodeCertPEM(dev), key, "x")
		o.Host = strings.Replace(e.host, localRegion, "eu-west-1", 1)
		out := Probe(ctx, o)
		f := Facts{Outcome: &out, Options: o}
		Gather(ctx, e.cloud, &f)
		if d := Diagnose(f); d.Class != DiagWrongRegion || !strings.Contains(d.Fix, "--region "+localRegion) {
			t.Fatalf("outcome %s diagnosis %v", out, d)
		}
	})
}

// Port 443 flavour: the local broker's ALPN listener needs x-amzn-mqtt-ca, which
// mqttprobe offers on port 443; without it the handshake is refused with an alert.
func TestLocalALPNListener(t *testing.T) {
	t.Parallel()
	srv, err := local.Start(context.Background(), local.Options{Dir: t.TempDir(), Region: localRegion, Account: localAccount,
		APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", ALPNAddr: "127.0.0.1:0", EndpointHost: localEndpointHost})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ca := newLocalCA(t, "ALPN Root")
	dev, key := ca.issue(t, pki.Subject{CommonName: "AlpnThing", Country: "IN"})
	o := Options{Host: srv.MQTTHost(), Port: 443, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.ALPNPort())),
		CertPEM: pki.Bundle(dev, ca.cert), KeyPEM: key, CAPEM: srv.RootCAPEM(), ClientID: "x", ConnectTimeout: 5 * time.Second}
	out := Probe(context.Background(), o)
	if out.TLS == nil || out.TLS.ALPN != ALPN || out.Class != ClassDropped { // CA not registered: dropped at CONNECT
		t.Fatalf("with ALPN: %s %+v", out, out.TLS)
	}
	o.ALPN = []string{} // offer nothing
	out = Probe(context.Background(), o)
	if out.Class != ClassTLSRejected || out.Alert == "" {
		t.Fatalf("without ALPN: %s (alert %q)", out, out.Alert)
	}
	if d := Diagnose(Facts{Outcome: &out, Options: o}); d.Class != DiagTLSRejected || !strings.Contains(d.Cause, "needs ALPN x-amzn-mqtt-ca") {
		t.Fatalf("diagnosis %v", d)
	}
}
