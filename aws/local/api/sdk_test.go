package api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
)

// res carries a (value, error) pair so a call can be checked inline: r(f()).must(t).
type res[T any] struct {
	v   T
	err error
}

func r[T any](v T, err error) res[T] { return res[T]{v, err} }

func (x res[T]) must(t *testing.T) T {
	t.Helper()
	if x.err != nil {
		t.Fatal(x.err)
	}
	return x.v
}

// wantAPIError requires err to carry the AWS error code (and the typed error the SDK
// deserialised, when target is non-nil).
func wantAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, ae.ErrorCode(), ae.ErrorMessage())
	}
}

// registerCA registers ca (DEFAULT mode) through the SDK and returns its ID.
func (e *testEnv) sdkRegisterCA(t *testing.T, ca *pkitest.CA, active, auto bool, rc *types.RegistrationConfig) (string, error) {
	t.Helper()
	ctx := context.Background()
	code := r(e.iot.GetRegistrationCode(ctx, &iot.GetRegistrationCodeInput{})).must(t)
	v := ca.Issue(t, pki.Subject{CommonName: *code.RegistrationCode}).Cert
	out, err := e.iot.RegisterCACertificate(ctx, &iot.RegisterCACertificateInput{
		CaCertificate: sdkaws.String(pemOf(ca.Cert)), VerificationCertificate: sdkaws.String(pemOf(v)),
		SetAsActive: active, AllowAutoRegistration: auto, RegistrationConfig: rc,
	})
	if err != nil {
		return "", err
	}
	return sdkaws.ToString(out.CertificateId), nil
}

