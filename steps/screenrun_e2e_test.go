package steps_test

// End-to-end tests of issue 16's run/clean items: the real binary against the embedded IoT Core.

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws"
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
