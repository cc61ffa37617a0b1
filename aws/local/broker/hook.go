package broker

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// hook connects mochi's packet flow to the authorizer.
//
// Where each AWS rule is enforced:
//   - OnConnect: SNI, certificate registry, JITP/JITR, iot:Connect. An error closes
//     the connection before any CONNACK is written.
//   - OnSessionEstablish: client-ID takeover. An MQTT 3.1.1 connection being taken
//     over is closed here, before mochi could send it a DISCONNECT packet (3.1.1 has
//     no server-sent DISCONNECT; paho reports one as a protocol error). MQTT 5 ones
//     get mochi's DISCONNECT with reason 0x8E Session taken over, as AWS sends (the
//     MQTT reason codes table of the Developer Guide's MQTT page lists 0x8E for
//     DISCONNECT). The old connection's OnDisconnect waits until the new one's
//     CONNACK, so mochi's clean-up of the old session cannot remove the new one.
//   - OnPacketRead: PUBLISH and SUBSCRIBE limits and reserved topics (a violation
//     ends the read loop: the connection closes without a DISCONNECT packet), and
//     for MQTT 3.1.1 iot:Publish and iot:Subscribe, whose denial closes the
//     connection like AWS does for 3.1.1 (jitp-spec.md §4).
//   - OnPublish (MQTT 5): iot:Publish on the topic after topic-alias resolution; a
//     denial answers PUBACK 0x87 Not authorized (QoS 1) or drops the message (QoS 0)
//     and the connection stays, as AWS's reason codes table lists 0x87 for PUBACK.
//   - OnACLCheck: iot:Receive for every delivery (a denied message is dropped for
//     that subscriber). mochi also asks it about each filter of a SUBSCRIBE it
//     processes; those filters were already authorized in OnPacketRead, so they are
//     recognised through the pending-subscribe marks (an MQTT 5 filter the policies
//     deny gets SUBACK 0x87 this way; the others are checked against the
//     50-subscriptions limit). mochi's hook cannot tell the two calls apart, so a
//     delivery to this client on a topic spelled exactly like a filter of the
//     SUBSCRIBE it is processing at that instant takes that filter's verdict instead
//     of its iot:Receive check (and that filter is then checked as a delivery) — a
//     narrow race, accepted.
//   - OnSessionEstablished, OnSubscribed/OnUnsubscribed + OnPacketProcessed,
//     OnDisconnect: lifecycle events (lifecycle.go) after the CONNACK, SUBACK or
//     UNSUBACK, and when the connection ends.
type hook struct {
	mqtt.HookBase
	b    *Broker
	life *lifecycle

	mu        sync.Mutex
	pending   map[*mqtt.Client]map[string][]bool // filters of the SUBSCRIBE being processed: allowed?
	takeovers map[*mqtt.Client]*takeover         // connection being taken over → its waiter
	taking    map[*mqtt.Client]*takeover         // connection taking over → the waiter it releases
}

// takeover is released when the connection that takes over has its CONNACK.
type takeover struct {
	once     sync.Once
	done     chan struct{}
	released time.Time // zero until released (guarded by hook.mu)
}

func (t *takeover) release() { t.once.Do(func() { close(t.done) }) }

// takeoverWait bounds how long a taken-over connection's clean-up waits for the
// new connection (which normally gets its CONNACK at once).
const takeoverWait = 5 * time.Second

func (h *hook) ID() string { return "jitpwiz-aws-iot" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnect,
		mqtt.OnConnectAuthenticate,
		mqtt.OnSessionEstablish,
		mqtt.OnSessionEstablished,
		mqtt.OnACLCheck,
		mqtt.OnPacketRead,
		mqtt.OnPacketEncode,
		mqtt.OnPacketProcessed,
		mqtt.OnPublish,
		mqtt.OnSubscribed,
		mqtt.OnUnsubscribed,
		mqtt.OnDisconnect,
	}, []byte{b})
}

