package api

import (
	"context"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The new operations through aws-sdk-go-v2's own clients, whose deserializers are strict
// about shapes (numbers for timestamps and integers, member names).
func TestSDKRegistryTemplatesAndIAM(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	roleARN := "arn:aws:iam::" + testAccount + ":role/JITPRole"

	// IAM: inline policies, ListRoles with a marker, customer managed policies.
	r(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String("JITPRole"), AssumeRolePolicyDocument: sdkaws.String(trustPolicy)})).must(t)
	r(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String("Second"), AssumeRolePolicyDocument: sdkaws.String(trustPolicy)})).must(t)
	r(e.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: sdkaws.String("JITPRole"), PolicyName: sdkaws.String("p"), PolicyDocument: sdkaws.String(allowAll)})).must(t)
	got := r(e.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: sdkaws.String("JITPRole"), PolicyName: sdkaws.String("p")})).must(t)
	if doc, err := url.QueryUnescape(sdkaws.ToString(got.PolicyDocument)); err != nil || doc != allowAll {
		t.Fatalf("GetRolePolicy document %q (%v)", sdkaws.ToString(got.PolicyDocument), err)
	}
	names := r(e.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: sdkaws.String("JITPRole")})).must(t)
	if len(names.PolicyNames) != 1 || names.IsTruncated {
		t.Fatalf("ListRolePolicies %+v", names)
	}
	page1 := r(e.iam.ListRoles(ctx, &iam.ListRolesInput{MaxItems: sdkaws.Int32(1)})).must(t)
	if len(page1.Roles) != 1 || !page1.IsTruncated || page1.Marker == nil {
		t.Fatalf("ListRoles page 1 %+v", page1)
	}
	page2 := r(e.iam.ListRoles(ctx, &iam.ListRolesInput{Marker: page1.Marker})).must(t)
	if len(page2.Roles) != 1 || page2.IsTruncated || *page2.Roles[0].RoleName != "Second" || page2.Roles[0].CreateDate == nil {
		t.Fatalf("ListRoles page 2 %+v", page2)
	}
	_, err := e.iam.ListRoles(ctx, &iam.ListRolesInput{Marker: sdkaws.String("made-up")})
	wantAPIError(t, err, "ValidationError")
	pol := r(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: sdkaws.String("Mine"), PolicyDocument: sdkaws.String(allowAll)})).must(t)
	if sdkaws.ToString(pol.Policy.DefaultVersionId) != "v1" || pol.Policy.CreateDate == nil || sdkaws.ToInt32(pol.Policy.AttachmentCount) != 0 {
		t.Fatalf("CreatePolicy %+v", pol.Policy)
	}
	r(e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: sdkaws.String("JITPRole"), PolicyArn: pol.Policy.Arn})).must(t)
	gp := r(e.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: pol.Policy.Arn})).must(t)
	if sdkaws.ToInt32(gp.Policy.AttachmentCount) != 1 {
		t.Fatalf("GetPolicy %+v", gp.Policy)
	}
	_, err = e.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: pol.Policy.Arn, VersionId: sdkaws.String("v2")})
	wantAPIError(t, err, "NoSuchEntity")
	_, err = e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: sdkaws.String("Second"), PolicyArn: sdkaws.String("arn:aws:iam::aws:policy/NotAPolicy")})
	wantAPIError(t, err, "NoSuchEntity")
	_, err = e.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: pol.Policy.Arn})
	wantAPIError(t, err, "DeleteConflict")

	// Provisioning templates and versions.
	body := `{"Parameters":{"AWS::IoT::Certificate::Id":{"Type":"String"}},"Resources":{"certificate":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"},"Status":"ACTIVE"}}}}`
	ct := r(e.iot.CreateProvisioningTemplate(ctx, &iot.CreateProvisioningTemplateInput{TemplateName: sdkaws.String("T"), TemplateBody: &body,
		ProvisioningRoleArn: &roleARN, Type: types.TemplateTypeJitp, Enabled: sdkaws.Bool(true)})).must(t)
	if sdkaws.ToInt32(ct.DefaultVersionId) != 1 {
		t.Fatalf("CreateProvisioningTemplate %+v", ct)
	}
	_, err = e.iot.CreateProvisioningTemplate(ctx, &iot.CreateProvisioningTemplateInput{TemplateName: sdkaws.String("H"), TemplateBody: &body,
		ProvisioningRoleArn: &roleARN, Type: types.TemplateTypeJitp, PreProvisioningHook: &types.ProvisioningHook{TargetArn: sdkaws.String("arn:aws:lambda:us-east-2:123456789012:function:f")}})
	wantAPIError(t, err, "InvalidRequestException")
	for i := 2; i <= store.MaxTemplateVersions; i++ {
		v := r(e.iot.CreateProvisioningTemplateVersion(ctx, &iot.CreateProvisioningTemplateVersionInput{TemplateName: sdkaws.String("T"), TemplateBody: &body})).must(t)
		if sdkaws.ToInt32(v.VersionId) != int32(i) || v.IsDefaultVersion {
			t.Fatalf("version %d: %+v", i, v)
		}
	}
	_, err = e.iot.CreateProvisioningTemplateVersion(ctx, &iot.CreateProvisioningTemplateVersionInput{TemplateName: sdkaws.String("T"), TemplateBody: &body})
	wantAPIError(t, err, "VersionsLimitExceededException")
	r(e.iot.UpdateProvisioningTemplate(ctx, &iot.UpdateProvisioningTemplateInput{TemplateName: sdkaws.String("T"), DefaultVersionId: sdkaws.Int32(4), Description: sdkaws.String("d")})).must(t)
	d := r(e.iot.DescribeProvisioningTemplate(ctx, &iot.DescribeProvisioningTemplateInput{TemplateName: sdkaws.String("T")})).must(t)
	if sdkaws.ToInt32(d.DefaultVersionId) != 4 || d.Type != types.TemplateTypeJitp || sdkaws.ToString(d.Description) != "d" || d.LastModifiedDate == nil || !sdkaws.ToBool(d.Enabled) {
		t.Fatalf("DescribeProvisioningTemplate %+v", d)
	}
	vs := r(e.iot.ListProvisioningTemplateVersions(ctx, &iot.ListProvisioningTemplateVersionsInput{TemplateName: sdkaws.String("T"), MaxResults: sdkaws.Int32(2)})).must(t)
	if len(vs.Versions) != 2 || vs.NextToken == nil || vs.Versions[0].CreationDate == nil {
		t.Fatalf("ListProvisioningTemplateVersions %+v", vs)
	}
	dv := r(e.iot.DescribeProvisioningTemplateVersion(ctx, &iot.DescribeProvisioningTemplateVersionInput{TemplateName: sdkaws.String("T"), VersionId: sdkaws.Int32(4)})).must(t)
	if !dv.IsDefaultVersion || sdkaws.ToString(dv.TemplateBody) != body {
		t.Fatalf("DescribeProvisioningTemplateVersion %+v", dv)
	}
	_, err = e.iot.DeleteProvisioningTemplateVersion(ctx, &iot.DeleteProvisioningTemplateVersionInput{TemplateName: sdkaws.String("T"), VersionId: sdkaws.Int32(4)})
	wantAPIError(t, err, "DeleteConflictException")
	r(e.iot.DeleteProvisioningTemplateVersion(ctx, &iot.DeleteProvisioningTemplateVersionInput{TemplateName: sdkaws.String("T"), VersionId: sdkaws.Int32(1)})).must(t)
	lt := r(e.iot.ListProvisioningTemplates(ctx, &iot.ListProvisioningTemplatesInput{})).must(t)
	if len(lt.Templates) != 1 || lt.Templates[0].Type != types.TemplateTypeJitp || lt.Templates[0].CreationDate == nil {
		t.Fatalf("ListProvisioningTemplates %+v", lt)
	}
	r(e.iot.DeleteProvisioningTemplate(ctx, &iot.DeleteProvisioningTemplateInput{TemplateName: sdkaws.String("T")})).must(t)
	_, err = e.iot.DescribeProvisioningTemplate(ctx, &iot.DescribeProvisioningTemplateInput{TemplateName: sdkaws.String("T")})
	wantAPIError(t, err, "ResourceNotFoundException")

	// Thing types, groups, billing groups.
	tt := r(e.iot.CreateThingType(ctx, &iot.CreateThingTypeInput{ThingTypeName: sdkaws.String("Sensor"),
		ThingTypeProperties: &types.ThingTypeProperties{ThingTypeDescription: sdkaws.String("s")}})).must(t)
	if sdkaws.ToString(tt.ThingTypeArn) != "arn:aws:iot:"+testRegion+":"+testAccount+":thingtype/Sensor" || tt.ThingTypeId == nil {
		t.Fatalf("CreateThingType %+v", tt)
	}
	r(e.iot.CreateThingGroup(ctx, &iot.CreateThingGroupInput{ThingGroupName: sdkaws.String("root"),
		ThingGroupProperties: &types.ThingGroupProperties{AttributePayload: &types.AttributePayload{Attributes: map[string]string{"site": "pune"}}}})).must(t)
	r(e.iot.CreateThingGroup(ctx, &iot.CreateThingGroupInput{ThingGroupName: sdkaws.String("leaf"), ParentGroupName: sdkaws.String("root")})).must(t)
	bg := r(e.iot.CreateBillingGroup(ctx, &iot.CreateBillingGroupInput{BillingGroupName: sdkaws.String("bill")})).must(t)
	r(e.iot.CreateThing(ctx, &iot.CreateThingInput{ThingName: sdkaws.String("S1"), ThingTypeName: sdkaws.String("Sensor"), BillingGroupName: sdkaws.String("bill")})).must(t)
	thingARN := "arn:aws:iot:" + testRegion + ":" + testAccount + ":thing/S1"
	r(e.iot.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{ThingGroupArn: sdkaws.String("arn:aws:iot:" + testRegion + ":" + testAccount + ":thinggroup/leaf"), ThingArn: &thingARN})).must(t)
	_, err = e.iot.AddThingToThingGroup(ctx, &iot.AddThingToThingGroupInput{ThingGroupName: sdkaws.String("leaf")})
	wantAPIError(t, err, "InvalidRequestException")
	dt := r(e.iot.DescribeThingType(ctx, &iot.DescribeThingTypeInput{ThingTypeName: sdkaws.String("Sensor")})).must(t)
	if dt.ThingTypeMetadata == nil || dt.ThingTypeMetadata.CreationDate == nil || sdkaws.ToString(dt.ThingTypeProperties.ThingTypeDescription) != "s" {
		t.Fatalf("DescribeThingType %+v", dt)
	}
	r(e.iot.DeprecateThingType(ctx, &iot.DeprecateThingTypeInput{ThingTypeName: sdkaws.String("Sensor")})).must(t)
	if dt = r(e.iot.DescribeThingType(ctx, &iot.DescribeThingTypeInput{ThingTypeName: sdkaws.String("Sensor")})).must(t); !dt.ThingTypeMetadata.Deprecated || dt.ThingTypeMetadata.DeprecationDate == nil {
		t.Fatalf("after DeprecateThingType %+v", dt.ThingTypeMetadata)
	}
	dg := r(e.iot.DescribeThingGroup(ctx, &iot.DescribeThingGroupInput{ThingGroupName: sdkaws.String("root")})).must(t)
	if dg.ThingGroupProperties.AttributePayload.Attributes["site"] != "pune" || dg.Version != 1 || dg.ThingGroupMetadata.CreationDate == nil {
		t.Fatalf("DescribeThingGroup %+v", dg)
	}
	groups := r(e.iot.ListThingGroupsForThing(ctx, &iot.ListThingGroupsForThingInput{ThingName: sdkaws.String("S1")})).must(t)
	if len(groups.ThingGroups) != 1 || sdkaws.ToString(groups.ThingGroups[0].GroupName) != "leaf" {
		t.Fatalf("ListThingGroupsForThing %+v", groups)
	}
	all := r(e.iot.ListThingGroups(ctx, &iot.ListThingGroupsInput{})).must(t)
	roots := r(e.iot.ListThingGroups(ctx, &iot.ListThingGroupsInput{Recursive: sdkaws.Bool(false)})).must(t)
	if len(all.ThingGroups) != 2 || len(roots.ThingGroups) != 1 {
		t.Fatalf("ListThingGroups all %d, roots %d", len(all.ThingGroups), len(roots.ThingGroups))
	}
	in := r(e.iot.ListThingsInThingGroup(ctx, &iot.ListThingsInThingGroupInput{ThingGroupName: sdkaws.String("root"), Recursive: true})).must(t)
	if len(in.Things) != 1 {
		t.Fatalf("ListThingsInThingGroup recursive %+v", in)
	}
	th := r(e.iot.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: sdkaws.String("S1")})).must(t)
	if sdkaws.ToString(th.BillingGroupName) != "bill" || sdkaws.ToString(th.ThingTypeName) != "Sensor" {
		t.Fatalf("DescribeThing %+v", th)
	}
	db := r(e.iot.DescribeBillingGroup(ctx, &iot.DescribeBillingGroupInput{BillingGroupName: sdkaws.String("bill")})).must(t)
	if sdkaws.ToString(db.BillingGroupArn) != sdkaws.ToString(bg.BillingGroupArn) || db.BillingGroupMetadata.CreationDate == nil || db.Version != 1 {
		t.Fatalf("DescribeBillingGroup %+v", db)
	}
	r(e.iot.RemoveThingFromBillingGroup(ctx, &iot.RemoveThingFromBillingGroupInput{BillingGroupName: sdkaws.String("bill"), ThingName: sdkaws.String("S1")})).must(t)
	if things := r(e.iot.ListThingsInBillingGroup(ctx, &iot.ListThingsInBillingGroupInput{BillingGroupName: sdkaws.String("bill")})).must(t); len(things.Things) != 0 {
		t.Fatalf("ListThingsInBillingGroup %+v", things)
	}
	_, err = e.iot.DeleteThingGroup(ctx, &iot.DeleteThingGroupInput{ThingGroupName: sdkaws.String("leaf"), ExpectedVersion: sdkaws.Int64(7)})
	wantAPIError(t, err, "VersionConflictException")
	r(e.iot.DeleteThingGroup(ctx, &iot.DeleteThingGroupInput{ThingGroupName: sdkaws.String("leaf")})).must(t)
	r(e.iot.DeleteBillingGroup(ctx, &iot.DeleteBillingGroupInput{BillingGroupName: sdkaws.String("bill")})).must(t)
	lb := r(e.iot.ListBillingGroups(ctx, &iot.ListBillingGroupsInput{})).must(t)
	tts := r(e.iot.ListThingTypes(ctx, &iot.ListThingTypesInput{ThingTypeName: sdkaws.String("Sensor")})).must(t)
	if len(lb.BillingGroups) != 0 || len(tts.ThingTypes) != 1 || !tts.ThingTypes[0].ThingTypeMetadata.Deprecated {
		t.Fatalf("ListBillingGroups %+v ListThingTypes %+v", lb, tts)
	}
}

