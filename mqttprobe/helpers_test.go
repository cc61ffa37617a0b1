package mqttprobe

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/jitpwiz/jitpwiz/pki"
)

const testHost = "abc123-ats.iot.us-east-2.amazonaws.com"

type keyCert struct {
	key  crypto.Signer
	cert *x509.Certificate
}

var serial atomic.Int64

func newCert(t testing.TB, subject pkix.Name, parent *keyCert, isCA bool, dns []string, notAfter time.Time) *keyCert {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1) + 1000),
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		DNSNames:     dns,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
	}
	signer, parentCert := crypto.Signer(k), tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, k.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &keyCert{key: k, cert: c}
}

// pkiSet is a server CA + server cert, a device CA + device cert, and an unrelated CA + cert.
type pkiSet struct {
	serverCA, server     *keyCert
	deviceCA, device     *keyCert
	cnOnly               *keyCert // device cert from deviceCA with only a CN
	otherCA, otherDevice *keyCert
}

var (
	pkiOnce   sync.Once
	sharedPKI *pkiSet
)

func testPKI(t testing.TB) *pkiSet {
	pkiOnce.Do(func() {
		year := time.Now().Add(365 * 24 * time.Hour)
		p := &pkiSet{}
		p.serverCA = newCert(t, pkix.Name{CommonName: "Test Server Root"}, nil, true, nil, year)
		p.server = newCert(t, pkix.Name{CommonName: testHost}, p.serverCA, false, []string{testHost, "localhost"}, year)
		p.deviceCA = newCert(t, pkix.Name{CommonName: "Device Root CA", Organization: []string{"Acme"}}, nil, true, nil, year)
		p.device = newCert(t, pkix.Name{CommonName: "DemoThing", Country: []string{"US"}}, p.deviceCA, false, nil, year)
		p.cnOnly = newCert(t, pkix.Name{CommonName: "BareThing"}, p.deviceCA, false, nil, year)
		p.otherCA = newCert(t, pkix.Name{CommonName: "Other CA"}, nil, true, nil, year)
		p.otherDevice = newCert(t, pkix.Name{CommonName: "DemoThing"}, p.otherCA, false, nil, year)
		sharedPKI = p
	})
	return sharedPKI
}

func keyPEM(t testing.TB, k crypto.Signer) []byte {
	b, err := pki.EncodeKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deviceOpts builds Options for addr with the device cert (bundle adds the CA).
func deviceOpts(t testing.TB, p *pkiSet, dev *keyCert, addr string, bundle bool) Options {
	certPEM := pki.EncodeCertPEM(dev.cert)
	if bundle {
		certPEM = pki.Bundle(dev.cert, p.deviceCA.cert)
	}
	return Options{Host: testHost, Addr: addr, CertPEM: certPEM, KeyPEM: keyPEM(t, dev.key),
		CAPEM: pki.EncodeCertPEM(p.serverCA.cert), ClientID: "DemoThing", ConnectTimeout: 5 * time.Second}
}

// fakeBroker is a TLS server with a tiny MQTT 3.1.1 behaviour, enough to reproduce what
// AWS IoT does at each layer.
type fakeBroker struct {
	t        testing.TB
	ln       net.Listener
	cfg      *tls.Config
	mode     string // "drop", "connack5", "accept", "silent", "rawclose"
	denyPub  func(topic string) bool
	denySub  func(topic string) bool
	mu       sync.Mutex
	conns    int
	connects []*packets.ConnectPacket
	sni      []string
	chains   []int
	wg       sync.WaitGroup
}

func startBroker(t testing.TB, p *pkiSet, mode string, mutate func(*tls.Config)) *fakeBroker {
	t.Helper()
	b := &fakeBroker{t: t, mode: mode}
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(p.deviceCA.cert)
	b.cfg = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{p.server.cert.Raw}, PrivateKey: p.server.key, Leaf: p.server.cert}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		MinVersion:   tls.VersionTLS12,
	}
	b.cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		b.mu.Lock()
		b.sni = append(b.sni, h.ServerName)
		b.mu.Unlock()
		return nil, nil
	}
	b.cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		b.mu.Lock()
		b.chains = append(b.chains, len(raw))
		b.mu.Unlock()
		return nil
	}
	if mutate != nil {
		mutate(b.cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.ln = ln
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(func() { ln.Close(); b.wg.Wait() })
	return b
}

func (b *fakeBroker) addr() string { return b.ln.Addr().String() }

func (b *fakeBroker) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns++
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer c.Close()
			if b.mode == "rawclose" {
				return
			}
			tc := tls.Server(c, b.cfg)
			_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tc.Handshake(); err != nil {
				return
			}
			b.session(tc)
		}()
	}
}

func (b *fakeBroker) session(c *tls.Conn) {
	pk, err := packets.ReadPacket(c)
	if err != nil {
		return
	}
	cp, ok := pk.(*packets.ConnectPacket)
	if !ok {
		return
	}
	b.mu.Lock()
	b.connects = append(b.connects, cp)
	b.mu.Unlock()
	switch b.mode {
	case "drop":
		return
	case "silent":
		buf := make([]byte, 1)
		_, _ = c.Read(buf)
		return
	case "connack5":
		ack := packets.NewControlPacket(packets.Connack).(*packets.ConnackPacket)
		ack.ReturnCode = 5
		_ = ack.Write(c)
		return
	}
	ack := packets.NewControlPacket(packets.Connack).(*packets.ConnackPacket)
	if err := ack.Write(c); err != nil {
		return
	}
	var subs []string
	for {
		pk, err := packets.ReadPacket(c)
		if err != nil {
			return
		}
		switch p := pk.(type) {
		case *packets.SubscribePacket:
			for _, tp := range p.Topics {
				if b.denySub != nil && b.denySub(tp) {
					return // AWS: close without SUBACK
				}
			}
			subs = append(subs, p.Topics...)
			sa := packets.NewControlPacket(packets.Suback).(*packets.SubackPacket)
			sa.MessageID = p.MessageID
			for range p.Topics {
				sa.ReturnCodes = append(sa.ReturnCodes, 1)
			}
			_ = sa.Write(c)
		case *packets.PublishPacket:
			if b.denyPub != nil && b.denyPub(p.TopicName) {
				return // AWS: close without PUBACK
			}
			if p.Qos == 1 {
				pa := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
				pa.MessageID = p.MessageID
				_ = pa.Write(c)
			}
			for _, s := range subs {
				if s == p.TopicName {
					out := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
					out.TopicName, out.Payload, out.Qos, out.MessageID = p.TopicName, p.Payload, 0, 0
					_ = out.Write(c)
				}
			}
		case *packets.PingreqPacket:
			_ = packets.NewControlPacket(packets.Pingresp).Write(c)
		case *packets.DisconnectPacket:
			return
		}
	}
}

func (b *fakeBroker) stats() (conns int, connects []*packets.ConnectPacket, sni []string, chains []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns, append([]*packets.ConnectPacket(nil), b.connects...), append([]string(nil), b.sni...), append([]int(nil), b.chains...)
}

func writeFiles(t testing.TB, files map[string][]byte) string {
	dir := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
