package aws_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/localtest"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The Inspector lookups doctor makes, through the real SDK against the local IoT Core: a
// role with its trust policy and every permission policy (managed and inline, decoded), a
// provisioning template with its body and role, thing types (deprecated or not), groups,
// billing groups, a certificate's things; and what is missing is NotFound.
func TestInspectorAgainstLocal(t *testing.T) {
	t.Parallel()
	l := localtest.Start(t)
	c := l.Client(t)
	ctx := context.Background()
	trust := aws.TrustPolicy(testAccount, testRegion)
	inline := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iot:CreateThing","Resource":"*"}]}`
	rc, err := template.RenderConfig(template.Scoped, testRegion, testAccount, "", "")
	if err != nil {
		t.Fatal(err)
	}
	err = l.Store().Update(func(st *store.State) error {
		if _, err := st.CreateRole(store.CreateRoleInput{Name: "R", Path: "/service-role/", TrustPolicy: trust}); err != nil {
			return err
		}
		if err := st.AttachRolePolicy("R", aws.PolicyThingsRegistration); err != nil {
			return err
		}
		if err := st.PutRolePolicy("R", "NoThings", inline); err != nil {
			return err
		}
		if _, err := st.CreateThingType(store.CreateThingTypeInput{Name: "Old"}); err != nil {
			return err
		}
		if err := st.DeprecateThingType("Old", false); err != nil {
			return err
		}
		if _, err := st.CreateThingGroup(store.CreateThingGroupInput{Name: "G"}); err != nil {
			return err
		}
		if _, err := st.CreateBillingGroup("B", "", nil); err != nil {
			return err
		}
		_, err := st.CreateProvisioningTemplate(store.CreateTemplateInput{Name: "P", Body: rc.TemplateBody, RoleARN: "arn:aws:iam::" + testAccount + ":role/service-role/R", Type: "JITP", Enabled: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"R", "arn:aws:iam::" + testAccount + ":role/service-role/R"} {
		r, err := c.DescribeRole(ctx, ref)
		if err != nil {
			t.Fatalf("DescribeRole(%s): %v", ref, err)
		}
		if r.Name != "R" || !strings.HasSuffix(r.ARN, ":role/service-role/R") || r.TrustPolicy != trust || len(r.Policies) != 2 {
			t.Fatalf("DescribeRole(%s) = %+v", ref, r)
		}
		if p := r.Policies[0]; p.Inline || p.ARN != aws.PolicyThingsRegistration || !strings.Contains(p.Document, "iot:CreateThing") {
			t.Errorf("managed policy: %+v", p)
		}
		if p := r.Policies[1]; !p.Inline || p.Name != "NoThings" || p.Document != inline {
			t.Errorf("inline policy: %+v", p)
		}
	}
	if ok, _, err := aws.TrustsIoT(trust, testAccount, testRegion); !ok || err != nil {
		t.Errorf("TrustsIoT of the walkthrough's trust policy: %v %v", ok, err)
	}
	if ok, reason, _ := aws.TrustsIoT(trust, "999999999999", testRegion); ok || !strings.Contains(reason, "aws:SourceAccount") {
		t.Errorf("TrustsIoT for another account: %v %q", ok, reason)
	}
	_, err = c.DescribeRole(ctx, "Nope")
	mustKind(t, err, aws.KindNotFound)
	if aws.RoleName("arn:aws:iam::1:role/a/b/C") != "C" || aws.RoleName("C") != "C" {
		t.Error("RoleName")
	}

	pt, err := c.DescribeProvisioningTemplate(ctx, "P")
	if err != nil || pt.Type != "JITP" || !pt.Enabled || pt.Body != rc.TemplateBody || !strings.HasSuffix(pt.RoleARN, "role/service-role/R") {
		t.Errorf("DescribeProvisioningTemplate: %v %+v", err, pt)
	}
	_, err = c.DescribeProvisioningTemplate(ctx, "Nope")
	mustKind(t, err, aws.KindNotFound)
	if tt, err := c.DescribeThingType(ctx, "Old"); err != nil || !tt.Deprecated || tt.ARN == "" {
		t.Errorf("DescribeThingType: %v %+v", err, tt)
	}
	_, err = c.DescribeThingType(ctx, "Nope")
	mustKind(t, err, aws.KindNotFound)
	if g, err := c.DescribeThingGroup(ctx, "G"); err != nil || !strings.HasSuffix(g.ARN, ":thinggroup/G") {
		t.Errorf("DescribeThingGroup: %v %+v", err, g)
	}
	_, err = c.DescribeThingGroup(ctx, "Nope")
	mustKind(t, err, aws.KindNotFound)
	if b, err := c.DescribeBillingGroup(ctx, "B"); err != nil || !strings.HasSuffix(b.ARN, ":billinggroup/B") {
		t.Errorf("DescribeBillingGroup: %v %+v", err, b)
	}
	_, err = c.DescribeBillingGroup(ctx, "Nope")
	mustKind(t, err, aws.KindNotFound)

	// A certificate JITP provisioned as thing Inspected, then attached to a second thing.
	ca := newCA(t, "Inspect CA")
	localtest.RegisterJITPCA(t, c, ca, localtest.Registration{})
	dev := ca.Issue(t, pki.Subject{CommonName: "Inspected", Country: "US"})
	o := mqttprobe.Options{Host: l.Host, Addr: l.MQTTAddr, CertPEM: pki.Bundle(dev.Cert, ca.Cert), KeyPEM: dev.KeyPEM, CAPEM: l.RootPEM, ClientID: "anyclientID"}
	if rep := mqttprobe.FirstConnect(ctx, o, c, mqttprobe.FirstConnectOptions{ThingName: "Inspected",
		Poll: mqttprobe.PollOptions{Timeout: 10 * time.Second, Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}}); !rep.Activated {
		t.Fatalf("first connect: %+v", rep.Outcome)
	}
	cert, err := c.DescribeCertificate(ctx, dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateThing(ctx, "Second", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachThingPrincipal(ctx, "Second", cert.ARN); err != nil {
		t.Fatal(err)
	}
	things, err := c.ListPrincipalThings(ctx, cert.ARN)
	if err != nil || len(things) != 2 || !slices.Contains(things, "Inspected") || !slices.Contains(things, "Second") {
		t.Errorf("ListPrincipalThings: %v %v", things, err)
	}
}
