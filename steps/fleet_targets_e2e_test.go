package steps_test

import (
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

// The fleet with what the workspace can be besides a local JITP workspace in us-east-2:
// AWS's timing, another partition, another jitpwiz holding the workspace, --port 443 and
// --mode jitr.

// fleetReport reads the report `jitpwiz fleet --json` prints.
func fleetReport(t *testing.T, r runResult) *steps.FleetReport {
	t.Helper()
	var rep steps.FleetReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("the fleet's stdout is not its report: %v\n%s", err, r)
	}
	return &rep
}

// fleetDevices are the fleet's things and certificate IDs, from its CSV.
func fleetDevices(t *testing.T, rep *steps.FleetReport) map[string]string {
	t.Helper()
	b, err := os.ReadFile(rep.CSV)
	if err != nil {
		t.Fatal(err)
	}
	devs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		f := strings.Split(line, ",")
		devs[f[1]] = f[2]
	}
	if len(devs) != rep.Devices {
		t.Fatalf("%d devices in %s, the report says %d", len(devs), rep.CSV, rep.Devices)
	}
	return devs
}

// fleetGone fails unless every thing and certificate of devs is gone from the target.
func fleetGone(t *testing.T, c aws.Client, devs map[string]string, when string) {
	t.Helper()
	ctx := context.Background()
	for thing, id := range devs {
		if _, err := c.DescribeThing(ctx, thing); !aws.IsKind(err, aws.KindNotFound) {
			t.Errorf("%s: thing %s is still there: %v", when, thing, err)
		}
		if _, err := c.DescribeCertificate(ctx, id); !aws.IsKind(err, aws.KindNotFound) {
			t.Errorf("%s: the certificate of %s is still there: %v", when, thing, err)
		}
	}
}

// TestE2EFleetCleanOnAWSTiming: on an IoT Core with AWS's timing (a DetachThingPrincipal
// that takes effect seconds later, DeletePolicy refused for a while after a detach), clean
// removes every device of a fleet — it waits for each detach instead of failing on the
// certificate's delete —, keeps (•) the policy the workspace's own device still holds with
// --fleet, and the full clean removes a second fleet, the device, the policy (after waiting
// for it) and the CA.
func TestE2EFleetCleanOnAWSTiming(t *testing.T) {
	t.Parallel()
	core := startAWSCore(t, "us-east-2", local.Latency{DetachThingPrincipal: 2 * time.Second, PolicyDeleteAfterDetach: 4 * time.Second})
	dir := filepath.Join(t.TempDir(), "ws")
	if r := core.run(t, append([]string{"run", "--dir", dir, "--yes"}, core.flags()...)...); r.err != nil {
		t.Fatalf("run --target aws against the core:\n%s", r)
	}
	cl := core.client(t)
	ctx := context.Background()

	r := core.run(t, "fleet", "--dir", dir, "-n", "6", "--json")
	rep := fleetReport(t, r)
	if r.err != nil || rep.Provisioned != 6 || rep.Target != steps.TargetAWS || len(rep.Policies) != 1 {
		t.Fatalf("fleet on the aws target: %+v\n%s", rep, r)
	}
	first := fleetDevices(t, rep)
	r = core.run(t, "clean", "--dir", dir, "--fleet", rep.Fleet, "--yes")
	if r.err != nil {
		t.Fatalf("clean --fleet:\n%s", r)
	}
	for _, want := range []string{"AWS IoT is still detaching the certificate from thing Fleet-", "✓ remove fleet " + rep.Fleet, "• delete policy"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("clean --fleet output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "✗") || strings.Contains(r.out, "delete CA") {
		t.Errorf("clean --fleet failed something or went beyond the fleet:\n%s", r.out)
	}
	fleetGone(t, cl, first, "after clean --fleet")
	if _, err := cl.GetPolicy(ctx, rep.Policies[0]); err != nil {
		t.Errorf("the policy the workspace's device holds was deleted by clean --fleet: %v", err)
	}

	r = core.run(t, "fleet", "--dir", dir, "-n", "4", "--json")
	second := fleetReport(t, r)
	if r.err != nil || second.Provisioned != 4 {
		t.Fatalf("second fleet: %+v\n%s", second, r)
	}
	devs := fleetDevices(t, second)
	r = core.run(t, "clean", "--dir", dir, "--yes")
	if r.err != nil {
		t.Fatalf("clean:\n%s", r)
	}
	for _, want := range []string{"✓ delete thing " + steps.DefaultThing, "✓ remove fleet " + second.Fleet, "AWS refuses to delete policy",
		"✓ delete policy " + rep.Policies[0][:12], "✓ delete CA"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("clean output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "✗") || strings.Contains(r.out, "remove fleet "+rep.Fleet) {
		t.Errorf("clean failed something, or listed the fleet removed before:\n%s", r.out)
	}
	fleetGone(t, cl, devs, "after clean")
	if _, err := cl.GetPolicy(ctx, rep.Policies[0]); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("policy %s after clean said ✓: %v", rep.Policies[0], err)
	}
	if cas, err := cl.ListCAs(ctx); err != nil || len(cas) != 0 {
		t.Errorf("CAs after clean: %v %v", cas, err)
	}
}

// TestE2EFleetPartition: a fleet in cn-north-1 (partition aws-cn) on the local core: its
// certificates are the things' principals under arn:aws-cn:, and clean --fleet, which
// detaches them by those ARNs, removes every device.
func TestE2EFleetPartition(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t, "--region", "cn-north-1")
	r := mustRun(t, "fleet", "--dir", dir, "-n", "5", "--json")
	rep := fleetReport(t, r)
	if rep.Provisioned != 5 || rep.Region != "cn-north-1" {
		t.Fatalf("fleet in cn-north-1: %+v\n%s", rep, r)
	}
	devs := fleetDevices(t, rep)
	s := session(t, dir)
	ctx := context.Background()
	for thing, id := range devs {
		want := aws.CertificateARN("cn-north-1", s.Account, id)
		if !strings.HasPrefix(want, "arn:aws-cn:iot:cn-north-1:") {
			t.Fatalf("aws.CertificateARN in cn-north-1: %s", want)
		}
		if ps, err := s.Client().ListThingPrincipals(ctx, thing); err != nil || len(ps) != 1 || ps[0] != want {
			t.Fatalf("thing %s: principals %v (%v), want [%s]", thing, ps, err, want)
		}
	}
	s.Close()
	r = mustRun(t, "clean", "--dir", dir, "--fleet", "all", "--yes")
	if !strings.Contains(r.out, "✓ remove fleet "+rep.Fleet) || strings.Contains(r.out, "✗") {
		t.Fatalf("clean --fleet in cn-north-1:\n%s", r)
	}
	s = session(t, dir)
	fleetGone(t, s.Client(), devs, "after clean --fleet")
}

