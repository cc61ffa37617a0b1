package broker

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/pki"
)

// nextEvent reads the next PUBLISH on c (acknowledging QoS 1) and decodes its JSON
// payload; other packet types fail the test.
func (c *rawClient) nextEvent(t *testing.T, what string) (string, map[string]any) {
	t.Helper()
	h, body, err := c.read()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if h>>4 != packets.Publish {
		t.Fatalf("%s: got packet type %d (%x), want PUBLISH", what, h>>4, body)
	}
	n := int(binary.BigEndian.Uint16(body))
	topic := string(body[2 : 2+n])
	rest := body[2+n:]
	if (h>>1)&3 > 0 {
		id := binary.BigEndian.Uint16(rest)
		rest = rest[2:]
		if err := c.writeAck(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: id}); err != nil {
			t.Fatal(err)
		}
	}
	var ev map[string]any
	if err := json.Unmarshal(rest, &ev); err != nil {
		t.Fatalf("%s: payload %q on %s: %v", what, rest, topic, err)
	}
	return topic, ev
}

var sessionIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkPresence asserts the fields of a connected/disconnected event and their JSON types.
func checkPresence(t *testing.T, what, topic string, ev map[string]any, eventType, clientID, certID string, version float64) {
	t.Helper()
	if topic != PresenceTopic(eventType, clientID) {
		t.Fatalf("%s: topic %s, want %s (%v)", what, topic, PresenceTopic(eventType, clientID), ev)
	}
	if ev["clientId"] != clientID || ev["eventType"] != eventType || ev["principalIdentifier"] != certID || ev["versionNumber"] != version {
		t.Fatalf("%s: %v", what, ev)
	}
	if ts, ok := ev["timestamp"].(float64); !ok || ts < 1e12 {
		t.Fatalf("%s: timestamp %v is not milliseconds since the epoch", what, ev["timestamp"])
	}
	if s, ok := ev["sessionIdentifier"].(string); !ok || !sessionIDRE.MatchString(s) {
		t.Fatalf("%s: sessionIdentifier %v", what, ev["sessionIdentifier"])
	}
	_, hasIP := ev["ipAddress"]
	_, hasReason := ev["disconnectReason"]
	_, hasInitiated := ev["clientInitiatedDisconnect"]
	if eventType == "connected" && (ev["ipAddress"] != "127.0.0.1" || hasReason || hasInitiated) {
		t.Fatalf("%s: connected event fields %v", what, ev)
	}
	if eventType == "disconnected" && (hasIP || !hasReason || !hasInitiated) {
		t.Fatalf("%s: disconnected event fields %v", what, ev)
	}
}

