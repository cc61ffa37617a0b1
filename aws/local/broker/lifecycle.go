package broker

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Lifecycle events, as the AWS IoT Developer Guide's "Lifecycle events" page
// (life-cycle-events.html; awsdocs/aws-iot-docs developerguide/life-cycle-events.md)
// describes them:
//
//   - $aws/events/presence/connected/<clientId> after a connection is accepted,
//     $aws/events/presence/disconnected/<clientId> when it ends;
//   - $aws/events/subscriptions/subscribed|unsubscribed/<clientId> after a
//     SUBSCRIBE (the filters granted) or UNSUBSCRIBE (the filters named).
//
// Fields: clientId, timestamp (milliseconds since the epoch), eventType,
// sessionIdentifier, principalIdentifier (the certificate ID for X.509 clients),
// versionNumber (connect and disconnect of one connection share it; it grows per
// client ID and resets to 0 after about an hour disconnected), ipAddress (connect
// only), clientInitiatedDisconnect and disconnectReason (disconnect only), topics
// (subscription events). Client IDs containing # or + get no lifecycle events.
// The events are on by default and cannot be turned off (current page; the 2023
// page said they had to be enabled). Subscribers receive them only where their
// policies allow iot:Subscribe on the filter and iot:Receive on the topic, like
// any message.
//
// Choices where the page is silent [U]: events go out at QoS 1; sessionIdentifier
// is 32 hex digits and carries over when a persistent session is resumed within
// the session expiry; versionNumber starts at 0 and grows by 1; no unsubscribed
// event is published for the subscriptions a clean session drops at disconnect;
// the connect-failure event ($aws/events/presence/connect_failed/...) is not
// emulated.

// Lifecycle event topic prefixes.
const (
	presenceTopicPrefix      = "$aws/events/presence/"
	subscriptionsTopicPrefix = "$aws/events/subscriptions/"
)

// PresenceTopic is where a connected or disconnected event of clientID goes.
func PresenceTopic(eventType, clientID string) string {
	return presenceTopicPrefix + eventType + "/" + clientID
}

// SubscriptionsTopic is where a subscribed or unsubscribed event of clientID goes.
func SubscriptionsTopic(eventType, clientID string) string {
	return subscriptionsTopicPrefix + eventType + "/" + clientID
}

// Disconnect reasons of the lifecycle page used here.
const (
	ReasonClientInitiated   = "CLIENT_INITIATED_DISCONNECT"
	ReasonAuthError         = "AUTH_ERROR"
	ReasonClientError       = "CLIENT_ERROR"
	ReasonConnectionLost    = "CONNECTION_LOST"
	ReasonDuplicateClientID = "DUPLICATE_CLIENTID"
	ReasonKeepAliveTimeout  = "MQTT_KEEP_ALIVE_TIMEOUT"
	ReasonServerInitiated   = "SERVER_INITIATED_DISCONNECT"
	ReasonServerError       = "SERVER_ERROR"
)

// PresenceEvent is the payload on $aws/events/presence/...
type PresenceEvent struct {
	ClientID                  string `json:"clientId"`
	Timestamp                 int64  `json:"timestamp"`
	EventType                 string `json:"eventType"`
	SessionIdentifier         string `json:"sessionIdentifier"`
	PrincipalIdentifier       string `json:"principalIdentifier"`
	IPAddress                 string `json:"ipAddress,omitempty"`
	ClientInitiatedDisconnect *bool  `json:"clientInitiatedDisconnect,omitempty"`
	DisconnectReason          string `json:"disconnectReason,omitempty"`
	VersionNumber             int64  `json:"versionNumber"`
}

// SubscriptionEvent is the payload on $aws/events/subscriptions/...
type SubscriptionEvent struct {
	ClientID            string   `json:"clientId"`
	Timestamp           int64    `json:"timestamp"`
	EventType           string   `json:"eventType"`
	SessionIdentifier   string   `json:"sessionIdentifier"`
	PrincipalIdentifier string   `json:"principalIdentifier"`
	Topics              []string `json:"topics"`
}

