package mqttprobe

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// What a fleet of devices needs beyond one device's probe: connecting with material that
// is already in memory (a fleet's keys never touch the disk, and its devices share one
// parsed server CA), and a single QoS 1 publish on an accepted connection.

// ConnectMaterial is Connect with loaded material: one connection attempt, classified.
// m.Chain, m.Key and m.ServerCA must be set (m.CACerts is only used in messages).
func ConnectMaterial(ctx context.Context, o Options, m *Material) (*Conn, Outcome) {
	start := time.Now()
	if m == nil || len(m.Chain) == 0 || m.Key == nil || m.ServerCA == nil {
		err := &ConfigError{Field: "device material", Cause: "no certificate, key or server CA", Fix: "give the device's certificate and key and the server CA"}
		return nil, Outcome{Class: ClassConfig, Err: err, Detail: err.Error()}
	}
	return connectWith(ctx, o, m, start)
}

// ErrPublishDenied is wrapped by Publish's error when the broker closed the connection
// right after the PUBLISH: AWS IoT's answer (MQTT 3.1.1) to a publish the policy denies.
var ErrPublishDenied = errors.New("publish denied")

// Publish publishes payload on topic at QoS 1 and waits for the broker's PUBACK, at most
// timeout (0: DefaultUseTimeout).
func (c *Conn) Publish(ctx context.Context, topic string, payload []byte, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultUseTimeout
	}
	t := c.Client.Publish(topic, 1, false, payload)
	ok, lost := waitToken(ctx, c, t, timeout)
	switch {
	case ok:
		return nil
	case lost:
		return fmt.Errorf("%w: the broker closed the connection right after the PUBLISH to %s: the policy does not allow iot:Publish on that topic for this client", ErrPublishDenied, topic)
	case ctx.Err() != nil:
		return ctx.Err()
	case t.Error() != nil:
		return fmt.Errorf("publish to %s: %v", topic, t.Error())
	}
	return fmt.Errorf("no PUBACK for the publish to %s within %s", topic, timeout)
}
