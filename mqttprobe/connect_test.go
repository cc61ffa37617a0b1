package mqttprobe

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
)

func TestConnectClassification(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	ctx := context.Background()
	tls12 := func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }
	tls13 := func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }
	cases := []struct {
		name    string
		mode    string
		mutate  func(*tls.Config)
		opts    func(o *Options)
		dev     func(p *pkiSet) *keyCert
		class   Class
		alert   string
		connack byte
		sent    bool
		detail  string
	}{
		{name: "connected", mode: "accept", class: ClassConnected, sent: true, detail: "CONNACK accepted"},
		{name: "expected JITP drop", mode: "drop", class: ClassDropped, sent: true, detail: "without CONNACK"},
		{name: "connack refused 5", mode: "connack5", class: ClassConnackRefused, connack: 5, sent: true, detail: "not authorized"},
		{name: "no response", mode: "silent", opts: func(o *Options) { o.ConnectTimeout = time.Second },
			class: ClassNoResponse, sent: true, detail: "sent nothing back"},
		{name: "client cert from unknown CA, TLS 1.2", mode: "accept", mutate: tls12, dev: func(p *pkiSet) *keyCert { return p.otherDevice },
			class: ClassTLSRejected, alert: "unknown certificate authority", detail: "refused the TLS handshake"},
		{name: "client cert from unknown CA, TLS 1.3 (alert after handshake)", mode: "accept", mutate: tls13,
			dev: func(p *pkiSet) *keyCert { return p.otherDevice }, class: ClassTLSRejected, alert: "unknown certificate authority",
			sent: true, detail: "right after the handshake"},
		{name: "server not trusted by our CA file", mode: "accept",
			opts:  func(o *Options) { o.CAPEM = pki.EncodeCertPEM(testPKI(t).deviceCA.cert) },
			class: ClassServerUntrusted, detail: "not signed by any CA in the server CA file"},
		{name: "server name mismatch", mode: "accept", opts: func(o *Options) { o.Host = "xyz-ats.iot.us-east-2.amazonaws.com" },
			class: ClassServerNameMismatch, detail: "not valid for xyz-ats"},
		{name: "closed during handshake without alert", mode: "rawclose", class: ClassTLSClosed, detail: "without saying why"},
		{name: "ALPN refused", mode: "accept", mutate: func(c *tls.Config) { c.NextProtos = []string{ALPN} },
			opts: func(o *Options) { o.ALPN = []string{"mqtt"} }, class: ClassTLSRejected, alert: "no application protocol"},
		{name: "ALPN x-amzn-mqtt-ca on 443", mode: "accept", mutate: func(c *tls.Config) { c.NextProtos = []string{ALPN} },
			opts: func(o *Options) { o.Port = 443 }, class: ClassConnected, sent: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := startBroker(t, p, tc.mode, tc.mutate)
			dev := p.device
			if tc.dev != nil {
				dev = tc.dev(p)
			}
			o := deviceOpts(t, p, dev, b.addr(), false)
			if tc.opts != nil {
				tc.opts(&o)
			}
			c, out := Connect(ctx, o)
			if c != nil {
				defer c.Close()
			}
			if out.Class != tc.class {
				t.Fatalf("class %q, want %q (%s; err %v)", out.Class, tc.class, out.Detail, out.Err)
			}
			if (c != nil) != (tc.class == ClassConnected) {
				t.Errorf("conn returned = %v for class %s", c != nil, out.Class)
			}
			if out.Alert != tc.alert {
				t.Errorf("alert %q, want %q", out.Alert, tc.alert)
			}
			if out.ConnackCode != tc.connack {
				t.Errorf("connack %d, want %d", out.ConnackCode, tc.connack)
			}
			if out.ConnectSent != tc.sent {
				t.Errorf("ConnectSent %v, want %v", out.ConnectSent, tc.sent)
			}
			if !strings.Contains(out.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", out.Detail, tc.detail)
			}
			if tc.name == "ALPN x-amzn-mqtt-ca on 443" && (out.TLS == nil || out.TLS.ALPN != ALPN) {
				t.Errorf("negotiated ALPN %+v", out.TLS)
			}
		})
	}
}

