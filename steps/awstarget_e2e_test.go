package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/steps"
)

// awsCore is a local IoT Core standing in for AWS: jitpwiz reaches it with --target aws
// (the aws-target code path: SDK config chain, static credentials from the environment,
// --endpoint-url, --mqtt-endpoint and --server-ca), with AWS's timing where a script can
// notice it (local.Latency, short here).
type awsCore struct {
	*local.Server
	env []string // a clean AWS environment with the core's dummy credentials
}

func startAWSCore(t *testing.T, region string, lat local.Latency) *awsCore {
	t.Helper()
	srv, err := local.Start(context.Background(), local.Options{Dir: t.TempDir(), Region: region,
		APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", Latency: lat})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &awsCore{Server: srv, env: awsEnv(t, local.AccessKeyID, local.SecretAccessKey)}
}

// awsEnv is this process's environment without any AWS_ variable or home directory of the
// machine, with static credentials: what the AWS SDK's default chain then finds is only these.
func awsEnv(t *testing.T, keyID, secret string) []string {
	t.Helper()
	home := t.TempDir()
	empty := filepath.Join(home, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "NO_COLOR=1", "HOME="+home, "AWS_CONFIG_FILE="+empty, "AWS_SHARED_CREDENTIALS_FILE="+empty,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret)
	return env
}

// flags are the --target aws flags that point jitpwiz at the core.
func (c *awsCore) flags() []string {
	return []string{"--target", "aws", "--endpoint-url", c.EndpointURL(), "--region", c.Region(),
		"--mqtt-endpoint", c.MQTTHost() + ":" + strconv.Itoa(c.MQTTPort()), "--server-ca", c.RootCAPath()}
}

// run runs the binary in the core's environment.
func (c *awsCore) run(t *testing.T, args ...string) runResult {
	t.Helper()
	return runEnv(t, c.env, args...)
}

func (c *awsCore) client(t *testing.T) aws.Client {
	t.Helper()
	cl, err := aws.New(context.Background(), aws.Config{EndpointURL: c.EndpointURL(), Region: c.Region(),
		StaticAccessKeyID: local.AccessKeyID, StaticSecretKey: local.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func readSession(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, steps.SessionFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestE2EAWSTargetOnAWSTiming runs the aws target against an IoT Core with AWS's timing:
// a fresh role AWS IoT cannot use for seconds (the first connect reconnects instead of
// diagnosing), a DetachThingPrincipal that takes effect later (clean waits for it), and a
// DeletePolicy refused for a while after a detach (clean waits and retries, or records the
// policy as pending for the next clean — never a ✓ for a policy still there).
func TestE2EAWSTargetOnAWSTiming(t *testing.T) {
	t.Parallel()
	core := startAWSCore(t, "us-east-2", local.Latency{RoleUsable: 5 * time.Second, DetachThingPrincipal: 2 * time.Second, PolicyDeleteAfterDetach: 6 * time.Second})
	dir := filepath.Join(t.TempDir(), "ws")
	r := core.run(t, append([]string{"run", "--dir", dir, "--yes"}, core.flags()...)...)
	if r.err != nil || !strings.Contains(r.out, "published as itself") {
		t.Fatalf("run --target aws against the core:\n%s", r)
	}
	for _, want := range []string{"IoT, IAM and STS at " + core.EndpointURL(), "MQTT at " + core.MQTTHost(),
		"was created", "IAM may not have propagated it to AWS IoT yet — connecting again in", "provisioned on reconnect"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("run output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "delete the certificate") {
		t.Errorf("the first connect advised deleting the certificate while the role propagated:\n%s", r.out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "awsRootCA.pem")); err != nil || !bytes.Equal(b, core.RootCAPEM()) {
		t.Errorf("awsRootCA.pem is not the --server-ca file: %v", err)
	}
	sess := readSession(t, dir)
	pols, _ := sess["devices"].(map[string]any)[steps.DefaultThing].(map[string]any)["policies"].([]any)
	if len(pols) == 0 {
		t.Fatalf("no policy recorded for the device: %v", sess["devices"])
	}
	policy := pols[0].(string)

	// clean: waits for the asynchronous detach and for the policy to become deletable.
	r = core.run(t, "clean", "--dir", dir, "--yes")
	if r.err != nil {
		t.Fatalf("clean:\n%s", r)
	}
	for _, want := range []string{"AWS IoT is still detaching the certificate from thing " + steps.DefaultThing, "AWS refuses to delete policy",
		"left)", "✓ delete policy", "✓ delete CA"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("clean output lacks %q:\n%s", want, r.out)
		}
	}
	ctx := context.Background()
	cl := core.client(t)
	if _, err := cl.GetPolicy(ctx, policy); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("policy %s is still there after clean said ✓: %v", policy, err)
	}
	if _, err := cl.DescribeThing(ctx, steps.DefaultThing); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("thing still there: %v", err)
	}

	// Provision again, then clean without waiting: the policy is not ✓, it is recorded as
	// pending, and the next clean deletes it.
	if r = core.run(t, "run", "--dir", dir, "--yes"); r.err != nil {
		t.Fatalf("second run:\n%s", r)
	}
	r = core.run(t, "clean", "--dir", dir, "--yes", "--wait", "0")
	if r.err == nil || !strings.Contains(r.out, "✗ delete policy") || !strings.Contains(r.out, "the next `jitpwiz clean` deletes it") ||
		strings.Contains(r.out, "✓ delete policy") || !strings.Contains(r.out, "✓ delete CA") {
		t.Fatalf("clean --wait 0 must leave the policy pending (✗, exit non-zero) and still remove the rest:\n%s", r)
	}
	if p, _ := readSession(t, dir)["pendingPolicyDeletes"].([]any); len(p) != 1 || p[0] != policy {
		t.Errorf("pendingPolicyDeletes = %v, want [%s]", p, policy)
	}
	if _, err := cl.GetPolicy(ctx, policy); err != nil {
		t.Errorf("the pending policy should still exist: %v", err)
	}
	r = core.run(t, "clean", "--dir", dir, "--yes")
	if r.err != nil || !strings.Contains(r.out, "✓ delete policy "+policy[:12]) {
		t.Fatalf("the next clean must finish the pending policy:\n%s", r)
	}
	if _, err := cl.GetPolicy(ctx, policy); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("pending policy %s still there: %v", policy, err)
	}
	if p, ok := readSession(t, dir)["pendingPolicyDeletes"]; ok {
		t.Errorf("pendingPolicyDeletes not cleared: %v", p)
	}
	if r = core.run(t, "clean", "--dir", dir, "--yes"); !strings.Contains(r.out, "nothing to clean") {
		t.Errorf("a third clean should have nothing to do:\n%s", r)
	}
}

// TestE2ECleanRefusesWhileLocked: clean refuses while another jitpwiz holds the workspace
// (it may have registered what it has not saved yet), instead of "nothing to clean".
func TestE2ECleanRefusesWhileLocked(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, steps.SessionFile), []byte(`{"version":1,"options":{"target":"local"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, locked, err := store.TryLockFile(filepath.Join(dir, steps.LockFile))
	if err != nil || !locked {
		t.Fatalf("lock: %v %v", locked, err)
	}
	_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	r := jitpwiz(t, "clean", "--dir", dir, "--yes")
	store.UnlockFile(f)
	if r.err == nil || strings.Contains(r.all(), "nothing to clean") || !strings.Contains(r.all(), "is using workspace") || !strings.Contains(r.all(), strconv.Itoa(os.Getpid())) {
		t.Fatalf("clean while the workspace is locked must refuse, naming the holder:\n%s", r)
	}
	if r := mustRun(t, "clean", "--dir", dir, "--yes"); !strings.Contains(r.out, "nothing to clean") {
		t.Errorf("once the lock is free clean runs:\n%s", r)
	}
}

// TestE2EAWSRegionChange: a region change on a workspace says what it redoes and what it
// leaves behind.
func TestE2EAWSRegionChange(t *testing.T) {
	t.Parallel()
	east := startAWSCore(t, "us-east-2", local.Latency{})
	west := startAWSCore(t, "eu-west-1", local.Latency{})
	dir := filepath.Join(t.TempDir(), "ws")
	if r := east.run(t, append([]string{"run", "--dir", dir, "--yes", "--stop-after", "register-ca"}, east.flags()...)...); !strings.Contains(r.out, "8/13 Register CA") {
		t.Fatalf("first run:\n%s", r)
	}
	r := west.run(t, append([]string{"run", "--dir", dir, "--yes", "--stop-after", "registration-code"}, west.flags()...)...)
	if !strings.Contains(r.out, "region changed: us-east-2 → eu-west-1") || !strings.Contains(r.out, "runs again in eu-west-1") || !strings.Contains(r.out, "stays there") {
		t.Fatalf("the region change is not explained:\n%s", r)
	}
}
