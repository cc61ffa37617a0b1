// Package broker is the MQTT half of the embedded AWS IoT Core: MQTT 3.1.1 and 5 over
// TLS with mutual authentication (mochi-mqtt underneath), Just-in-Time
// Provisioning and Registration on a device's first connect, and IoT-policy
// authorization of every CONNECT, PUBLISH, SUBSCRIBE and delivery.
//
// Wiring (the composite local server):
//
//	b, err := broker.New(broker.Options{Store: st, Dir: st.Dir(), Addr: "127.0.0.1:8883",
//		Hostnames: []string{endpointHost}, Logger: log})
//	err = b.Start()
//	b.Port(), b.RootCAPath(), b.CertificateStatusChanged (for api.Options.OnCertificateStatus)
//	defer b.Close()
//
// Behaviour follows AWS where it is known (jitp-spec.md §3–§6); the choices made
// where AWS is undocumented are marked [choice]:
//
//   - Server trust: a local root CA, the stand-in for Amazon's roots, has an
//     ECDSA P-256 key (like Amazon Root CA 3, whose chain AWS serves when an ECDSA
//     suite is negotiated; handshakes stay fast). It is created once as
//     <Dir>/awsRootCA.pem (+ awsRootCA.key, 0600) and never regenerated; RootCAPath returns it and the wizard copies it into the user's
//     workspace as awsRootCA.pem. The server certificate it signs (server.pem/.key)
//     covers localhost, 127.0.0.1, ::1, the store's <prefix>-ats.iot.<region>
//     .amazonaws.com and Options.Hostnames, and is re-issued when that list
//     changes or it nears expiry [choice].
//   - TLS ≥ 1.2 (1.3 allowed, as AWS's newer security policies do), no session
//     tickets. The handshake requires a client certificate but accepts any: AWS
//     does not reject unknown certificates in the handshake either (observed:
//     aws-iot-device-sdk-embedded-C#1920). Every decision is taken when CONNECT
//     arrives, and a refusal closes the connection without CONNACK (MQTT 3.1.1
//     behaviour of AWS); mosquitto_pub then prints "Error: The connection was
//     lost." and exits 7. Each refusal is recorded in the store's event log with
//     the reason, as the local stand-in for AWS IoT logging.
//   - SNI must name this endpoint: Options.Hostnames (the DescribeEndpoint
//     address) or the store's <prefix>-ats.iot.<region>.amazonaws.com. A
//     connection without SNI (Go and most clients send none for an IP address
//     host), or naming another host such as localhost when the endpoint is
//     something else, is refused at CONNECT before anything is registered, with
//     or without the CA in the chain (AWS's MQTT page: "Connection attempts that
//     don't include the SNI are refused"; sniProblem in auth.go has the sources).
//   - First connect with an unknown certificate whose issuer is a registered CA
//     that is ACTIVE with auto-registration ENABLE: the certificate is registered
//     PENDING_ACTIVATION; with a registration config the template runs (its body, or
//     the JITP provisioning template it names; the role must exist, trust
//     iot.amazonaws.com and allow each call in its permission policies; thing with
//     type, groups and billing group, policies, attachments and status in one store
//     transaction; provision.go) — JITP; without one the registered event is published
//     on $aws/events/certificates/registered/<caId> — JITR. Either way the
//     connection is then closed. A failed template leaves the certificate
//     PENDING_ACTIVATION and an event with AWS's message. JITP does not publish
//     the registered event (AWS does not say whether it does) [choice].
//   - Event log (store events): CertificateRegistered, RegisterThing (thing,
//     policyName, durationMs, the parameter dictionary), RegisterThingFailed (AWS
//     error code and message), JITRPublished, ConnectRefused and
//     AuthorizationFailure (with the reason), Connected, Disconnected (with why).
//     Refusals are written before the connection is closed; connect/disconnect
//     events are batched.
//   - PENDING_ACTIVATION on a later connect re-runs that first-connect handling
//     (JITP retried, JITR event sent again: AWS's JITR page says the event is sent
//     "when a client presents a certificate in the PENDING_ACTIVATION status")
//     [choice for JITP]. INACTIVE, REVOKED, expired, unknown CA, CA INACTIVE or
//     auto-registration DISABLE: refused. A CA deactivated later does not affect
//     certificates already registered (deactivate-ca-cert.md).
//   - ACTIVE: iot:Connect on client/<clientId> (and iot:Publish on a last-will
//     topic) via aws/policy over the certificate's policies and attached things.
//     PUBLISH → iot:Publish (+iot:RetainPublish), SUBSCRIBE → iot:Subscribe per
//     filter. A denial closes an MQTT 3.1.1 connection; an MQTT 5 client gets
//     PUBACK/SUBACK reason 0x87 Not authorized and keeps its connection (a denied
//     QoS 0 message is dropped). Deliveries → iot:Receive; a denied message is
//     silently not delivered to that subscriber.
//   - Limits (spec §5): QoS 0/1 (a QoS 2 PUBLISH closes the connection, a QoS 2
//     subscription is granted QoS 1); client ID ≤ 128 bytes and not starting with
//     $; topic ≤ 256 bytes and ≤ 7 slashes (the $aws/rules/<rule>/ prefix not
//     counted); payload ≤ 128 KiB; ≤ 8 filters per SUBSCRIBE; ≤ 50 subscriptions per
//     connection (the 51st gets SUBACK 0x80); keep-alive clamped to 30–1200 s;
//     persistent sessions kept 1 h. Topics starting with $ are reserved: only
//     $aws/things/... and $aws/rules/... may be published, $aws/events/... only
//     subscribed.
//   - Duplicate client ID: the newer connection wins and the older is closed —
//     an MQTT 3.1.1 one without a DISCONNECT packet, an MQTT 5 one with DISCONNECT
//     0x8E Session taken over (hook.go has the sources).
//   - Lifecycle events on $aws/events/presence/connected|disconnected/<clientId>
//     and $aws/events/subscriptions/subscribed|unsubscribed/<clientId>, with AWS's
//     fields (lifecycle.go), delivered like any message to subscribers whose
//     policies allow them.
//   - MQTT 5 beyond the reason codes above: limit violations and a refused CONNECT
//     close the connection as for 3.1.1 (AWS's reason codes table also lists
//     CONNACK 0x87; not emulated) [choice].
//   - Connections (listener.go): each listener keeps at most Options.MaxConnections
//     open; one more gets CONNACK "server unavailable" [choice]. A failed accept
//     (out of file descriptors, say) is retried with a backoff and logged, never the
//     end of the listener.
//   - Options.ProvisioningDelay makes JITP take time, as on AWS: the first connect
//     is closed at once and the template runs that much later; connects meanwhile
//     are refused.
//   - Not emulated: throttling (CONNECT/s, publish/s); device shadows and the rules engine;
//     persistent sessions and retained messages live in memory only (lost on
//     restart) and retained messages are also sent for wildcard subscriptions.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