// TestE2EFleetCleanRespectsLock: clean --fleet refuses while another jitpwiz holds the
// workspace, and removes nothing; once it is free it removes the fleet.
func TestE2EFleetCleanRespectsLock(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	rep := fleetReport(t, mustRun(t, "fleet", "--dir", dir, "-n", "3", "--json"))
	devs := fleetDevices(t, rep)
	f, locked, err := store.TryLockFile(filepath.Join(dir, steps.LockFile))
	if err != nil || !locked {
		t.Fatalf("lock: %v %v", locked, err)
	}
	_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	r := jitpwiz(t, "clean", "--dir", dir, "--fleet", "all", "--yes")
	store.UnlockFile(f)
	if r.err == nil || !strings.Contains(r.all(), "is using workspace") || !strings.Contains(r.all(), strconv.Itoa(os.Getpid())) || strings.Contains(r.all(), "remove fleet") {
		t.Fatalf("clean --fleet while the workspace is locked must refuse before listing anything, naming the holder:\n%s", r)
	}
	s := session(t, dir)
	ctx := context.Background()
	for thing := range devs {
		if _, err := s.Client().DescribeThing(ctx, thing); err != nil {
			t.Fatalf("thing %s after the refused clean: %v", thing, err)
		}
	}
	s.Close()
	if r := mustRun(t, "clean", "--dir", dir, "--fleet", "all", "--yes"); !strings.Contains(r.out, "✓ remove fleet "+rep.Fleet) {
		t.Fatalf("once the lock is free clean --fleet runs:\n%s", r)
	}
}

// TestE2EFleetModes: a fleet of a --port 443 workspace connects with ALPN x-amzn-mqtt-ca as
// the workspace's device does, and is provisioned; a --mode jitr workspace, where no
// template provisions devices, is refused with what to do instead.
func TestE2EFleetModes(t *testing.T) {
	t.Parallel()
	t.Run("port443", func(t *testing.T) {
		t.Parallel()
		dir := completedWorkspace(t, "--port", "443")
		r := mustRun(t, "fleet", "--dir", dir, "-n", "3", "--json")
		if rep := fleetReport(t, r); rep.Provisioned != 3 {
			t.Fatalf("fleet of a --port 443 workspace: %+v\n%s", rep, r)
		}
	})
	t.Run("jitr", func(t *testing.T) {
		t.Parallel()
		dir := completedWorkspace(t, "--mode", "jitr")
		r := mustFail(t, "a fleet of a JITR workspace must be refused", "fleet", "--dir", dir, "-n", "3")
		if !strings.Contains(r.errOut, "--mode jitr") || !strings.Contains(r.errOut, "jitpwiz run --dir") || strings.Contains(r.all(), "provisioned") {
			t.Fatalf("JITR workspace:\n%s", r)
		}
		if _, err := os.Stat(filepath.Join(dir, steps.FleetDir)); !os.IsNotExist(err) {
			t.Errorf("the refused fleet left %s: %v", steps.FleetDir, err)
		}
	})
}
