package broker

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

// MQTT 5 reason codes used by these tests (MQTT 5.0 §2.4).
const (
	rcNotAuthorized    = 0x87
	rcSessionTakenOver = 0x8E
)

// connected5 dials with the device certificate alone (SNI localhost) and connects as
// MQTT 5, asserting CONNACK reason 0.
func (e *env) connected5(t *testing.T, ca *testCA, dev *device, clientID string) *rawClient {
	t.Helper()
	c := e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
	c.version = 5
	err := c.write(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect:     packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 60, ClientIdentifier: clientID},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := c.expect(t, packets.Connack, "MQTT 5 CONNACK")
	if len(body) < 2 || body[1] != 0 {
		t.Fatalf("MQTT 5 CONNACK for %s: %x", clientID, body)
	}
	return c
}

// ackReason returns the packet ID and reason code of an MQTT 5 PUBACK body (a
// two-byte body means reason 0, MQTT 5.0 §3.4.2.1).
func ackReason(t *testing.T, body []byte) (uint16, byte) {
	t.Helper()
	if len(body) < 2 {
		t.Fatalf("PUBACK body %x", body)
	}
	id := binary.BigEndian.Uint16(body)
	if len(body) == 2 {
		return id, 0
	}
	return id, body[2]
}

// subackCodes returns the reason codes of an MQTT 5 SUBACK body (packet ID,
// properties, then one code per filter).
func subackCodes(t *testing.T, body []byte) []byte {
	t.Helper()
	if len(body) < 3 {
		t.Fatalf("SUBACK body %x", body)
	}
	n, mul, i := 0, 1, 2
	for ; i < len(body); i++ {
		n += int(body[i]&0x7f) * mul
		mul *= 128
		if body[i]&0x80 == 0 {
			break
		}
	}
	start := i + 1 + n
	if start > len(body) {
		t.Fatalf("SUBACK body %x: properties overrun", body)
	}
	return body[start:]
}

// ping proves the connection is open: PINGREQ gets PINGRESP.
func (c *rawClient) ping(t *testing.T, what string) {
	t.Helper()
	if err := c.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}}); err != nil {
		t.Fatalf("%s: PINGREQ: %v", what, err)
	}
	c.expect(t, packets.Pingresp, what)
}

