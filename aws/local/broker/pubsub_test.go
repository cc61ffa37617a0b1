package broker

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

const adminPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`

// activeDevice registers dev ACTIVE under ca with one policy, as an operator would
// with register-certificate + create-policy + attach-policy.
func (e *env) activeDevice(t *testing.T, ca *testCA, dev *device, policyName, doc string) {
	t.Helper()
	err := e.st.Update(func(st *store.State) error {
		c, err := st.RegisterDeviceCert(dev.Cert, ca.ID, store.StatusActive)
		if err != nil {
			return err
		}
		if _, err := st.CreatePolicy(policyName, doc, nil); err != nil {
			return err
		}
		return st.AttachPolicy(policyName, c.ARN)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pahoClient connects with paho as MQTT 3.1.1 (no silent fallback to 3.1).
func (e *env) pahoClient(t *testing.T, ca *testCA, dev *device, clientID string, lost chan<- error) (paho.Client, error) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(e.b.id.root)
	opts := paho.NewClientOptions().
		AddBroker("tls://" + net.JoinHostPort("localhost", e.port)).
		SetClientID(clientID).
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(5 * time.Second).
		SetTLSConfig(&tls.Config{ServerName: "localhost", RootCAs: pool, MinVersion: tls.VersionTLS12,
			Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
	if lost != nil {
		opts.SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	}
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, errors.New("connect timed out")
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

func TestPahoSubscribeReceiveOwnMessage(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})

	// First connect through paho: the broker closes it during provisioning.
	if _, err := e.pahoClient(t, ca, dev, "anyclientID", nil); err == nil {
		// Without the CA in the chain paho still sends SNI, so this is a first connect.
		t.Fatal("first connect succeeded; want it dropped while provisioning")
	}
	if c := e.cert(dev.ID); c == nil || c.Status != store.StatusActive {
		t.Fatalf("not provisioned: %+v", c)
	}

	lost := make(chan error, 1)
	c, err := e.pahoClient(t, ca, dev, "DemoThing", lost)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	tok := c.Subscribe("DemoThing/test", 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() + " " + string(m.Payload()) })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if tok := c.Publish("DemoThing/test", 1, false, "round trip"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m != "DemoThing/test round trip" {
			t.Fatalf("received %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("own message not received")
	}

	// Subscribing outside DemoThing/* closes the connection.
	c.Subscribe("foo/#", 1, nil)
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("unauthorized subscribe did not close the connection")
	}
	if ev := lastEvent(t, e, store.EventAuthorizationFailure); !strings.Contains(ev.Message, "iot:Subscribe denied") || ev.Params["topic"] != "foo/#" {
		t.Fatalf("refusal event %+v", ev)
	}
}

// iot:Receive is checked on every delivery: a message the subscriber may not
// receive is dropped for it, while the publisher still gets its PUBACK.
func TestReceiveCheckedPerDelivery(t *testing.T) {
	t.Parallel()
	e, ca := byHandEnv(t)
	dev := ca.issue(t, pki.Subject{CommonName: "Receiver"})
	arn := iotARNPrefix
	doc := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iot:Connect","Resource":"` + arn + `:client/Receiver"},
	 {"Effect":"Allow","Action":["iot:Publish","iot:Subscribe"],"Resource":["` + arn + `:topic/x/*","` + arn + `:topicfilter/x/#"]},
	 {"Effect":"Allow","Action":"iot:Receive","Resource":"` + arn + `:topic/x/allowed"}]}`
	e.activeDevice(t, ca, dev, "ReceiverPolicy", doc)

	c := e.connected(t, ca, dev, "Receiver")
	if err := c.subscribe(1, "x/#"); err != nil {
		t.Fatal(err)
	}
	if body := c.expect(t, packets.Suback, "subscribe x/#"); body[len(body)-1] != 1 {
		t.Fatalf("SUBACK %x", body)
	}
	if err := c.publish("x/denied", 1, []byte("no")); err != nil {
		t.Fatal(err)
	}
	c.expect(t, packets.Puback, "publish x/denied")
	if err := c.publish("x/allowed", 1, []byte("yes")); err != nil {
		t.Fatal(err)
	}
	var delivered []string
	for len(delivered) == 0 || !strings.HasPrefix(delivered[len(delivered)-1], "x/allowed") {
		h, body, err := c.read()
		if err != nil {
			t.Fatalf("reading: %v (delivered so far %v)", err, delivered)
		}
		if h>>4 == packets.Publish {
			n := int(body[0])<<8 | int(body[1])
			delivered = append(delivered, string(body[2:2+n]))
		}
	}
	if len(delivered) != 1 {
		t.Fatalf("delivered %v, want only x/allowed", delivered)
	}
}

