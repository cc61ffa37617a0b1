package aws_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/aws/local/localtest"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// Resources made by the real AWS CLI (the walkthrough's own tool) are detected and
// reused by the client: a role created by hand with only one policy attached, a CA
// registered by hand, a policy created by hand.
func TestClientReusesWhatTheAWSCLIMade(t *testing.T) {
	testtool.Need(t, "/usr/bin/aws")
	t.Parallel()
	l := localtest.Start(t)
	dir := t.TempDir()
	cli := func(args ...string) string {
		t.Helper()
		// The CLI's own code, in testtool's shared driver (one Python start-up per binary).
		r := testtool.AWSCLI(t, testtool.AWSCLICommand{Script: "/usr/bin/aws",
			Args: append(args, "--endpoint-url", l.URL, "--region", testRegion, "--output", "text"), Dir: dir,
			Env: append(os.Environ(), "AWS_ACCESS_KEY_ID="+local.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+local.SecretAccessKey,
				"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"), "AWS_PAGER="),
			Combined: true})
		if r.Code != 0 {
			t.Fatalf("aws %s: exit status %d\n%s", strings.Join(args, " "), r.Code, r.Stdout)
		}
		return strings.TrimSpace(r.Stdout)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The walkthrough's trust policy (no condition) and one managed policy.
	write("trust.json", []byte(aws.TrustPolicy("", "")))
	cli("iam", "create-role", "--role-name", "JITPRole", "--assume-role-policy-document", "file://trust.json")
	cli("iam", "attach-role-policy", "--role-name", "JITPRole", "--policy-arn", aws.PolicyThingsRegistration)

	ca := newCA(t, "CLI Root")
	code := cli("iot", "get-registration-code")
	ver := ca.Issue(t, pki.Subject{CommonName: code}).Cert
	write("ca.pem", pki.EncodeCertPEM(ca.Cert))
	write("ver.pem", pki.EncodeCertPEM(ver))
	caID := cli("iot", "register-ca-certificate", "--ca-certificate", "file://ca.pem", "--verification-cert", "file://ver.pem",
		"--set-as-active", "--query", "certificateId")
	write("policy.json", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`))
	cli("iot", "create-policy", "--policy-name", "HandMade", "--policy-document", "file://policy.json")

	c := l.Client(t)
	ctx := context.Background()
	if got, err := c.GetRegistrationCode(ctx); err != nil || got != code {
		t.Fatalf("registration code %q vs CLI %q (%v)", got, code, err)
	}
	role, err := c.EnsureRole(ctx, aws.RoleSpec{})
	if err != nil || role.Created {
		t.Fatalf("EnsureRole = %+v, %v", role, err)
	}
	notes := strings.Join(role.Notes, "\n")
	for _, want := range []string{"AWSIoTThingsRegistration already attached", "attached missing AWSIoTLogging", "attached missing AWSIoTRuleActions"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	if n := len(strings.Fields(cli("iam", "list-attached-role-policies", "--role-name", "JITPRole", "--query", "AttachedPolicies[].PolicyName"))); n != 3 {
		t.Errorf("CLI sees %d attached policies after EnsureRole, want 3", n)
	}
	if caID != pki.CertID(ca.Cert) {
		t.Fatalf("CLI CA ID %s, pki.CertID %s", caID, pki.CertID(ca.Cert))
	}
	found, err := c.FindCA(ctx, caID)
	if err != nil || found == nil || found.Status != aws.StatusActive || found.AutoRegistrationStatus != aws.AutoRegDisable {
		t.Fatalf("FindCA = %+v, %v", found, err)
	}
	_, err = c.CreatePolicy(ctx, "HandMade", `{"Version":"2012-10-17","Statement":[]}`)
	if !aws.IsKind(err, aws.KindAlreadyExists) {
		t.Fatalf("CreatePolicy over the CLI's policy: %v", err)
	}
	// And the other way: what the client changes, the CLI sees.
	if err := c.UpdateCA(ctx, caID, aws.UpdateCAInput{NewAutoRegistrationStatus: aws.AutoRegEnable}); err != nil {
		t.Fatal(err)
	}
	if got := cli("iot", "describe-ca-certificate", "--certificate-id", caID, "--query", "certificateDescription.autoRegistrationStatus"); got != "ENABLE" {
		t.Fatalf("CLI sees autoRegistrationStatus %q", got)
	}
}
