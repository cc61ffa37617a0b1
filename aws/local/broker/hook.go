package broker

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// hook connects mochi's packet flow to the authorizer.
//
// Where each AWS rule is enforced:
//   - OnConnect: certificate registry, JITP/JITR, iot:Connect. An error closes the
//     connection before any CONNACK is written.
//   - OnPacketRead: PUBLISH and SUBSCRIBE limits, reserved topics, iot:Publish and
//     iot:Subscribe. An error ends the client's read loop, which closes the
//     connection without a DISCONNECT packet, like AWS for MQTT 3.1.1.
//   - OnACLCheck: iot:Receive for every delivery (a denied message is dropped for
//     that subscriber). mochi also asks it about each filter of a SUBSCRIBE it
//     processes; those filters were already authorized in OnPacketRead, so they are
//     recognised through the pending-subscribe marks (and only checked against the
//     50-subscriptions limit). mochi's hook cannot tell the two calls apart, so a
//     delivery to this client on a topic spelled exactly like a filter of the
//     SUBSCRIBE it is processing at that instant skips its iot:Receive check
//     (and that filter is then checked as a delivery) — a narrow race, accepted.
type hook struct {
	mqtt.HookBase
	b *Broker

	mu      sync.Mutex
	pending map[*mqtt.Client]map[string]int // filters of the SUBSCRIBE being processed
}

func (h *hook) ID() string { return "jitpwiz-aws-iot" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnect,
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnPacketRead,
		mqtt.OnSubscribed,
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

func (h *hook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	switch pk.FixedHeader.Type {
	case packets.Publish:
		if err := h.b.auth.publish(cl, pk); err != nil {
			return pk, err
		}
	case packets.Subscribe:
		if err := h.b.auth.subscribe(cl, pk); err != nil {
			return pk, err
		}
		h.mu.Lock()
		if h.pending == nil {
			h.pending = map[*mqtt.Client]map[string]int{}
		}
		m := h.pending[cl]
		if m == nil {
			m = map[string]int{}
			h.pending[cl] = m
		}
		for _, f := range pk.Filters {
			m[f.Filter]++
		}
		h.mu.Unlock()
	}
	return pk, nil
}

func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write {
		return true // PUBLISH was authorized in OnPacketRead
	}
	if h.takePending(cl, topic) {
		return h.b.auth.subscriptionSlot(cl, topic)
	}
	return h.b.auth.receive(cl, topic)
}

func (h *hook) takePending(cl *mqtt.Client, filter string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.pending[cl]
	if m[filter] == 0 {
		return false
	}
	m[filter]--
	if m[filter] == 0 {
		delete(m, filter)
	}
	return true
}

func (h *hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.pending[cl]; m != nil {
		for _, f := range pk.Filters {
			delete(m, f.Filter)
		}
		if len(m) == 0 {
			delete(h.pending, cl)
		}
	}
}

func (h *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	h.mu.Lock()
	delete(h.pending, cl)
	h.mu.Unlock()
	h.b.auth.disconnected(cl, err)
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