// OnConnect decides whether the connection may proceed to CONNACK.
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	return h.b.auth.connect(cl, pk)
}

// OnConnectAuthenticate: OnConnect already decided; returning false here would send
// CONNACK 5, which AWS never does for MQTT 3.1.1.
func (h *hook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

// OnSessionEstablish runs just before mochi takes over an existing connection with
// the same client ID (see the type's comment).
func (h *hook) OnSessionEstablish(cl *mqtt.Client, _ packets.Packet) {
	old, ok := h.b.server.Clients.Get(cl.ID)
	if !ok || old == cl || old.Net.Inline {
		return
	}
	t := &takeover{done: make(chan struct{})}
	h.mu.Lock()
	if h.takeovers == nil {
		h.takeovers, h.taking = map[*mqtt.Client]*takeover{}, map[*mqtt.Client]*takeover{}
	}
	// A taken-over session that had already disconnected (a persistent one) never
	// collects its entry: drop those released long ago.
	for c, x := range h.takeovers {
		if !x.released.IsZero() && time.Since(x.released) > takeoverWait {
			delete(h.takeovers, c)
		}
	}
	h.takeovers[old] = t
	h.taking[cl] = t
	h.mu.Unlock()
	if old.Properties.ProtocolVersion < 5 {
		old.Stop(packets.ErrSessionTakenOver)
	}
}

// OnPacketEncode sees the new connection's CONNACK: the takeover is complete.
func (h *hook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Connack {
		h.releaseTakeover(cl)
	}
	return pk
}

func (h *hook) releaseTakeover(cl *mqtt.Client) {
	h.mu.Lock()
	t := h.taking[cl]
	delete(h.taking, cl)
	if t != nil {
		t.released = time.Now()
	}
	h.mu.Unlock()
	if t != nil {
		t.release()
	}
}

// awaitTakeover blocks a taken-over connection's OnDisconnect until the new
// connection is registered.
func (h *hook) awaitTakeover(cl *mqtt.Client) {
	h.mu.Lock()
	t := h.takeovers[cl]
	delete(h.takeovers, cl)
	h.mu.Unlock()
	if t == nil {
		return
	}
	timer := time.NewTimer(takeoverWait)
	defer timer.Stop()
	select {
	case <-t.done:
	case <-timer.C:
	}
}

func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	h.life.connected(cl)
}

func (h *hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	switch pk.FixedHeader.Type {
	case packets.Publish:
		if err := h.b.auth.publishLimits(cl, pk); err != nil {
			return pk, err
		}
		if cl.Properties.ProtocolVersion < 5 {
			dn, err := h.b.auth.publishPolicy(cl, pk)
			if err != nil {
				return pk, err
			}
			if dn != nil {
				return pk, &refusal{reason: dn.reason, auth: true}
			}
		}
	case packets.Subscribe:
		denied, err := h.b.auth.subscribe(cl, pk)
		if err != nil {
			return pk, err
		}
		if cl.Properties.ProtocolVersion < 5 {
			for _, dn := range denied {
				if dn != nil {
					return pk, &refusal{reason: dn.reason, auth: true}
				}
			}
		}
		h.mu.Lock()
		if h.pending == nil {
			h.pending = map[*mqtt.Client]map[string][]bool{}
		}
		m := h.pending[cl]
		if m == nil {
			m = map[string][]bool{}
			h.pending[cl] = m
		}
		for i, f := range pk.Filters {
			m[f.Filter] = append(m[f.Filter], denied[i] == nil)
		}
		h.mu.Unlock()
	}
	return pk, nil
}

