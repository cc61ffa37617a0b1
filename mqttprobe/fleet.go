package mqttprobe

import (
	"context"
	"errors"
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
		err := &ConfigError{Field: say("config.field.material"), Cause: say("config.no-material"), Fix: say("config.no-material.fix")}
		return nil, Outcome{Class: ClassConfig, Err: err, Detail: err.Error()}
	}
	return connectWith(ctx, o, m, start)
}

// ErrPublishDenied is matched (errors.Is) by Publish's error when the broker closed the
// connection right after the PUBLISH: AWS IoT's answer (MQTT 3.1.1) to a publish the policy
// denies.
var ErrPublishDenied = errors.New("publish denied")

// publishDenied is Publish's error for a denied publish, in the user's language.
type publishDenied struct{ msg string }

func (e *publishDenied) Error() string        { return e.msg }
func (e *publishDenied) Is(target error) bool { return target == ErrPublishDenied }

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
		return &publishDenied{say("fleet.publish-denied", "Topic", topic)}
	case ctx.Err() != nil:
		return ctx.Err()
	case t.Error() != nil:
		return errors.New(say("fleet.publish-failed", "Topic", topic, "Err", t.Error().Error()))
	}
	return errors.New(say("fleet.no-puback", "Topic", topic, "Timeout", timeout.String()))
}
