// Package localtest starts the embedded local AWS IoT Core for a test, gives it an
// aws.Client over the real SDK, and walks it to a CA registered for JITP as steps 4–8 do.
// Tests of aws, mqttprobe and everything above use it instead of a copy of their own
// (aws/local's own packages cannot: Go refuses the import cycle).
package localtest

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
)

// The account and region the IoT Core serves.
const (
	Account = "123456789012"
	Region  = "us-east-2"
)

// EndpointHost is an AWS-style data endpoint name the local broker serves (dialled on
// loopback), so that the region in the endpoint name takes part in what is tested.
const EndpointHost = "a1b2c3d4e5f6g7-ats.iot." + Region + ".amazonaws.com"

// IoTCore is a running local IoT Core: control plane and broker over one store, in a
// temporary directory of the test.
type IoTCore struct {
	*local.Server
	URL      string // the control-plane endpoint URL
	Host     string // the MQTT host name devices use (what DescribeEndpoint returns)
	MQTTAddr string // the loopback address the broker listens on
	RootPEM  []byte // the CA that signs the broker's certificate (awsRootCA.pem)
}

// Start starts an IoT Core on free loopback ports, serving Account and Region at
// EndpointHost; mods may change the options (another listener, say). It is closed when the
// test ends.
func Start(t testing.TB, mods ...func(*local.Options)) *IoTCore {
	t.Helper()
	o := local.Options{Dir: t.TempDir(), Region: Region, Account: Account,
		APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", EndpointHost: EndpointHost}
	for _, m := range mods {
		m(&o)
	}
	srv, err := local.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &IoTCore{Server: srv, URL: srv.EndpointURL(), Host: srv.MQTTHost(),
		MQTTAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.MQTTPort())), RootPEM: srv.RootCAPEM()}
}

// Client is an aws.Client for the IoT Core, through the real SDK, with quick retries (the
// local IoT Core needs no waiting for a new role).
func (c *IoTCore) Client(t testing.TB) aws.Client {
	t.Helper()
	cl, err := aws.New(context.Background(), aws.Config{Region: Region, EndpointURL: c.URL, StaticAccessKeyID: local.AccessKeyID,
		StaticSecretKey: local.SecretAccessKey, MaxAttempts: 2, MaxBackoff: time.Millisecond, RoleWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// Registration says how RegisterJITPCA registers the CA; the zero value is the
// walkthrough's: ACTIVE, auto-registration on, the scoped template.
type Registration struct {
	Inactive           bool
	NoAutoRegistration bool
	TemplateBody       string // "" = the walkthrough's scoped template
}

// RegisterJITPCA walks steps 4–8 through c: the registration code, a verification
// certificate signed by ca, the provisioning role, the template, and the CA registered
// with them.
func RegisterJITPCA(t testing.TB, c aws.Client, ca *pkitest.CA, r Registration) (aws.CARef, aws.Role) {
	t.Helper()
	ctx := context.Background()
	code, err := c.GetRegistrationCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ver := ca.Issue(t, pki.Subject{CommonName: code})
	role, err := c.EnsureRole(ctx, aws.RoleSpec{})
	if err != nil {
		t.Fatal(err)
	}
	body := r.TemplateBody
	if body == "" {
		rc, err := template.RenderConfig(template.Scoped, Region, Account, role.ARN, "")
		if err != nil {
			t.Fatal(err)
		}
		body = rc.TemplateBody
	}
	ref, err := c.RegisterCA(ctx, aws.RegisterCAInput{CACertificatePEM: string(ca.CertPEM()),
		VerificationCertificatePEM: string(ver.CertPEM()), SetAsActive: !r.Inactive, AllowAutoRegistration: !r.NoAutoRegistration,
		RegistrationConfig: &aws.RegistrationConfig{TemplateBody: body, RoleArn: role.ARN}})
	if err != nil {
		t.Fatal(err)
	}
	return ref, role
}