// JITR: a CA without registration config leaves the certificate PENDING_ACTIVATION
// and publishes the documented event, again on every connect while it is pending.
func TestJITREventPublished(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, nil)
	watcherCA := newTestCA(t, "watcherCA")
	e.registerCA(watcherCA, store.StatusActive, store.AutoRegDisable, nil)
	watcher := watcherCA.issue(t, pki.Subject{CommonName: "watcher"})
	e.activeDevice(t, watcherCA, watcher, "admin", adminPolicy)

	// The watcher's client ID is "inline", the name mochi gives its own internal
	// client (which publishes these events): that must not break anything.
	w := e.connected(t, watcherCA, watcher, "inline")
	if err := w.subscribe(1, RegisteredTopic(ca.ID)); err != nil {
		t.Fatal(err)
	}
	w.expect(t, packets.Suback, "subscribe to the registered topic")

	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "JITRThing"})
	for round := 1; round <= 2; round++ {
		r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar")
		if r.code != 7 || strings.Contains(r.out, "CONNACK") {
			t.Fatalf("JITR connect %d: %s", round, r)
		}
		body := w.expect(t, packets.Publish, "registered event")
		n := int(body[0])<<8 | int(body[1])
		if topic := string(body[2 : 2+n]); topic != RegisteredTopic(ca.ID) {
			t.Fatalf("event topic %s", topic)
		}
		payload := body[2+n+2:] // QoS 1: packet ID follows the topic
		var ev map[string]any
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		if ev["certificateId"] != dev.ID || ev["caCertificateId"] != ca.ID || ev["certificateStatus"] != "PENDING_ACTIVATION" ||
			ev["awsAccountId"] != testAccount {
			t.Fatalf("event payload %s", payload)
		}
		if _, ok := ev["timestamp"].(float64); !ok {
			t.Fatalf("timestamp is not a number: %s", payload)
		}
		if _, ok := ev["certificateRegistrationTimestamp"].(string); !ok {
			t.Fatalf("certificateRegistrationTimestamp is not a string: %s", payload)
		}
		// QoS 1 delivery: acknowledge it so the broker does not resend.
		ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: uint16(body[2+n])<<8 | uint16(body[2+n+1])}
		if err := w.writeAck(ack); err != nil {
			t.Fatal(err)
		}
	}
	if c := e.cert(dev.ID); c == nil || c.Status != store.StatusPendingActivation {
		t.Fatalf("JITR certificate %+v", c)
	}
	if n := len(e.events(store.EventJITRPublished)); n != 2 {
		t.Fatalf("%d JITR events, want 2", n)
	}
	// Activated by the operator (UpdateCertificate), it connects; it has no policy, so
	// iot:Connect is denied.
	if err := e.st.Update(func(st *store.State) error { return st.UpdateCertificate(dev.ID, store.StatusActive) }); err != nil {
		t.Fatal(err)
	}
	c := e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
	if rc, err := c.connect("JITRThing"); err == nil {
		t.Fatalf("certificate without policy got CONNACK %d", rc)
	}
	if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, "no policy is attached") {
		t.Fatalf("refusal %+v", ev)
	}
}

