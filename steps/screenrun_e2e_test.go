package steps_test

// End-to-end tests of issue 16's run/clean items: the real binary against the embedded IoT Core.

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
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
	if len(d.EarlierCerts) != 1 || d.EarlierCerts[0].CertID != old || d.CertID == old {
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

// TestE2EUntilFrom: --until stops after a step (exit 0, nothing after it ran or registered),
// --from refuses while a step before it is not done, runs on from its step, and runs again
// the steps from it that are done.
func TestE2EUntilFrom(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	r := mustFail(t, "--from 11 on a new workspace ran", "run", "--dir", dir, "--yes", "--from", "11")
	if !strings.Contains(r.all(), "--from 11: step 1 (CA key) before it is not done yet") {
		t.Errorf("--from on a new workspace should name the first step not done:\n%s", r)
	}
	r = mustRun(t, "run", "--dir", dir, "--yes", "--until", "10")
	if !strings.Contains(r.out, "✓ 10/13 Server trust") || strings.Contains(r.out, "11/13") ||
		!strings.Contains(r.out, "✓ stopped after step 10 (Server trust), as --until asked") {
		t.Fatalf("--until 10 should stop after step 10:\n%s", r.out)
	}
	s := session(t, dir)
	if _, err := s.Client().DescribeCertificate(context.Background(), s.DeviceFor(steps.DefaultThing).CertID); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("the device certificate is registered after --until 10 (no first connect should have run): %v", err)
	}
	s.Close()
	r = mustRun(t, "run", "--dir", dir, "--from", "first-connect", "--until", "11")
	if !strings.Contains(r.out, "✓ 11/13 First connect") || strings.Contains(r.out, "12/13") {
		t.Fatalf("--from first-connect --until 11 should run step 11 only:\n%s", r.out)
	}
	r = mustRun(t, "run", "--dir", dir, "--from", "12")
	if !strings.Contains(r.out, "✓ 12/13 Verify") || !strings.Contains(r.out, "✓ 13/13 Use it") || !strings.Contains(r.out, "published as itself") {
		t.Fatalf("--from 12 should finish the procedure:\n%s", r.out)
	}
	r = mustRun(t, "run", "--dir", dir, "--from", "11")
	for _, n := range []string{"11/13 First connect", "12/13 Verify", "13/13 Use it"} {
		if !strings.Contains(r.out, "↻ "+n) || !strings.Contains(lineWith(r.out, "↻ "+n), "--from 11 runs it again") {
			t.Errorf("--from 11 on a finished workspace should run %s again, saying why:\n%s", n, r.out)
		}
	}
	if strings.Contains(r.out, "10/13 Server trust         ") && !strings.Contains(lineWith(r.out, "10/13"), "done before") {
		t.Errorf("--from 11 ran step 10 again:\n%s", r.out)
	}
	r = mustFail(t, "--until before --from was accepted", "run", "--dir", dir, "--from", "12", "--until", "11")
	if !strings.Contains(r.all(), "--until 11 comes before --from 12") {
		t.Errorf("--until before --from:\n%s", r)
	}
}

// TestE2ECommandsOnFinishedWorkspace: `run --commands` on a finished workspace prints every
// step's commands, and a heredoc among them pastes: bash, given the lines as printed, writes
// the same OpenSSL conf as step 2 did.
func TestE2ECommandsOnFinishedWorkspace(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	r := mustRun(t, "run", "--dir", dir, "--commands")
	for _, c := range []string{"$ openssl genrsa -out deviceRootCA.key", "$ aws iot register-ca-certificate", "$ mosquitto_rr ", "$ mosquitto_pub "} {
		if !strings.Contains(r.out, c) {
			t.Errorf("the finished workspace's commands lack %q:\n%s", c, r.out)
		}
	}
	_, rest, ok := strings.Cut(r.out, "$ cat > deviceRootCA_openssl.conf <<'EOF'\n")
	if !ok {
		t.Fatalf("no heredoc of step 2:\n%s", r.out)
	}
	body, _, ok := strings.Cut(rest, "\nEOF\n")
	if !ok {
		t.Fatalf("the heredoc's EOF does not stand alone at the start of its line:\n%s", r.out)
	}
	tmp := t.TempDir()
	if out, err := byHand(tmp, "cat > deviceRootCA_openssl.conf <<'EOF'\n"+body+"\nEOF\n"); err != nil {
		t.Fatalf("the pasted heredoc: %v\n%s", err, out)
	}
	if got, want := fileHash(t, filepath.Join(tmp, "deviceRootCA_openssl.conf")), fileHash(t, filepath.Join(dir, "deviceRootCA_openssl.conf")); got != want {
		t.Errorf("the pasted heredoc wrote another file than step 2")
	}
}

