package mqttprobe

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
)

// A broker that stops (a local IoT Core that has gone) closes the connection too, like a
// policy denial; but it then refuses every connection. That is said as such, not as "topic
// denied by the policy" nor as an expected refusal.
func TestBrokerGoneIsNotADenial(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	ctx := context.Background()
	vanish := func(b *fakeBroker) func(string) bool {
		return func(string) bool { b.ln.Close(); return true } // stop listening, then drop the connection
	}
	t.Run("use", func(t *testing.T) {
		t.Parallel()
		b := startBroker(t, p, "accept", nil)
		b.denySub = vanish(b)
		o := deviceOpts(t, p, p.device, b.addr(), false)
		res := Use(ctx, o, "DemoThing/test", 3*time.Second)
		if !res.BrokerGone || res.Denied != DeniedNone || !strings.Contains(res.Detail, "no longer accepts connections") {
			t.Fatalf("%+v", res)
		}
		d := Diagnose(Facts{Use: &res, Options: o, ThingName: "DemoThing"})
		if d.Class != DiagEndpointUnreachable || strings.Contains(d.Cause, "policy does not allow") || !strings.Contains(d.Fix, "has not stopped") {
			t.Fatalf("diagnosis %v", d)
		}
	})
	t.Run("refusal check", func(t *testing.T) {
		t.Parallel()
		b := startBroker(t, p, "accept", nil)
		b.denyPub = vanish(b)
		o := deviceOpts(t, p, p.device, b.addr(), false)
		rr := ProveRefused(ctx, o, "other/test", false, 3*time.Second)
		if rr.Refused || rr.Err == nil || !strings.Contains(rr.Detail, "not a policy denial") {
			t.Fatalf("%+v", rr)
		}
	})
}

// With the control plane unreachable, a dropped first connect is not explained by what could
// not be looked up ("no certificate was registered — check the CA …").
func TestFirstConnectControlPlaneDown(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	b := startBroker(t, p, "drop", nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + l.Addr().String()
	l.Close() // nothing listens there any more: the control plane has gone
	cloud, err := aws.New(context.Background(), aws.Config{Region: "us-east-2", EndpointURL: gone, StaticAccessKeyID: "a", StaticSecretKey: "b", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := deviceOpts(t, p, p.device, b.addr(), true)
	rep := FirstConnect(context.Background(), o, cloud, FirstConnectOptions{ThingName: "DemoThing",
		Poll: PollOptions{Timeout: 200 * time.Millisecond, Initial: 10 * time.Millisecond}})
	if rep.Diagnosis == nil || rep.Diagnosis.Class != DiagEndpointUnreachable || !strings.Contains(rep.Diagnosis.Cause, "control plane is unreachable") ||
		strings.Contains(rep.Diagnosis.Cause, "no certificate was registered") {
		t.Fatalf("diagnosis %+v", rep.Diagnosis)
	}
}