// ALPNProtocol is the ALPN name AWS IoT requires for MQTT with X.509 on port 443.
const ALPNProtocol = "x-amzn-mqtt-ca"

// DefaultAddr is where the broker listens when Options.Addr is empty; if that port is
// taken, a free loopback port is used instead.
const DefaultAddr = "127.0.0.1:8883"

// Options configure a Broker.
type Options struct {
	// Store holds the registry (CAs, certificates, things, policies, roles) and the
	// event log. Required.
	Store *store.Store
	// Dir is the local IoT state directory (the workspace's .local-iot). The
	// broker's root CA (awsRootCA.pem, the stand-in for Amazon Root CA 1) and server
	// certificate live here. Required.
	Dir string
	// Addr is the MQTT-over-TLS listen address (like 8883 on AWS). Empty: DefaultAddr,
	// falling back to a free loopback port. A missing host (":0", ":8883") means
	// loopback; listen on all interfaces only by naming them ("0.0.0.0:8883").
	Addr string
	// ALPNAddr, when set, adds a second listener that requires ALPN x-amzn-mqtt-ca
	// (like port 443 on AWS). Same host rule as Addr.
	ALPNAddr string
	// Region and Account build the ARNs that policies are evaluated against.
	// Empty: the store's.
	Region  string
	Account string
	// Hostnames are the names clients use to reach the broker: the host the
	// control plane's DescribeEndpoint returns. They and the store's AWS-style
	// endpoint (<prefix>-ats.iot.<region>.amazonaws.com) are the only SNI values
	// accepted, and go into the server certificate together with DefaultHostnames
	// (localhost, 127.0.0.1, ::1 — in the certificate so a client dialling them
	// completes TLS and is told at CONNECT why it is refused).
	Hostnames []string
	// MaxConnections is how many connections each listener keeps open at once; one more
	// is refused with CONNACK "server unavailable" (listener.go). 0: DefaultMaxConnections,
	// lowered to fit the process's open-file limit.
	MaxConnections int
	// Logger receives diagnostics. Nil: discard.
	Logger *slog.Logger
	// Now is the clock (tests). Nil: time.Now.
	Now func() time.Time
	// ProvisioningDelay, when positive, makes JITP take this long: the first connect
	// registers the certificate PENDING_ACTIVATION and is closed at once, the template
	// runs that much later, and a connect meanwhile is refused (AWS: provisioning
	// "typically completes within 1-3 s", aws/iot-atlas JITP guide). Zero: the template
	// runs during the first connect.
	ProvisioningDelay time.Duration
}

