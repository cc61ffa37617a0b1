package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

// jitpEnv is an env with the walkthrough's role and a CA registered for JITP with
// the scoped template.
func jitpEnv(t *testing.T) (*env, *testCA) {
	t.Helper()
	return jitpEnvWith(t, "scoped")
}

// jitpEnvWith is an env (with the broker options mods) with the walkthrough's role and a
// CA registered ACTIVE, with auto-registration, for JITP with the walkthrough's
// registration config testdata/<config>.json.
func jitpEnvWith(t testing.TB, config string, mods ...func(*Options)) (*env, *testCA) {
	t.Helper()
	e := newEnv(t, mods...)
	ca := newTestCA(t, "deviceRootCA")
	e.createRole("JITPRole", iotTrust)
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, walkthroughConfig(t, config))
	return e, ca
}

// byHandEnv is an env with a CA registered ACTIVE without auto-registration: its devices
// are registered by hand (activeDevice), as an operator would.
func byHandEnv(t testing.TB) (*env, *testCA) {
	t.Helper()
	e := newEnv(t)
	ca := newTestCA(t, "deviceRootCA")
	e.registerCA(ca, store.StatusActive, store.AutoRegDisable, nil)
	return e, ca
}

// firstConnect performs a device's first connect (CA in the chain, SNI localhost)
// and asserts the broker closed it without CONNACK.
func (e *env) firstConnect(t *testing.T, ca *testCA, dev *device, clientID string) {
	t.Helper()
	c := e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, true)}})
	if rc, err := c.connect(clientID); err == nil {
		t.Fatalf("first connect: got CONNACK %d, want the connection closed", rc)
	}
}

// provisioned runs the first connect and asserts the certificate is ACTIVE.
func (e *env) provisioned(t *testing.T, ca *testCA, dev *device) {
	t.Helper()
	e.firstConnect(t, ca, dev, "anyclientID")
	if c := e.cert(dev.ID); c == nil || c.Status != store.StatusActive {
		t.Fatalf("certificate not ACTIVE after first connect: %+v", c)
	}
}

// provisionedDevice issues a device certificate for subj and provisions it (provisioned).
func (e *env) provisionedDevice(t *testing.T, ca *testCA, subj pki.Subject) *device {
	t.Helper()
	dev := ca.issue(t, subj)
	e.provisioned(t, ca, dev)
	return dev
}

// connected dials with the device certificate alone and SNI localhost, and asserts CONNACK 0.
func (e *env) connected(t *testing.T, ca *testCA, dev *device, clientID string) *rawClient {
	t.Helper()
	c := e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
	rc, err := c.connect(clientID)
	if err != nil || rc != 0 {
		t.Fatalf("connect as %s: rc=%d err=%v", clientID, rc, err)
	}
	return c
}

// waitEvent polls the event log until an event of kind whose message contains
// text appears (events recorded after the client saw the connection close).
func waitEvent(t *testing.T, e *env, kind, text string) store.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, ev := range e.events(kind) {
			if strings.Contains(ev.Message, text) {
				return ev
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event containing %q; events: %+v", kind, text, e.events(""))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func lastEvent(t *testing.T, e *env, kind string) store.Event {
	t.Helper()
	evs := e.events(kind)
	if len(evs) == 0 {
		t.Fatalf("no %s event; all events: %+v", kind, e.events(""))
	}
	return evs[len(evs)-1]
}

// A template that needs Country with a CN-only certificate: the certificate stays
// PENDING_ACTIVATION and the event carries AWS's message; every reconnect retries.
func TestTemplateMissingParameterStaysPending(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	dev := ca.issue(t, pki.Subject{CommonName: "NoCountryThing"})

	r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar")
	if r.code != 7 || !strings.Contains(r.out, "Error: The connection was lost.") {
		t.Fatalf("first connect: %s", r)
	}
	c := e.cert(dev.ID)
	if c == nil || c.Status != store.StatusPendingActivation {
		t.Fatalf("certificate: %+v, want PENDING_ACTIVATION", c)
	}
	ev := lastEvent(t, e, store.EventProvisioningFailed)
	want := "Invalid registration template. Cannot resolve reference value: {Ref=AWS::IoT::Certificate::Country}"
	if ev.Message != want || ev.Error != "InvalidRequestException" || ev.CertID != dev.ID || ev.CAID != ca.ID || ev.Reason != store.ProvisionUnresolvedRef {
		t.Fatalf("failure event %+v, want message %q", ev, want)
	}
	if ev.Params["AWS::IoT::Certificate::CommonName"] != "NoCountryThing" {
		t.Fatalf("event parameters %v", ev.Params)
	}
	if e.thing("NoCountryThing") != nil || len(e.attachedPolicies(dev.ID)) != 0 {
		t.Fatal("a failed provisioning left a thing or a policy behind")
	}
	if n := len(e.events(store.EventCertRegistered)); n != 1 {
		t.Fatalf("%d CertificateRegistered events, want 1", n)
	}

	// Reconnect (device cert alone): still refused, provisioning retried and failing again.
	r = e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "NoCountryThing", "NoCountryThing/test")
	if r.code != 7 || strings.Contains(r.out, "CONNACK") {
		t.Fatalf("reconnect while PENDING_ACTIVATION: %s", r)
	}
	if n := len(e.events(store.EventProvisioningFailed)); n != 2 {
		t.Fatalf("%d failure events after the retry, want 2", n)
	}
	if c := e.cert(dev.ID); c.Status != store.StatusPendingActivation {
		t.Fatalf("status %s", c.Status)
	}
}

