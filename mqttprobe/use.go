package mqttprobe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// DefaultUseTimeout bounds each of subscribe, publish and receive in Use.
const DefaultUseTimeout = 10 * time.Second

// Denied names the MQTT action the broker refused by closing the connection.
type Denied string

const (
	DeniedNone      Denied = ""
	DeniedSubscribe Denied = "subscribe" // iot:Subscribe on topicfilter/<filter>
	DeniedPublish   Denied = "publish"   // iot:Publish on topic/<topic>
	DeniedReceive   Denied = "receive"   // iot:Receive: subscribed and published, never delivered
)

// UseResult is one publish/subscribe round trip.
type UseResult struct {
	Connect    Outcome
	Topic      string
	Subscribed bool
	Published  bool
	Received   bool
	Payload    string
	RTT        time.Duration // from PUBLISH sent to own message received
	Denied     Denied
	// BrokerGone: the connection was lost and the broker no longer accepts connections at
	// all — it stopped (a local IoT Core that has gone), so nothing was learnt about the policy.
	BrokerGone bool
	Err        error
	Detail     string
}

// OK reports whether the round trip worked.
func (r UseResult) OK() bool { return r.Received && r.Err == nil }

// Use connects as o.ClientID, subscribes to topic (default "<clientID>/test"), publishes a
// message there and waits for it to come back, measuring the round-trip time. A
// connection the broker closes right after SUBSCRIBE or PUBLISH is reported as that
// action being denied by the policy (AWS IoT answers unauthorized MQTT 3.1.1 actions by
// disconnecting).
func Use(ctx context.Context, o Options, topic string, timeout time.Duration) UseResult {
	if topic == "" {
		topic = o.ClientID + "/test"
	}
	if timeout <= 0 {
		timeout = DefaultUseTimeout
	}
	res := UseResult{Topic: topic}
	c, out := Connect(ctx, o)
	res.Connect = out
	if c == nil {
		res.Err = out.Err
		if res.Err == nil {
			res.Err = fmt.Errorf("%s", out.Detail)
		}
		res.Detail = say("use.no-connect", "Detail", out.Detail)
		return res
	}
	defer c.Close()

	msgs := make(chan mqtt.Message, 4)
	st := c.Client.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case msgs <- m:
		default:
		}
	})
	if ok, lost := waitToken(ctx, c, st, timeout); !ok {
		return deniedResult(res, o, DeniedSubscribe, lost, st.Error(), say("use.what-subscribe", "Topic", topic))
	}
	if sub, isSub := st.(*mqtt.SubscribeToken); isSub {
		if code, found := sub.Result()[topic]; found && code == 0x80 {
			res.Denied, res.Err = DeniedSubscribe, errors.New(say("use.err-suback", "Topic", topic))
			res.Detail = say("use.suback", "Topic", topic)
			return res
		}
	}
	res.Subscribed = true

	payload := fmt.Sprintf("jitpwiz round trip %d", time.Now().UnixNano())
	res.Payload = payload
	sent := time.Now()
	pt := c.Client.Publish(topic, 1, false, payload)
	if ok, lost := waitToken(ctx, c, pt, timeout); !ok {
		return deniedResult(res, o, DeniedPublish, lost, pt.Error(), say("use.what-publish", "Topic", topic))
	}
	res.Published = true

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case m := <-msgs:
			if string(m.Payload()) != payload {
				continue
			}
			res.RTT = time.Since(sent)
			res.Received = true
			res.Detail = say("use.received", "Topic", topic, "RTT", res.RTT.Round(time.Microsecond).String())
			return res
		case <-c.Lost():
			if gone := brokerGone(o); gone != "" {
				res.BrokerGone, res.Err, res.Detail = true, c.LostErr(), gone
				return res
			}
			res.Denied, res.Err = DeniedReceive, c.LostErr()
			res.Detail = say("use.lost-receive", "Topic", topic)
			return res
		case <-deadline.C:
			res.Denied, res.Err = DeniedReceive, errors.New(say("use.err-not-received", "Timeout", timeout.String()))
			res.Detail = say("use.not-received", "Timeout", timeout.String(), "Topic", topic)
			return res
		case <-ctx.Done():
			res.Err = ctx.Err()
			res.Detail = say("use.cancelled")
			return res
		}
	}
}

// waitToken waits for a token; it reports false when the token failed or the connection
// dropped first (lost = the broker closed the connection).
func waitToken(ctx context.Context, c *Conn, t mqtt.Token, timeout time.Duration) (ok bool, lost bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.Done():
		if t.Error() != nil {
			return false, isLost(c, t.Error())
		}
		return true, false
	case <-c.Lost():
		return false, true
	case <-timer.C:
		return false, false
	case <-ctx.Done():
		return false, false
	}
}

