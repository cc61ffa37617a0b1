package mqttprobe

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/aws/local/localtest"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
)

const (
	localAccount = localtest.Account
	localRegion  = localtest.Region
)

// localEnv is the embedded IoT Core (control plane + broker) and an SDK client for it.
type localEnv struct {
	*localtest.IoTCore
	cloud aws.Client
}

func startLocalIoT(t *testing.T) *localEnv { return startLocalIoTAt(t, localtest.EndpointHost) }

// startLocalIoTAt starts the local IoT Core with DescribeEndpoint returning
// endpointHost (a name that resolves, such as localhost, for clients like
// mosquitto_pub that dial the name they send as SNI).
func startLocalIoTAt(t *testing.T, endpointHost string) *localEnv {
	t.Helper()
	core := localtest.Start(t, func(o *local.Options) { o.EndpointHost = endpointHost })
	c := core.Client(t)
	host, err := c.DataEndpoint(context.Background())
	if err != nil || host != core.Host {
		t.Fatalf("DataEndpoint = %q, %v; want %q", host, err, core.Host)
	}
	return &localEnv{IoTCore: core, cloud: c}
}

// newLocalCA is a test root CA with an EC P-256 key.
func newLocalCA(t *testing.T, cn string) *pkitest.CA {
	t.Helper()
	return pkitest.NewCA(t, pki.EC256, pki.Subject{CommonName: cn, Country: "US"})
}

// jitpDevice registers a new CA (subject CN root) as r says and issues it a device
// certificate for DemoThing (C=IN) that has not connected yet.
func (e *localEnv) jitpDevice(t *testing.T, root string, r localtest.Registration) (*pkitest.CA, *pkitest.Device) {
	t.Helper()
	ca := newLocalCA(t, root)
	localtest.RegisterJITPCA(t, e.cloud, ca, r)
	return ca, ca.Issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
}

// provisionedDevice is an IoT Core with a CA registered for JITP (subject CN root) and a
// device certificate of it for DemoThing that JITP has provisioned.
func provisionedDevice(t *testing.T, root string) (*localEnv, *pkitest.CA, *pkitest.Device) {
	t.Helper()
	e := startLocalIoT(t)
	ca, dev := e.jitpDevice(t, root, localtest.Registration{})
	e.provision(t, ca, dev)
	return e, ca, dev
}

// strangerDevice is an IoT Core and the options of a device for DemoThing whose CA (subject
// CN root) is not registered.
func strangerDevice(t *testing.T, root string) (*localEnv, *pkitest.CA, Options) {
	t.Helper()
	e := startLocalIoT(t)
	ca := newLocalCA(t, root)
	dev := ca.Issue(t, pki.Subject{CommonName: "DemoThing"})
	return e, ca, e.opts(dev.CertPEM(), dev.KeyPEM, "x")
}

// provision does dev's first connect with the bundle and requires JITP to activate it.
func (e *localEnv) provision(t *testing.T, ca *pkitest.CA, dev *pkitest.Device) {
	t.Helper()
	if rep := FirstConnect(context.Background(), e.opts(pki.Bundle(dev.Cert, ca.Cert), dev.KeyPEM, "x"), e.cloud, FirstConnectOptions{Poll: fastPoll}); !rep.Activated {
		t.Fatalf("provisioning: %+v", rep.Diagnosis)
	}
}

// firstConnectFor is a first connect with o that gives JITP 200 ms (one that is not going to
// provision the device).
func (e *localEnv) firstConnectFor(o Options) FirstConnectReport {
	poll := fastPoll
	poll.Timeout = 200 * time.Millisecond
	return FirstConnect(context.Background(), o, e.cloud, FirstConnectOptions{Poll: poll})
}

