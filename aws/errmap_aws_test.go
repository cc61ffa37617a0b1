package aws

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// An sso-session profile whose cached token has expired: the SDK refreshes it with the
// refresh token at SSO OIDC (CreateToken), which answers InvalidGrantException once the
// session is over (botocore sso-oidc model: InvalidGrantException, HTTP 400, members error
// and error_description). The user must be told to log in again — not "AWS returned
// InvalidGrantException: (no message)" — and the IoT call is never sent.
func TestExpiredSSOSessionWithRefreshToken(t *testing.T) {
	dir := isolateAWSEnv(t)
	cfg := "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = eu-west-1\n\n" +
		"[sso-session corp]\nsso_region = us-east-1\nsso_start_url = https://example.awsapps.com/start\nsso_registration_scopes = sso:account:access\n"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The SDK's token cache: ~/.aws/sso/cache/<sha1 of the session name>.json.
	sum := sha1.Sum([]byte("corp"))
	cache := filepath.Join(dir, ".aws", "sso", "cache")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	tok := fmt.Sprintf(`{"accessToken":"old","expiresAt":%q,"refreshToken":"refresh-1","clientId":"cid","clientSecret":"csecret","registrationExpiresAt":%q,"region":"us-east-1","startUrl":"https://example.awsapps.com/start"}`,
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(cache, hex.EncodeToString(sum[:])+".json"), []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	var refreshes atomic.Int32
	oidc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/token" {
			t.Errorf("SSO OIDC got %s %s, want POST /token (CreateToken)", r.Method, r.URL.Path)
		}
		refreshes.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "InvalidGrantException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid refresh token provided"}`))
	}))
	defer oidc.Close()
	sso := unreachedServer(t, "SSO GetRoleCredentials must not be called without a token")
	iot := unreachedServer(t, "no IoT request may be sent without credentials")
	t.Setenv("AWS_ENDPOINT_URL_SSO_OIDC", oidc.URL)
	t.Setenv("AWS_ENDPOINT_URL_SSO", sso.URL)

	ctx := context.Background()
	c, err := New(ctx, Config{Profile: "dev", EndpointURL: iot.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRegistrationCode(ctx)
	e := asError(t, err)
	if e.Kind != KindExpiredToken || !strings.Contains(e.Fix, "run `aws sso login --profile dev`") ||
		!strings.Contains(e.Cause, "SSO session has expired") || !strings.Contains(e.Cause, "InvalidGrantException") {
		t.Fatalf("got %+v", e)
	}
	if refreshes.Load() == 0 {
		t.Fatalf("the SDK never tried to refresh the token at the fake SSO OIDC server: the test did not exercise the refresh")
	}
}

// AWS's documented error shapes for what the old fixes got wrong.
func TestErrorMappingDocumentedShapes(t *testing.T) {
	t.Parallel()
	user := "User: arn:aws:sts::123456789012:assumed-role/Dev/me is not authorized to perform: iot:RegisterCACertificate on resource: arn:aws:iot:us-east-2:123456789012:cacert/*"
	type errCase struct {
		name, header, body string
		status             int
		call               func(Client) error
		kind               Kind
		cause, fix, notFix string
	}
	// denied: RegisterCACertificate refused 403 AccessDeniedException, the message user+why.
	denied := func(name, why, cause, fix, notFix string) errCase {
		return errCase{name: name, status: 403, header: "AccessDeniedException", body: `{"message":"` + user + why + `"}`, call: callRegisterCA,
			kind: KindAccessDenied, cause: cause, fix: fix, notFix: notFix}
	}
	for _, tc := range []errCase{
		// IAM User Guide, troubleshoot_access-denied.html: the policy type that denied is named.
		denied("explicit deny in an SCP", " with an explicit deny in a service control policy",
			"a Deny overrides any Allow", "service control policy of AWS Organizations", "grant"),
		denied("explicit deny in a permissions boundary", " with an explicit deny in a permissions boundary",
			"(in a permissions boundary)", "PermissionsBoundary", "grant"),
		denied("explicit deny in a session policy", " with an explicit deny in a session policy",
			"explicit Deny forbids iot:RegisterCACertificate", "session policy", "grant"),
		denied("explicit deny of unnamed type", " with an explicit deny",
			"a Deny overrides any Allow", "service control policies of AWS Organizations, the permissions boundary", "grant"),
		denied("implicit deny by a permissions boundary", " because no permissions boundary allows the iot:RegisterCACertificate action",
			"no permissions boundary allows it", "the permissions boundary must allow iot:RegisterCACertificate", ""),
		denied("implicit deny by identity policy: grant", " because no identity-based policy allows the iot:RegisterCACertificate action",
			"not allowed to call iot:RegisterCACertificate", "grant iot:RegisterCACertificate", ""),
		// Common Errors (every AWS API reference): RequestExpired "more than 15 minutes after the date stamp".
		{name: "request expired is the clock", status: 400, header: "RequestExpired",
			body: `{"message":"Request has expired."}`, call: callRegisterCA, kind: KindClockSkew, cause: "more than 15 minutes off", fix: "clock", notFix: "sso login"},
		{name: "signature expired is the clock", status: 403, header: "InvalidSignatureException",
			body: `{"message":"Signature expired: 20260101T000000Z is now earlier than 20260101T001000Z (20260101T002500Z - 15 min.)"}`,
			call: callRegisterCA, kind: KindClockSkew, cause: "more than 15 minutes off", fix: "NTP"},
		{name: "opt-in required", status: 403, header: "OptInRequired",
			body: `{"message":"The AWS Access Key Id needs a subscription for the service"}`, call: callRegisterCA, kind: KindAccessDenied,
			cause: "not opted in", fix: "enable-region --region-name us-east-2"},
		{name: "not authorized", status: 401, header: "NotAuthorized",
			body: `{"message":"You do not have permission to perform this action."}`, call: callRegisterCA, kind: KindAccessDenied,
			cause: "iot:RegisterCACertificate", fix: "grant iot:RegisterCACertificate"},
		// D: a signed request answered MissingAuthenticationTokenException names the endpoint and the operation.
		{name: "missing authentication token on a signed request", status: 403, header: "MissingAuthenticationTokenException",
			body: `{"message":"Missing Authentication Token"}`, call: callRegisterCA, kind: KindNoSuchOperation,
			cause: "does not offer IoT RegisterCACertificate", fix: "base URL", notFix: "credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := errorServer(t, tc.status, tc.header, tc.body)
			e := asError(t, tc.call(newTestClient(t, srv.URL, 1)))
			if e.Kind != tc.kind || !strings.Contains(e.Cause, tc.cause) || !strings.Contains(e.Fix, tc.fix) ||
				(tc.notFix != "" && strings.Contains(strings.ToLower(e.Fix), tc.notFix)) {
				t.Errorf("got kind %s\ncause %q\nfix %q\nwant kind %s, cause ~%q, fix ~%q, fix without %q", e.Kind, e.Cause, e.Fix, tc.kind, tc.cause, tc.fix, tc.notFix)
			}
			if tc.name == "missing authentication token on a signed request" && !strings.Contains(e.Cause, srv.URL) {
				t.Errorf("the cause does not name the endpoint the request was signed for: %q", e.Cause)
			}
		})
	}
}

// IAM errors in the query protocol (botocore iam model): PolicyNotAttachable and
// UnmodifiableEntity (HTTP 400), and NoSuchEntity, which is not blamed on the region (IAM is
// global).
func TestIAMErrorsDocumentedShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	created := xmlOK(`<CreateRoleResponse><CreateRoleResult><Role><Path>/</Path><RoleName>JITPRole</RoleName><RoleId>AROA1</RoleId><Arn>arn:aws:iam::123456789012:role/JITPRole</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></Role></CreateRoleResult></CreateRoleResponse>`)
	for _, tc := range []struct {
		name, code, msg string
		kind            Kind
		cause, fix      string
	}{
		{"policy not attachable", "PolicyNotAttachable", "Cannot attach a Service Role Policy to a Customer Role.", KindInvalidRequest, "will not attach", "AWSIoTThingsRegistration"},
		{"unmodifiable entity", "UnmodifiableEntity", "Cannot perform the operation on the protected role 'AWSServiceRoleForIoT'", KindConflict, "protected", "--role-arn"},
		{"managed policy not found is not the region", "NoSuchEntity", "Policy arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration does not exist or is not attachable.", KindNotFound, "in this account", "not to a region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := &queryServer{handle: queryHandlers{
				"GetRole": noRoleXML, "CreateRole": created,
				"AttachRolePolicy": xmlError(400, tc.code, tc.msg),
			}}
			_, err := q.client(t).EnsureRole(ctx, RoleSpec{Account: "123456789012"})
			e := asError(t, err)
			if e.Kind != tc.kind || !strings.Contains(e.Cause, tc.cause) || !strings.Contains(e.Fix, tc.fix) || strings.Contains(e.Cause, "region") {
				t.Errorf("got kind %s cause %q fix %q; want %s ~%q ~%q, and no region in the cause", e.Kind, e.Cause, e.Fix, tc.kind, tc.cause, tc.fix)
			}
		})
	}
}

// The trust condition is opt-in (whether JITP sends aws:SourceAccount/aws:SourceArn is not
// documented), and --role-arn uses a role as given: only reads, never an IAM write.
func TestEnsureRoleTrustConditionAndExistingRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, cond := range []bool{false, true} {
		var trust atomic.Value
		q := &queryServer{handle: queryHandlers{
			"GetRole": noRoleXML,
			"CreateRole": func(w http.ResponseWriter, r *http.Request) {
				trust.Store(r.PostForm.Get("AssumeRolePolicyDocument"))
				xmlOK(`<CreateRoleResponse><CreateRoleResult><Role><Path>/</Path><RoleName>JITPRole</RoleName><RoleId>AROA1</RoleId><Arn>arn:aws:iam::123456789012:role/JITPRole</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></Role></CreateRoleResult></CreateRoleResponse>`)(w, r)
			},
			"AttachRolePolicy": xmlOK(`<AttachRolePolicyResponse/>`),
		}}
		if _, err := q.client(t).EnsureRole(ctx, RoleSpec{Account: "123456789012", TrustCondition: cond}); err != nil {
			t.Fatal(err)
		}
		doc, _ := trust.Load().(string)
		if has := strings.Contains(doc, `"aws:SourceAccount":"123456789012"`) && strings.Contains(doc, `"aws:SourceArn":"arn:aws:iot:us-east-2:123456789012:*"`); has != cond ||
			!strings.Contains(doc, `"Service":"iot.amazonaws.com"`) {
			t.Errorf("TrustCondition %v: the role was created with %s", cond, doc)
		}
	}

	arn := "arn:aws:iam::123456789012:role/ops/ProvisioningRole"
	roleDoc := strings.NewReplacer("JITPRole", "ProvisioningRole", "role/", "role/ops/", "<Path>/</Path>", "<Path>/ops/</Path>").Replace(roleXML)
	t.Run("existing role read and checked, nothing written", func(t *testing.T) {
		t.Parallel()
		q := &queryServer{handle: queryHandlers{
			"GetRole":                  xmlOK(fmt.Sprintf(roleDoc, urlEncode(TrustPolicy("", "")))),
			"ListAttachedRolePolicies": xmlOK(`<ListAttachedRolePoliciesResponse><ListAttachedRolePoliciesResult><IsTruncated>false</IsTruncated><AttachedPolicies></AttachedPolicies></ListAttachedRolePoliciesResult></ListAttachedRolePoliciesResponse>`),
		}}
		r, err := q.client(t).EnsureRole(ctx, RoleSpec{Account: "123456789012", ExistingARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(r.Notes, "\n")
		if r.ARN != arn || r.Name != "ProvisioningRole" || r.Created || !strings.Contains(notes, "no IAM changes") || !strings.Contains(notes, "AWSIoTThingsRegistration is not attached") {
			t.Errorf("role %+v", r)
		}
		if got := q.calls(); got != "GetRole,ListAttachedRolePolicies" {
			t.Errorf("IAM calls %s: --role-arn must only read", got)
		}
	})
	t.Run("existing role that may not be read is used as given", func(t *testing.T) {
		t.Parallel()
		q := &queryServer{handle: queryHandlers{
			"GetRole": xmlError(403, "AccessDenied", "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:GetRole on resource: role ProvisioningRole"),
		}}
		r, err := q.client(t).EnsureRole(ctx, RoleSpec{Account: "123456789012", ExistingARN: arn})
		if err != nil || r.ARN != arn || !strings.Contains(strings.Join(r.Notes, " "), "not checked") {
			t.Errorf("role %+v, %v", r, err)
		}
	})
	t.Run("existing role not trusted by iot is refused", func(t *testing.T) {
		t.Parallel()
		q := &queryServer{handle: queryHandlers{
			"GetRole": xmlOK(fmt.Sprintf(roleDoc, urlEncode(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`))),
		}}
		_, err := q.client(t).EnsureRole(ctx, RoleSpec{Account: "123456789012", ExistingARN: arn})
		if e := asError(t, err); e.Kind != KindConflict || !strings.Contains(e.Cause, "not trusted by iot.amazonaws.com") {
			t.Errorf("got %+v", e)
		}
	})
	t.Run("role of another partition", func(t *testing.T) {
		t.Parallel()
		q := &queryServer{}
		_, err := q.client(t).EnsureRole(ctx, RoleSpec{Account: "123456789012", ExistingARN: "arn:aws-cn:iam::123456789012:role/R"})
		if e := asError(t, err); e.Kind != KindConfig || !strings.Contains(e.Cause, "partition aws-cn") {
			t.Errorf("got %+v", e)
		}
	})
}

