package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

// BenchmarkProvisioning: per iteration one new device does its first connect (JITP
// with the walkthrough's scoped template, connection dropped), reconnects as its
// thing and publishes one QoS 1 message. Compare provisionings/s with
// BenchmarkMutualTLSHandshake on the same machine.
func BenchmarkProvisioning(b *testing.B) {
	e := newEnv(b)
	ca := newTestCA(b, "deviceRootCA")
	e.createRole("JITPRole", iotTrust)
	e.registerCA(ca, store.StatusActive, store.AutoRegEnable, walkthroughConfig(b, "scoped"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		name := fmt.Sprintf("Bench%06d", i)
		dev := ca.issue(b, pki.Subject{Country: "US", CommonName: name})
		b.StartTimer()

		first, err := e.tlsDial(&tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, true)}})
		if err != nil {
			b.Fatal(err)
		}
		c := &rawClient{conn: first, r: newReader(first)}
		if _, err := c.connect("anyclientID"); err == nil {
			b.Fatal("first connect got CONNACK")
		}
		first.Close()

		conn, err := e.tlsDial(&tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
		if err != nil {
			b.Fatal(err)
		}
		c = &rawClient{conn: conn, r: newReader(conn)}
		if rc, err := c.connect(name); err != nil || rc != 0 {
			b.Fatalf("reconnect: rc=%d err=%v", rc, err)
		}
		if err := c.publish(name+"/test", 1, []byte("Hello")); err != nil {
			b.Fatal(err)
		}
		if h, _, err := c.read(); err != nil || h>>4 != packets.Puback {
			b.Fatalf("no PUBACK: %v", err)
		}
		conn.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "provisionings/s")
}

// BenchmarkMutualTLSHandshake is the floor: a bare Go TLS 1.3 server requiring a
// client certificate, same key types, handshake and close per iteration.
func BenchmarkMutualTLSHandshake(b *testing.B) {
	dir := b.TempDir()
	id, err := loadIdentity(dir, nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{id.cert},
		ClientAuth:   tls.RequireAnyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				_ = c.(*tls.Conn).Handshake()
				buf := make([]byte, 1)
				_, _ = c.Read(buf)
				c.Close()
			}(c)
		}
	}()
	ca := newTestCA(b, "deviceRootCA")
	dev := ca.issue(b, pki.Subject{Country: "US", CommonName: "Bench"})
	pool := x509.NewCertPool()
	pool.AddCert(id.root)
	cfg := &tls.Config{ServerName: "localhost", RootCAs: pool, Certificates: []tls.Certificate{dev.tlsCert(ca, true)}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write([]byte{0}); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}
