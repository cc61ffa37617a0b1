package mqttprobe

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki"
)

func outsideThing(topic string) bool { return !strings.HasPrefix(topic, "DemoThing/") }

// deviceBehindPolicy starts a broker that accepts the device and refuses the publishes
// and subscriptions denyPub and denySub name (nil: none), and returns the device's
// options for it.
func deviceBehindPolicy(t *testing.T, p *pkiSet, denyPub, denySub func(topic string) bool) Options {
	t.Helper()
	b := startBroker(t, p, "accept", nil)
	b.denyPub, b.denySub = denyPub, denySub
	return deviceOpts(t, p, p.device, b.addr(), false)
}

func TestUseRoundTrip(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	o := deviceBehindPolicy(t, p, outsideThing, outsideThing)
	res := Use(context.Background(), o, "", 5*time.Second)
	if !res.OK() || res.Topic != "DemoThing/test" || !res.Subscribed || !res.Published || res.RTT <= 0 || res.Denied != DeniedNone {
		t.Fatalf("round trip: %+v", res)
	}
	d := Diagnose(Facts{Use: &res, Options: o, ThingName: "DemoThing"})
	if d.Class != DiagOK || !d.OK || !strings.Contains(d.Cause, "received it back") {
		t.Fatalf("diagnosis %v", d)
	}
}

