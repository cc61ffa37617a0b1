package mqttprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Class is what happened to a connection attempt, in the order a device meets the layers.
type Class string

const (
	// ClassConfig: the options or files are wrong; nothing was sent.
	ClassConfig Class = "config"
	// ClassDialFailed: no TCP connection (DNS, refused, timeout).
	ClassDialFailed Class = "dial-failed"
	// ClassServerUntrusted: the server certificate does not chain to our server CA file.
	ClassServerUntrusted Class = "server-untrusted"
	// ClassServerNameMismatch: the server certificate is not valid for Host.
	ClassServerNameMismatch Class = "server-name-mismatch"
	// ClassServerCertInvalid: the server certificate is otherwise unacceptable (expired…).
	ClassServerCertInvalid Class = "server-cert-invalid"
	// ClassTLSRejected: the server refused the handshake with a TLS alert (see Outcome.Alert).
	// With TLS 1.3 the alert about the client certificate arrives just after the
	// handshake; it is still classified here.
	ClassTLSRejected Class = "tls-rejected"
	// ClassTLSClosed: the server closed the connection during the handshake without an alert.
	ClassTLSClosed Class = "tls-closed"
	// ClassDropped: TLS succeeded, CONNECT was sent, the server closed without CONNACK.
	// On a first connect this is the expected JITP drop; later it means "not authorized".
	ClassDropped Class = "dropped-after-connect"
	// ClassConnackRefused: the server answered CONNACK with a non-zero code.
	ClassConnackRefused Class = "connack-refused"
	// ClassNoResponse: TLS succeeded, CONNECT sent, nothing came back before the timeout.
	ClassNoResponse Class = "no-response"
	// ClassConnected: CONNACK 0 — the certificate is active and the policy allows connect.
	ClassConnected Class = "connected"
)

// TLSInfo is what the handshake negotiated.
type TLSInfo struct {
	Version       string
	CipherSuite   string
	ALPN          string
	SNI           string // what we sent ("" when NoSNI or Host is an IP address)
	ServerSubject string
	ServerIssuer  string
	ClientChain   int // certificates we sent
}

// Outcome is the precise result of one connection attempt.
type Outcome struct {
	Class       Class
	Alert       string // TLS alert description, e.g. "unknown certificate authority", "bad certificate"
	ConnackCode byte   // for ClassConnackRefused
	ConnectSent bool   // the MQTT CONNECT packet was written
	TLS         *TLSInfo
	Err         error
	Detail      string        // one line in plain words
	Handshake   time.Duration // TCP connect + TLS handshake
	Elapsed     time.Duration // whole attempt
}

// OK reports whether the broker accepted the connection.
func (o Outcome) OK() bool { return o.Class == ClassConnected }

func (o Outcome) String() string {
	if o.Detail != "" {
		return string(o.Class) + ": " + o.Detail
	}
	return string(o.Class)
}

// ConnackText names the MQTT 3.1.1 CONNACK return codes.
func ConnackText(code byte) string {
	switch code {
	case 0:
		return say("connack.0")
	case 1:
		return say("connack.1")
	case 2:
		return say("connack.2")
	case 3:
		return say("connack.3")
	case 4:
		return say("connack.4")
	case 5:
		return say("connack.5")
	}
	return say("connack.other", "Code", strconv.Itoa(int(code)))
}

// recConn records what crossed the wire, so a failure can be placed precisely.
type recConn struct {
	net.Conn
	mu       sync.Mutex
	wrote    int64
	read     int64
	readErr  error
	writeErr error
	closedBy string // "server" when a read saw EOF/reset
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read += int64(n)
	if err != nil && c.readErr == nil {
		c.readErr = err
	}
	c.mu.Unlock()
	return n, err
}

func (c *recConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.wrote += int64(n)
	if err != nil && c.writeErr == nil {
		c.writeErr = err
	}
	c.mu.Unlock()
	return n, err
}

func (c *recConn) snapshot() (wrote, read int64, readErr, writeErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wrote, c.read, c.readErr, c.writeErr
}

// Conn is an accepted MQTT connection.
type Conn struct {
	Client  mqtt.Client
	Outcome Outcome
	opts    Options
	rec     *recConn

	lostOnce sync.Once
	lost     chan struct{}
	lostErr  error
}

// Lost is closed when the broker drops the connection.
func (c *Conn) Lost() <-chan struct{} { return c.lost }