// Lifecycle events (AWS IoT Developer Guide, "Lifecycle events"): presence and
// subscription events with AWS's fields, to subscribers the policies allow.
func TestLifecycleEvents(t *testing.T) {
	t.Parallel()
	e, ca := byHandEnv(t)
	arn := iotARNPrefix
	admin := ca.issue(t, pki.Subject{CommonName: "watcher"})
	e.activeDevice(t, ca, admin, "admin", adminPolicy)
	dev := ca.issue(t, pki.Subject{CommonName: "devA"})
	e.activeDevice(t, ca, dev, "devA", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iot:Connect","Resource":"`+arn+`:client/devA"},
	 {"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"`+arn+`:topic/devA/*"},
	 {"Effect":"Allow","Action":"iot:Subscribe","Resource":"`+arn+`:topicfilter/devA/*"}]}`)
	other := ca.issue(t, pki.Subject{CommonName: "peeker"})
	// May watch only devA's connected events.
	e.activeDevice(t, ca, other, "peeker", `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":"iot:Connect","Resource":"`+arn+`:client/peeker"},
	 {"Effect":"Allow","Action":"iot:Subscribe","Resource":"`+arn+`:topicfilter/$aws/events/presence/connected/+"},
	 {"Effect":"Allow","Action":"iot:Receive","Resource":"`+arn+`:topic/$aws/events/presence/connected/devA"}]}`)

	w := e.connected(t, ca, admin, "watcher")
	if err := w.subscribe(1, "$aws/events/#"); err != nil {
		t.Fatal(err)
	}
	w.expect(t, packets.Suback, "watcher SUBACK")
	// Its own subscription is an event too, after the SUBACK.
	topic, ev := w.nextEvent(t, "watcher's own subscribed event")
	if topic != SubscriptionsTopic("subscribed", "watcher") || ev["eventType"] != "subscribed" || ev["principalIdentifier"] != admin.ID {
		t.Fatalf("own subscribed event on %s: %v", topic, ev)
	}
	if topics, ok := ev["topics"].([]any); !ok || len(topics) != 1 || topics[0] != "$aws/events/#" {
		t.Fatalf("topics %v", ev["topics"])
	}

	p := e.connected(t, ca, other, "peeker")
	if err := p.subscribe(1, "$aws/events/presence/connected/+"); err != nil {
		t.Fatal(err)
	}
	p.expect(t, packets.Suback, "peeker SUBACK")
	topic, ev = w.nextEvent(t, "peeker connected")
	checkPresence(t, "peeker connected", topic, ev, "connected", "peeker", other.ID, 0)
	w.nextEvent(t, "peeker subscribed")

	// A client ID with + gets no lifecycle events at all: the watcher's next event
	// is devA's below.
	quiet := e.connected(t, ca, admin, "quiet+one")
	if err := quiet.subscribe(0, "x/y"); err != nil {
		t.Fatal(err)
	}
	quiet.expect(t, packets.Suback, "quiet SUBACK") // its connect would have been published before this

	// devA: connect, subscribe, unsubscribe, DISCONNECT.
	a := e.connected(t, ca, dev, "devA")
	topic, ev = w.nextEvent(t, "devA connected")
	checkPresence(t, "devA connected", topic, ev, "connected", "devA", dev.ID, 0)
	session := ev["sessionIdentifier"]
	topic, pev := p.nextEvent(t, "peeker sees devA connected")
	if topic != PresenceTopic("connected", "devA") || pev["sessionIdentifier"] != session {
		t.Fatalf("peeker got %s %v", topic, pev)
	}
	if err := a.subscribe(1, "devA/in"); err != nil {
		t.Fatal(err)
	}
	a.expect(t, packets.Suback, "devA SUBACK")
	topic, ev = w.nextEvent(t, "devA subscribed")
	if topic != SubscriptionsTopic("subscribed", "devA") || ev["sessionIdentifier"] != session || ev["clientId"] != "devA" {
		t.Fatalf("subscribed event on %s: %v", topic, ev)
	}
	if topics, _ := ev["topics"].([]any); len(topics) != 1 || topics[0] != "devA/in" {
		t.Fatalf("subscribed topics %v", ev["topics"])
	}
	a.id++
	if err := a.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe, Qos: 1}, PacketID: a.id,
		Filters: packets.Subscriptions{{Filter: "devA/in"}}}); err != nil {
		t.Fatal(err)
	}
	a.expect(t, packets.Unsuback, "devA UNSUBACK")
	topic, ev = w.nextEvent(t, "devA unsubscribed")
	if topic != SubscriptionsTopic("unsubscribed", "devA") || ev["eventType"] != "unsubscribed" {
		t.Fatalf("unsubscribed event on %s: %v", topic, ev)
	}
	if err := a.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}}); err != nil {
		t.Fatal(err)
	}
	topic, ev = w.nextEvent(t, "devA disconnected")
	checkPresence(t, "devA disconnected", topic, ev, "disconnected", "devA", dev.ID, 0)
	if ev["clientInitiatedDisconnect"] != true || ev["disconnectReason"] != ReasonClientInitiated || ev["sessionIdentifier"] != session {
		t.Fatalf("client-initiated disconnect event %v", ev)
	}

	// Reconnect: the version grows; a forbidden publish ends it with AUTH_ERROR.
	a = e.connected(t, ca, dev, "devA")
	topic, ev = w.nextEvent(t, "devA connected again")
	checkPresence(t, "devA connected again", topic, ev, "connected", "devA", dev.ID, 1)
	p.nextEvent(t, "peeker sees devA connected again")
	if err := a.publish("devB/x", 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	a.expectClosed(t, "forbidden publish")
	topic, ev = w.nextEvent(t, "devA refused")
	checkPresence(t, "devA refused", topic, ev, "disconnected", "devA", dev.ID, 1)
	if ev["clientInitiatedDisconnect"] != false || ev["disconnectReason"] != ReasonAuthError {
		t.Fatalf("authorization disconnect event %v", ev)
	}

	// A takeover: DUPLICATE_CLIENTID for the old connection, in either order with
	// the new one's connected event (lifecycle events may arrive out of order).
	e.connected(t, ca, dev, "devA")
	w.nextEvent(t, "devA connected a third time")
	p.nextEvent(t, "peeker sees the third connect")
	b := e.connected(t, ca, dev, "devA")
	got := map[string]map[string]any{}
	for range 2 {
		topic, ev := w.nextEvent(t, "takeover events")
		got[topic] = ev
	}
	if d := got[PresenceTopic("disconnected", "devA")]; d["disconnectReason"] != ReasonDuplicateClientID || d["versionNumber"] != 2.0 || d["clientInitiatedDisconnect"] != false {
		t.Fatalf("taken-over disconnect event %v (all %v)", d, got)
	}
	if c := got[PresenceTopic("connected", "devA")]; c["versionNumber"] != 3.0 {
		t.Fatalf("taking-over connect event %v (all %v)", c, got)
	}
	p.nextEvent(t, "peeker sees the takeover connect")

	// The network connection just goes away: CONNECTION_LOST.
	b.conn.Close()
	topic, ev = w.nextEvent(t, "devA lost")
	checkPresence(t, "devA lost", topic, ev, "disconnected", "devA", dev.ID, 3)
	if ev["disconnectReason"] != ReasonConnectionLost {
		t.Fatalf("lost connection event %v", ev)
	}

	// The peeker may receive only devA's connected events: it got nothing else
	// before each of them (checked in order above), nor before this last one.
	e.connected(t, ca, dev, "devA")
	topic, pev = p.nextEvent(t, "peeker's last devA event")
	if topic != PresenceTopic("connected", "devA") || pev["versionNumber"] != 4.0 {
		t.Fatalf("peeker got %s %v", topic, pev)
	}
}

// paho.mqtt.golang receives lifecycle events like any message.
func TestPahoReceivesLifecycleEvents(t *testing.T) {
	t.Parallel()
	e, ca := byHandEnv(t)
	admin := ca.issue(t, pki.Subject{CommonName: "watcher"})
	e.activeDevice(t, ca, admin, "admin", adminPolicy)
	w, err := e.pahoClient(t, ca, admin, "paho-watcher", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 4)
	tok := w.Subscribe("$aws/events/presence/+/gadget", 1, func(_ paho.Client, m paho.Message) { got <- m.Payload() })
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	c := e.connected(t, ca, admin, "gadget")
	c.conn.Close()
	for _, want := range []string{"connected", "disconnected"} {
		select {
		case payload := <-got:
			var ev PresenceEvent
			if err := json.Unmarshal(payload, &ev); err != nil || ev.EventType != want || ev.ClientID != "gadget" || ev.PrincipalIdentifier != admin.ID {
				t.Fatalf("%s event %s: %v", want, payload, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s event", want)
		}
	}
}

// A fleet coming online: many client IDs connect within the hour their entries are
// kept. Pruning must not walk the whole table on every connect past the bound (that
// made each connect cost a walk over every client ID seen), and entries older than
// versionReset must still go once the table is full.
func TestLifecycleClientIDTableAmortized(t *testing.T) {
	l := newLifecycle(nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	for i := 0; i < n; i++ {
		c := l.track(fmt.Sprintf("Fleet-%05d", i), now)
		c.connected, c.left = 0, now // connected, then gone
	}
	if len(l.byID) != n {
		t.Fatalf("%d client IDs tracked, want %d (none is stale yet)", len(l.byID), n)
	}
	// Each prune walks the table once it has doubled: at most 4096 + 8192 + 16384 here.
	if l.walked > 2*n {
		t.Fatalf("pruning walked %d entries for %d connects: not amortized", l.walked, n)
	}
	// An hour later the old entries are stale: the next prune drops them.
	later := now.Add(versionReset + time.Minute)
	for i := 0; len(l.byID) >= n && i < 2*n; i++ {
		l.track(fmt.Sprintf("Later-%05d", i), later)
	}
	if len(l.byID) >= n {
		t.Fatalf("stale client IDs were never dropped: %d tracked", len(l.byID))
	}
	for id := range l.byID {
		if strings.HasPrefix(id, "Fleet-") {
			t.Fatalf("stale entry %s kept", id)
		}
	}
}
