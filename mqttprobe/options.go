// Package mqttprobe connects to AWS IoT Core (or the embedded local IoT Core) the way a
// device does — MQTT 3.1.1 over TLS 1.2+ with an X.509 client certificate — and says
// precisely what happened: which TLS alert, whether the broker dropped the connection
// after CONNECT (the expected Just-in-Time Provisioning drop), which CONNACK code, or a
// working connection; then it proves a publish/subscribe round trip and explains
// failures in plain words (Diagnose).
package mqttprobe

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
)

// ALPN is the protocol name AWS IoT requires for MQTT with X.509 client certificates on port 443.
const ALPN = "x-amzn-mqtt-ca"

// Defaults.
const (
	DefaultPort           = 8883
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
)

// Options describe one device connection.
type Options struct {
	// Host is the broker's name: the iot:Data-ATS endpoint. It is sent as SNI and the
	// server certificate must match it.
	Host string
	// Port is 8883 (default) or 443 on AWS; on 443 ALPN x-amzn-mqtt-ca is offered.
	// The local IoT Core may listen elsewhere (set ALPN explicitly for its ALPN listener).
	Port int
	// Addr, when set, is dialled instead of Host:Port (the local target's loopback
	// address while Host stays the endpoint name for SNI and verification).
	Addr string

	// CertFile holds the device certificate, alone or followed by its CA (the
	// deviceCertAndCACert.crt bundle): every certificate in it is sent in the chain.
	CertFile string
	KeyFile  string
	// CAFile holds the CA(s) that sign the broker's server certificate (awsRootCA.pem).
	CAFile string
	// CertPEM/KeyPEM/CAPEM may be given instead of the files.
	CertPEM, KeyPEM, CAPEM []byte

	ClientID  string
	KeepAlive time.Duration // 0: DefaultKeepAlive
	// PersistentSession asks for clean session = false. The default is a clean session.
	PersistentSession bool
	ConnectTimeout    time.Duration // 0: DefaultConnectTimeout (TCP + TLS + CONNACK)

	// NoSNI leaves the SNI extension out (to reproduce that failure); the server
	// certificate is still verified against Host.
	NoSNI bool
	// ALPN overrides the offered protocols (nil: x-amzn-mqtt-ca on port 443, none otherwise).
	ALPN []string
}

func (o Options) port() int {
	if o.Port == 0 {
		return DefaultPort
	}
	return o.Port
}

func (o Options) dialAddr() string {
	if o.Addr != "" {
		return o.Addr
	}
	return net.JoinHostPort(o.Host, strconv.Itoa(o.port()))
}

func (o Options) connectTimeout() time.Duration {
	if o.ConnectTimeout <= 0 {
		return DefaultConnectTimeout
	}
	return o.ConnectTimeout
}

func (o Options) keepAlive() time.Duration {
	if o.KeepAlive <= 0 {
		return DefaultKeepAlive
	}
	return o.KeepAlive
}

func (o Options) alpn() []string {
	if o.ALPN != nil {
		return o.ALPN
	}
	if o.port() == 443 {
		return []string{ALPN}
	}
	return nil
}

// Material is the loaded TLS material of a connection.
type Material struct {
	Chain    []*x509.Certificate // as in the cert file: leaf first
	Key      crypto.Signer
	ServerCA *x509.CertPool
	CACerts  []*x509.Certificate // the server CAs, for messages
}

// Leaf is the device certificate.
func (m *Material) Leaf() *x509.Certificate { return m.Chain[0] }

// CertID is the AWS IoT certificate ID of the device certificate (SHA-256 of the leaf DER).
func (m *Material) CertID() string { return pki.CertID(m.Chain[0]) }

// ConfigError is a problem with the options or the files they name, found before any
// network traffic. Field names the option in the user's language, as Cause and Fix are.
type ConfigError struct {
	Field string
	Cause string
	Fix   string
	Err   error
}

func (e *ConfigError) Error() string {
	s := e.Field + ": " + e.Cause
	if e.Fix != "" {
		s += " — " + e.Fix
	}
	return s
}