// With latency, what a script that does not wait sees: DeleteThing refused while
// DetachThingPrincipal propagates, DeletePolicy refused for a while after a detach. The
// store's clock moves instead of the test sleeping.
func TestSDKAsynchronousDetach(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.DirName), store.Options{Account: testAccount, Region: testRegion,
		Now:     func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Latency: store.Latency{DetachThingPrincipal: 5 * time.Second, PolicyDeleteAfterDetach: 5 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnvOn(t, dir, st)
	ctx := context.Background()
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Slow"})
	caID, err := e.sdkRegisterCA(t, ca, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	certID, certARN := e.provisionDevice(ca, caID, "SlowThing", "SlowPolicy")
	thing := sdkaws.String("SlowThing")

	r(e.iot.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: &certID, NewStatus: types.CertificateStatusInactive})).must(t)
	r(e.iot.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: thing, Principal: &certARN})).must(t)
	_, err = e.iot.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: thing})
	wantAPIError(t, err, "InvalidRequestException")
	if ps := r(e.iot.ListThingPrincipals(ctx, &iot.ListThingPrincipalsInput{ThingName: thing})).must(t); len(ps.Principals) != 1 {
		t.Fatalf("ListThingPrincipals during the detach: %+v", ps.Principals)
	}
	r(e.iot.DetachPolicy(ctx, &iot.DetachPolicyInput{PolicyName: sdkaws.String("SlowPolicy"), Target: &certARN})).must(t)
	_, err = e.iot.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: sdkaws.String("SlowPolicy")})
	wantAPIError(t, err, "DeleteConflictException")
	advance(5 * time.Second)
	if ps := r(e.iot.ListThingPrincipals(ctx, &iot.ListThingPrincipalsInput{ThingName: thing})).must(t); len(ps.Principals) != 0 {
		t.Fatalf("ListThingPrincipals after the detach propagated: %+v", ps.Principals)
	}
	r(e.iot.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: thing})).must(t)
	_, err = e.iot.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: sdkaws.String("SlowPolicy")})
	wantAPIError(t, err, "DeleteConflictException")
	advance(5 * time.Minute)
	r(e.iot.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: sdkaws.String("SlowPolicy")})).must(t)
}