// TestSDKControlPlane exercises every operation the wizard uses through aws-sdk-go-v2
// with BaseEndpoint (signing as "iot", "iam", "sts").
func TestSDKControlPlane(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	id := r(e.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})).must(t)
	if sdkaws.ToString(id.Account) != testAccount {
		t.Fatalf("GetCallerIdentity account %q", sdkaws.ToString(id.Account))
	}

	// IAM role.
	cr := r(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String("JITPRole"),
		AssumeRolePolicyDocument: sdkaws.String(trustPolicy), Description: sdkaws.String("JITP"),
		Tags: []iamtypes.Tag{{Key: sdkaws.String("app"), Value: sdkaws.String("jitpwiz")}}})).must(t)
	roleARN := sdkaws.ToString(cr.Role.Arn)
	if roleARN != "arn:aws:iam::"+testAccount+":role/JITPRole" || cr.Role.CreateDate == nil || !strings.HasPrefix(sdkaws.ToString(cr.Role.RoleId), "AROA") {
		t.Fatalf("CreateRole: %+v", cr.Role)
	}
	_, err := e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String("JITPRole"), AssumeRolePolicyDocument: sdkaws.String(trustPolicy)})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("CreateRole twice: %v", err)
	}
	gr := r(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String("JITPRole")})).must(t)
	doc, err := url.QueryUnescape(sdkaws.ToString(gr.Role.AssumeRolePolicyDocument))
	if err != nil || doc != trustPolicy {
		t.Fatalf("GetRole document %q (%v)", doc, err)
	}
	if len(gr.Role.Tags) != 1 || sdkaws.ToString(gr.Role.Tags[0].Value) != "jitpwiz" {
		t.Errorf("GetRole tags: %+v", gr.Role.Tags)
	}
	_, err = e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String("Nope")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("GetRole missing: %v", err)
	}
	for _, p := range []string{"AWSIoTThingsRegistration", "AWSIoTLogging", "AWSIoTRuleActions"} {
		r(e.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: sdkaws.String("JITPRole"),
			PolicyArn: sdkaws.String("arn:aws:iam::aws:policy/service-role/" + p)})).must(t)
	}
	var names []string
	pg := iam.NewListAttachedRolePoliciesPaginator(e.iam, &iam.ListAttachedRolePoliciesInput{RoleName: sdkaws.String("JITPRole"), MaxItems: sdkaws.Int32(2)})
	pages := 0
	for pg.HasMorePages() {
		out := r(pg.NextPage(ctx)).must(t)
		pages++
		for _, a := range out.AttachedPolicies {
			names = append(names, sdkaws.ToString(a.PolicyName))
		}
	}
	if strings.Join(names, ",") != "AWSIoTThingsRegistration,AWSIoTLogging,AWSIoTRuleActions" || pages != 2 {
		t.Fatalf("ListAttachedRolePolicies: %v in %d pages", names, pages)
	}
	_, err = e.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: sdkaws.String("JITPRole")})
	var dce *iamtypes.DeleteConflictException
	if !errors.As(err, &dce) {
		t.Fatalf("DeleteRole with policies: %v", err)
	}

	// CA registration with the walkthrough's registration config.
	cfg := r(template.RenderConfig(template.Scoped, testRegion, testAccount, roleARN, "")).must(t)
	rc := &types.RegistrationConfig{TemplateBody: sdkaws.String(cfg.TemplateBody), RoleArn: sdkaws.String(cfg.RoleArn)}
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "AMZ"})
	caID, err := e.sdkRegisterCA(t, ca, true, true, rc)
	if err != nil {
		t.Fatal(err)
	}
	if caID != pki.CertID(ca.Cert) {
		t.Fatalf("CA ID %s, want SHA-256 of the DER", caID)
	}
	_, err = e.sdkRegisterCA(t, ca, true, true, nil)
	var rae *types.ResourceAlreadyExistsException
	if !errors.As(err, &rae) || sdkaws.ToString(rae.ResourceId) != caID || !strings.HasSuffix(sdkaws.ToString(rae.ResourceArn), ":cacert/"+caID) {
		t.Fatalf("duplicate CA: %v", err)
	}
	d := r(e.iot.DescribeCACertificate(ctx, &iot.DescribeCACertificateInput{CertificateId: &caID})).must(t)
	cd := d.CertificateDescription
	if cd.Status != types.CACertificateStatusActive || cd.AutoRegistrationStatus != types.AutoRegistrationStatusEnable ||
		cd.CertificateMode != types.CertificateModeDefault || sdkaws.ToString(cd.OwnedBy) != testAccount {
		t.Fatalf("DescribeCACertificate: %+v", cd)
	}
	if cd.CreationDate == nil || time.Since(*cd.CreationDate) > time.Hour || cd.Validity == nil || !cd.Validity.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("DescribeCACertificate times: %v %+v", cd.CreationDate, cd.Validity)
	}
	if d.RegistrationConfig == nil || sdkaws.ToString(d.RegistrationConfig.RoleArn) != roleARN {
		t.Errorf("registrationConfig: %+v", d.RegistrationConfig)
	}
	r(e.iot.UpdateCACertificate(ctx, &iot.UpdateCACertificateInput{CertificateId: &caID,
		NewAutoRegistrationStatus: types.AutoRegistrationStatusDisable})).must(t)
	d = r(e.iot.DescribeCACertificate(ctx, &iot.DescribeCACertificateInput{CertificateId: &caID})).must(t)
	if d.CertificateDescription.AutoRegistrationStatus != types.AutoRegistrationStatusDisable || sdkaws.ToInt32(d.CertificateDescription.CustomerVersion) != 2 {
		t.Errorf("after UpdateCACertificate: %+v", d.CertificateDescription)
	}
	_, err = e.iot.UpdateCACertificate(ctx, &iot.UpdateCACertificateInput{CertificateId: &caID,
		RegistrationConfig: &types.RegistrationConfig{TemplateBody: sdkaws.String(`{"Resources":`), RoleArn: &roleARN}})
	wantAPIError(t, err, "InvalidRequestException")
	_, err = e.iot.DescribeCACertificate(ctx, &iot.DescribeCACertificateInput{CertificateId: sdkaws.String(strings.Repeat("0", 64))})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("DescribeCACertificate missing: %v", err)
	}

	ep := r(e.iot.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: sdkaws.String("iot:Data-ATS")})).must(t)
	if sdkaws.ToString(ep.EndpointAddress) != "localhost" {
		t.Fatalf("DescribeEndpoint: %q", sdkaws.ToString(ep.EndpointAddress))
	}

	// A provisioned device, read back.
	certID, certARN := e.provisionDevice(ca, caID, "DemoThing", "DemoPolicy")
	th := r(e.iot.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: sdkaws.String("DemoThing")})).must(t)
	if sdkaws.ToString(th.ThingArn) != "arn:aws:iot:"+testRegion+":"+testAccount+":thing/DemoThing" || th.Attributes["version"] != "v1" || th.Version != 1 {
		t.Fatalf("DescribeThing: %+v", th)
	}
	tp := r(e.iot.ListThingPrincipals(ctx, &iot.ListThingPrincipalsInput{ThingName: sdkaws.String("DemoThing")})).must(t)
	if len(tp.Principals) != 1 || tp.Principals[0] != certARN {
		t.Fatalf("ListThingPrincipals: %v", tp.Principals)
	}
	pt := r(e.iot.ListPrincipalThings(ctx, &iot.ListPrincipalThingsInput{Principal: &certARN})).must(t)
	if len(pt.Things) != 1 || pt.Things[0] != "DemoThing" {
		t.Fatalf("ListPrincipalThings: %v", pt.Things)
	}
	dc := r(e.iot.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: &certID})).must(t)
	if dc.CertificateDescription.Status != types.CertificateStatusActive || sdkaws.ToString(dc.CertificateDescription.CaCertificateId) != caID {
		t.Fatalf("DescribeCertificate: %+v", dc.CertificateDescription)
	}
	ap := r(e.iot.ListAttachedPolicies(ctx, &iot.ListAttachedPoliciesInput{Target: &certARN})).must(t)
	if len(ap.Policies) != 1 || sdkaws.ToString(ap.Policies[0].PolicyName) != "DemoPolicy" {
		t.Fatalf("ListAttachedPolicies: %+v", ap.Policies)
	}
	pp := r(e.iot.ListPrincipalPolicies(ctx, &iot.ListPrincipalPoliciesInput{Principal: &certARN})).must(t)
	if len(pp.Policies) != 1 {
		t.Fatalf("ListPrincipalPolicies: %+v", pp.Policies)
	}
	gp := r(e.iot.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: sdkaws.String("DemoPolicy")})).must(t)
	if sdkaws.ToString(gp.PolicyDocument) != allowAll || gp.CreationDate == nil {
		t.Fatalf("GetPolicy: %+v", gp)
	}
	byCA := r(e.iot.ListCertificatesByCA(ctx, &iot.ListCertificatesByCAInput{CaCertificateId: &caID})).must(t)
	if len(byCA.Certificates) != 1 || sdkaws.ToString(byCA.Certificates[0].CertificateId) != certID {
		t.Fatalf("ListCertificatesByCA: %+v", byCA.Certificates)
	}
	tf := r(e.iot.ListTargetsForPolicy(ctx, &iot.ListTargetsForPolicyInput{PolicyName: sdkaws.String("DemoPolicy")})).must(t)
	if len(tf.Targets) != 1 || tf.Targets[0] != certARN {
		t.Fatalf("ListTargetsForPolicy: %v", tf.Targets)
	}

	// Guards, as typed SDK errors.
	_, err = e.iot.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: &certID, NewStatus: types.CertificateStatusPendingActivation})
	wantAPIError(t, err, "InvalidRequestException")
	_, err = e.iot.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: &certID})
	var cse *types.CertificateStateException
	if !errors.As(err, &cse) {
		t.Fatalf("DeleteCertificate ACTIVE: %v", err)
	}
	_, err = e.iot.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: sdkaws.String("DemoPolicy")})
	var dcf *types.DeleteConflictException
	if !errors.As(err, &dcf) {
		t.Fatalf("DeletePolicy attached: %v", err)
	}
	_, err = e.iot.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: sdkaws.String("DemoThing")})
	wantAPIError(t, err, "InvalidRequestException")
	_, err = e.iot.DeleteCACertificate(ctx, &iot.DeleteCACertificateInput{CertificateId: &caID})
	if !errors.As(err, &cse) {
		t.Fatalf("DeleteCACertificate ACTIVE: %v", err)
	}
	// Force delete: INACTIVE, detached from the thing, policies still attached.
	r(e.iot.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: &certID, NewStatus: types.CertificateStatusInactive})).must(t)
	r(e.iot.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: sdkaws.String("DemoThing"), Principal: &certARN})).must(t)
	_, err = e.iot.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: &certID})
	if !errors.As(err, &dcf) {
		t.Fatalf("DeleteCertificate with policy, no force: %v", err)
	}
	r(e.iot.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: &certID, ForceDelete: true})).must(t)
	r(e.iot.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: sdkaws.String("DemoPolicy")})).must(t)
	r(e.iot.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: sdkaws.String("DemoThing")})).must(t)

	// An operation AWS has but this IoT Core does not emulate: API Gateway's answer
	// to an unknown resource (issue 12; was UnknownOperationException, in no IoT model).
	_, err = e.iot.ListTopicRules(ctx, &iot.ListTopicRulesInput{})
	wantAPIError(t, err, "MissingAuthenticationTokenException")
}