func TestFirstConnectRefusedWithoutAutoRegistration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, status, autoReg, want string
		register                    bool
	}{
		{"auto-registration off", store.StatusActive, store.AutoRegDisable, "auto-registration DISABLE", true},
		{"CA inactive", store.StatusInactive, store.AutoRegEnable, "is INACTIVE", true},
		{"unregistered CA", "", "", "is not a registered CA", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.createRole("JITPRole", iotTrust)
			ca := newTestCA(t, "deviceRootCA")
			if tc.register {
				e.registerCA(ca, tc.status, tc.autoReg, walkthroughConfig(t, "scoped"))
			} else {
				other := newTestCA(t, "deviceRootCA") // same subject, different key
				e.registerCA(other, store.StatusActive, store.AutoRegEnable, walkthroughConfig(t, "scoped"))
			}
			dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})
			r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar")
			if r.code != 7 || strings.Contains(r.out, "CONNACK") {
				t.Fatalf("want the connection lost without CONNACK, got %s", r)
			}
			if c := e.cert(dev.ID); c != nil {
				t.Fatalf("certificate registered: %+v", c)
			}
			if e.thing("DemoThing") != nil {
				t.Fatal("thing created")
			}
			ev := lastEvent(t, e, store.EventConnectRefused)
			if !strings.Contains(ev.Message, tc.want) || ev.CertID != dev.ID {
				t.Fatalf("refusal event %+v, want it to say %q", ev, tc.want)
			}
		})
	}
}

func TestCertificateStatusRefusals(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	dev := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "DemoThing"})
	live := e.connected(t, ca, dev, "DemoThing")
	// UpdateCertificate INACTIVE through the control plane's hook closes live connections.
	if err := e.st.Update(func(st *store.State) error { return st.UpdateCertificate(dev.ID, store.StatusInactive) }); err != nil {
		t.Fatal(err)
	}
	e.b.CertificateStatusChanged(dev.ID, store.StatusInactive)
	live.expectClosed(t, "connection of a deactivated certificate")
	for _, status := range []string{store.StatusInactive, store.StatusRevoked} {
		if err := e.st.Update(func(st *store.State) error { return st.SetCertificateStatus(dev.ID, status) }); err != nil {
			t.Fatal(err)
		}
		c := e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
		if rc, err := c.connect("DemoThing"); err == nil {
			t.Fatalf("%s certificate got CONNACK %d", status, rc)
		}
		if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, status) {
			t.Fatalf("refusal event %+v", ev)
		}
		if n := len(e.events(store.EventProvisioned)); n != 1 {
			t.Fatalf("template re-ran for a %s certificate", status)
		}
	}
	// A deactivated CA does not affect certificates already registered.
	e.update(func(st *store.State) error { return st.SetCertificateStatus(dev.ID, store.StatusActive) })
	e.changeCA(ca, func(c *store.CA) { c.Status = store.StatusInactive })
	c := e.connected(t, ca, dev, "DemoThing")
	// Deactivated without the hook: the next PUBLISH is refused.
	if err := e.st.Update(func(st *store.State) error { return st.UpdateCertificate(dev.ID, store.StatusInactive) }); err != nil {
		t.Fatal(err)
	}
	if err := c.publish("DemoThing/test", 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.expectClosed(t, "publish with a deactivated certificate")
}

