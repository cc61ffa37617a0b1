package local

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"os"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	iottypes "github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/aws/smithy-go"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

func TestParseLatency(t *testing.T) {
	cases := []struct {
		in   string
		want Latency
	}{
		{"", Latency{}},
		{"none", Latency{}},
		{"aws", AWSLatency()},
		{"aws,policy-delete=30s", Latency{Provisioning: 2 * time.Second, DetachThingPrincipal: 5 * time.Second, PolicyDeleteAfterDetach: 30 * time.Second, RoleUsable: 10 * time.Second}},
		{"provisioning=500ms, role=1m", Latency{Provisioning: 500 * time.Millisecond, RoleUsable: time.Minute}},
	}
	for _, c := range cases {
		got, err := ParseLatency(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseLatency(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if again, err := ParseLatency(got.String()); err != nil || again != got {
			t.Errorf("ParseLatency(%q.String() = %q) = %+v, %v", c.in, got.String(), again, err)
		}
	}
	if AWSLatency().String() != "provisioning=2s,detach=5s,policy-delete=5m0s,role=10s" {
		t.Errorf("AWSLatency().String() = %s", AWSLatency())
	}
	for _, bad := range []string{"fast", "detach=-1s", "role=abc", "x=1s", "aws,provisioning"} {
		_, err := ParseLatency(bad)
		if err == nil || !strings.Contains(err.Error(), "--latency") {
			t.Errorf("ParseLatency(%q): %v", bad, err)
		}
	}
}

// Options.Latency reaches the store and the broker: provisioning is under way after the
// first connect (the device's reconnect is refused), a detach propagates, a detached
// policy cannot be deleted yet; and RoleUsable keeps a new role out of provisioning. The
// durations are far longer than the test, so nothing here depends on timing.
func TestLatencyOptions(t *testing.T) {
	testtool.Need(t, "mosquitto_pub")
	t.Parallel()
	ctx := context.Background()
	slow := func(t *testing.T, dir string, l Latency) *Server {
		s, err := Start(ctx, Options{Dir: dir, APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", Latency: l})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	// setup registers the walkthrough CA with the admin template and a role that may provision.
	setup := func(t *testing.T, s *Server, dir string) (*iot.Client, *iam.Client) {
		return registerForJITP(t, s, dir, pki.Subject{Country: "IN", CommonName: "Slow"})
	}
	wantCode := func(t *testing.T, err error, code string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code {
			t.Fatalf("want %s, got %v", code, err)
		}
	}

	t.Run("provisioning, detach and policy delete", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := slow(t, dir, Latency{Provisioning: time.Hour, DetachThingPrincipal: time.Hour, PolicyDeleteAfterDetach: time.Hour})
		var banner bytes.Buffer
		WriteBanner(&banner, s)
		if !strings.Contains(banner.String(), "Latency (as on AWS)             provisioning=1h0m0s,detach=1h0m0s,policy-delete=1h0m0s") {
			t.Errorf("banner does not show the latency:\n%s", banner.String())
		}
		iotc, _ := setup(t, s, dir)
		evs, cancel := s.Events()
		defer cancel()
		if r := mosquittoPub(t, s, dir, pki.FileDeviceBundle, "anyclientID", "foo/bar"); r.code != 7 {
			t.Fatalf("first connect: exit %d\n%s", r.code, r.out)
		}
		id := pki.CertID(mustCert(t, dir+"/"+pki.FileDeviceCert))
		d, err := iotc.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: &id})
		if err != nil || d.CertificateDescription.Status != iottypes.CertificateStatusPendingActivation {
			t.Fatalf("certificate right after the first connect: %+v, %v", d, err)
		}
		if r := mosquittoPub(t, s, dir, pki.FileDeviceCert, "Slow", "Slow/test"); r.code != 7 || strings.Contains(r.out, "CONNACK") {
			t.Fatalf("reconnect at once: exit %d\n%s", r.code, r.out)
		}
		for {
			ev := waitEvent(t, evs, store.EventConnectRefused)
			if strings.Contains(ev.Message, "JITP is still provisioning it") {
				break
			}
		}

		certARN := *d.CertificateDescription.CertificateArn
		if _, err := iotc.CreateThing(ctx, &iot.CreateThingInput{ThingName: sdkaws.String("Other")}); err != nil {
			t.Fatal(err)
		}
		if _, err := iotc.AttachThingPrincipal(ctx, &iot.AttachThingPrincipalInput{ThingName: sdkaws.String("Other"), Principal: &certARN}); err != nil {
			t.Fatal(err)
		}
		if _, err := iotc.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: sdkaws.String("Other"), Principal: &certARN}); err != nil {
			t.Fatal(err)
		}
		_, err = iotc.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: sdkaws.String("Other")})
		wantCode(t, err, "InvalidRequestException")

		if _, err := iotc.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: sdkaws.String("P"), PolicyDocument: sdkaws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := iotc.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: sdkaws.String("P"), Target: &certARN}); err != nil {
			t.Fatal(err)
		}
		if _, err := iotc.DetachPolicy(ctx, &iot.DetachPolicyInput{PolicyName: sdkaws.String("P"), Target: &certARN}); err != nil {
			t.Fatal(err)
		}
		_, err = iotc.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: sdkaws.String("P")})
		wantCode(t, err, "DeleteConflictException")
	})

	t.Run("a new role", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := slow(t, dir, Latency{RoleUsable: time.Hour})
		iotc, _ := setup(t, s, dir)
		if r := mosquittoPub(t, s, dir, pki.FileDeviceBundle, "anyclientID", "foo/bar"); r.code != 7 {
			t.Fatalf("first connect: exit %d\n%s", r.code, r.out)
		}
		var failed store.Event
		for _, ev := range s.EventLog(0) {
			if ev.Kind == store.EventProvisioningFailed {
				failed = ev
			}
		}
		if !strings.Contains(failed.Message, "AWS IoT cannot use it yet") {
			t.Fatalf("provisioning with a role created a moment ago: %+v", failed)
		}
		id := pki.CertID(mustCert(t, dir+"/"+pki.FileDeviceCert))
		if d, err := iotc.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: &id}); err != nil || d.CertificateDescription.Status != iottypes.CertificateStatusPendingActivation {
			t.Fatalf("certificate: %+v, %v", d, err)
		}
	})
}

func mustCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pki.ParseCertPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzParseLatency: any --latency value is read or refused with a message naming the
// flag, never a panic, and what is read writes back as the same latency.
func FuzzParseLatency(f *testing.F) {
	for _, s := range []string{"", "none", "aws", "aws,policy-delete=30s", "provisioning=1h2m3.5s,role=0", "detach=-1s", "x=y", ",,aws,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLatency(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--latency ") {
				t.Fatalf("error does not name the flag: %v", err)
			}
			return
		}
		again, err := ParseLatency(l.String())
		if err != nil || again != l {
			t.Fatalf("ParseLatency(%q) = %+v writes back as %q = %+v, %v", s, l, l.String(), again, err)
		}
	})
}