func (e *localEnv) opts(certPEM, keyPEM []byte, clientID string) Options {
	return Options{Host: e.Host, Addr: e.MQTTAddr, CertPEM: certPEM, KeyPEM: keyPEM, CAPEM: e.RootPEM, ClientID: clientID,
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
	localtest.RegisterJITPCA(t, e.cloud, ca, localtest.Registration{})
	dev := ca.Issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
	ctx := context.Background()

	var seen []string
	poll := fastPoll
	poll.OnStatus = func(o Observation) { seen = append(seen, o.Status) }
	// The outcome is told before the first status poll (connect → dropped → ACTIVE).
	var story []string
	onOutcome := func(o Outcome) {
		story = append(story, "outcome "+string(o.Class)+" after "+strconv.Itoa(len(seen))+" polls")
	}
	rep := FirstConnect(ctx, e.opts(pki.Bundle(dev.Cert, ca.Cert), dev.KeyPEM, "anyclientID"), e.cloud, FirstConnectOptions{ThingName: "DemoThing", Poll: poll, OnOutcome: onOutcome})
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
	if out := Probe(ctx, e.opts(pki.Bundle(dev.Cert, ca.Cert), dev.KeyPEM, "DemoThing")); out.Class != ClassConnected {
		t.Fatalf("second connect: %s", out)
	}
	// Use it: device cert only, client ID = thing name.
	o := e.opts(dev.CertPEM(), dev.KeyPEM, "DemoThing")
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
		e, ca, dev := provisionedDevice(t, "Root A")
		o := e.opts(dev.CertPEM(), dev.KeyPEM, "anyclientID")
		out := Probe(ctx, o)
		if out.Class != ClassDropped {
			t.Fatalf("outcome %s", out)
		}
		d := e.diagnoseAfter(out, o, "DemoThing", ca.Cert, aws.StatusActive)
		if d.Class != DiagClientIDMismatch || !strings.Contains(d.Fix, "client ID DemoThing") {
			t.Fatalf("diagnosis %v", d)
		}
	})
	t.Run("topic outside the policy", func(t *testing.T) {
		t.Parallel()
		e, _, dev := provisionedDevice(t, "Root B")
		o := e.opts(dev.CertPEM(), dev.KeyPEM, "DemoThing")
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
		localtest.RegisterJITPCA(t, e.cloud, ca, localtest.Registration{})
		dev := ca.Issue(t, pki.Subject{CommonName: "NoCountryThing"}) // the scoped template refs Country
		poll := fastPoll
		poll.Timeout = time.Minute // the failure in the log stops the polling long before
		// The local event log plays CloudTrail's part: what RegisterThing said.
		logReads := 0
		eventLog := func(_ context.Context, certID string) []string {
			logReads++
			var out []string
			for _, ev := range e.EventLog(0) {
				if ev.CertID == certID && ev.Error != "" {
					out = append(out, ev.Error+": "+ev.Message)
				}
			}
			return out
		}
		rep := FirstConnect(ctx, e.opts(pki.Bundle(dev.Cert, ca.Cert), dev.KeyPEM, "x"), e.cloud, FirstConnectOptions{Poll: poll, ProvisioningLog: eventLog})
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
		e, ca, dev := provisionedDevice(t, "Root D")
		if err := e.cloud.UpdateCertificate(ctx, dev.ID, aws.StatusInactive); err != nil {
			t.Fatal(err)
		}
		o := e.opts(dev.CertPEM(), dev.KeyPEM, "DemoThing")
		out := Probe(ctx, o)
		d := e.diagnoseAfter(out, o, "DemoThing", ca.Cert, "")
		if out.Class == ClassConnected || d.Class != DiagCertNotActive || !strings.Contains(d.Cause, "INACTIVE") {
			t.Fatalf("outcome %s diagnosis %v", out, d)
		}
	})
	for _, c := range []struct {
		name, root string
		reg        localtest.Registration
		want       DiagClass
	}{
		{"CA inactive", "Root E", localtest.Registration{Inactive: true}, DiagCAInactive},
		{"auto-registration off", "Root F", localtest.Registration{NoAutoRegistration: true}, DiagAutoRegOff},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := startLocalIoT(t)
			ca, dev := e.jitpDevice(t, c.root, c.reg)
			rep := e.firstConnectFor(e.opts(pki.Bundle(dev.Cert, ca.Cert), dev.KeyPEM, "x"))
			if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != c.want {
				t.Fatalf("outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
			}
		})
	}
	t.Run("CA not registered / cert from another CA", func(t *testing.T) {
		t.Parallel()
		e := startLocalIoT(t)
		registered := newLocalCA(t, "Registered Root")
		localtest.RegisterJITPCA(t, e.cloud, registered, localtest.Registration{})
		stranger := newLocalCA(t, "Stranger Root")
		dev := stranger.Issue(t, pki.Subject{CommonName: "DemoThing", Country: "IN"})
		o := e.opts(pki.Bundle(dev.Cert, stranger.Cert), dev.KeyPEM, "x")
		out := Probe(ctx, o)
		if out.Class == ClassConnected {
			t.Fatalf("outcome %s", out)
		}
		// Knowing the user's CA (the registered one), the device cert is from another CA.
		if d := e.diagnoseAfter(out, o, "", registered.Cert, ""); d.Class != DiagOtherCA || !strings.Contains(d.Cause, "Stranger Root") {
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
		ca, dev := e.jitpDevice(t, "Root G", localtest.Registration{})
		o := e.opts(dev.CertPEM(), dev.KeyPEM, "x")
		o.NoSNI = true
		rep := e.firstConnectFor(o)
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagNoSNI || !strings.Contains(rep.Diagnosis.Fix, e.Host) {
			t.Fatalf("outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
		// The CA in the chain does not make up for SNI (issue 12), and an IP address
		// as host sends none either.
		o.CertPEM = pki.Bundle(dev.Cert, ca.Cert)
		rep = e.firstConnectFor(o)
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagNoSNI {
			t.Fatalf("no SNI, CA in chain: outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
		o.NoSNI, o.Host = false, "127.0.0.1"
		rep = e.firstConnectFor(o)
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagNoSNI || !strings.Contains(rep.Diagnosis.Cause, "127.0.0.1") {
			t.Fatalf("IP host: outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
		if _, err := e.cloud.DescribeCertificate(ctx, dev.ID); !aws.IsKind(err, aws.KindNotFound) {
			t.Fatalf("a connection without SNI registered the certificate: %v", err)
		}
		// localhost is in the broker's certificate, but the endpoint's name is another.
		o.Host = "localhost"
		rep = e.firstConnectFor(o)
		if rep.Activated || rep.Diagnosis == nil || rep.Diagnosis.Class != DiagWrongSNI || !strings.Contains(rep.Diagnosis.Fix, e.Host) {
			t.Fatalf("SNI localhost: outcome %s diagnosis %+v", rep.Outcome, rep.Diagnosis)
		}
		o.Host = e.Host
		// The same device with SNI is provisioned.
		o.NoSNI = false
		if rep := FirstConnect(ctx, o, e.cloud, FirstConnectOptions{Poll: fastPoll}); !rep.Activated {
			t.Fatalf("with SNI: %s %+v", rep.Outcome, rep.Diagnosis)
		}
	})
	t.Run("wrong server CA", func(t *testing.T) {
		t.Parallel()
		_, ca, o := strangerDevice(t, "Root H")
		o.CAPEM = pki.EncodeCertPEM(ca.Cert) // the device CA instead of the broker's root
		out := Probe(ctx, o)
		if d := Diagnose(Facts{Outcome: &out, Options: o}); out.Class != ClassServerUntrusted || d.Class != DiagWrongServerCA {
			t.Fatalf("outcome %s diagnosis %v", out, d)
		}
	})
	t.Run("endpoint of another region", func(t *testing.T) {
		t.Parallel()
		e, _, o := strangerDevice(t, "Root I")
		o.Host = strings.Replace(e.Host, localRegion, "eu-west-1", 1)
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
	srv := localtest.Start(t, func(o *local.Options) { o.ALPNAddr = "127.0.0.1:0" })
	ca := newLocalCA(t, "ALPN Root")
	dev := ca.Issue(t, pki.Subject{CommonName: "AlpnThing", Country: "IN"})
	o := Options{Host: srv.MQTTHost(), Port: 443, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.ALPNPort())),
		CertPEM: pki.Bundle(dev.Cert, ca.Cert), KeyPEM: dev.KeyPEM, CAPEM: srv.RootCAPEM(), ClientID: "x", ConnectTimeout: 5 * time.Second}
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