// Broker is the embedded AWS IoT Core message broker.
type Broker struct {
	opts   Options
	log    *slog.Logger
	id     *identity
	names  map[string]bool // accepted SNI values (lower case)
	accept []string        // the same, in order, for messages
	server *mqtt.Server
	auth   *authorizer
	rec    *recorder
	// delayed runs JITP after Options.ProvisioningDelay (nil: at once).
	delayed *delayedJITP

	// connectTimeout bounds the TLS handshake plus the CONNECT packet.
	connectTimeout time.Duration

	mu       sync.Mutex
	started  bool
	closed   bool
	addr     net.Addr
	alpnAddr net.Addr
	lns      []net.Listener
}

// New prepares a broker: it loads or creates the server identity in opts.Dir but
// does not listen yet (see Start).
func New(opts Options) (*Broker, error) {
	if opts.Store == nil {
		return nil, errors.New("local broker: no store given")
	}
	if opts.Dir == "" {
		return nil, errors.New("local broker: no state directory given (Options.Dir, normally <workspace>/.local-iot)")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Region == "" {
		opts.Region = opts.Store.Region()
	}
	if opts.Account == "" {
		opts.Account = opts.Store.Account()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// The AWS-style endpoint name of this state goes into the certificate too, so a
	// client that maps it to 127.0.0.1 (/etc/hosts) can use it as on AWS.
	var endpoint string
	_ = opts.Store.View(func(st *store.State) error { endpoint = st.EndpointAddress(); return nil })
	opts.Hostnames = append(append([]string{}, opts.Hostnames...), endpoint)
	id, err := loadIdentity(opts.Dir, opts.Hostnames, opts.Now())
	if err != nil {
		return nil, err
	}
	b := &Broker{opts: opts, log: log, id: id, names: map[string]bool{}, connectTimeout: ConnectTimeout}
	for _, n := range opts.Hostnames {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" && !b.names[n] {
			b.names[n] = true
			b.accept = append(b.accept, n)
		}
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumQos = 1
	caps.MaximumSessionExpiryInterval = SessionExpiry
	// Room for the largest allowed payload plus a maximal topic and headers; larger
	// packets are refused by mochi before they are buffered.
	caps.MaximumPacketSize = MaxPayloadBytes + MaxTopicBytes + 64
	b.server = mqtt.New(&mqtt.Options{
		InlineClient: true,
		Capabilities: caps,
		// $SYS topics cannot be subscribed to here (reserved, as on AWS), so
		// mochi need not refresh them every second.
		SysTopicResendInterval: 24 * 3600,
		// mochi logs every refused connection as a warning; the broker records its
		// own decisions in the event log and its logger instead.
		Logger: slog.New(levelFilter{h: log.Handler(), min: slog.LevelError}),
	})
	b.rec = newRecorder(opts.Store)
	b.delayed = newDelayedJITP(opts.ProvisioningDelay)
	b.auth = newAuthorizer(b)
	if err := b.server.AddHook(&hook{b: b, life: newLifecycle(b)}, nil); err != nil {
		return nil, err
	}
	return b, nil
}

// Start listens on Addr (and ALPNAddr) and serves in the background. If it
// fails, the broker is closed (create a new one to retry).
func (b *Broker) Start() (err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("local broker: already closed")
	}
	if b.started {
		return errors.New("local broker: already started")
	}
	defer func() {
		if err != nil {
			for _, l := range b.lns {
				l.Close()
			}
			b.closed = true
			b.rec.close()
		}
	}()
	ln, err := listenLoopback(b.opts.Addr, true, "--mqtt-port")
	if err != nil {
		return err
	}
	b.lns = append(b.lns, ln)
	b.addr = ln.Addr()
	if err := b.server.AddListener(b.newListener("mqtts", ln, false)); err != nil {
		return fmt.Errorf("local broker: %w", err)
	}
	if b.opts.ALPNAddr != "" {
		aln, err := listenLoopback(b.opts.ALPNAddr, false, "--alpn-port")
		if err != nil {
			return err
		}
		b.lns = append(b.lns, aln)
		b.alpnAddr = aln.Addr()
		if err := b.server.AddListener(b.newListener("mqtts-alpn", aln, true)); err != nil {
			return fmt.Errorf("local broker: %w", err)
		}
	}
	if err := b.server.Serve(); err != nil {
		return fmt.Errorf("local broker: %w", err)
	}
	b.started = true
	b.log.Info("local broker listening", "addr", b.addr.String(), "root_ca", b.id.rootPath)
	return nil
}

// ConnectTimeout is how long a new connection may take to complete the TLS
// handshake and send CONNECT before it is closed (mochi sets no deadline before
// CONNECT; afterwards the keep-alive governs).
const ConnectTimeout = 20 * time.Second

// newListener wraps ln as the MQTT-over-TLS listener id (listener.go): accept errors
// retried, connections capped, and the deadline above on each connection.
func (b *Broker) newListener(id string, ln net.Listener, alpn bool) *listener {
	return newListener(id, ln, b.tlsConfig(alpn), b.connectTimeout, connectionLimit(b.opts.MaxConnections), b.log, b.server)
}

// listenLoopback listens on addr; an empty host means 127.0.0.1. With an empty addr
// and fallback, it tries DefaultAddr and then a free loopback port. flag names the
// option that sets the port, for the message when the port cannot be used.
func listenLoopback(addr string, fallback bool, flag string) (net.Listener, error) {
	if addr == "" && fallback {
		if ln, err := net.Listen("tcp", DefaultAddr); err == nil {
			return ln, nil
		}
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("local broker: listen address %q is not host:port (%v) — use e.g. 127.0.0.1:8883 or :0", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("local broker: cannot listen on %s: %v — choose another port (e.g. %s 0 for a free one)", net.JoinHostPort(host, port), err, flag)
	}
	return ln, nil
}

func (b *Broker) tlsConfig(alpn bool) *tls.Config {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{b.id.cert},
		// Any certificate is accepted in the handshake (its key possession is still
		// proven by CertificateVerify); registration and status decide at CONNECT,
		// as on AWS.
		ClientAuth:             tls.RequireAnyClientCert,
		SessionTicketsDisabled: true, // AWS IoT does not support the SessionTicket extension
	}
	if alpn {
		cfg.NextProtos = []string{ALPNProtocol}
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if cs.NegotiatedProtocol != ALPNProtocol {
				return fmt.Errorf("this port requires ALPN %q for MQTT with X.509 client certificates", ALPNProtocol)
			}
			return nil
		}
	}
	return cfg
}

