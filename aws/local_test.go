package aws_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/localtest"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
)

const (
	testAccount = localtest.Account
	testRegion  = localtest.Region
)

// newCA is a test root CA with an RSA 2048 key, as the walkthrough makes one.
func newCA(t *testing.T, cn string) *pkitest.CA {
	t.Helper()
	return pkitest.NewCA(t, pki.RSA2048, pki.Subject{CommonName: cn, Country: "US", Organization: "Acme"})
}

func mustKind(t *testing.T, err error, k aws.Kind) *aws.Error {
	t.Helper()
	if !aws.IsKind(err, k) {
		t.Fatalf("want *aws.Error of kind %s, got %v", k, err)
	}
	var e *aws.Error
	_ = asErr(err, &e)
	return e
}

func asErr(err error, target **aws.Error) bool {
	e, ok := err.(*aws.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestClientAgainstLocal drives the whole Client surface through the real SDK against
// the embedded IoT Core, in the order the wizard uses it, then cleans up.
func TestClientAgainstLocal(t *testing.T) {
	t.Parallel()
	l := localtest.Start(t)
	c := l.Client(t)
	ctx := context.Background()

	if c.Region() != testRegion {
		t.Fatalf("region %q", c.Region())
	}
	acct, err := c.CallerAccount(ctx)
	if err != nil || acct != testAccount {
		t.Fatalf("CallerAccount = %q, %v", acct, err)
	}
	host, err := c.DataEndpoint(ctx)
	if err != nil || host != l.Host || mqttprobe.EndpointRegion(host) != testRegion {
		t.Fatalf("DataEndpoint = %q, %v (want %q)", host, err, l.Host)
	}
	code1, err := c.GetRegistrationCode(ctx)
	if err != nil || len(code1) != 64 {
		t.Fatalf("GetRegistrationCode = %q, %v", code1, err)
	}
	if code2, _ := c.GetRegistrationCode(ctx); code2 != code1 {
		t.Fatalf("registration code not stable: %s vs %s", code1, code2)
	}

	// Role: created once, then reused with every policy already attached.
	role, err := c.EnsureRole(ctx, aws.RoleSpec{})
	if err != nil || !role.Created || role.Name != aws.DefaultRoleName || role.ARN != "arn:aws:iam::"+testAccount+":role/JITPRole" || len(role.Notes) != 3 {
		t.Fatalf("EnsureRole (create) = %+v, %v", role, err)
	}
	again, err := c.EnsureRole(ctx, aws.RoleSpec{})
	if err != nil || again.Created || again.ARN != role.ARN || !strings.Contains(strings.Join(again.Notes, "\n"), "AWSIoTRuleActions already attached") {
		t.Fatalf("EnsureRole (reuse) = %+v, %v", again, err)
	}

	// CA: FindCA before registering, register, find, duplicate detected with its ID.
	ca := newCA(t, "Local Test Root")
	caID := pki.CertID(ca.Cert)
	if found, err := c.FindCA(ctx, caID); found != nil || err != nil {
		t.Fatalf("FindCA before register = %+v, %v", found, err)
	}
	ref, _ := localtest.RegisterJITPCA(t, c, ca, localtest.Registration{})
	if ref.ID != caID || !strings.HasSuffix(ref.ARN, ":cacert/"+caID) {
		t.Fatalf("RegisterCA = %+v, want ID %s", ref, caID)
	}
	found, err := c.FindCA(ctx, caID)
	if err != nil || found == nil || found.Status != aws.StatusActive || found.AutoRegistrationStatus != aws.AutoRegEnable ||
		found.RegistrationConfig == nil || found.RegistrationConfig.RoleArn != role.ARN || found.OwnedBy != testAccount ||
		found.NotAfter.Before(time.Now()) || !strings.Contains(found.CertificatePEM, "BEGIN CERTIFICATE") {
		t.Fatalf("FindCA = %+v, %v", found, err)
	}
	code, _ := c.GetRegistrationCode(ctx)
	ver := ca.Issue(t, pki.Subject{CommonName: code}).Cert
	_, err = c.RegisterCA(ctx, aws.RegisterCAInput{CACertificatePEM: string(pki.EncodeCertPEM(ca.Cert)), VerificationCertificatePEM: string(pki.EncodeCertPEM(ver))})
	if e := mustKind(t, err, aws.KindAlreadyExists); e.ResourceID != caID || !strings.Contains(e.Fix, "reuse") {
		t.Fatalf("duplicate RegisterCA: %+v", e)
	}
	// Wrong registration code in the verification certificate.
	other := newCA(t, "Other Root")
	badVer := other.Issue(t, pki.Subject{CommonName: strings.Repeat("0", 64)}).Cert
	_, err = c.RegisterCA(ctx, aws.RegisterCAInput{CACertificatePEM: string(pki.EncodeCertPEM(other.Cert)), VerificationCertificatePEM: string(pki.EncodeCertPEM(badVer))})
	mustKind(t, err, aws.KindRegistrationCode)

	cas, err := c.ListCAs(ctx)
	if err != nil || len(cas) != 1 || cas[0].ID != caID {
		t.Fatalf("ListCAs = %+v, %v", cas, err)
	}

	// Policies: create, detect the existing one, read it back, not-found.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`
	pol, err := c.CreatePolicy(ctx, "LabPolicy", doc)
	if err != nil || pol.Name != "LabPolicy" || pol.VersionID != "1" || !strings.HasSuffix(pol.ARN, ":policy/LabPolicy") {
		t.Fatalf("CreatePolicy = %+v, %v", pol, err)
	}
	_, err = c.CreatePolicy(ctx, "LabPolicy", doc)
	if e := mustKind(t, err, aws.KindAlreadyExists); e.ResourceID == "" {
		t.Fatalf("existing policy not identified: %+v", e)
	}
	got, err := c.GetPolicy(ctx, "LabPolicy")
	if err != nil || got.Document != doc || got.VersionID != "1" {
		t.Fatalf("GetPolicy = %+v, %v", got, err)
	}
	_, err = c.GetPolicy(ctx, "NoSuchPolicy")
	if e := mustKind(t, err, aws.KindNotFound); !strings.Contains(e.Cause, "NoSuchPolicy") {
		t.Fatalf("GetPolicy missing: %+v", e)
	}
	_, err = c.CreatePolicy(ctx, "Broken", `{"Version":`)
	mustKind(t, err, aws.KindMalformedPolicy)
	_, err = c.DescribeThing(ctx, "DemoThing")
	if e := mustKind(t, err, aws.KindNotFound); !strings.Contains(e.Cause, "thing DemoThing does not exist") {
		t.Fatalf("DescribeThing missing: %+v", e)
	}

	// Provision a device over MQTT (first connect), then inspect it through the client.
	dev := ca.Issue(t, pki.Subject{CommonName: "DemoThing", Country: "US"})
	o := mqttprobe.Options{Host: l.Host, Addr: l.MQTTAddr, CertPEM: pki.Bundle(dev.Cert, ca.Cert), KeyPEM: dev.KeyPEM, CAPEM: l.RootPEM, ClientID: "anyclientID"}
	rep := mqttprobe.FirstConnect(ctx, o, c, mqttprobe.FirstConnectOptions{ThingName: "DemoThing",
		Poll: mqttprobe.PollOptions{Timeout: 10 * time.Second, Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}})
	if !rep.Activated {
		t.Fatalf("first connect: %+v diag %+v", rep.Outcome, rep.Diagnosis)
	}
	certID := dev.ID
	cert, err := c.DescribeCertificate(ctx, certID)
	if err != nil || cert.Status != aws.StatusActive || cert.CAID != caID || !strings.HasSuffix(cert.ARN, ":cert/"+certID) {
		t.Fatalf("DescribeCertificate = %+v, %v", cert, err)
	}
	certs, err := c.ListCertificatesByCA(ctx, caID)
	if err != nil || len(certs) != 1 || certs[0].ID != certID {
		t.Fatalf("ListCertificatesByCA = %+v, %v", certs, err)
	}
	thing, err := c.DescribeThing(ctx, "DemoThing")
	if err != nil || thing.Attributes["country"] != "US" || thing.Attributes["version"] != "v1" || thing.ARN == "" {
		t.Fatalf("DescribeThing = %+v, %v", thing, err)
	}
	things, err := c.ListThings(ctx)
	if err != nil || len(things) != 1 || things[0].Name != "DemoThing" {
		t.Fatalf("ListThings = %+v, %v", things, err)
	}
	principals, err := c.ListThingPrincipals(ctx, "DemoThing")
	if err != nil || !slices.Contains(principals, cert.ARN) {
		t.Fatalf("ListThingPrincipals = %v, %v", principals, err)
	}
	attached, err := c.ListAttachedPolicies(ctx, cert.ARN)
	if err != nil || len(attached) != 1 {
		t.Fatalf("ListAttachedPolicies = %+v, %v", attached, err)
	}
	if err := c.AttachPolicy(ctx, "LabPolicy", cert.ARN); err != nil {
		t.Fatal(err)
	}
	if a, _ := c.ListAttachedPolicies(ctx, cert.ARN); len(a) != 2 {
		t.Fatalf("after AttachPolicy: %+v", a)
	}

	// Clean-up order of `jitpwiz clean`, with the guard rails AWS enforces.
	mustKind(t, c.DeletePolicy(ctx, "LabPolicy"), aws.KindConflict)        // still attached
	mustKind(t, c.DeleteCertificate(ctx, certID, false), aws.KindConflict) // ACTIVE
	mustKind(t, c.DeleteCA(ctx, caID), aws.KindConflict)                   // ACTIVE CA
	mustKind(t, c.UpdateCertificate(ctx, strings.Repeat("f", 64), "INACTIVE"), aws.KindNotFound)
	for _, p := range attached {
		if err := c.DetachPolicy(ctx, p.Name, cert.ARN); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DetachPolicy(ctx, "LabPolicy", cert.ARN); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateCertificate(ctx, certID, aws.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if err := c.DetachThingPrincipal(ctx, "DemoThing", cert.ARN); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteCertificate(ctx, certID, false); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteThing(ctx, "DemoThing"); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(attached, aws.PolicyRef{Name: "LabPolicy"}) {
		if err := c.DeletePolicy(ctx, p.Name); err != nil {
			t.Fatalf("DeletePolicy %s: %v", p.Name, err)
		}
	}
	if err := c.UpdateCA(ctx, caID, aws.UpdateCAInput{NewStatus: aws.StatusInactive, NewAutoRegistrationStatus: aws.AutoRegDisable, RemoveAutoRegistration: true}); err != nil {
		t.Fatal(err)
	}
	if d, err := c.DescribeCA(ctx, caID); err != nil || d.Status != aws.StatusInactive || d.AutoRegistrationStatus != aws.AutoRegDisable || d.RegistrationConfig != nil {
		t.Fatalf("after UpdateCA: %+v, %v", d, err)
	}
	if err := c.DeleteCA(ctx, caID); err != nil {
		t.Fatal(err)
	}
	if found, err := c.FindCA(ctx, caID); found != nil || err != nil {
		t.Fatalf("FindCA after delete = %+v, %v", found, err)
	}
}