// versionReset is how long a client ID may stay disconnected before its version
// number starts again at 0 ("approximately one hour").
const versionReset = time.Hour

// lifecycle keeps what the events need across a connection's life.
type lifecycle struct {
	b *Broker

	mu      sync.Mutex
	conns   map[*mqtt.Client]*connLife
	byID    map[string]*clientLife
	pending map[*mqtt.Client]*SubscriptionEvent // built in a hook, published after the ack
	pruneAt int                                 // prune byID when it reaches this size (track)
	walked  int                                 // entries prune has looked at, in all (tests)
}

type connLife struct {
	session string
	version int64
}

type clientLife struct {
	version    int64
	session    string
	persistent bool      // the last connection asked for a persistent session
	connected  int       // live connections with this client ID
	left       time.Time // when the last one ended
}

func newLifecycle(b *Broker) *lifecycle {
	return &lifecycle{b: b, conns: map[*mqtt.Client]*connLife{}, byID: map[string]*clientLife{}, pending: map[*mqtt.Client]*SubscriptionEvent{}}
}

// silent reports whether a client gets no lifecycle events.
func silent(cl *mqtt.Client) bool {
	return cl.Net.Inline || strings.ContainsAny(cl.ID, "#+")
}

func persistentSession(cl *mqtt.Client) bool {
	if cl.Properties.ProtocolVersion == 5 {
		return cl.Properties.Props.SessionExpiryInterval > 0
	}
	return !cl.Properties.Clean
}

// connected publishes the connected event of an accepted connection (after its CONNACK).
func (l *lifecycle) connected(cl *mqtt.Client) {
	if silent(cl) {
		return
	}
	now := l.b.opts.Now()
	l.mu.Lock()
	c := l.track(cl.ID, now)
	if c.session == "" || !c.persistent || !persistentSession(cl) {
		c.session = newSessionID()
	}
	c.persistent = persistentSession(cl)
	c.connected++
	life := &connLife{session: c.session, version: c.version}
	l.conns[cl] = life
	l.mu.Unlock()
	l.publish(PresenceTopic("connected", cl.ID), PresenceEvent{
		ClientID: cl.ID, Timestamp: now.UnixMilli(), EventType: "connected", SessionIdentifier: life.session,
		PrincipalIdentifier: principalOf(cl), IPAddress: remoteIP(cl), VersionNumber: life.version,
	})
}

// maxTrackedClientIDs bounds the per-client-ID memory before stale entries (no
// connection for longer than versionReset, so their version would restart at 0
// anyway) are dropped.
const maxTrackedClientIDs = 4096

// track returns the entry of a client ID that connects now (a new one, one whose
// version starts again, or the next version), pruning stale entries first when the
// table is full. l.mu is held.
//
// A prune walks the whole table, so it runs again only once the table has doubled
// since the last one: while many client IDs connect within versionReset (a fleet
// coming online) nothing is stale yet, and pruning on every connect past the bound
// made each connect cost a walk over every client ID seen (quadratic in the fleet).
func (l *lifecycle) track(id string, now time.Time) *clientLife {
	if len(l.byID) >= max(l.pruneAt, maxTrackedClientIDs) {
		l.prune(now)
		l.pruneAt = 2 * len(l.byID)
	}
	c := l.byID[id]
	switch {
	case c == nil:
		c = &clientLife{}
		l.byID[id] = c
	case c.connected == 0 && now.Sub(c.left) > versionReset:
		*c = clientLife{}
	default:
		c.version++
	}
	return c
}

func (l *lifecycle) prune(now time.Time) {
	for id, c := range l.byID {
		l.walked++
		if c.connected == 0 && now.Sub(c.left) > versionReset {
			delete(l.byID, id)
		}
	}
}