// MQTT 5: a PUBLISH or SUBSCRIBE the policies deny is answered with reason code
// 0x87 and the connection stays (AWS's MQTT reason codes table: 0x87 Not authorized
// for PUBACK and SUBACK), where MQTT 3.1.1 clients lose the connection.
func TestMQTT5DenialsKeepTheConnection(t *testing.T) {
	t.Parallel()
	e, ca := jitpEnv(t)
	dev := e.provisionedDevice(t, ca, pki.Subject{Country: "US", CommonName: "FiveThing"})
	c := e.connected5(t, ca, dev, "FiveThing")

	if err := c.publish("OtherThing/test", 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	id, rc := ackReason(t, c.expect(t, packets.Puback, "forbidden QoS 1 publish"))
	if id != c.id || rc != rcNotAuthorized {
		t.Fatalf("forbidden QoS 1 publish: PUBACK id %d reason %#x, want id %d reason 0x87", id, rc, c.id)
	}
	ev := lastEvent(t, e, store.EventAuthorizationFailure)
	if !strings.Contains(ev.Message, "iot:Publish denied") || !strings.Contains(ev.Message, "0x87") || ev.Params["topic"] != "OtherThing/test" {
		t.Fatalf("denial event %+v", ev)
	}
	// A QoS 0 publish has no ack: it is dropped and the connection stays.
	if err := c.publish("OtherThing/test", 0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.ping(t, "after a forbidden QoS 0 publish")

	// A SUBSCRIBE with one allowed and one denied filter: per-filter reason codes.
	if err := c.subscribe(1, "FiveThing/in", "OtherThing/in"); err != nil {
		t.Fatal(err)
	}
	codes := subackCodes(t, c.expect(t, packets.Suback, "mixed SUBSCRIBE"))
	if !bytes.Equal(codes, []byte{1, rcNotAuthorized}) {
		t.Fatalf("SUBACK codes %x, want 01 87", codes)
	}
	if ev := lastEvent(t, e, store.EventAuthorizationFailure); !strings.Contains(ev.Message, "iot:Subscribe denied") || ev.Params["topic"] != "OtherThing/in" {
		t.Fatalf("denial event %+v", ev)
	}

	// Still connected and working: an allowed publish comes back on the granted subscription.
	if err := c.publish("FiveThing/in", 1, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	var gotAck, gotMsg bool
	for !gotAck || !gotMsg {
		h, body, err := c.read()
		if err != nil {
			t.Fatalf("after the denials: %v (acked %v, delivered %v)", err, gotAck, gotMsg)
		}
		switch h >> 4 {
		case packets.Puback:
			if _, rc := ackReason(t, body); rc != 0 {
				t.Fatalf("allowed publish: PUBACK reason %#x", rc)
			}
			gotAck = true
		case packets.Publish:
			if !bytes.Contains(body, []byte("hello")) {
				t.Fatalf("delivered %q", body)
			}
			gotMsg = true
			// acknowledge the QoS 1 delivery
			if err := c.writeAck(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback},
				PacketID: binary.BigEndian.Uint16(body[2+int(binary.BigEndian.Uint16(body)):]), ProtocolVersion: 5}); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected packet type %d: %x", h>>4, body)
		}
	}
	// A denied retained publish (iot:RetainPublish is not granted) is refused the same way.
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Retain: true}, TopicName: "FiveThing/state", Payload: []byte("on")}
	c.id++
	pk.PacketID = c.id
	if err := c.write(pk); err != nil {
		t.Fatal(err)
	}
	if _, rc := ackReason(t, c.expect(t, packets.Puback, "retained publish without iot:RetainPublish")); rc != rcNotAuthorized {
		t.Fatalf("retained publish: reason %#x", rc)
	}
	c.ping(t, "after a denied retained publish")

	// Limits still close the connection in MQTT 5 (a QoS 2 PUBLISH).
	if err := c.publish("FiveThing/in", 2, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.expectClosed(t, "QoS 2 publish over MQTT 5")

	// MQTT 3.1.1 keeps AWS's behaviour: the same forbidden publish closes the connection.
	c3 := e.connected(t, ca, dev, "FiveThing")
	if err := c3.publish("OtherThing/test", 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c3.expectClosed(t, "forbidden publish over MQTT 3.1.1")
	c3 = e.connected(t, ca, dev, "FiveThing")
	if err := c3.subscribe(1, "FiveThing/in", "OtherThing/in"); err != nil {
		t.Fatal(err)
	}
	c3.expectClosed(t, "forbidden subscribe over MQTT 3.1.1")
}

// Client-ID takeover: an MQTT 3.1.1 connection is closed without a DISCONNECT
// packet (3.1.1 has none from the server); an MQTT 5 one gets DISCONNECT 0x8E
// Session taken over, as AWS's reason codes table lists. The new connection works.
func TestClientIDTakeover(t *testing.T) {
	t.Parallel()
	e, ca := byHandEnv(t)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "TakeoverThing"})
	e.activeDevice(t, ca, dev, "admin", adminPolicy)
	for _, tc := range []struct {
		name     string
		old, new func() *rawClient
	}{
		{"3.1.1 by 3.1.1", func() *rawClient { return e.connected(t, ca, dev, "twin") }, func() *rawClient { return e.connected(t, ca, dev, "twin") }},
		{"3.1.1 by 5", func() *rawClient { return e.connected(t, ca, dev, "twin") }, func() *rawClient { return e.connected5(t, ca, dev, "twin") }},
		{"5 by 5", func() *rawClient { return e.connected5(t, ca, dev, "twin") }, func() *rawClient { return e.connected5(t, ca, dev, "twin") }},
		{"5 by 3.1.1", func() *rawClient { return e.connected5(t, ca, dev, "twin") }, func() *rawClient { return e.connected(t, ca, dev, "twin") }},
	} {
		old := tc.old()
		old.ping(t, tc.name+": old connection before the takeover")
		nw := tc.new()
		if old.version == 5 {
			body := old.expect(t, packets.Disconnect, tc.name+": old MQTT 5 connection")
			if len(body) < 1 || body[0] != rcSessionTakenOver {
				t.Fatalf("%s: DISCONNECT body %x, want reason 0x8E", tc.name, body)
			}
		}
		old.expectClosed(t, tc.name+": old connection")
		nw.ping(t, tc.name+": new connection")
		if cl, ok := e.b.server.Clients.Get("twin"); !ok || cl.Closed() {
			t.Fatalf("%s: the new connection is not registered", tc.name)
		}
		ev := waitEvent(t, e, store.EventDisconnected, "another connection with the same client ID took over")
		if ev.Client != "twin" {
			t.Fatalf("%s: event %+v", tc.name, ev)
		}
		// Next round from scratch: the clean session is gone once the new connection closes.
		nw.conn.Close()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, ok := e.b.server.Clients.Get("twin"); !ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: client twin still registered after its connection closed", tc.name)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