// Device A may not connect as B nor publish to B's topics.
func TestDeviceCannotActAsAnother(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	a := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "ThingA"})
	e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "ThingB"})

	r := e.mosquittoPub(t, a.CertFile, a.KeyFile, "ThingB", "ThingB/test")
	if r.code != 7 || strings.Contains(r.out, "CONNACK") {
		t.Fatalf("A connecting as ThingB: %s", r)
	}
	if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, "iot:Connect denied") {
		t.Fatalf("refusal event %+v", ev)
	}
	r = e.mosquittoPub(t, a.CertFile, a.KeyFile, "ThingA", "ThingB/test")
	if r.code != 7 || !strings.Contains(r.out, "received CONNACK (0)") || strings.Contains(r.out, "PUBACK") {
		t.Fatalf("A publishing to ThingB/test: %s", r)
	}
	if ev := lastEvent(t, e, store.EventAuthorizationFailure); !strings.Contains(ev.Message, "iot:Publish denied") || ev.Params["topic"] != "ThingB/test" {
		t.Fatalf("refusal event %+v", ev)
	}
	if ev := waitEvent(t, e, store.EventDisconnected, "the broker closed the connection: iot:Publish denied"); ev.Client != "ThingA" || ev.CertID != a.ID {
		t.Fatalf("disconnect event %+v", ev)
	}
	r = e.mosquittoPub(t, a.CertFile, a.KeyFile, "ThingA", "ThingA/test")
	if r.code != 0 || !strings.Contains(r.out, "received PUBACK") {
		t.Fatalf("A publishing to its own topic: %s", r)
	}
	// A last will on B's topic is refused at CONNECT; on its own topic it is fine.
	c := e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{a.tlsCert(ca, false)}})
	if rc, err := c.connectWill("ThingA", "ThingB/status"); err == nil {
		t.Fatalf("will on ThingB/status got CONNACK %d", rc)
	}
	if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, "last-will") {
		t.Fatalf("refusal event %+v", ev)
	}
	c = e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{a.tlsCert(ca, false)}})
	if rc, err := c.connectWill("ThingA", "ThingA/status"); err != nil || rc != 0 {
		t.Fatalf("will on ThingA/status: rc=%d err=%v", rc, err)
	}
}

