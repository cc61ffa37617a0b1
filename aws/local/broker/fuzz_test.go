package broker

import (
	"bytes"
	"crypto/tls"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

// FuzzClientBytes sends arbitrary bytes after a successful CONNECT: whatever they
// are, the broker must not crash and must keep serving other clients.
// fuzz: 1500 execs (each one is a TLS connection to the broker)
func FuzzClientBytes(f *testing.F) {
	e, ca := byHandEnv(f)
	dev := ca.issue(f, pki.Subject{CommonName: "fuzzer"})
	err := e.st.Update(func(st *store.State) error {
		c, err := st.RegisterDeviceCert(dev.Cert, ca.ID, store.StatusActive)
		if err != nil {
			return err
		}
		if _, err := st.CreatePolicy("admin", adminPolicy, nil); err != nil {
			return err
		}
		return st.AttachPolicy("admin", c.ARN)
	})
	if err != nil {
		f.Fatal(err)
	}
	enc := func(pk packets.Packet) []byte {
		var b bytes.Buffer
		switch pk.FixedHeader.Type {
		case packets.Publish:
			_ = pk.PublishEncode(&b)
		case packets.Subscribe:
			_ = pk.SubscribeEncode(&b)
		}
		return b.Bytes()
	}
	f.Add(enc(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: "a/b", PacketID: 1, Payload: []byte("x")}))
	f.Add(enc(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2}, TopicName: "a/b", PacketID: 1}))
	f.Add(enc(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 2,
		Filters: packets.Subscriptions{{Filter: "a/#", Qos: 1}}}))
	f.Add([]byte{0xc0, 0x00})             // PINGREQ
	f.Add([]byte{0xe0, 0x00})             // DISCONNECT
	f.Add([]byte{0x10, 0x00})             // second CONNECT
	f.Add([]byte{0x30, 0xff, 0xff, 0xff}) // truncated huge length
	f.Add([]byte("garbage"))

	dial := func() (*rawClient, error) {
		conn, err := e.tlsDial(&tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
		if err != nil {
			return nil, err
		}
		return &rawClient{conn: conn, r: newReader(conn)}, nil
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		if rc, err := c.connect("fuzzer"); err != nil || rc != 0 {
			t.Fatalf("connect: rc=%d err=%v", rc, err)
		}
		_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.conn.Write(data)
		_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		_, _ = c.r.ReadByte()
		c.conn.Close()

		// The broker still serves.
		h, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		defer h.conn.Close()
		if rc, err := h.connect("health"); err != nil || rc != 0 {
			t.Fatalf("broker stopped serving after %x: rc=%d err=%v", data, rc, err)
		}
		if err := h.publish("health/x", 1, []byte("ok")); err != nil {
			t.Fatal(err)
		}
		if typ, _, err := h.read(); err != nil || typ>>4 != packets.Puback {
			t.Fatalf("no PUBACK after %x: %v", data, err)
		}
	})
}