// A second connection with the same client ID takes over; the older is closed.
func TestDuplicateClientIDDropsOlder(t *testing.T) {
	t.Parallel()
	e, ca := byHandEnv(t)
	dev := ca.issue(t, pki.Subject{CommonName: "dup"})
	e.activeDevice(t, ca, dev, "admin", adminPolicy)
	old := e.connected(t, ca, dev, "dup")
	cur := e.connected(t, ca, dev, "dup")
	// mochi sends DISCONNECT before closing; a 3.1.1 client sees the connection end.
	for {
		h, _, err := old.read()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("older connection still open")
			}
			break
		}
		if h>>4 != packets.Disconnect {
			t.Fatalf("older connection got packet type %d", h>>4)
		}
	}
	if err := cur.publish("dup/x", 1, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	cur.expect(t, packets.Puback, "newer connection")
}

func TestALPNListener(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnvWith(t, "scoped", func(o *Options) { o.ALPNAddr = "127.0.0.1:0" })
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})
	pool := x509.NewCertPool()
	pool.AddCert(e.b.id.root)
	addr := e.b.ALPNAddr().String()
	dial := func(protos []string) (*tls.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{ServerName: "localhost", RootCAs: pool, NextProtos: protos,
			Certificates: []tls.Certificate{dev.tlsCert(ca, true)}})
	}
	if conn, err := dial(nil); err == nil {
		// TLS 1.3: the server's verdict arrives with the first read.
		c := &rawClient{conn: conn, r: newReader(conn)}
		if rc, err := c.connect("anyclientID"); err == nil {
			t.Fatalf("no ALPN: got CONNACK %d", rc)
		}
		conn.Close()
	}
	if e.cert(dev.ID) != nil {
		t.Fatal("registered over the ALPN port without ALPN")
	}
	conn, err := dial([]string{ALPNProtocol})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.ConnectionState().NegotiatedProtocol != ALPNProtocol {
		t.Fatalf("negotiated %q", conn.ConnectionState().NegotiatedProtocol)
	}
	c := &rawClient{conn: conn, r: newReader(conn)}
	if rc, err := c.connect("anyclientID"); err == nil {
		t.Fatalf("first connect got CONNACK %d", rc)
	}
	if got := e.cert(dev.ID); got == nil || got.Status != store.StatusActive {
		t.Fatalf("not provisioned over ALPN: %+v", got)
	}
}

// Restart: state reopened from disk, broker recreated over the same directory; the
// root CA is the same file and the provisioned device connects.
func TestRestartKeepsStateAndRoot(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})
	r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar")
	if r.code != 7 {
		t.Fatalf("first connect: %s", r)
	}
	rootBefore, err := os.ReadFile(e.rootCA)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := store.Open(e.dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st2
	e.start()
	rootAfter, err := os.ReadFile(e.b.RootCAPath())
	if err != nil {
		t.Fatal(err)
	}
	if string(rootBefore) != string(rootAfter) {
		t.Fatal("root CA changed across the restart")
	}
	r = e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "DemoThing", "DemoThing/test")
	if r.code != 0 || !strings.Contains(r.out, "received PUBACK") {
		t.Fatalf("after restart: %s", r)
	}
	if n := len(e.events(store.EventProvisioned)); n != 1 {
		t.Fatalf("%d provisioning events after restart, want 1", n)
	}
}

// Policies see the connection's certificate: ${iot:Certificate.Subject.CommonName}
// and ${iot:CertificateId} resolve from the client certificate.
func TestCertificatePolicyVariables(t *testing.T) {
	t.Parallel()
	e, ca := byHandEnv(t)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "sensor-7"})
	arn := iotARNPrefix
	doc := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iot:Connect","Resource":"` + arn + `:client/${iot:Certificate.Subject.CommonName}"},
	 {"Effect":"Allow","Action":"iot:Publish","Resource":"` + arn + `:topic/certs/${iot:CertificateId}"}]}`
	e.activeDevice(t, ca, dev, "CertVars", doc)

	c := e.connected(t, ca, dev, "sensor-7")
	if err := c.publish("certs/"+dev.ID, 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.expect(t, packets.Puback, "publish to certs/<own id>")
	if err := c.publish("certs/someone-else", 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.expectClosed(t, "publish to another certificate's topic")

	other := e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
	if rc, err := other.connect("sensor-8"); err == nil {
		t.Fatalf("client ID other than the CN got CONNACK %d", rc)
	}
}