// TestSDKSameSubjectLimit registers MaxCAsPerSubject CAs sharing a subject; the next
// is LimitExceededException (HTTP 410).
func TestSDKSameSubjectLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	subj := pki.Subject{Country: "IN", Organization: "Same Subject"}
	for i := 0; i < store.MaxCAsPerSubject; i++ {
		if _, err := e.sdkRegisterCA(t, pkitest.NewCA(t, pki.EC256, subj), false, false, nil); err != nil {
			t.Fatalf("CA %d: %v", i+1, err)
		}
	}
	_, err := e.sdkRegisterCA(t, pkitest.NewCA(t, pki.EC256, subj), false, false, nil)
	var lee *types.LimitExceededException
	if !errors.As(err, &lee) {
		t.Fatalf("11th CA with the same subject: %v", err)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusGone {
		t.Fatalf("status: %v", err)
	}
	// A different subject still registers.
	if _, err := e.sdkRegisterCA(t, pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Other"}), false, false, nil); err != nil {
		t.Fatal(err)
	}
	// List with pagination over all 11.
	seen := map[string]bool{}
	p := iot.NewListCACertificatesPaginator(e.iot, &iot.ListCACertificatesInput{PageSize: sdkaws.Int32(4)})
	for p.HasMorePages() {
		out := r(p.NextPage(context.Background())).must(t)
		if len(out.Certificates) > 4 {
			t.Fatalf("page of %d", len(out.Certificates))
		}
		for _, c := range out.Certificates {
			seen[sdkaws.ToString(c.CertificateId)] = true
		}
	}
	if len(seen) != store.MaxCAsPerSubject+1 {
		t.Fatalf("listed %d CAs", len(seen))
	}
}