// The paho gotcha: a dropped MQTT 3.1.1 CONNECT must not be retried silently as MQTT 3.1.
func TestDropIsNotRetriedAsMQTT31(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	b := startBroker(t, p, "drop", nil)
	o := deviceOpts(t, p, p.device, b.addr(), false)
	o.ClientID = "any-client"
	o.KeepAlive = 45 * time.Second
	out := Probe(context.Background(), o)
	if out.Class != ClassDropped {
		t.Fatalf("class %s", out)
	}
	conns, connects, sni, chains := b.stats()
	if conns != 1 || len(connects) != 1 {
		t.Fatalf("broker saw %d connections / %d CONNECTs, want exactly 1 (no hidden retry)", conns, len(connects))
	}
	cp := connects[0]
	if cp.ProtocolName != "MQTT" || cp.ProtocolVersion != 4 || !cp.CleanSession || cp.Keepalive != 45 || cp.ClientIdentifier != "any-client" {
		t.Fatalf("CONNECT %s v%d clean=%v keepalive=%d id=%q", cp.ProtocolName, cp.ProtocolVersion, cp.CleanSession, cp.Keepalive, cp.ClientIdentifier)
	}
	if len(sni) != 1 || sni[0] != testHost {
		t.Fatalf("SNI %q, want %q", sni, testHost)
	}
	if len(chains) != 1 || chains[0] != 1 {
		t.Fatalf("client chain lengths %v, want [1]", chains)
	}
}

func TestSNIAndChainOptions(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	b := startBroker(t, p, "accept", nil)
	o := deviceOpts(t, p, p.device, b.addr(), true) // device + CA bundle
	o.NoSNI = true
	o.PersistentSession = true
	c, out := Connect(context.Background(), o)
	if c == nil {
		t.Fatalf("connect: %s", out)
	}
	c.Close()
	_, connects, sni, chains := b.stats()
	if len(sni) != 1 || sni[0] != "" {
		t.Fatalf("SNI %q, want none", sni)
	}
	if len(chains) != 1 || chains[0] != 2 {
		t.Fatalf("chain lengths %v, want [2] (device + CA)", chains)
	}
	if connects[0].CleanSession {
		t.Fatal("PersistentSession should send clean session = false")
	}
	if out.TLS == nil || out.TLS.SNI != "" || out.TLS.ClientChain != 2 {
		t.Fatalf("TLS info %+v", out.TLS)
	}
	// Without SNI the server certificate is still checked against Host.
	o.CAPEM = pki.EncodeCertPEM(p.otherCA.cert)
	if out := Probe(context.Background(), o); out.Class != ClassServerUntrusted {
		t.Fatalf("NoSNI with wrong server CA: %s", out)
	}
}

func TestConnectConfigAndDialErrors(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	ctx := context.Background()
	o := deviceOpts(t, p, p.device, "127.0.0.1:1", false)
	o.KeyPEM = keyPEM(t, p.otherDevice.key)
	out := Probe(ctx, o)
	if out.Class != ClassConfig || !strings.Contains(out.Detail, "does not belong to the device certificate") {
		t.Fatalf("key mismatch: %s", out)
	}
	o = deviceOpts(t, p, p.device, "", false)
	o.CertPEM, o.CertFile = nil, filepath.Join(t.TempDir(), "missing.crt")
	if out := Probe(ctx, o); out.Class != ClassConfig || !strings.Contains(out.Detail, "missing.crt") {
		t.Fatalf("missing file: %s", out)
	}
	o = deviceOpts(t, p, p.device, "", false)
	o.Port = 70000
	if out := Probe(ctx, o); out.Class != ClassConfig || !strings.Contains(out.Detail, "8883") {
		t.Fatalf("bad port: %s", out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o = deviceOpts(t, p, p.device, addr, false)
	out = Probe(ctx, o)
	if out.Class != ClassDialFailed || !strings.Contains(out.Detail, "connection refused") {
		t.Fatalf("refused: %s", out)
	}
	d := Diagnose(Facts{Outcome: &out, Options: o})
	if d.Class != DiagEndpointUnreachable || d.OK {
		t.Fatalf("diagnosis %v", d)
	}
}

func TestLoadFromFiles(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	dir := writeFiles(t, map[string][]byte{
		"deviceCertAndCACert.crt": pki.Bundle(p.device.cert, p.deviceCA.cert),
		"deviceCert.key":          keyPEM(t, p.device.key),
		"awsRootCA.pem":           pki.EncodeCertPEM(p.serverCA.cert),
	})
	o := Options{Host: testHost, CertFile: filepath.Join(dir, "deviceCertAndCACert.crt"), KeyFile: filepath.Join(dir, "deviceCert.key"),
		CAFile: filepath.Join(dir, "awsRootCA.pem")}
	m, err := o.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Chain) != 2 || m.CertID() != pki.CertID(p.device.cert) {
		t.Fatalf("chain %d, cert ID %s", len(m.Chain), m.CertID())
	}
	cfg := o.TLSConfig(m)
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ServerName != testHost || len(cfg.Certificates[0].Certificate) != 2 || cfg.NextProtos != nil {
		t.Fatalf("tls config %+v", cfg)
	}
	o.Port = 443
	if got := o.TLSConfig(m).NextProtos; len(got) != 1 || got[0] != ALPN {
		t.Fatalf("ALPN on 443: %v", got)
	}
}