// While RegisterCA waits for a new role, each retry is told (the step shows it), not silent.
func TestRegisterCARoleRetryIsShown(t *testing.T) {
	t.Parallel()
	srv, _ := flakyServer(t, 2, 400, "InvalidRequestException", `{"message":"The provided role arn:aws:iam::123456789012:role/JITPRole cannot be assumed by AWS IoT"}`,
		`{"certificateId":"cafe","certificateArn":"arn:aws:iot:us-east-2:123456789012:cacert/cafe"}`)
	c := newTestClient(t, srv.URL, 1)
	c.roleWait, c.roleBackoff = 2*time.Second, time.Millisecond
	var told []string
	_, err := c.RegisterCA(context.Background(), RegisterCAInput{CACertificatePEM: "x", VerificationCertificatePEM: "y",
		RegistrationConfig: &RegistrationConfig{TemplateBody: "{}", RoleArn: "arn:aws:iam::123456789012:role/JITPRole"},
		OnRoleRetry: func(wait, left time.Duration, msg string) {
			if wait <= 0 || left <= 0 || left > 2*time.Second {
				t.Errorf("retry told wait %v, left %v", wait, left)
			}
			told = append(told, msg)
		}})
	if err != nil || len(told) != 2 || !strings.Contains(told[0], "cannot be assumed") {
		t.Fatalf("err %v, retries told %q (want the 2 retries with AWS's message)", err, told)
	}
}
