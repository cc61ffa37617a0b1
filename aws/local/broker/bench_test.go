package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/pki"
)

// BenchmarkProvisioning: per iteration one new device does its first connect (JITP
// with the walkthrough's scoped template, connection dropped), reconnects as its
// thing and publishes one QoS 1 message. Compare provisionings/s with
// BenchmarkMutualTLSHandshake on the same machine.
func BenchmarkProvisioning(b *testing.B) {
	e, ca, devs := benchSetup(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := benchDevice(e, ca, devs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "provisionings/s")
}

// BenchmarkProvisioningParallel is the same with devices arriving concurrently
// (GOMAXPROCS goroutines).
func BenchmarkProvisioningParallel(b *testing.B) {
	e, ca, devs := benchSetup(b)
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchDevice(e, ca, devs[next.Add(1)-1]); err != nil {
				b.Error(err) // not Fatal: this is not the benchmark's goroutine
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "provisionings/s")
}

func benchSetup(b *testing.B) (*env, *testCA, []*device) {
	e, ca := jitpEnvWith(b, "scoped")
	devs := make([]*device, b.N)
	for i := range devs {
		devs[i] = ca.issue(b, pki.Subject{Country: "US", CommonName: fmt.Sprintf("Bench%06d", i)})
	}
	return e, ca, devs
}

func benchDevice(e *env, ca *testCA, dev *device) error {
	name := dev.Cert.Subject.CommonName
	first, err := e.tlsDial(&tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, true)}})
	if err != nil {
		return err
	}
	c := &rawClient{conn: first, r: newReader(first)}
	if _, err := c.connect("anyclientID"); err == nil {
		first.Close()
		return fmt.Errorf("first connect of %s got CONNACK", name)
	}
	first.Close()

	conn, err := e.tlsDial(&tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
	if err != nil {
		return err
	}
	defer conn.Close()
	c = &rawClient{conn: conn, r: newReader(conn)}
	if rc, err := c.connect(name); err != nil || rc != 0 {
		return fmt.Errorf("reconnect of %s: rc=%d err=%v", name, rc, err)
	}
	if err := c.publish(name+"/test", 1, []byte("Hello")); err != nil {
		return err
	}
	if h, _, err := c.read(); err != nil || h>>4 != packets.Puback {
		return fmt.Errorf("%s: no PUBACK (type %d, %v)", name, h>>4, err)
	}
	return nil
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
