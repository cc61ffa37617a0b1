package mqttprobe

import (
	"context"
	"testing"
	"time"
)

// BenchmarkProbeConnected measures one full device connect (TCP, mutual TLS, CONNECT,
// CONNACK) and disconnect against a local fake broker.
func BenchmarkProbeConnected(b *testing.B) {
	p := testPKI(b)
	br := startBroker(b, p, "accept", nil)
	o := deviceOpts(b, p, p.device, br.addr(), false)
	ctx := context.Background()
	for b.Loop() {
		if out := Probe(ctx, o); out.Class != ClassConnected {
			b.Fatalf("outcome %s", out)
		}
	}
}

// BenchmarkUseRoundTrip measures connect + subscribe + publish + receive own message.
func BenchmarkUseRoundTrip(b *testing.B) {
	p := testPKI(b)
	br := startBroker(b, p, "accept", nil)
	o := deviceOpts(b, p, p.device, br.addr(), false)
	ctx := context.Background()
	for b.Loop() {
		if res := Use(ctx, o, "", 5*time.Second); !res.OK() {
			b.Fatalf("use %+v", res)
		}
	}
}

// BenchmarkDiagnose measures the pure diagnosis over gathered facts.
func BenchmarkDiagnose(b *testing.B) {
	p := testPKI(b)
	out := Outcome{Class: ClassDropped}
	f := Facts{Outcome: &out, Options: Options{Host: testHost, ClientID: "x"}, CACert: p.deviceCA.cert}
	for b.Loop() {
		_ = Diagnose(f)
	}
}
