package steps_test

// End-to-end tests of issue 16's run/clean items: the real binary against the embedded IoT Core.

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps"
)

// TestE2ENamedYesDoesNotCreatePolicy: --yes accepts the defaults, and the named template's
// default is "I create it myself" — the missing policy is the failure it is on AWS, and
// nothing creates it; --create-policy stays the explicit way.
func TestE2ENamedYesDoesNotCreatePolicy(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	r := mustFail(t, "--yes created the named policy", "run", "--dir", dir, "--yes", "--template", "named", "--policy-name", "NotThere")
	l := lineWith(r.out, "✗  7/13 Template")
	if !strings.Contains(l, `"NotThere", which does not exist`) || !strings.Contains(l, "--create-policy") {
		t.Fatalf("step 7 should fail naming the missing policy and --create-policy:\n%s", r.out)
	}
	s := session(t, dir)
	if _, err := s.Client().GetPolicy(context.Background(), "NotThere"); !aws.IsKind(err, aws.KindNotFound) {
		t.Fatalf("the policy exists after run --yes (GetPolicy: %v)", err)
	}
	if s.Template.PolicyCreated {
		t.Error("the session records the policy as created")
	}
}

// TestE2EReissuedDeviceVerifyAndClean: a device re-issued on a finished workspace (another
// country) keeps its old certificate ACTIVE and attached to the thing. Verify lists it and
// flags it, and says that the thing's country is not the new certificate's (✗); clean removes
// both certificates, the thing and the CA; a second clean has nothing left to remove.
func TestE2EReissuedDeviceVerifyAndClean(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	s := session(t, dir)
	old := s.DeviceFor(steps.DefaultThing).CertID
	s.Close() // it holds the local IoT Core's state: free it before the binary runs again
	r := mustFail(t, "verify passed although the thing kept country IN", "run", "--dir", dir, "--country", "US", "--yes")
	if l := lineWith(r.out, "✗ thing has the template's attributes"); !strings.Contains(l, `country="US" (got "IN")`) {
		t.Errorf("verify: the differing attribute is not ✗:\n%s", r.out)
	}
	if l := lineWith(r.out, "also attached to DemoThing: certificate "+old); !strings.Contains(l, "ACTIVE") {
		t.Errorf("verify does not list the old certificate attached to the thing:\n%s", r.out)
	}
	if l := lineWith(r.out, "! certificate "+old[:12]); !strings.Contains(l, "still ACTIVE") || !strings.Contains(l, "--endpoint-url") {
		t.Errorf("verify does not flag the old ACTIVE certificate (with a command that works here):\n%s", r.out)
	}
	s = session(t, dir)
	d := s.DeviceFor(steps.DefaultThing)
	if len(d.EarlierCerts) != 1 || d.EarlierCerts[0].ID != old || d.CertID == old {
		t.Fatalf("earlier certificates %+v (current %s, old %s)", d.EarlierCerts, d.CertID, old)
	}
	certs, caID := []string{old, d.CertID}, s.CA.RegisteredID
	s.Close()
	r = mustRun(t, "clean", "--dir", dir, "--yes")
	for _, id := range certs {
		if !strings.Contains(r.out, "✓ delete certificate "+id[:12]) {
			t.Errorf("clean did not delete certificate %s:\n%s", id, r.out)
		}
	}
	if !strings.Contains(r.out, "✓ delete thing DemoThing") || strings.Contains(r.out, "✗") {
		t.Errorf("clean did not finish:\n%s", r.out)
	}
	s = session(t, dir)
	ctx := context.Background()
	for _, id := range certs {
		if _, err := s.Client().DescribeCertificate(ctx, id); !aws.IsKind(err, aws.KindNotFound) {
			t.Errorf("certificate %s still there: %v", id, err)
		}
	}
	if _, err := s.Client().DescribeThing(ctx, steps.DefaultThing); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("thing still there: %v", err)
	}
	if ca, err := s.Client().FindCA(ctx, caID); err != nil || ca != nil {
		t.Errorf("CA still there: %v %v", ca, err)
	}
	s.Close()
	r = mustRun(t, "clean", "--dir", dir, "--yes")
	if !strings.Contains(r.out, "nothing left to remove") || strings.Contains(r.out, "has not registered anything") {
		t.Errorf("a second clean should say nothing is left to remove:\n%s", r.out)
	}
}