// LostErr is why the connection was lost (after Lost is closed).
func (c *Conn) LostErr() error {
	select {
	case <-c.lost:
		return c.lostErr
	default:
		return nil
	}
}

// Close disconnects politely.
func (c *Conn) Close() {
	if c != nil && c.Client != nil && c.Client.IsConnectionOpen() {
		c.Client.Disconnect(100)
	}
}

// Probe makes one connection attempt and disconnects: the outcome only.
func Probe(ctx context.Context, o Options) Outcome {
	c, out := Connect(ctx, o)
	if c != nil {
		c.Close()
	}
	return out
}

// Connect makes exactly one connection attempt (MQTT 3.1.1 only, no automatic retry or
// reconnect) and classifies the outcome. The *Conn is non-nil only when connected.
func Connect(ctx context.Context, o Options) (*Conn, Outcome) {
	start := time.Now()
	m, err := o.Load()
	if err != nil {
		return nil, Outcome{Class: ClassConfig, Err: err, Detail: err.Error()}
	}
	return connectWith(ctx, o, m, start)
}

func connectWith(ctx context.Context, o Options, m *Material, start time.Time) (*Conn, Outcome) {
	tlsCfg := o.TLSConfig(m)
	timeout := o.connectTimeout()
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	var (
		mu        sync.Mutex
		dialErr   error
		hsErr     error
		rec       *recConn
		info      *TLSInfo
		handshake time.Duration
	)
	open := func(_ *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		raw, err := (&net.Dialer{}).DialContext(dctx, "tcp", o.dialAddr())
		if err != nil {
			mu.Lock()
			dialErr = err
			mu.Unlock()
			return nil, err
		}
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = raw.Close()
			mu.Lock()
			hsErr = err
			handshake = time.Since(start)
			mu.Unlock()
			return nil, err
		}
		cs := tc.ConnectionState()
		sni := tlsCfg.ServerName
		if net.ParseIP(sni) != nil {
			sni = "" // crypto/tls sends no SNI for an IP address
		}
		ti := &TLSInfo{Version: tls.VersionName(cs.Version), CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
			ALPN: cs.NegotiatedProtocol, SNI: sni, ClientChain: len(m.Chain)}
		if len(cs.PeerCertificates) > 0 {
			ti.ServerSubject = cs.PeerCertificates[0].Subject.String()
			ti.ServerIssuer = cs.PeerCertificates[0].Issuer.String()
		}
		r := &recConn{Conn: tc}
		mu.Lock()
		rec, info, handshake = r, ti, time.Since(start)
		mu.Unlock()
		return r, nil
	}

	c := &Conn{opts: o, lost: make(chan struct{})}
	co := mqtt.NewClientOptions()
	co.AddBroker("tls://" + o.dialAddr())
	co.SetClientID(o.ClientID)
	co.SetProtocolVersion(4) // MQTT 3.1.1 only: paho's default silently retries as 3.1
	co.SetAutoReconnect(false)
	co.SetConnectRetry(false)
	co.SetCleanSession(!o.PersistentSession)
	co.SetKeepAlive(o.keepAlive())
	co.SetConnectTimeout(timeout)
	co.SetWriteTimeout(timeout)
	co.SetOrderMatters(false)
	co.SetCustomOpenConnectionFn(open)
	co.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		c.lostOnce.Do(func() { c.lostErr = err; close(c.lost) })
	})
	cl := mqtt.NewClient(co)
	tok := cl.Connect()
	done := make(chan struct{})
	go func() { tok.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	connErr := tok.Error()
	var rc byte
	if ct, ok := tok.(*mqtt.ConnectToken); ok {
		rc = ct.ReturnCode()
	}
	mu.Lock()
	out := Outcome{TLS: info, Handshake: handshake, Elapsed: time.Since(start)}
	r := rec
	de, he := dialErr, hsErr
	mu.Unlock()
	if ctx.Err() != nil && !isDone(done) {
		cl.Disconnect(0)
		out.Class, out.Err = ClassNoResponse, ctx.Err()
		out.Detail = say("connect.cancelled")
		return nil, out
	}
	classify(&out, o, de, he, r, connErr, rc, cl.IsConnected())
	if out.Class == ClassConnected {
		c.Client, c.Outcome, c.rec = cl, out, r
		return c, out
	}
	cl.Disconnect(0)
	return nil, out
}

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// classify places the failure at the right layer.
func classify(out *Outcome, o Options, dialErr, hsErr error, rec *recConn, connErr error, rc byte, connected bool) {
	switch {
	case dialErr != nil:
		out.Class, out.Err = ClassDialFailed, dialErr
		var dns *net.DNSError
		switch {
		case errors.As(dialErr, &dns):
			out.Detail = say("connect.dns", "Host", dns.Name)
		case errors.Is(dialErr, syscall.ECONNREFUSED):
			out.Detail = say("connect.refused", "Addr", o.dialAddr())
		case isTimeout(dialErr):
			out.Detail = say("connect.timeout", "Addr", o.dialAddr())
		default:
			out.Detail = say("connect.dial", "Addr", o.dialAddr(), "Err", dialErr.Error())
		}
		return
	case hsErr != nil:
		out.Err = hsErr
		classifyTLS(out, o, hsErr)
		return
	case rec == nil && connErr != nil:
		out.Class, out.Err, out.Detail = ClassDialFailed, connErr, connErr.Error()
		return
	}
	wrote, read, readErr, _ := rec.snapshot()
	out.ConnectSent = wrote > 0
	if connErr == nil && connected && rc == 0 {
		out.Class = ClassConnected
		out.Detail = say("connect.accepted", "Client", quoteID(o.ClientID))
		return
	}
	out.Err = connErr
	if alert := remoteAlert(readErr); alert != "" {
		// TLS 1.3: the server checks the client certificate after the client's Finished.
		out.Class, out.Alert, out.Err = ClassTLSRejected, alert, readErr
		out.Detail = say("connect.alert-after", "Alert", alert)
		return
	}
	if read >= 4 && rc > 0 && rc <= 5 {
		out.Class, out.ConnackCode = ClassConnackRefused, rc
		out.Detail = say("connect.connack", "Code", strconv.Itoa(int(rc)), "Text", ConnackText(rc))
		return
	}
	if read == 0 && readErr != nil && !isTimeout(readErr) {
		out.Class = ClassDropped
		out.Detail = say("connect.dropped", "Err", shortErr(readErr))
		return
	}
	if read == 0 {
		out.Class = ClassNoResponse
		out.Detail = say("connect.no-response")
		return
	}
	out.Class = ClassDropped
	out.Detail = say("connect.closed", "Err", shortErr(orErr(connErr, readErr)))
}

func orErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func quoteID(id string) string { return "\"" + id + "\"" }

func classifyTLS(out *Outcome, o Options, err error) {
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		var ua x509.UnknownAuthorityError
		var he x509.HostnameError
		var ci x509.CertificateInvalidError
		issuer := ""
		if len(cve.UnverifiedCertificates) > 0 {
			issuer = cve.UnverifiedCertificates[0].Issuer.String()
			out.TLS = &TLSInfo{ServerSubject: cve.UnverifiedCertificates[0].Subject.String(), ServerIssuer: issuer}
		}
		switch {
		case errors.As(err, &ua):
			out.Class = ClassServerUntrusted
			out.Detail = say("connect.server-untrusted", "Issuer", issuer)
		case errors.As(err, &he):
			out.Class = ClassServerNameMismatch
			out.Detail = say("connect.server-name", "Host", o.Host, "Err", he.Error())
		case errors.As(err, &ci):
			out.Class = ClassServerCertInvalid
			out.Detail = say("connect.server-invalid", "Err", ci.Error())
		default:
			out.Class = ClassServerCertInvalid
			out.Detail = say("connect.server-verify", "Err", cve.Err.Error())
		}
		return
	}
	if alert := remoteAlert(err); alert != "" {
		out.Class, out.Alert = ClassTLSRejected, alert
		out.Detail = say("connect.alert", "Alert", alert)
		return
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) {
		out.Class = ClassTLSClosed
		out.Detail = say("connect.tls-closed")
		return
	}
	if isTimeout(err) {
		out.Class = ClassTLSClosed
		out.Detail = say("connect.tls-timeout")
		return
	}
	out.Class = ClassTLSRejected
	out.Detail = say("connect.tls-failed", "Err", err.Error())
}

// remoteAlert extracts the alert description from a "remote error: tls: …" error.
func remoteAlert(err error) string {
	if err == nil {
		return ""
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		return strings.TrimPrefix(op.Err.Error(), "tls: ")
	}
	if s := err.Error(); strings.Contains(s, "remote error: tls: ") {
		return s[strings.Index(s, "remote error: tls: ")+len("remote error: tls: "):]
	}
	return ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func shortErr(err error) string {
	switch {
	case err == nil:
		return say("connect.no-error")
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return say("connect.reset")
	}
	return err.Error()
}
