package mqttprobe

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/localtest"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// mosquitto_pub, a client no one here wrote, sees the same first-connect story as
// mqttprobe: the first connect is dropped ("connection lost"), the control plane then
// shows the certificate ACTIVE, and a connect as the thing publishes fine.
func TestMosquittoAgreesWithProbe(t *testing.T) {
	t.Parallel()
	pub := testtool.Need(t, "mosquitto_pub")
	// mosquitto dials the name it sends as SNI, so the endpoint must resolve: localhost.
	e := startLocalIoTAt(t, "localhost")
	ca := newLocalCA(t, "Interop Root")
	localtest.RegisterJITPCA(t, e.cloud, ca, localtest.Registration{})
	dev := ca.Issue(t, pki.Subject{CommonName: "InteropThing", Country: "IN"})
	dir := writeFiles(t, map[string][]byte{
		"deviceCertAndCACert.crt": pki.Bundle(dev.Cert, ca.Cert),
		"deviceCert.crt":          dev.CertPEM(),
		"deviceCert.key":          dev.KeyPEM,
		"awsRootCA.pem":           e.RootPEM,
	})
	_, port, _ := strings.Cut(e.MQTTAddr, ":")
	run := func(cert, host, clientID, topic string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, pub, "--cafile", filepath.Join(dir, "awsRootCA.pem"), "--cert", filepath.Join(dir, cert),
			"--key", filepath.Join(dir, "deviceCert.key"), "-h", host, "-p", port, "-q", "1", "-t", topic, "-i", clientID,
			"--tls-version", "tlsv1.2", "-m", "Hello", "-d")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatalf("mosquitto_pub: %v", err)
		}
		return 0, string(out)
	}
	// An IP address as host is not the endpoint's name (SNI "127.0.0.1"): refused
	// and nothing registered, even with the CA in the chain.
	code, out := run("deviceCertAndCACert.crt", "127.0.0.1", "anyclientID", "foo/bar")
	if code == 0 || !strings.Contains(out, "sending CONNECT") || strings.Contains(out, "received CONNACK") {
		t.Fatalf("connect to 127.0.0.1: exit %d, output:\n%s", code, out)
	}
	if _, err := e.cloud.DescribeCertificate(context.Background(), dev.ID); !aws.IsKind(err, aws.KindNotFound) {
		t.Fatalf("after connecting to 127.0.0.1 the certificate exists (or the lookup failed): %v", err)
	}
	code, out = run("deviceCertAndCACert.crt", "localhost", "anyclientID", "foo/bar")
	if code == 0 || !strings.Contains(out, "sending CONNECT") || strings.Contains(out, "received CONNACK") {
		t.Fatalf("first connect: exit %d, output:\n%s", code, out)
	}
	cert, _, err := WaitActive(context.Background(), e.cloud, dev.ID, fastPoll)
	if err != nil || cert.Status != aws.StatusActive {
		t.Fatalf("after mosquitto's first connect: %+v, %v", cert, err)
	}
	code, out = run("deviceCert.crt", "localhost", "InteropThing", "InteropThing/test")
	if code != 0 || !strings.Contains(out, "received CONNACK (0)") {
		t.Fatalf("second connect: exit %d, output:\n%s", code, out)
	}
	// mqttprobe classifies a fresh device's first connect the same way, precisely.
	dev2 := ca.Issue(t, pki.Subject{CommonName: "ProbeThing", Country: "IN"})
	o := e.opts(pki.Bundle(dev2.Cert, ca.Cert), dev2.KeyPEM, "anyclientID")
	if got := Probe(context.Background(), o); got.Class != ClassDropped || !got.ConnectSent {
		t.Fatalf("probe: %s", got)
	}
	// And a publish outside the thing's topics: mosquitto sees the connection lost, mqttprobe says refused.
	code, _ = run("deviceCert.crt", "localhost", "InteropThing", "other/test")
	rr := ProveRefused(context.Background(), e.opts(dev.CertPEM(), dev.KeyPEM, "InteropThing"), "other/test", false, 5*time.Second)
	if code == 0 || !rr.Refused {
		t.Fatalf("outside topic: mosquitto exit %d, probe %+v", code, rr)
	}
}
