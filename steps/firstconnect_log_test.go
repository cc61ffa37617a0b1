package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps"
)

// TestFirstConnectStopsOnProvisioningFailure: the template registered with the CA is
// changed behind the workspace's back to need O, which a new device's certificate lacks.
// The local IoT Core records the failed provisioning before it drops the connection, so
// step 11 stops polling the certificate at its first status (not after the 5 s timeout)
// and reports the failure with AWS's message.
func TestFirstConnectStopsOnProvisioningFailure(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	mustRun(t, "run", "--dir", dir, "--yes")
	ctx := context.Background()

	s := session(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, steps.FileTemplate))
	if err != nil {
		t.Fatal(err)
	}
	var rc aws.RegistrationConfig
	if err := json.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(rc.TemplateBody), &body); err != nil {
		t.Fatal(err)
	}
	body["Parameters"].(map[string]any)["AWS::IoT::Certificate::Organization"] = map[string]any{"Type": "String"}
	props := body["Resources"].(map[string]any)["thing"].(map[string]any)["Properties"].(map[string]any)
	props["AttributePayload"].(map[string]any)["org"] = map[string]any{"Ref": "AWS::IoT::Certificate::Organization"}
	nb, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	rc.TemplateBody = string(nb)
	if err := s.Client().UpdateCA(ctx, s.CA.RegisteredID, aws.UpdateCAInput{RegistrationConfig: &rc}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2, err := steps.Open(steps.Options{Dir: dir, Thing: "Second", Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var out bytes.Buffer
	err = steps.NewPlan(s2).Run(ctx, steps.RunConfig{Out: &out})
	if !steps.Reported(err) || !strings.Contains(err.Error(), "step 11") {
		t.Fatalf("want step 11 to fail (reported), got %v\n%s", err, out.String())
	}
	failed := lineWith(out.String(), "✗ 11/13")
	if !strings.Contains(failed, "Cannot resolve reference value") || !strings.Contains(failed, "Organization") {
		t.Errorf("step 11 should fail with AWS's message about the Organization reference:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "· certificate status after"); n != 1 {
		t.Errorf("the recorded failure should stop the status polling at the first poll, polled %d times:\n%s", n, out.String())
	}
}