// Addr is the MQTT-over-TLS listen address (valid after Start).
func (b *Broker) Addr() net.Addr {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// Port is the MQTT-over-TLS port (valid after Start).
func (b *Broker) Port() int { return portOf(b.Addr()) }

// ALPNPort is the ALPN listener's port, or 0 when there is none.
func (b *Broker) ALPNPort() int { return portOf(b.ALPNAddr()) }

func portOf(a net.Addr) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return 0
}

// ALPNAddr is the ALPN listener's address, or nil when there is none.
func (b *Broker) ALPNAddr() net.Addr {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.alpnAddr
}

// RootCAPath is the PEM file of the CA that signed the broker's server certificate
// (<Dir>/awsRootCA.pem). Clients pass it as --cafile; the wizard copies it into the
// user's workspace as awsRootCA.pem.
func (b *Broker) RootCAPath() string { return b.id.rootPath }

// RootCAPEM returns the root CA certificate in PEM form.
func (b *Broker) RootCAPEM() []byte {
	return pki.EncodeCertPEM(b.id.root)
}

// Hostnames are the names in the server certificate: DefaultHostnames and the
// accepted SNI values (AcceptedNames).
func (b *Broker) Hostnames() []string { return mergeNames(b.opts.Hostnames) }

// AcceptedNames are the SNI values a client may send: Options.Hostnames (the
// DescribeEndpoint address) and the store's <prefix>-ats.iot.<region>.amazonaws.com.
// localhost, 127.0.0.1 and ::1 are in the certificate but not accepted unless listed.
func (b *Broker) AcceptedNames() []string { return append([]string(nil), b.accept...) }

