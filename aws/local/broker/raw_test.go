package broker

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// rawClient speaks MQTT 3.1.1 byte by byte, so tests see exactly what the broker
// sends (or that it sends nothing and closes).
type rawClient struct {
	conn    *tls.Conn
	r       *bufio.Reader
	id      uint16
	version byte // MQTT protocol level of the packets written; 0 = 4 (3.1.1)
}

func (e *env) rawDial(t testing.TB, cfg *tls.Config) *rawClient {
	t.Helper()
	conn, err := e.tlsDial(cfg)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{conn: conn, r: bufio.NewReader(conn)}
}

func (c *rawClient) write(pk packets.Packet) error {
	var buf bytes.Buffer
	var err error
	if c.version != 0 {
		pk.ProtocolVersion = c.version
	}
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	case packets.Unsubscribe:
		err = pk.UnsubscribeEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	default:
		return fmt.Errorf("rawClient cannot encode packet type %d", pk.FixedHeader.Type)
	}
	if err != nil {
		return err
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err = c.conn.Write(buf.Bytes())
	return err
}

// read returns the next packet's type byte and body, or an error (io.EOF or a TLS
// alert) when the broker closes the connection.
func (c *rawClient) read() (byte, []byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for i := 0; i < 4; i++ {
		b, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7f) * mul
		if b&0x80 == 0 {
			break
		}
		mul *= 128
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, err
	}
	return h, body, nil
}

// connect sends CONNECT and returns the CONNACK return code, or an error when the
// broker closed the connection without a CONNACK.
func (c *rawClient) connect(clientID string) (byte, error) {
	return c.connectWill(clientID, "")
}

// connectWill is connect with a last-will message on willTopic (none if empty).
func (c *rawClient) connectWill(clientID, willTopic string) (byte, error) {
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: 4,
		Connect: packets.ConnectParams{
			ProtocolName:     []byte("MQTT"),
			Clean:            true,
			Keepalive:        60,
			ClientIdentifier: clientID,
		},
	}
	if willTopic != "" {
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, willTopic, []byte("gone")
	}
	err := c.write(pk)
	if err != nil {
		return 0, err
	}
	h, body, err := c.read()
	if err != nil {
		return 0, err
	}
	if h>>4 != packets.Connack || len(body) != 2 {
		return 0, fmt.Errorf("expected CONNACK, got type %d body %x", h>>4, body)
	}
	return body[1], nil
}

func (c *rawClient) publish(topic string, qos byte, payload []byte) error {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos},
		TopicName:   topic,
		Payload:     payload,
	}
	if qos > 0 {
		c.id++
		pk.PacketID = c.id
	}
	return c.write(pk)
}

func (c *rawClient) subscribe(qos byte, filters ...string) error {
	c.id++
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: c.id}
	for _, f := range filters {
		pk.Filters = append(pk.Filters, packets.Subscription{Filter: f, Qos: qos})
	}
	return c.write(pk)
}

// expectClosed asserts that the broker closes the connection without sending
// another packet.
func (c *rawClient) expectClosed(t testing.TB, what string) {
	t.Helper()
	h, body, err := c.read()
	if err == nil {
		t.Fatalf("%s: want the connection closed, got packet type %d body %x", what, h>>4, body)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: connection still open (read timed out)", what)
	}
}

// expect reads the next packet and asserts its type.
func (c *rawClient) expect(t testing.TB, typ byte, what string) []byte {
	t.Helper()
	h, body, err := c.read()
	if err != nil {
		t.Fatalf("%s: want packet type %d, got %v", what, typ, err)
	}
	if h>>4 != typ {
		t.Fatalf("%s: want packet type %d, got %d (%x)", what, typ, h>>4, body)
	}
	return body
}

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func (c *rawClient) writeAck(pk packets.Packet) error {
	var buf bytes.Buffer
	if err := pk.PubackEncode(&buf); err != nil {
		return err
	}
	_, err := c.conn.Write(buf.Bytes())
	return err
}