// TestSDKPagination pages policies (marker/pageSize) and things (nextToken/maxResults).
func TestSDKPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for i := 0; i < 23; i++ {
		r(e.iot.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: sdkaws.String(fmt.Sprintf("p%02d", i)), PolicyDocument: sdkaws.String(allowAll)})).must(t)
		r(e.iot.CreateThing(ctx, &iot.CreateThingInput{ThingName: sdkaws.String(fmt.Sprintf("t%02d", i)),
			AttributePayload: &types.AttributePayload{Attributes: map[string]string{"n": fmt.Sprint(i % 2)}}})).must(t)
	}
	var policies []string
	pp := iot.NewListPoliciesPaginator(e.iot, &iot.ListPoliciesInput{PageSize: sdkaws.Int32(5), AscendingOrder: true})
	for pp.HasMorePages() {
		for _, p := range r(pp.NextPage(ctx)).must(t).Policies {
			policies = append(policies, sdkaws.ToString(p.PolicyName))
		}
	}
	if len(policies) != 23 || policies[0] != "p00" || policies[22] != "p22" {
		t.Fatalf("policies: %v", policies)
	}
	var things []string
	tp := iot.NewListThingsPaginator(e.iot, &iot.ListThingsInput{MaxResults: sdkaws.Int32(4), AttributeName: sdkaws.String("n"), AttributeValue: sdkaws.String("1")})
	for tp.HasMorePages() {
		for _, th := range r(tp.NextPage(ctx)).must(t).Things {
			things = append(things, sdkaws.ToString(th.ThingName))
		}
	}
	if len(things) != 11 || things[0] != "t01" {
		t.Fatalf("things with n=1: %v", things)
	}
	_, err := e.iot.ListPolicies(ctx, &iot.ListPoliciesInput{Marker: sdkaws.String("bogus")})
	wantAPIError(t, err, "InvalidRequestException")
	_, err = e.iot.ListPolicies(ctx, &iot.ListPoliciesInput{PageSize: sdkaws.Int32(251)})
	wantAPIError(t, err, "InvalidRequestException")
}