func TestTLSRequirements(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})

	t.Run("TLS 1.1 refused", func(t *testing.T) {
		_, err := e.tlsDial(&tls.Config{ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11,
			Certificates: []tls.Certificate{dev.tlsCert(ca, true)}})
		if err == nil {
			t.Fatal("TLS 1.1 handshake succeeded")
		}
		if !strings.Contains(err.Error(), "protocol version") {
			t.Fatalf("unexpected error %v", err)
		}
	})
	t.Run("TLS 1.2 pinned works", func(t *testing.T) {
		c := e.rawDial(t, &tls.Config{ServerName: "localhost", MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{dev.tlsCert(ca, true)}})
		if v := c.conn.ConnectionState().Version; v != tls.VersionTLS12 {
			t.Fatalf("negotiated %x", v)
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			conn, err := e.tlsDial(&tls.Config{ServerName: "localhost", MinVersion: v, MaxVersion: v})
			if err != nil {
				continue // TLS 1.2: the handshake itself fails
			}
			c := &rawClient{conn: conn}
			c.r = newReader(conn)
			if rc, err := c.connect("anyclientID"); err == nil {
				t.Fatalf("TLS %x without a client certificate got CONNACK %d", v, rc)
			}
			conn.Close()
		}
		if c := e.cert(dev.ID); c != nil {
			t.Fatal("certificate registered")
		}
	})
	t.Run("no SNI and no CA in chain", func(t *testing.T) {
		// ServerName as an IP: Go sends no SNI.
		c := e.rawDial(t, &tls.Config{ServerName: "127.0.0.1", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
		if rc, err := c.connect("anyclientID"); err == nil {
			t.Fatalf("got CONNACK %d", rc)
		}
		if got := e.cert(dev.ID); got != nil {
			t.Fatalf("registered without SNI or CA: %+v", got)
		}
		if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, "no SNI") {
			t.Fatalf("refusal event %+v", ev)
		}
	})
	t.Run("SNI of the endpoint without CA in chain", func(t *testing.T) {
		other := ca.issue(t, pki.Subject{Country: "US", CommonName: "SNIThing"})
		c := e.rawDial(t, &tls.Config{ServerName: endpointName, Certificates: []tls.Certificate{other.tlsCert(ca, false)}})
		if rc, err := c.connect("anyclientID"); err == nil {
			t.Fatalf("first connect got CONNACK %d", rc)
		}
		if got := e.cert(other.ID); got == nil || got.Status != store.StatusActive {
			t.Fatalf("not provisioned with SNI only: %+v", got)
		}
	})
	// Issue 12: the CA in the chain no longer stands in for SNI (AWS's MQTT page:
	// connection attempts without SNI are refused).
	t.Run("CA in chain without SNI", func(t *testing.T) {
		other := ca.issue(t, pki.Subject{Country: "US", CommonName: "ChainThing"})
		c := e.rawDial(t, &tls.Config{ServerName: "127.0.0.1", Certificates: []tls.Certificate{other.tlsCert(ca, true)}})
		if rc, err := c.connect("anyclientID"); err == nil {
			t.Fatalf("first connect got CONNACK %d", rc)
		}
		if got := e.cert(other.ID); got != nil {
			t.Fatalf("registered without SNI although the CA was in the chain: %+v", got)
		}
		if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, "no SNI") || !strings.Contains(ev.Message, "localhost") || ev.CertID != other.ID {
			t.Fatalf("refusal event %+v", ev)
		}
	})
	t.Run("SNI naming another host", func(t *testing.T) {
		other := ca.issue(t, pki.Subject{Country: "US", CommonName: "OtherHostThing"})
		// The name is in no certificate, so the client skips verification to get its SNI through.
		c := e.rawDial(t, &tls.Config{ServerName: "iot.example.com", InsecureSkipVerify: true, Certificates: []tls.Certificate{other.tlsCert(ca, true)}})
		if rc, err := c.connect("anyclientID"); err == nil {
			t.Fatalf("first connect got CONNACK %d", rc)
		}
		if got := e.cert(other.ID); got != nil {
			t.Fatalf("registered with a foreign SNI: %+v", got)
		}
		if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, `sent SNI "iot.example.com", which is not this endpoint`) {
			t.Fatalf("refusal event %+v", ev)
		}
		// The same for an ACTIVE certificate: refused at CONNECT, not as an iot:Connect denial.
		e.provisioned(t, ca, dev)
		c = e.rawDial(t, &tls.Config{ServerName: "iot.example.com", InsecureSkipVerify: true, Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
		if rc, err := c.connect("DemoThing"); err == nil {
			t.Fatalf("ACTIVE certificate with a foreign SNI got CONNACK %d", rc)
		}
		if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, "not this endpoint") || ev.CertID != dev.ID {
			t.Fatalf("refusal event %+v", ev)
		}
	})
	t.Run("the store's AWS-style endpoint name is accepted", func(t *testing.T) {
		var aws string
		_ = e.st.View(func(st *store.State) error { aws = st.EndpointAddress(); return nil })
		if !strings.HasSuffix(aws, "-ats.iot."+testRegion+".amazonaws.com") {
			t.Fatalf("endpoint address %q", aws)
		}
		e.provisioned(t, ca, dev)
		c := e.rawDial(t, &tls.Config{ServerName: aws, Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
		if rc, err := c.connect("DemoThing"); err != nil || rc != 0 {
			t.Fatalf("SNI %s: rc=%d err=%v", aws, rc, err)
		}
	})
}

// mosquitto_pub given an IP address as host is refused like Go is: libmosquitto
// sends the address as SNI, which is not the endpoint's name.
func TestMosquittoIPHostRefused(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "DemoThing"})
	e.host = "127.0.0.1"
	r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar")
	e.host = "localhost"
	if r.code == 0 || strings.Contains(r.out, "CONNACK") {
		t.Fatalf("mosquitto_pub -h 127.0.0.1: %s", r)
	}
	if e.cert(dev.ID) != nil {
		t.Fatal("mosquitto_pub -h 127.0.0.1 registered the certificate")
	}
	if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, `SNI "127.0.0.1"`) || !strings.Contains(ev.Message, "connect with localhost") {
		t.Fatalf("refusal event %+v", ev)
	}
	// With the endpoint name the same command provisions the device.
	if r := e.mosquittoPub(t, dev.BundleFile, dev.KeyFile, "anyclientID", "foo/bar"); r.code != 7 {
		t.Fatalf("mosquitto_pub -h localhost: %s", r)
	}
	if c := e.cert(dev.ID); c == nil || c.Status != store.StatusActive {
		t.Fatalf("not provisioned through -h localhost: %+v", c)
	}
}