func isLost(c *Conn, err error) bool {
	if strings.Contains(err.Error(), "connection lost") {
		return true
	}
	select {
	case <-c.Lost():
		return true
	default:
		return false
	}
}

// brokerGone reports, after a lost connection, whether the broker still accepts
// connections: a policy denial closes one connection, a broker that stopped refuses them all.
// It returns "" when the broker is there, else what happened in words.
func brokerGone(o Options) string {
	c, err := net.DialTimeout("tcp", o.dialAddr(), 2*time.Second)
	if err == nil {
		c.Close()
		return ""
	}
	return say("use.broker-gone", "Addr", o.dialAddr(), "Err", shortDialErr(err))
}

func shortDialErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

func deniedResult(res UseResult, o Options, action Denied, lost bool, tokErr error, what string) UseResult {
	if lost {
		if gone := brokerGone(o); gone != "" {
			res.BrokerGone, res.Err, res.Detail = true, errors.New(say("use.err-gone", "What", what)), gone
			return res
		}
		res.Denied = action
		res.Err = errors.New(say("use.err-closed", "What", what))
		res.Detail = say("use.denied", "Packet", strings.ToUpper(string(action)), "Topic", res.Topic, "IoTAction", iotAction(action))
		return res
	}
	res.Err = tokErr
	if res.Err == nil {
		res.Err = errors.New(say("use.err-timeout", "What", what))
	}
	res.Detail = say("use.could-not", "What", what, "Err", res.Err.Error())
	return res
}

// actionWords is the action as a verb in the user's language.
func actionWords(d Denied) string {
	switch d {
	case DeniedSubscribe:
		return say("use.action.subscribe")
	case DeniedPublish:
		return say("use.action.publish")
	}
	return string(d)
}

func iotAction(d Denied) string {
	switch d {
	case DeniedSubscribe:
		return "iot:Subscribe"
	case DeniedPublish:
		return "iot:Publish"
	case DeniedReceive:
		return "iot:Receive"
	}
	return ""
}

// RefusalResult is the outcome of trying an action that the policy should refuse.
type RefusalResult struct {
	Topic   string
	Action  Denied // the action tried
	Refused bool   // the broker disconnected (or refused) as AWS does
	Connect Outcome
	Detail  string
	Err     error // set when the check itself could not run (e.g. no connection)
}

// ProveRefused connects as o.ClientID and publishes to topic (which should lie outside
// the policy, e.g. "other/test"), expecting the broker to drop the connection. With
// subscribe set it subscribes instead.
func ProveRefused(ctx context.Context, o Options, topic string, subscribe bool, timeout time.Duration) RefusalResult {
	if timeout <= 0 {
		timeout = DefaultUseTimeout
	}
	rr := RefusalResult{Topic: topic, Action: DeniedPublish}
	if subscribe {
		rr.Action = DeniedSubscribe
	}
	c, out := Connect(ctx, o)
	rr.Connect = out
	if c == nil {
		rr.Err = out.Err
		rr.Detail = say("use.refusal-no-connect", "Detail", out.Detail)
		return rr
	}
	defer c.Close()
	var t mqtt.Token
	if subscribe {
		t = c.Client.Subscribe(topic, 1, func(mqtt.Client, mqtt.Message) {})
	} else {
		t = c.Client.Publish(topic, 1, false, "jitpwiz refusal check")
	}
	ok, lost := waitToken(ctx, c, t, timeout)
	if !ok && !lost {
		// A QoS 1 PUBLISH that gets no PUBACK and no disconnect: wait for the drop a bit.
		select {
		case <-c.Lost():
			lost = true
		case <-time.After(timeout / 4):
		}
	}
	if sub, isSub := t.(*mqtt.SubscribeToken); ok && isSub {
		if code, found := sub.Result()[topic]; found && code == 0x80 {
			rr.Refused = true
			rr.Detail = say("use.suback", "Topic", topic)
			return rr
		}
	}
	if lost {
		if gone := brokerGone(o); gone != "" {
			rr.Err, rr.Detail = errors.New(say("use.err-broker-gone")), gone
			return rr
		}
		rr.Refused = true
		rr.Detail = say("use.refused", "Action", actionWords(rr.Action), "Topic", topic, "IoTAction", iotAction(rr.Action))
		return rr
	}
	if ok {
		rr.Detail = say("use.allowed", "Action", actionWords(rr.Action), "Topic", topic)
		return rr
	}
	rr.Err = t.Error()
	rr.Detail = say("use.inconclusive", "Action", actionWords(rr.Action))
	return rr
}