// TestWireErrors checks the raw protocol: missing auth, unknown operations, bad JSON,
// unknown query actions, and the error envelope of both protocols.
func TestWireErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// rest-json without Authorization.
	resp := e.rawRequest("GET", "/registrationcode", "", "", "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" ||
		!strings.Contains(string(body), `"message":"Missing Authentication Token"`) || resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("unauthenticated IoT: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// Query protocol without Authorization: XML error.
	resp = e.rawRequest("POST", "/", "", "application/x-www-form-urlencoded; charset=utf-8", "Action=GetCallerIdentity&Version=2011-06-15")
	var xe struct {
		Error struct{ Type, Code, Message string }
	}
	body, _ = io.ReadAll(resp.Body)
	if err := xml.Unmarshal(body, &xe); err != nil || resp.StatusCode != 403 || xe.Error.Code != "MissingAuthenticationToken" || xe.Error.Type != "Sender" {
		t.Fatalf("unauthenticated STS: %d %s (%v)", resp.StatusCode, body, err)
	}
	// Nothing was minted by refused requests.
	_ = e.st.View(func(st *store.State) error {
		if st.RegistrationCode != "" {
			t.Error("an unauthenticated GetRegistrationCode minted a code")
		}
		return nil
	})
	// Unknown IoT route, signed: API Gateway's answer to a resource it does not have
	// (issue 12; was 404 UnknownOperationException, a code in no IoT model).
	resp = e.rawRequest("GET", "/no-such-thing", "iot", "", "")
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" ||
		!strings.Contains(string(body), `"message":"Missing Authentication Token (`) || !strings.Contains(string(body), "GET /no-such-thing") {
		t.Fatalf("unknown route: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// Wrong method on a known path.
	resp = e.rawRequest("PATCH", "/registrationcode", "execute-api", "", "")
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("wrong method: %d %v", resp.StatusCode, resp.Header)
	}
	// Unknown IAM action.
	resp = e.rawRequest("POST", "/", "iam", "application/x-www-form-urlencoded", "Action=ListUsers&Version=2010-05-08")
	body, _ = io.ReadAll(resp.Body)
	if err := xml.Unmarshal(body, &xe); err != nil || resp.StatusCode != 400 || xe.Error.Code != "InvalidAction" {
		t.Fatalf("unknown IAM action: %d %s", resp.StatusCode, body)
	}
	// A service this endpoint does not serve.
	resp = e.rawRequest("GET", "/registrationcode", "s3", "", "")
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidSignatureException" {
		t.Fatalf("wrong service: %d %v", resp.StatusCode, resp.Header)
	}
	// Malformed Authorization header.
	req, _ := http.NewRequest("GET", e.srv.URL+"/registrationcode", nil)
	req.Header.Set("Authorization", "Bearer x")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 400 || r2.Header.Get("X-Amzn-ErrorType") != "IncompleteSignatureException" {
		t.Fatalf("bad auth header: %d %v", r2.StatusCode, r2.Header)
	}
	// Body that is not JSON.
	resp = e.rawRequest("POST", "/policies/p1", "iot", "application/json", "{not json")
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "SerializationException" {
		t.Fatalf("bad JSON: %d %v", resp.StatusCode, resp.Header)
	}
	// Percent-encoded ARN label containing %2F routes as one segment.
	arn := "arn:aws:iot:" + testRegion + ":" + testAccount + ":cert/" + strings.Repeat("a", 64)
	resp = e.rawRequest("POST", "/attached-policies/"+strings.NewReplacer(":", "%3A", "/", "%2F").Replace(arn), "iot", "", "")
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" || !strings.Contains(string(body), arn) {
		t.Fatalf("ARN label: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// Void operations answer 200 {}.
	resp = e.rawRequest("DELETE", "/registrationcode", "iot", "", "")
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "{}" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("void op: %d %q", resp.StatusCode, body)
	}
	// The local info document needs no auth.
	resp = e.rawRequest("GET", InfoPath, "", "", "")
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"mqttPort":8883`) {
		t.Fatalf("info: %d %s", resp.StatusCode, body)
	}
	resp = e.rawRequest("GET", "/endpoint?endpointType=iot%3AData-ATS", "iot", "", "")
	if resp.Header.Get("X-Jitpwiz-Mqtt-Port") != "8883" {
		t.Errorf("DescribeEndpoint port header: %v", resp.Header)
	}
	resp = e.rawRequest("GET", "/endpoint?endpointType=bogus", "iot", "", "")
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestException" {
		t.Errorf("bad endpoint type: %d", resp.StatusCode)
	}
}

// TestConcurrentAPICalls runs many SDK calls in parallel (meant for -race): every
// worker creates its own thing, policy and device certificate attachment.
func TestConcurrentAPICalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Conc"})
	caID, err := e.sdkRegisterCA(t, ca, true, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 8
	certARNs := make([]string, workers)
	for i := range workers {
		dev := ca.Issue(t, pki.Subject{CommonName: fmt.Sprintf("dev%d", i)}).Cert
		_ = e.st.Update(func(st *store.State) error {
			c, err := st.RegisterDeviceCert(dev, caID, store.StatusActive)
			if err == nil {
				certARNs[i] = c.ARN
			}
			return err
		})
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*10)
	for i := range workers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("w%d", i)
			steps := []func() error{
				func() error {
					_, err := e.iot.CreateThing(ctx, &iot.CreateThingInput{ThingName: &name})
					return err
				},
				func() error {
					_, err := e.iot.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: &name, PolicyDocument: sdkaws.String(allowAll)})
					return err
				},
				func() error {
					_, err := e.iot.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: &name, Target: &certARNs[i]})
					return err
				},
				func() error {
					_, err := e.iot.AttachThingPrincipal(ctx, &iot.AttachThingPrincipalInput{ThingName: &name, Principal: &certARNs[i]})
					return err
				},
				func() error {
					out, err := e.iot.ListAttachedPolicies(ctx, &iot.ListAttachedPoliciesInput{Target: &certARNs[i]})
					if err == nil && (len(out.Policies) != 1 || *out.Policies[0].PolicyName != name) {
						err = fmt.Errorf("worker %d sees policies %+v", i, out.Policies)
					}
					return err
				},
				func() error {
					_, err := e.iot.GetRegistrationCode(ctx, &iot.GetRegistrationCodeInput{})
					return err
				},
				func() error {
					_, err := e.iot.ListThings(ctx, &iot.ListThingsInput{})
					return err
				},
			}
			for _, s := range steps {
				if err := s(); err != nil {
					errs <- err
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_ = e.st.View(func(st *store.State) error {
		if st.CountThings() != workers || st.CountPolicyTargets() != workers || st.CountThingPrincipals() != workers {
			t.Errorf("after concurrent calls: %d things, %d policy attachments, %d thing principals", st.CountThings(), st.CountPolicyTargets(), st.CountThingPrincipals())
		}
		return nil
	})
}

// TestRestartPersistence writes state through the API, reopens the store from disk
// behind a new server, and reads it back.
func TestRestartPersistence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	r(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String("JITPRole"), AssumeRolePolicyDocument: sdkaws.String(trustPolicy)})).must(t)
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Restart"})
	caID, err := e.sdkRegisterCA(t, ca, true, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	code := r(e.iot.GetRegistrationCode(ctx, &iot.GetRegistrationCodeInput{})).must(t)
	certID, _ := e.provisionDevice(ca, caID, "Persist", "PersistPolicy")
	e.srv.Close()

	st2, err := store.Open(e.st.Dir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e2 := newEnvOn(t, e.dir, st2)
	if c := r(e2.iot.GetRegistrationCode(ctx, &iot.GetRegistrationCodeInput{})).must(t); *c.RegistrationCode != *code.RegistrationCode {
		t.Error("registration code changed across restart")
	}
	d := r(e2.iot.DescribeCACertificate(ctx, &iot.DescribeCACertificateInput{CertificateId: &caID})).must(t)
	if d.CertificateDescription.Status != types.CACertificateStatusActive {
		t.Errorf("CA after restart: %+v", d.CertificateDescription)
	}
	c := r(e2.iot.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: &certID})).must(t)
	if c.CertificateDescription.Status != types.CertificateStatusActive {
		t.Errorf("cert after restart: %+v", c.CertificateDescription)
	}
	r(e2.iot.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: sdkaws.String("Persist")})).must(t)
	r(e2.iot.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: sdkaws.String("PersistPolicy")})).must(t)
	r(e2.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String("JITPRole")})).must(t)
}