// OnPublish authorizes an MQTT 5 PUBLISH (MQTT 3.1.1 ones were authorized in
// OnPacketRead). A denial answers PUBACK 0x87 for QoS 1 and drops the message.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || cl.Properties.ProtocolVersion < 5 {
		return pk, nil
	}
	dn, err := h.b.auth.publishPolicy(cl, pk)
	code := packets.ErrNotAuthorized
	switch {
	case err != nil:
		code = packets.ErrUnspecifiedError
	case dn == nil:
		return pk, nil
	}
	if pk.FixedHeader.Qos > 0 {
		ack := packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Puback},
			PacketID:    pk.PacketID,
			ReasonCode:  code.Code,
			Properties:  packets.Properties{ReasonString: code.Reason},
		}
		if werr := cl.WritePacket(ack); werr != nil {
			h.b.log.Debug("writing PUBACK failed", "client", cl.ID, "error", werr)
		}
	}
	return pk, packets.ErrRejectPacket
}

func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write {
		return true // PUBLISH was authorized in OnPacketRead or is in OnPublish
	}
	if found, allowed := h.takePending(cl, topic); found {
		return allowed && h.b.auth.subscriptionSlot(cl, topic)
	}
	return h.b.auth.receive(cl, topic)
}

func (h *hook) takePending(cl *mqtt.Client, filter string) (found, allowed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.pending[cl]
	q := m[filter]
	if len(q) == 0 {
		return false, false
	}
	allowed, m[filter] = q[0], q[1:]
	if len(m[filter]) == 0 {
		delete(m, filter)
	}
	return true, allowed
}

func (h *hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	h.mu.Lock()
	if m := h.pending[cl]; m != nil {
		for _, f := range pk.Filters {
			delete(m, f.Filter)
		}
		if len(m) == 0 {
			delete(h.pending, cl)
		}
	}
	h.mu.Unlock()
	var granted []string
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] < packets.ErrUnspecifiedError.Code {
			granted = append(granted, f.Filter)
		}
	}
	h.life.stash(cl, "subscribed", granted)
}

// OnUnsubscribed: an UNSUBSCRIBE from the client (mochi also calls this, with
// packet ID 0, for the subscriptions a clean session drops; those get no event).
func (h *hook) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	if pk.PacketID == 0 {
		return
	}
	topics := make([]string, 0, len(pk.Filters))
	for _, f := range pk.Filters {
		topics = append(topics, f.Filter)
	}
	h.life.stash(cl, "unsubscribed", topics)
}

// OnPacketProcessed runs after mochi answered a packet: the SUBACK or UNSUBACK is
// written, so the subscription event follows it.
func (h *hook) OnPacketProcessed(cl *mqtt.Client, pk packets.Packet, _ error) {
	switch pk.FixedHeader.Type {
	case packets.Subscribe, packets.Unsubscribe:
		h.life.flush(cl)
	}
}

func (h *hook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	h.mu.Lock()
	delete(h.pending, cl)
	h.mu.Unlock()
	h.releaseTakeover(cl) // a connection that took over and failed before its CONNACK
	h.awaitTakeover(cl)
	reason, why := h.b.disconnectReason(cl, err)
	h.b.auth.disconnected(cl, why)
	h.life.disconnected(cl, reason)
}

// peerLeaf returns the client certificate of a TLS connection, or nil.
func peerLeaf(cl *mqtt.Client) *x509.Certificate {
	chain := peerChain(cl)
	if len(chain) == 0 {
		return nil
	}
	return chain[0]
}

func peerChain(cl *mqtt.Client) []*x509.Certificate {
	if cl == nil || cl.Net.Conn == nil {
		return nil
	}
	tc, ok := cl.Net.Conn.(*tls.Conn)
	if !ok {
		return nil
	}
	return tc.ConnectionState().PeerCertificates
}

func tlsState(cl *mqtt.Client) (tls.ConnectionState, error) {
	if cl == nil || cl.Net.Conn == nil {
		return tls.ConnectionState{}, fmt.Errorf("no network connection")
	}
	tc, ok := cl.Net.Conn.(*tls.Conn)
	if !ok {
		return tls.ConnectionState{}, fmt.Errorf("connection is not TLS")
	}
	return tc.ConnectionState(), nil
}