// TestE2EClosingSummaryCommands: the summary at the end of a run names the IDs, ARNs and
// files, and its next commands run as printed: against a `jitpwiz local` that served the run,
// the subscribe+publish round trip (mosquitto_rr) gets the thing's own message back, the
// publish succeeds, and doctor passes.
func TestE2EClosingSummaryCommands(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "mosquitto_rr")
	dir := filepath.Join(t.TempDir(), "ws")
	startJitpwizLocal(t, "--dir", dir)
	r := mustRun(t, "run", "--dir", dir, "--yes")
	_, sum, ok := strings.Cut(r.out, "\nWhat you have:\n")
	if !ok {
		t.Fatalf("no closing summary:\n%s", r.out)
	}
	s := session(t, dir) // reads the session file; the IoT Core is the shared one
	d := s.DeviceFor(steps.DefaultThing)
	for _, want := range []string{d.CertID, d.CertARN, s.CA.RegisteredID, s.CA.RegisteredARN, s.Role.ARN, filepath.Join(dir, "deviceCert.key"), filepath.Join(dir, "awsRootCA.pem")} {
		if !strings.Contains(sum, want) {
			t.Errorf("the summary lacks %s:\n%s", want, sum)
		}
	}
	s.Close()
	_, next, _ := strings.Cut(sum, "Next, by hand:\n")
	var cmds []string
	for _, l := range strings.Split(strings.TrimRight(next, "\n"), "\n") {
		c, ok := strings.CutPrefix(l, "  $ ")
		if !ok {
			t.Fatalf("summary line %q is not a command", l)
		}
		cmds = append(cmds, c)
	}
	if len(cmds) < 5 || !strings.HasPrefix(cmds[0], "cd ") {
		t.Fatalf("the next commands should start with cd into the workspace (jitpwiz local serves it already):\n%s", next)
	}
	script := strings.Join(cmds[:3], "\n")
	script = strings.ReplaceAll(script, "jitpwiz doctor", binary+" doctor")
	out, err := byHand(t.TempDir(), "set -e\n"+script)
	if err != nil || !strings.Contains(out, "Hello from DemoThing") {
		t.Fatalf("the summary's subscribe and publish commands: %v\n%s\n%s", err, script, out)
	}
	out, err = byHand(t.TempDir(), strings.ReplaceAll(cmds[0]+"\n"+cmds[3], "jitpwiz doctor", binary+" doctor"))
	if err != nil {
		t.Errorf("the summary's doctor command: %v\n%s", err, out)
	}
}

// TestE2EFirstConnectAutoRegistrationOff: with auto-registration DISABLE, run's step 11 says the
// connection was dropped and that it checks whether JITP ran, shows the polls, and its ✗ line's
// fix names the region and the endpoint of the workspace's IoT Core; a successful first connect
// ends with the verdict that the drop was the expected JITP behaviour.
func TestE2EFirstConnectAutoRegistrationOff(t *testing.T) {
	t.Parallel()
	dir, _ := runFresh(t, "--until", "10")
	s := session(t, dir)
	if err := s.Client().UpdateCA(context.Background(), s.CA.RegisteredID, aws.UpdateCAInput{NewAutoRegistrationStatus: aws.AutoRegDisable}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	r := mustFail(t, "the first connect passed with auto-registration off", "run", "--dir", dir)
	checking := strings.Index(r.out, "the broker dropped the connection without CONNACK — checking whether JITP ran")
	poll := strings.Index(r.out, "certificate status after ")
	if checking < 0 || poll < checking || strings.Contains(r.out, "expected JITP behaviour") {
		t.Errorf("step 11 should say it checks whether JITP ran, then poll, and never call the drop expected:\n%s", r.out)
	}
	l := lineWith(r.out, "✗ 11/13 First connect")
	if !regexp.MustCompile(`aws iot update-ca-certificate --certificate-id [0-9a-f]{64} --new-auto-registration-status ENABLE --region us-east-2 --endpoint-url http://127\.0\.0\.1:\d+`).MatchString(l) {
		t.Errorf("the fix on the ✗ line does not name the workspace's region and endpoint:\n%s", l)
	}
	r = mustRun(t, "run", "--dir", dir)
	if !strings.Contains(r.out, "JITP ran: the certificate is ACTIVE after") || !strings.Contains(r.out, "the drop was the expected JITP behaviour") {
		t.Errorf("a first connect that provisions should end with the verdict:\n%s", r.out)
	}
}

// TestE2EAdminWarningOnce: run with the admin template says its labs-only warning once.
func TestE2EAdminWarningOnce(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "run", "--dir", filepath.Join(t.TempDir(), "ws"), "--yes", "--template", "admin", "--until", "7")
	if n := strings.Count(r.out, "labs only"); n != 1 {
		t.Errorf("the admin warning is said %d times:\n%s", n, r.out)
	}
}

// TestE2ETemplateNeedsOrganization: run with a template that needs the device certificate's
// Organization says which flag gives it, and with it the device is provisioned with it.
func TestE2ETemplateNeedsOrganization(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	tpl, err := filepath.Abs("testdata/template-needs-org.json") // the thing's attribute org is the certificate's O
	if err != nil {
		t.Fatal(err)
	}
	r := mustFail(t, "a template needing O passed without it", "run", "--dir", dir, "--yes", "--template", tpl)
	if l := r.out[strings.Index(r.out, "✗  7/13"):]; !strings.Contains(l, "needs the Organization (O): give --org VALUE") {
		t.Errorf("step 7 should name the flag that gives the Organization:\n%s", r.out)
	}
	mustRun(t, "run", "--dir", dir, "--org", "Acme")
	s := session(t, dir)
	if th, err := s.Client().DescribeThing(context.Background(), steps.DefaultThing); err != nil || th.Attributes["org"] != "Acme" {
		t.Errorf("thing %+v (%v): want org=Acme", th, err)
	}
}
