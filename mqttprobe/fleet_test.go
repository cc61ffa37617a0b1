package mqttprobe

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

// A fleet's device connects with material in memory and publishes once: PUBACK for a
// topic its policy allows; a publish outside it is denied as AWS does for MQTT 3.1.1 (the
// connection closed), and said so.
func TestConnectMaterialAndPublish(t *testing.T) {
	t.Parallel()
	e, _, dev := provisionedDevice(t, "Fleet Root")
	ctx := context.Background()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.RootPEM) {
		t.Fatal("server CA")
	}
	m := &Material{Chain: []*x509.Certificate{dev.Cert}, Key: dev.Key, ServerCA: pool}
	o := Options{Host: e.Host, Addr: e.MQTTAddr, ClientID: "DemoThing", ConnectTimeout: 5 * time.Second}

	c, out := ConnectMaterial(ctx, o, m)
	if c == nil {
		t.Fatalf("connect as the thing: %s", out)
	}
	if err := c.Publish(ctx, "DemoThing/fleet", []byte("hello"), 5*time.Second); err != nil {
		t.Fatalf("publish on the thing's topic: %v", err)
	}
	err := c.Publish(ctx, "other/fleet", []byte("hello"), 5*time.Second)
	if !errors.Is(err, ErrPublishDenied) || !contains(err.Error(), "iot:Publish") {
		t.Fatalf("publish outside the policy: %v, want ErrPublishDenied naming iot:Publish", err)
	}
	c.Close()

	// Another client ID is refused at CONNECT (the policy's client/${iot:Connection.Thing.ThingName}).
	if c, out := ConnectMaterial(ctx, Options{Host: e.Host, Addr: e.MQTTAddr, ClientID: "someone-else"}, m); c != nil || out.Class != ClassDropped {
		t.Fatalf("connect as another client ID: %s", out)
	}
	// Material without a key is a configuration error, before any traffic.
	if _, out := ConnectMaterial(ctx, o, &Material{Chain: m.Chain, ServerCA: pool}); out.Class != ClassConfig {
		t.Fatalf("no key: %s", out)
	}
}
