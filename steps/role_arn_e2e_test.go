package steps_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/steps"
)

// TestE2ERoleARN: --role-arn uses a role an administrator made; step 6 makes no IAM change
// (no JITPRole appears), the template names the given role, and JITP provisions with it.
func TestE2ERoleARN(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	ctx := context.Background()
	srv, err := local.Start(ctx, local.Options{Dir: dir, APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := aws.New(ctx, aws.Config{EndpointURL: srv.EndpointURL(), Region: srv.Region(), StaticAccessKeyID: local.AccessKeyID, StaticSecretKey: local.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := c.EnsureRole(ctx, aws.RoleSpec{Name: "OpsProvisioning", ManagedPolicyARNs: []string{aws.ManagedPolicyARN(srv.Region(), aws.ManagedThingsRegistration)}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()

	mustFail(t, "a malformed --role-arn must be refused", "run", "--dir", dir, "--yes", "--role-arn", "OpsProvisioning")
	r := mustRun(t, "run", "--dir", dir, "--yes", "--role-arn", ops.ARN)
	if !strings.Contains(r.out, "published as itself") || !strings.Contains(r.out, ops.ARN) {
		t.Fatalf("run with --role-arn:\n%s", r)
	}
	b, err := os.ReadFile(filepath.Join(dir, steps.FileTemplate))
	if err != nil || !strings.Contains(string(b), `"roleArn": "`+ops.ARN+`"`) && !strings.Contains(string(b), `"roleArn":"`+ops.ARN+`"`) {
		t.Errorf("%s does not name the given role %s:\n%s", steps.FileTemplate, ops.ARN, b)
	}
	srv, err = local.Start(ctx, local.Options{Dir: dir, APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ic := iam.New(iam.Options{Region: srv.Region(), BaseEndpoint: sdkaws.String(srv.EndpointURL()),
		Credentials: credentials.NewStaticCredentialsProvider(local.AccessKeyID, local.SecretAccessKey, "")})
	roles, err := ic.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range roles.Roles {
		names = append(names, sdkaws.ToString(r.RoleName))
	}
	if strings.Join(names, ",") != "OpsProvisioning" {
		t.Errorf("roles %v: with --role-arn step 6 must not create %s", names, steps.DefaultRoleName)
	}
}
