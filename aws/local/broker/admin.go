package broker

import (
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// adminSubs numbers the admin subscriptions (mochi keys inline subscriptions by an ID).
var adminSubs atomic.Int64

// Subscribe delivers every message published on a topic matching filter — including the
// reserved $aws/events/... topics, such as JITR's registered event — to fn, as the
// broker's own client: an account administrator's view, which no IoT policy restricts
// (on AWS, the console's MQTT test client). fn runs on the publisher's goroutine and must
// not block. cancel ends the subscription.
func (b *Broker) Subscribe(filter string, fn func(topic string, payload []byte)) (cancel func(), err error) {
	id := int(adminSubs.Add(1))
	err = b.server.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		fn(pk.TopicName, append([]byte(nil), pk.Payload...))
	})
	if err != nil {
		return nil, err
	}
	return func() { _ = b.server.Unsubscribe(filter, id) }, nil
}