// Close stops listening and disconnects every client.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	started := b.started
	b.mu.Unlock()
	var err error
	if started {
		err = b.server.Close()
	}
	b.delayed.close() // provisioning not yet run stays PENDING_ACTIVATION: the next connect runs it
	b.rec.close()     // after the server: its last disconnect events are written too
	return err
}

// CertificateStatusChanged is the hook for the control plane's UpdateCertificate
// (api.Options.OnCertificateStatus): a certificate that left ACTIVE has its
// connections closed. (Without the hook, the next PUBLISH or SUBSCRIBE of such a
// connection is refused anyway, and deliveries to it stop.)
func (b *Broker) CertificateStatusChanged(certID, status string) {
	if status != store.StatusActive {
		n := b.DisconnectCertificate(certID)
		if n > 0 {
			b.log.Info("closed connections of a certificate that left ACTIVE", "certificate", certID, "status", status, "connections", n)
		}
	}
}

// DisconnectCertificate closes every connection authenticated with the certificate
// and returns how many there were (AWS does this "within a few minutes" of a
// certificate leaving ACTIVE).
func (b *Broker) DisconnectCertificate(certID string) int {
	n := 0
	for _, cl := range b.server.Clients.GetAll() {
		if cl.Net.Inline {
			continue
		}
		if leaf := peerLeaf(cl); leaf != nil && certIDOf(leaf) == certID {
			cl.Stop(&refusal{reason: "certificate " + certID + " is no longer ACTIVE", auth: true})
			n++
		}
	}
	return n
}

func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *Broker) accepted(sni string) bool {
	return sni != "" && b.names[strings.ToLower(sni)]
}

// levelFilter drops records below min.
type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h: f.h.WithAttrs(a), min: f.min}
}
func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h: f.h.WithGroup(n), min: f.min}
}