func TestUseDetectsDeniedActions(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	ctx := context.Background()
	t.Run("subscribe outside the policy", func(t *testing.T) {
		t.Parallel()
		o := deviceBehindPolicy(t, p, nil, outsideThing)
		res := Use(ctx, o, "other/test", 3*time.Second)
		if res.Denied != DeniedSubscribe || res.Subscribed || !strings.Contains(res.Detail, "iot:Subscribe") {
			t.Fatalf("%+v", res)
		}
		d := Diagnose(Facts{Use: &res, Options: o, ThingName: "DemoThing"})
		if d.Class != DiagTopicDenied || !strings.Contains(d.Cause, "outside the policy") || !strings.Contains(d.Fix, "DemoThing/") {
			t.Fatalf("diagnosis %v", d)
		}
	})
	t.Run("publish outside the policy", func(t *testing.T) {
		t.Parallel()
		o := deviceBehindPolicy(t, p, outsideThing, nil)
		res := Use(ctx, o, "other/test", 3*time.Second)
		if res.Denied != DeniedPublish || !res.Subscribed || res.Published || !strings.Contains(res.Detail, "iot:Publish") {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("prove a topic outside <thing>/* is refused", func(t *testing.T) {
		t.Parallel()
		o := deviceBehindPolicy(t, p, outsideThing, outsideThing)
		rr := ProveRefused(ctx, o, "other/test", false, 3*time.Second)
		if !rr.Refused || rr.Err != nil || !strings.Contains(rr.Detail, "as expected") {
			t.Fatalf("publish: %+v", rr)
		}
		rr = ProveRefused(ctx, o, "other/#", true, 3*time.Second)
		if !rr.Refused || rr.Action != DeniedSubscribe {
			t.Fatalf("subscribe: %+v", rr)
		}
		rr = ProveRefused(ctx, o, "DemoThing/ok", false, 3*time.Second)
		if rr.Refused || !strings.Contains(rr.Detail, "ALLOWED") {
			t.Fatalf("allowed topic reported refused: %+v", rr)
		}
	})
	t.Run("no connection", func(t *testing.T) {
		t.Parallel()
		b := startBroker(t, p, "connack5", nil)
		o := deviceOpts(t, p, p.device, b.addr(), false)
		res := Use(ctx, o, "", time.Second)
		if res.Connect.Class != ClassConnackRefused || res.Err == nil || res.Subscribed {
			t.Fatalf("%+v", res)
		}
	})
}

// fakeCloud answers DescribeCertificate from a script; other methods panic (unused).
type fakeCloud struct {
	aws.Client
	mu       sync.Mutex
	statuses []string // one per call; "" = not found; the last repeats
	calls    int
	cas      map[string]*aws.CADescription
	region   string
}

func (f *fakeCloud) Region() string { return f.region }

// DataEndpoint is unknown to the fake (Gather then leaves Facts.Endpoint empty).
func (f *fakeCloud) DataEndpoint(context.Context) (string, error) {
	return "", errors.New("fakeCloud: no DescribeEndpoint")
}

func (f *fakeCloud) DescribeCertificate(_ context.Context, id string) (aws.CertDescription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.calls
	if i >= len(f.statuses) {
		i = len(f.statuses) - 1
	}
	f.calls++
	s := f.statuses[i]
	if s == "" {
		return aws.CertDescription{}, &aws.Error{Kind: aws.KindNotFound, Op: "DescribeCertificate"}
	}
	return aws.CertDescription{ID: id, Status: s, CAID: "ca01", ARN: "arn:aws:iot:us-east-2:123456789012:cert/" + id}, nil
}

func (f *fakeCloud) FindCA(_ context.Context, id string) (*aws.CADescription, error) {
	return f.cas[id], nil
}

func (f *fakeCloud) ListAttachedPolicies(context.Context, string) ([]aws.PolicyRef, error) {
	return []aws.PolicyRef{{Name: "pol1"}}, nil
}

func TestWaitActive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fast := PollOptions{Timeout: 2 * time.Second, Initial: time.Millisecond, Max: 2 * time.Millisecond}
	t.Run("not registered, pending, active", func(t *testing.T) {
		t.Parallel()
		fc := &fakeCloud{statuses: []string{"", aws.StatusPendingActivation, aws.StatusActive}}
		var seen []string
		p := fast
		p.OnStatus = func(o Observation) { seen = append(seen, o.Status) }
		cert, obs, err := WaitActive(ctx, fc, "abcd", p)
		if err != nil || cert == nil || cert.Status != aws.StatusActive || len(obs) != 3 {
			t.Fatalf("cert %+v obs %+v err %v", cert, obs, err)
		}
		if strings.Join(seen, ",") != "NOT_REGISTERED,PENDING_ACTIVATION,ACTIVE" {
			t.Fatalf("callback saw %v", seen)
		}
	})
	t.Run("stuck pending times out", func(t *testing.T) {
		t.Parallel()
		fc := &fakeCloud{statuses: []string{aws.StatusPendingActivation}}
		p := fast
		p.Timeout = 30 * time.Millisecond
		cert, obs, err := WaitActive(ctx, fc, "abcd", p)
		if err == nil || !strings.Contains(err.Error(), "PENDING_ACTIVATION") || cert == nil || len(obs) < 2 {
			t.Fatalf("cert %+v obs %d err %v", cert, len(obs), err)
		}
	})
	t.Run("revoked stops at once", func(t *testing.T) {
		t.Parallel()
		fc := &fakeCloud{statuses: []string{aws.StatusRevoked}}
		_, obs, err := WaitActive(ctx, fc, "abcd", fast)
		if err == nil || len(obs) != 1 || !strings.Contains(err.Error(), "REVOKED") {
			t.Fatalf("obs %d err %v", len(obs), err)
		}
	})
}

func TestFirstConnectWithFakes(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	ctx := context.Background()
	fast := PollOptions{Timeout: 2 * time.Second, Initial: time.Millisecond, Max: 2 * time.Millisecond}
	t.Run("expected drop then active", func(t *testing.T) {
		t.Parallel()
		b := startBroker(t, p, "drop", nil)
		o := deviceOpts(t, p, p.device, b.addr(), false)
		fc := &fakeCloud{statuses: []string{"", "", aws.StatusActive}, region: "us-east-2"}
		rep := FirstConnect(ctx, o, fc, FirstConnectOptions{Poll: fast})
		if rep.Outcome.Class != ClassDropped || !rep.Expected || !rep.Activated || rep.Diagnosis != nil {
			t.Fatalf("%+v", rep)
		}
		if rep.StatusBefore != StatusNotRegistered || !strings.Contains(rep.Changes[0], "NOT_REGISTERED → ACTIVE") {
			t.Fatalf("before %q changes %v", rep.StatusBefore, rep.Changes)
		}
		if rep.CertID != pki.CertID(p.device.cert) || len(rep.Observations) != 2 {
			t.Fatalf("cert id %s obs %v", rep.CertID, rep.Observations)
		}
		if len(rep.Changes) < 2 || !strings.Contains(rep.Changes[1], "pol1") {
			t.Fatalf("changes %v", rep.Changes)
		}
	})
	t.Run("stuck pending explains the template", func(t *testing.T) {
		t.Parallel()
		b := startBroker(t, p, "drop", nil)
		o := deviceOpts(t, p, p.cnOnly, b.addr(), false) // CN only, no Country
		tmpl := `{"Parameters":{"AWS::IoT::Certificate::CommonName":{"Type":"String"},"AWS::IoT::Certificate::Country":{"Type":"String"}},` +
			`"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Ref":"AWS::IoT::Certificate::CommonName"},` +
			`"AttributePayload":{"country":{"Ref":"AWS::IoT::Certificate::Country"}}}}}}`
		fc := &fakeCloud{statuses: []string{aws.StatusPendingActivation}, region: "us-east-2",
			cas: map[string]*aws.CADescription{"ca01": {ID: "ca01", Status: aws.StatusActive, AutoRegistrationStatus: aws.AutoRegEnable,
				RegistrationConfig: &aws.RegistrationConfig{TemplateBody: tmpl}}}}
		p2 := fast
		p2.Timeout = 20 * time.Millisecond
		rep := FirstConnect(ctx, o, fc, FirstConnectOptions{Poll: p2})
		if rep.Outcome.Class != ClassDropped || rep.Activated || rep.Diagnosis == nil {
			t.Fatalf("%+v", rep)
		}
		d := rep.Diagnosis
		if d.Class != DiagCertPending || !strings.Contains(d.Cause, "AWS::IoT::Certificate::Country") || !strings.Contains(d.Cause, "no Country") {
			t.Fatalf("diagnosis %v", d)
		}
	})
}

// slowCloud's DescribeCertificate answers only when its context ends, like a throttled call
// that the SDK keeps retrying; it records the deadline each call was given.
type slowCloud struct {
	fakeCloud
	deadlines []time.Time
}

func (f *slowCloud) DescribeCertificate(ctx context.Context, _ string) (aws.CertDescription, error) {
	dl, ok := ctx.Deadline()
	f.mu.Lock()
	if ok {
		f.deadlines = append(f.deadlines, dl)
	} else {
		f.deadlines = append(f.deadlines, time.Time{})
	}
	f.mu.Unlock()
	<-ctx.Done()
	return aws.CertDescription{}, ctx.Err()
}

// TestWaitActiveBoundsEachPoll: a poll that does not answer is cut at the overall deadline
// (without the bound this test never returns), and every call carries that deadline.
func TestWaitActiveBoundsEachPoll(t *testing.T) {
	t.Parallel()
	f := &slowCloud{}
	_, obs, err := WaitActive(context.Background(), f, "abcd", PollOptions{Timeout: 50 * time.Millisecond, Initial: time.Millisecond})
	end := time.Now()
	if err == nil || !strings.Contains(err.Error(), "did not answer in time") || len(obs) == 0 {
		t.Fatalf("obs %+v err %v", obs, err)
	}
	for i, d := range f.deadlines {
		if d.IsZero() || d.After(end) {
			t.Errorf("call %d had deadline %v (the wait ended at %v): each poll must be bounded by the time left", i, d, end)
		}
	}
}