// disconnected publishes the disconnected event of a connection that had its
// connected event, with the reason.
func (l *lifecycle) disconnected(cl *mqtt.Client, reason string) {
	if silent(cl) {
		return
	}
	now := l.b.opts.Now()
	l.mu.Lock()
	life := l.conns[cl]
	delete(l.conns, cl)
	delete(l.pending, cl)
	if c := l.byID[cl.ID]; c != nil && life != nil {
		c.connected--
		c.left = now
	}
	l.mu.Unlock()
	if life == nil {
		return
	}
	initiated := reason == ReasonClientInitiated
	l.publish(PresenceTopic("disconnected", cl.ID), PresenceEvent{
		ClientID: cl.ID, Timestamp: now.UnixMilli(), EventType: "disconnected", SessionIdentifier: life.session,
		PrincipalIdentifier: principalOf(cl), ClientInitiatedDisconnect: &initiated, DisconnectReason: reason, VersionNumber: life.version,
	})
}

// stash keeps a subscribed/unsubscribed event until the packet's ack is written.
func (l *lifecycle) stash(cl *mqtt.Client, eventType string, topics []string) {
	if silent(cl) || len(topics) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	life := l.conns[cl]
	if life == nil {
		return
	}
	l.pending[cl] = &SubscriptionEvent{ClientID: cl.ID, Timestamp: l.b.opts.Now().UnixMilli(), EventType: eventType,
		SessionIdentifier: life.session, PrincipalIdentifier: principalOf(cl), Topics: topics}
}

// flush publishes the stashed subscription event of cl, if any.
func (l *lifecycle) flush(cl *mqtt.Client) {
	l.mu.Lock()
	ev := l.pending[cl]
	delete(l.pending, cl)
	l.mu.Unlock()
	if ev != nil {
		l.publish(SubscriptionsTopic(ev.EventType, ev.ClientID), ev)
	}
}

func (l *lifecycle) publish(topic string, v any) {
	payload, err := json.Marshal(v)
	if err == nil {
		err = l.b.server.Publish(topic, payload, false, 1)
	}
	if err != nil {
		l.b.log.Warn("publishing a lifecycle event failed", "topic", topic, "error", err)
	}
}

func principalOf(cl *mqtt.Client) string {
	if leaf := peerLeaf(cl); leaf != nil {
		return certIDOf(leaf)
	}
	return ""
}

func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// disconnectReason classifies why an accepted connection ended, in the lifecycle
// page's terms, with a sentence for the event log.
func (b *Broker) disconnectReason(cl *mqtt.Client, err error) (reason, why string) {
	cause := cl.StopCause()
	var r *refusal
	switch {
	case errors.As(err, &r) || errors.As(cause, &r):
		if r.auth {
			return ReasonAuthError, "the broker closed the connection: " + r.reason
		}
		return ReasonClientError, "the broker closed the connection: " + r.reason
	case isCode(cause, packets.ErrSessionTakenOver) || isCode(err, packets.ErrSessionTakenOver):
		return ReasonDuplicateClientID, "another connection with the same client ID took over"
	case isCode(cause, packets.CodeDisconnect) || isCode(err, packets.CodeDisconnectWillMessage):
		return ReasonClientInitiated, "the client disconnected"
	case b.isClosed():
		return ReasonServerInitiated, "the local IoT Core stopped"
	}
	var ne net.Error
	switch {
	case err == nil:
		return ReasonConnectionLost, "the connection closed"
	case errors.As(err, &ne) && ne.Timeout():
		return ReasonKeepAliveTimeout, "no packet within 1.5 × the keep-alive interval"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return ReasonConnectionLost, "the connection was lost"
	}
	var code packets.Code
	if errors.As(err, &code) {
		return ReasonClientError, "the client broke the protocol: " + code.Reason
	}
	return ReasonConnectionLost, "the connection ended: " + err.Error()
}

func isCode(err error, c packets.Code) bool {
	var code packets.Code
	return errors.As(err, &code) && code.Code == c.Code
}