func (e *ConfigError) Unwrap() error { return e.Err }

func readEither(data []byte, path, field string) ([]byte, error) {
	if len(data) > 0 {
		return data, nil
	}
	if path == "" {
		return nil, &ConfigError{Field: field, Cause: say("config.no-file"), Fix: say("config.no-file.fix", "Field", field)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Field: field, Cause: say("config.unreadable", "Path", path, "Err", errors.Unwrap(err).Error()), Fix: say("config.unreadable.fix"), Err: err}
	}
	return b, nil
}

// Load reads and checks the certificate chain, key and server CA.
func (o Options) Load() (*Material, error) {
	if o.Host == "" {
		return nil, &ConfigError{Field: say("config.field.endpoint"), Cause: say("config.no-endpoint"), Fix: say("config.no-endpoint.fix")}
	}
	// AWS serves MQTT with X.509 on 8883 and 443 (ALPN); the local IoT Core may use any port.
	if p := o.port(); p < 1 || p > 65535 {
		return nil, &ConfigError{Field: say("config.field.port"), Cause: say("config.port", "Port", strconv.Itoa(p)), Fix: say("config.port.fix")}
	}
	certField := say("config.field.device-cert")
	certPEM, err := readEither(o.CertPEM, o.CertFile, certField)
	if err != nil {
		return nil, err
	}
	chain, err := pki.ParseCertsPEM(certPEM)
	if err != nil || len(chain) == 0 {
		if err == nil {
			err = errors.New(say("config.no-cert-block"))
		}
		return nil, &ConfigError{Field: certField, Cause: say("config.not-cert", "Err", err.Error()), Fix: say("config.not-cert.fix-device"), Err: err}
	}
	keyField := say("config.field.device-key")
	keyPEM, err := readEither(o.KeyPEM, o.KeyFile, keyField)
	if err != nil {
		return nil, err
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, &ConfigError{Field: keyField, Cause: err.Error(), Fix: say("config.key.fix"), Err: err}
	}
	if !samePublicKey(chain[0].PublicKey, key.Public()) {
		return nil, &ConfigError{Field: keyField, Cause: say("config.key-mismatch"), Fix: say("config.key-mismatch.fix")}
	}
	caField := say("config.field.server-ca")
	caPEM, err := readEither(o.CAPEM, o.CAFile, caField)
	if err != nil {
		return nil, err
	}
	cas, err := pki.ParseCertsPEM(caPEM)
	if err != nil || len(cas) == 0 {
		if err == nil {
			err = errors.New(say("config.no-cert-block"))
		}
		return nil, &ConfigError{Field: caField, Cause: say("config.not-cert", "Err", err.Error()), Fix: say("config.not-cert.fix-server"), Err: err}
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	return &Material{Chain: chain, Key: key, ServerCA: pool, CACerts: cas}, nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(equaler); ok {
		return e.Equal(b)
	}
	return false
}

// TLSConfig is the client TLS configuration: TLS 1.2 or newer, mutual authentication
// with the whole chain from the cert file, server verified against the CA file and Host,
// SNI = Host (unless NoSNI), ALPN per port.
func (o Options) TLSConfig(m *Material) *tls.Config {
	raw := make([][]byte, len(m.Chain))
	for i, c := range m.Chain {
		raw[i] = c.Raw
	}
	cert := tls.Certificate{Certificate: raw, PrivateKey: m.Key, Leaf: m.Chain[0]}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		// Always send the certificate, as devices do. With only Certificates set, Go
		// sends no certificate when the server's CertificateRequest lists CAs that did
		// not issue it, which would hide the server's real verdict ("unknown CA")
		// behind "certificate required".
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		RootCAs:              m.ServerCA,
		ServerName:           o.Host,
		NextProtos:           o.alpn(),
	}
	if o.NoSNI {
		// Go sends SNI whenever ServerName is set, so verify by hand instead.
		host := o.Host
		pool := m.ServerCA
		cfg.ServerName = ""
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New(say("config.no-server-cert"))
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: pool, Intermediates: inter})
			if err != nil {
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
			}
			return nil
		}
	}
	return cfg
}