func TestBrokerLimits(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnvWith(t, "admin")
	dev := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "AdminThing"})

	c := e.connected(t, ca, dev, "AdminThing")
	if err := c.publish("a/b", 1, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	c.expect(t, packets.Puback, "publish within limits")

	cases := []struct {
		name string
		do   func(c *rawClient) error
	}{
		{"8 slashes", func(c *rawClient) error { return c.publish("a/b/c/d/e/f/g/h/i", 1, []byte("x")) }},
		{"257-byte topic", func(c *rawClient) error { return c.publish(strings.Repeat("t", 257), 1, []byte("x")) }},
		{"payload over 128 KB", func(c *rawClient) error { return c.publish("a/b", 1, make([]byte, MaxPayloadBytes+1)) }},
		{"QoS 2", func(c *rawClient) error { return c.publish("a/b", 2, []byte("x")) }},
		{"reserved topic", func(c *rawClient) error { return c.publish("$aws/events/presence/connected/x", 1, []byte("x")) }},
		{"$SYS subscription", func(c *rawClient) error { return c.subscribe(0, "$SYS/#") }},
		{"9 filters", func(c *rawClient) error {
			return c.subscribe(0, "a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "a/8", "a/9")
		}},
	}
	for _, tc := range cases {
		c := e.connected(t, ca, dev, "AdminThing")
		if err := tc.do(c); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c.expectClosed(t, tc.name)
	}
	// Exactly 128 KB is allowed.
	c = e.connected(t, ca, dev, "AdminThing")
	if err := c.publish("a/b", 1, make([]byte, MaxPayloadBytes)); err != nil {
		t.Fatal(err)
	}
	c.expect(t, packets.Puback, "128 KB payload")

	// QoS 2 subscriptions are granted QoS 1; past 50 subscriptions SUBACK says 0x80.
	c = e.connected(t, ca, dev, "AdminThing")
	var codes []byte
	for p := 0; p < 7; p++ {
		var fs []string
		for i := 0; i < 8; i++ {
			fs = append(fs, fmt.Sprintf("s/%d", p*8+i))
		}
		if err := c.subscribe(2, fs...); err != nil {
			t.Fatal(err)
		}
		body := c.expect(t, packets.Suback, "subscribe")
		codes = append(codes, body[2:]...)
	}
	for i, code := range codes {
		want := byte(1)
		if i >= MaxSubsPerConnection {
			want = 0x80
		}
		if code != want {
			t.Fatalf("subscription %d: SUBACK code %#x, want %#x (all: %x)", i+1, code, want, codes)
		}
	}

	// Client IDs: 128 bytes fine, 129 refused without CONNACK.
	c = e.connected(t, ca, dev, strings.Repeat("c", 128))
	c = e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
	if rc, err := c.connect(strings.Repeat("c", 129)); err == nil {
		t.Fatalf("129-byte client ID got CONNACK %d", rc)
	}
}

// A connection that never sends CONNECT is closed after the connect timeout.
func TestSilentConnectionClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.b.Close()
	b, err := New(Options{Store: e.st, Dir: e.dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	b.connectTimeout = 300 * time.Millisecond
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	conn, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, err = conn.Read(make([]byte, 1))
	if err == nil {
		t.Fatal("read data from a silent connection")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("silent connection still open after 10 s")
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatalf("closed too early (%s): %v", time.Since(start), err)
	}
}

// Simultaneous first connects: one certificate connecting five times at once is
// provisioned once; ten devices at once are all provisioned and share the
// template's inline policy.
func TestConcurrentFirstConnects(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	same := ca.issue(t, pki.Subject{Country: "US", CommonName: "Same"})
	var devs []*device
	for i := 0; i < 10; i++ {
		devs = append(devs, ca.issue(t, pki.Subject{Country: "US", CommonName: fmt.Sprintf("Dev%d", i)}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 15)
	dial := func(d *device) {
		defer wg.Done()
		conn, err := e.tlsDial(&tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{d.tlsCert(ca, true)}})
		if err != nil {
			errs <- err
			return
		}
		defer conn.Close()
		c := &rawClient{conn: conn, r: newReader(conn)}
		if rc, err := c.connect("anyclientID"); err == nil {
			errs <- fmt.Errorf("first connect of %s got CONNACK %d", d.Cert.Subject.CommonName, rc)
		}
	}
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go dial(same)
	}
	for _, d := range devs {
		wg.Add(1)
		go dial(d)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	provisioned := map[string]int{}
	for _, ev := range e.events(store.EventProvisioned) {
		provisioned[ev.Thing]++
	}
	if provisioned["Same"] != 1 {
		t.Fatalf("certificate connecting 5 times at once provisioned %d times", provisioned["Same"])
	}
	policies := map[string]bool{}
	for _, d := range append(devs, same) {
		if c := e.cert(d.ID); c == nil || c.Status != store.StatusActive {
			t.Fatalf("%s: %+v", d.Cert.Subject.CommonName, c)
		}
		for _, p := range e.attachedPolicies(d.ID) {
			policies[p.Name] = true
		}
	}
	if len(policies) != 1 {
		t.Fatalf("devices of one template have %d policies, want 1 shared", len(policies))
	}
}

// AutoRegister for a certificate that has already left PENDING_ACTIVATION (a
// concurrent first connect won) changes nothing and records nothing.
func TestAutoRegisterIdempotent(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "Twice"})
	reg := storeRegistry{st: e.st}
	caRec, err := reg.IssuerOf(dev.Cert)
	if err != nil || caRec == nil {
		t.Fatalf("issuer: %v %v", caRec, err)
	}
	req := autoRegRequest{Leaf: dev.Cert, CertID: dev.ID, CA: *caRec, ClientID: "x", Now: time.Now(), Start: time.Now()}
	res, err := reg.AutoRegister(req)
	if err != nil || !res.JITP || res.Error != "" || res.Status != store.StatusActive || res.Thing != "Twice" {
		t.Fatalf("first: %+v %v", res, err)
	}
	before := len(e.events(""))
	res, err = reg.AutoRegister(req)
	if err != nil || !res.Skipped || res.Status != store.StatusActive {
		t.Fatalf("second: %+v %v", res, err)
	}
	if after := len(e.events("")); after != before {
		t.Fatalf("second AutoRegister added %d events", after-before)
	}
}

// An expired device certificate is neither registered nor accepted.
func TestExpiredCertificateRefused(t *testing.T) {
	t.Parallel()
	later := func() time.Time { return time.Now().Add(400 * 24 * time.Hour) } // device certs last 365 days
	e, ca := jitpEnvWith(t, "scoped", func(o *Options) { o.Now = later })
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "Old"})
	// The broker's clock is 400 days ahead, so its certificate starts then too.
	c := e.rawDial(t, &tls.Config{ServerName: "localhost", Time: later, Certificates: []tls.Certificate{dev.tlsCert(ca, true)}})
	if rc, err := c.connect("anyclientID"); err == nil {
		t.Fatalf("expired certificate got CONNACK %d", rc)
	}
	if e.cert(dev.ID) != nil {
		t.Fatal("expired certificate registered")
	}
	if ev := lastEvent(t, e, store.EventConnectRefused); !strings.Contains(ev.Message, "outside its validity period") {
		t.Fatalf("refusal %+v", ev)
	}
}
