package aws

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// restJSONError writes an AWS rest-json error: X-Amzn-ErrorType header + {"message"} body.
func restJSONError(w http.ResponseWriter, status int, header string, body string) {
	w.Header().Set("X-Amzn-ErrorType", header)
	w.Header().Set("x-amzn-RequestId", "req-1")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// queryXMLError writes an IAM/STS query-protocol error document.
func queryXMLError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, code, msg)
}

// newTestClient points the real SDK client at url with dummy static credentials and fast retries.
func newTestClient(t *testing.T, url string, attempts int) *sdkClient {
	t.Helper()
	c, err := New(context.Background(), Config{Region: "us-east-2", EndpointURL: url, StaticAccessKeyID: "AKIDTEST",
		StaticSecretKey: "secret", MaxAttempts: attempts, MaxBackoff: time.Millisecond, RoleWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c.(*sdkClient)
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *aws.Error, got %T: %v", err, err)
	}
	return e
}

// The calls the error tables make, each a Client method with fixed arguments.
func callRegisterCA(c Client) error {
	_, err := c.RegisterCA(context.Background(), RegisterCAInput{CACertificatePEM: "pem", VerificationCertificatePEM: "v"})
	return err
}

func callGetRegistrationCode(c Client) error {
	_, err := c.GetRegistrationCode(context.Background())
	return err
}

func callDeleteThing(c Client) error { return c.DeleteThing(context.Background(), "Dev1") }

func TestErrorMappingRestJSON(t *testing.T) {
	t.Parallel()
	type tc struct {
		name     string
		status   int
		header   string
		body     string
		call     func(c Client) error
		kind     Kind
		code     string
		cause    string // substring
		fix      string // substring
		resID    string
		resARN   string
		attempts int // requests the server must see
	}
	ctx := context.Background()
	cases := []tc{
		{name: "already-exists carries id and arn", status: 409, header: "ResourceAlreadyExistsException",
			body: `{"message":"The certificate is already provisioned or registered","resourceId":"abc123","resourceArn":"arn:aws:iot:us-east-2:123456789012:cacert/abc123"}`,
			call: callRegisterCA, kind: KindAlreadyExists, code: "ResourceAlreadyExistsException", cause: "already registered",
			fix: "reuse", resID: "abc123", resARN: "arn:aws:iot:us-east-2:123456789012:cacert/abc123", attempts: 1},
		{name: "not-found with trailing colon header", status: 404, header: "ResourceNotFoundException:",
			body: `{"message":"Not Found","traceId":"x"}`,
			call: func(c Client) error { _, err := c.DescribeThing(ctx, "Dev1"); return err },
			kind: KindNotFound, code: "ResourceNotFoundException", cause: "thing Dev1 does not exist in region us-east-2", fix: "--region", attempts: 1},
		{name: "certificate validation", status: 400, header: "CertificateValidationException",
			body: `{"message":"CA certificate does not have the basicConstraints extension as true"}`, call: callRegisterCA,
			kind: KindCertificateValidation, cause: "basicConstraints", fix: "CA:TRUE", attempts: 1},
		{name: "registration code", status: 400, header: "RegistrationCodeValidationException",
			body: `{"message":"The registration code is invalid"}`, call: callRegisterCA,
			kind: KindRegistrationCode, cause: "registration code for region us-east-2", fix: "recreate the verification certificate", attempts: 1},
		{name: "malformed policy", status: 400, header: "MalformedPolicyException", body: `{"message":"Policy document is malformed"}`,
			call: func(c Client) error { _, err := c.CreatePolicy(ctx, "p", "{"); return err },
			kind: KindMalformedPolicy, cause: "malformed", fix: "fix the JSON", attempts: 1},
		{name: "certificate state", status: 406, header: "CertificateStateException",
			body: `{"message":"Certificate must be deactivated (not ACTIVE) before deletion."}`,
			call: func(c Client) error { return c.DeleteCertificate(ctx, "abcd", false) },
			kind: KindConflict, cause: "deactivated", fix: "INACTIVE first", attempts: 1},
		{name: "delete conflict", status: 409, header: "DeleteConflictException",
			body: `{"message":"The policy cannot be deleted as the policy is attached to one or more principals (name=p)"}`,
			call: func(c Client) error { return c.DeletePolicy(ctx, "p") },
			kind: KindConflict, cause: "attached to one or more principals", fix: "detach", attempts: 1},
		{name: "limit exceeded 410", status: 410, header: "LimitExceededException", body: `{"message":"too many CAs with this subject"}`,
			call: callRegisterCA, kind: KindLimitExceeded, cause: "too many CAs", fix: "at most 10", attempts: 1},
		{name: "throttling retried then surfaced", status: 400, header: "ThrottlingException", body: `{"message":"Rate exceeded"}`,
			call: func(c Client) error { _, err := c.ListCAs(ctx); return err },
			kind: KindThrottled, cause: "gave up", fix: "wait", attempts: 3},
		{name: "unauthorized names the action", status: 401, header: "UnauthorizedException", body: `{"message":"denied"}`,
			call: callRegisterCA, kind: KindAccessDenied, cause: "iot:RegisterCACertificate", fix: "grant iot:RegisterCACertificate", attempts: 1},
		{name: "access denied 403", status: 403, header: "AccessDeniedException",
			body: `{"message":"User: arn:aws:iam::1:user/x is not authorized to perform: iot:DescribeEndpoint"}`,
			call: func(c Client) error { _, err := c.DataEndpoint(ctx); return err },
			kind: KindAccessDenied, cause: "iot:DescribeEndpoint", fix: "grant iot:DescribeEndpoint", attempts: 1},
		{name: "access denied for iam:PassRole names PassRole", status: 403, header: "AccessDeniedException",
			body: `{"message":"User: arn:aws:iam::1:user/x is not authorized to perform: iam:PassRole on resource: arn:aws:iam::1:role/JITPRole"}`,
			call: callRegisterCA, kind: KindAccessDenied, cause: "iam:PassRole", fix: "administrator create the provisioning role", attempts: 1},
		{name: "expired token", status: 403, header: "ExpiredTokenException", body: `{"message":"The security token included in the request is expired"}`,
			call: callGetRegistrationCode,
			kind: KindExpiredToken, cause: "expired", fix: "aws sso login", attempts: 1},
		{name: "unrecognized client", status: 403, header: "UnrecognizedClientException", body: `{"message":"The security token included in the request is invalid."}`,
			call: callGetRegistrationCode,
			kind: KindInvalidCredentials, cause: "does not accept your credentials", fix: "aws sts get-caller-identity", attempts: 1},
		{name: "signature scoped to an invalid region", status: 403, header: "InvalidSignatureException",
			body: `{"message":"Credential should be scoped to a valid region."}`,
			call: callGetRegistrationCode,
			kind: KindWrongRegion, cause: "region us-east-2", fix: "--region", attempts: 1},
		{name: "signature mismatch", status: 403, header: "InvalidSignatureException",
			body: `{"message":"The request signature we calculated does not match the signature you provided."}`,
			call: callGetRegistrationCode,
			kind: KindInvalidCredentials, cause: "secret key does not match", fix: "clock", attempts: 1},
		{name: "internal failure retried", status: 500, header: "InternalFailureException", body: `{"message":"oops"}`,
			call: func(c Client) error { _, err := c.DescribeCertificate(ctx, "ab"); return err },
			kind: KindUnavailable, cause: "internal error", fix: "retry", attempts: 3},
		{name: "service unavailable", status: 503, header: "ServiceUnavailableException", body: `{"message":"busy"}`,
			call: func(c Client) error { return c.UpdateCertificate(ctx, "ab", StatusActive) },
			kind: KindUnavailable, cause: "unavailable", fix: "retry", attempts: 3},
		{name: "invalid request about principals", status: 400, header: "InvalidRequestException",
			body: `{"message":"Cannot delete. Thing Dev1 is still attached to one or more principals"}`,
			call: callDeleteThing,
			kind: KindInvalidRequest, cause: "still attached", fix: "detach the principals first", attempts: 1},
		{name: "conflicting resource update", status: 409, header: "ConflictingResourceUpdateException", body: `{"message":"busy"}`,
			call: func(c Client) error { return c.UpdateCA(ctx, "ab", UpdateCAInput{NewStatus: StatusActive}) },
			kind: KindConflict, cause: "changed by someone else", fix: "retry", attempts: 1},
		{name: "version conflict", status: 409, header: "VersionConflictException", body: `{"message":"version"}`,
			call: callDeleteThing,
			kind: KindConflict, cause: "changed by someone else", fix: "retry", attempts: 1},
		{name: "qualified coral header", status: 404,
			header: "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.iot/",
			body:   `{"message":"policy not found"}`,
			call:   func(c Client) error { _, err := c.GetPolicy(ctx, "Nope"); return err },
			kind:   KindNotFound, cause: "IoT policy Nope does not exist in region us-east-2", fix: "create it first", attempts: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, n := errorServer(t, tc.status, tc.header, tc.body)
			c := newTestClient(t, srv.URL, 3)
			e := asError(t, tc.call(c))
			if e.Kind != tc.kind {
				t.Errorf("Kind = %q, want %q (err %v)", e.Kind, tc.kind, e)
			}
			if tc.code != "" && e.Code != tc.code {
				t.Errorf("Code = %q, want %q", e.Code, tc.code)
			}
			if !strings.Contains(e.Cause, tc.cause) {
				t.Errorf("Cause = %q, want it to contain %q", e.Cause, tc.cause)
			}
			if !strings.Contains(e.Fix, tc.fix) {
				t.Errorf("Fix = %q, want it to contain %q", e.Fix, tc.fix)
			}
			if e.ResourceID != tc.resID || e.ResourceARN != tc.resARN {
				t.Errorf("Resource = %q %q, want %q %q", e.ResourceID, e.ResourceARN, tc.resID, tc.resARN)
			}
			if got := int(n.Load()); got != tc.attempts {
				t.Errorf("server saw %d requests, want %d", got, tc.attempts)
			}
			if e.Op == "" || !strings.Contains(e.Error(), e.Op) {
				t.Errorf("Error() = %q lacks op %q", e.Error(), e.Op)
			}
		})
	}
}

// flakyServer answers the first fails requests with the REST JSON error (status, header,
// errBody) and every later one with okBody; n counts the requests.
func flakyServer(t testing.TB, fails int32, status int, header, errBody, okBody string) (srv *httptest.Server, n *atomic.Int32) {
	n = new(atomic.Int32)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= fails {
			restJSONError(w, status, header, errBody)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(okBody))
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

// errorServer answers every request with the REST JSON error (status, header, body); n
// counts the requests.
func errorServer(t testing.TB, status int, header, body string) (srv *httptest.Server, n *atomic.Int32) {
	return flakyServer(t, math.MaxInt32, status, header, body, "")
}

// unreachedServer is an endpoint no request may reach: one that does fails the test, the
// message saying why (what) and which request it was.
func unreachedServer(t *testing.T, what string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s: %s %s", what, r.Method, r.URL)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestThrottlingRecoversWithinRetries(t *testing.T) {
	t.Parallel()
	srv, n := flakyServer(t, 2, 400, "ThrottlingException", `{"message":"Rate exceeded"}`, `{"registrationCode":"`+strings.Repeat("ab", 32)+`"}`)
	c := newTestClient(t, srv.URL, 4)
	code, err := c.GetRegistrationCode(context.Background())
	if err != nil {
		t.Fatalf("throttling should be retried away, got %v", err)
	}
	if code != strings.Repeat("ab", 32) || n.Load() != 3 {
		t.Fatalf("code %q after %d requests", code, n.Load())
	}
}

func TestRegisterCARetriesWhileRoleNotPropagated(t *testing.T) {
	t.Parallel()
	roleMsg := `{"message":"The provided role arn:aws:iam::123456789012:role/JITPRole cannot be assumed by AWS IoT"}`
	withRole := RegisterCAInput{CACertificatePEM: "x", VerificationCertificatePEM: "y",
		RegistrationConfig: &RegistrationConfig{TemplateBody: "{}", RoleArn: "arn:aws:iam::123456789012:role/JITPRole"}}
	t.Run("succeeds after propagation", func(t *testing.T) {
		t.Parallel()
		srv, n := flakyServer(t, 2, 400, "InvalidRequestException", roleMsg, `{"certificateId":"cafe","certificateArn":"arn:aws:iot:us-east-2:123456789012:cacert/cafe"}`)
		c := newTestClient(t, srv.URL, 1)
		c.roleWait, c.roleBackoff = 2*time.Second, time.Millisecond
		ref, err := c.RegisterCA(context.Background(), withRole)
		if err != nil || ref.ID != "cafe" || n.Load() != 3 {
			t.Fatalf("ref %+v err %v after %d requests", ref, err, n.Load())
		}
	})
	t.Run("gives up after the bound", func(t *testing.T) {
		t.Parallel()
		srv, n := errorServer(t, 400, "InvalidRequestException", roleMsg)
		c := newTestClient(t, srv.URL, 1)
		c.roleWait, c.roleBackoff = 500*time.Millisecond, 5*time.Millisecond
		_, err := c.RegisterCA(context.Background(), withRole)
		e := asError(t, err)
		if e.Kind != KindInvalidRequest || !strings.Contains(e.Cause, "cannot use the provisioning role") || !strings.Contains(e.Fix, "propagate") {
			t.Fatalf("got %+v", e)
		}
		if n.Load() < 2 {
			t.Fatalf("expected retries, server saw %d", n.Load())
		}
	})
	t.Run("other invalid request is not retried", func(t *testing.T) {
		t.Parallel()
		srv, n := errorServer(t, 400, "InvalidRequestException", `{"message":"Invalid registration template"}`)
		c := newTestClient(t, srv.URL, 1)
		c.roleWait, c.roleBackoff = time.Second, time.Millisecond
		_, err := c.RegisterCA(context.Background(), withRole)
		if e := asError(t, err); e.Kind != KindInvalidRequest || !strings.Contains(e.Fix, "template") || n.Load() != 1 {
			t.Fatalf("got %+v after %d requests", e, n.Load())
		}
	})
}

// List operations follow nextToken/nextMarker until the last page.
func TestPagination(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		q := r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/things" && q.Get("nextToken") == "":
			fmt.Fprint(w, `{"things":[{"thingName":"a","version":1}],"nextToken":"t2"}`)
		case r.URL.Path == "/things" && q.Get("nextToken") == "t2":
			fmt.Fprint(w, `{"things":[{"thingName":"b","attributes":{"k":"v"},"version":2}]}`)
		case r.URL.Path == "/cacertificates" && q.Get("marker") == "":
			fmt.Fprint(w, `{"certificates":[{"certificateId":"c1","status":"ACTIVE","creationDate":1700000000.5}],"nextMarker":"m2"}`)
		case r.URL.Path == "/cacertificates" && q.Get("marker") == "m2":
			fmt.Fprint(w, `{"certificates":[{"certificateId":"c2","status":"INACTIVE","creationDate":1700000001}]}`)
		case strings.HasPrefix(r.URL.Path, "/things/a/principals") && q.Get("nextToken") == "":
			fmt.Fprint(w, `{"principals":["arn:1"],"nextToken":"p2"}`)
		case strings.HasPrefix(r.URL.Path, "/things/a/principals"):
			fmt.Fprint(w, `{"principals":["arn:2"]}`)
		default:
			restJSONError(w, 404, "ResourceNotFoundException", `{"message":"unexpected `+r.URL.Path+`"}`)
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, 1)
	ctx := context.Background()
	things, err := c.ListThings(ctx)
	if err != nil || len(things) != 2 || things[0].Name != "a" || things[1].Attributes["k"] != "v" || things[1].Version != 2 {
		t.Fatalf("ListThings = %+v, %v", things, err)
	}
	cas, err := c.ListCAs(ctx)
	if err != nil || len(cas) != 2 || cas[1].ID != "c2" || cas[0].CreationDate.Unix() != 1700000000 {
		t.Fatalf("ListCAs = %+v, %v", cas, err)
	}
	ps, err := c.ListThingPrincipals(ctx, "a")
	if err != nil || strings.Join(ps, ",") != "arn:1,arn:2" {
		t.Fatalf("ListThingPrincipals = %v, %v", ps, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 6 {
		t.Fatalf("requests %v", seen)
	}
}

func TestFindCANotFoundIsNil(t *testing.T) {
	t.Parallel()
	srv, _ := errorServer(t, 404, "ResourceNotFoundException", `{"message":"not found"}`)
	c := newTestClient(t, srv.URL, 1)
	d, err := c.FindCA(context.Background(), strings.Repeat("a", 64))
	if d != nil || err != nil {
		t.Fatalf("FindCA = %v, %v; want nil, nil", d, err)
	}
}

// queryServer answers IAM/STS query-protocol calls by Action.
type queryServer struct {
	mu      sync.Mutex
	actions []string
	handle  queryHandlers
}

// queryHandlers answer a queryServer's actions, by Action.
type queryHandlers map[string]http.HandlerFunc

// calls are the actions q was asked for so far, in order, comma-separated.
func (q *queryServer) calls() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return strings.Join(q.actions, ",")
}

func (q *queryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	a := r.PostForm.Get("Action")
	q.mu.Lock()
	q.actions = append(q.actions, a)
	h := q.handle[a]
	q.mu.Unlock()
	if h == nil {
		queryXMLError(w, 400, "InvalidAction", "unexpected "+a)
		return
	}
	h(w, r)
}

// client is a client whose IAM and STS calls go to q (one attempt each).
func (q *queryServer) client(t *testing.T) *sdkClient {
	srv := httptest.NewServer(q)
	t.Cleanup(srv.Close)
	return newTestClient(t, srv.URL, 1)
}

func xmlOK(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(body))
	}
}

// xmlError answers with a query-protocol error (queryXMLError).
func xmlError(status int, code, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { queryXMLError(w, status, code, msg) }
}

// noRoleXML is IAM's answer to GetRole for a role that does not exist.
var noRoleXML = xmlError(404, "NoSuchEntity", "The role with name JITPRole cannot be found.")

const roleXML = `<GetRoleResponse><GetRoleResult><Role><RoleName>JITPRole</RoleName><Arn>arn:aws:iam::123456789012:role/JITPRole</Arn><AssumeRolePolicyDocument>%s</AssumeRolePolicyDocument><RoleId>AROA1</RoleId><Path>/</Path><CreateDate>2026-01-01T00:00:00Z</CreateDate></Role></GetRoleResult></GetRoleResponse>`

func TestErrorMappingQueryXML(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	callerAccount := func(c *sdkClient) error { _, err := c.CallerAccount(ctx); return err }
	ensureRole := func(c *sdkClient) error { _, err := c.EnsureRole(ctx, RoleSpec{Account: "123456789012"}); return err }
	untrusted := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	for _, tc := range []struct {
		name   string
		handle queryHandlers
		call   func(c *sdkClient) error
		wrong  func(e *Error) bool // the error is not the one expected
	}{
		{"sts access denied", queryHandlers{"GetCallerIdentity": xmlError(403, "AccessDenied", "User is not authorized to perform: sts:GetCallerIdentity")}, callerAccount,
			func(e *Error) bool {
				return e.Kind != KindAccessDenied || !strings.Contains(e.Cause, "sts:GetCallerIdentity") || !strings.Contains(e.Fix, "grant sts:GetCallerIdentity")
			}},
		{"sts invalid client token", queryHandlers{"GetCallerIdentity": xmlError(403, "InvalidClientTokenId", "The security token included in the request is invalid.")}, callerAccount,
			func(e *Error) bool { return e.Kind != KindInvalidCredentials || e.Code != "InvalidClientTokenId" }},
		{"iam malformed policy document on create", queryHandlers{"GetRole": noRoleXML, "CreateRole": xmlError(400, "MalformedPolicyDocument", "Has prohibited field Resource")}, ensureRole,
			func(e *Error) bool {
				return e.Kind != KindMalformedPolicy || e.Op != "CreateRole" || !strings.Contains(e.Cause, "prohibited field")
			}},
		{"existing role trusted for another region", queryHandlers{"GetRole": xmlOK(fmt.Sprintf(roleXML, urlEncode(TrustPolicy("123456789012", "us-west-2"))))}, ensureRole,
			func(e *Error) bool {
				return e.Kind != KindConflict || !strings.Contains(e.Cause, "does not cover AWS IoT in us-east-2") || !strings.Contains(e.Fix, "arn:aws:iot:us-east-2:123456789012:*")
			}},
		{"existing role not trusted by iot", queryHandlers{"GetRole": xmlOK(fmt.Sprintf(roleXML, urlEncode(untrusted)))}, ensureRole,
			func(e *Error) bool {
				return e.Kind != KindConflict || !strings.Contains(e.Cause, "not trusted by iot.amazonaws.com") || !strings.Contains(e.Fix, "update-assume-role-policy")
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := &queryServer{handle: tc.handle}
			if e := asError(t, tc.call(q.client(t))); tc.wrong(e) {
				t.Fatalf("got %+v", e)
			}
		})
	}
	t.Run("iam entity already exists race reuses role", func(t *testing.T) {
		t.Parallel()
		var gets atomic.Int32
		q := &queryServer{handle: queryHandlers{
			"GetRole": func(w http.ResponseWriter, r *http.Request) {
				if gets.Add(1) == 1 {
					noRoleXML(w, r)
					return
				}
				xmlOK(fmt.Sprintf(roleXML, urlEncode(TrustPolicy("123456789012", "us-east-2"))))(w, r)
			},
			"CreateRole":               xmlError(409, "EntityAlreadyExists", "Role with name JITPRole already exists."),
			"ListAttachedRolePolicies": xmlOK(`<ListAttachedRolePoliciesResponse><ListAttachedRolePoliciesResult><IsTruncated>false</IsTruncated><AttachedPolicies><member><PolicyName>AWSIoTThingsRegistration</PolicyName><PolicyArn>` + PolicyThingsRegistration + `</PolicyArn></member></AttachedPolicies></ListAttachedRolePoliciesResult></ListAttachedRolePoliciesResponse>`),
			"AttachRolePolicy":         xmlOK(`<AttachRolePolicyResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AttachRolePolicyResponse>`),
		}}
		role, err := q.client(t).EnsureRole(ctx, RoleSpec{Account: "123456789012"})
		if err != nil {
			t.Fatal(err)
		}
		if role.Created || role.ARN != "arn:aws:iam::123456789012:role/JITPRole" {
			t.Fatalf("role %+v", role)
		}
		notes := strings.Join(role.Notes, "\n")
		for _, want := range []string{"AWSIoTThingsRegistration already attached", "attached missing AWSIoTLogging", "attached missing AWSIoTRuleActions"} {
			if !strings.Contains(notes, want) {
				t.Errorf("notes %q lack %q", notes, want)
			}
		}
		if got := q.calls(); got != "GetRole,CreateRole,GetRole,ListAttachedRolePolicies,AttachRolePolicy,AttachRolePolicy" {
			t.Fatalf("actions %s", got)
		}
	})
}

func urlEncode(s string) string {
	r := strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D", `"`, "%22", ":", "%3A", ",", "%2C", "[", "%5B", "]", "%5D", "/", "%2F", "*", "%2A", " ", "%20")
	return r.Replace(s)
}

func TestTrustPolicy(t *testing.T) {
	t.Parallel()
	doc := TrustPolicy("123456789012", "us-east-2")
	for _, want := range []string{`"Service":"iot.amazonaws.com"`, `"Action":"sts:AssumeRole"`, `"aws:SourceAccount":"123456789012"`,
		`"aws:SourceArn":"arn:aws:iot:us-east-2:123456789012:*"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("trust policy %s lacks %s", doc, want)
		}
	}
	for _, d := range []string{doc, urlEncode(doc), TrustPolicy("", ""),
		`{"Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","iot.amazonaws.com"]},"Action":["sts:AssumeRole"]}}`,
		// IAM action names are case-insensitive: AWS IoT can assume this role.
		`{"Statement":{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:assumerole"}}`} {
		if ok, reason, err := trustsIoT(d, "123456789012", "us-east-2"); !ok || err != nil {
			t.Errorf("trustsIoT(%s) = %v, %q, %v", d, ok, reason, err)
		}
	}
	for _, d := range []string{`{"Statement":[{"Effect":"Deny","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"}]}`} {
		if ok, _, _ := trustsIoT(d, "123456789012", "us-east-2"); ok {
			t.Errorf("trustsIoT(%s) = true", d)
		}
	}
	// The confused-deputy condition must cover this account and region.
	for _, tc := range []struct{ doc, reason string }{
		{TrustPolicy("123456789012", "us-east-1"), "does not cover AWS IoT in us-east-2"},
		{TrustPolicy("999999999999", "us-east-2"), "aws:SourceAccount to 999999999999"},
	} {
		ok, reason, _ := trustsIoT(tc.doc, "123456789012", "us-east-2")
		if ok || !strings.Contains(reason, tc.reason) {
			t.Errorf("trustsIoT(%s) = %v %q, want reason %q", tc.doc, ok, reason, tc.reason)
		}
	}
	wild := `{"Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:iot:*:123456789012:*"}}}]}`
	if ok, reason, _ := trustsIoT(wild, "123456789012", "eu-west-1"); !ok {
		t.Errorf("wildcard region rejected: %s", reason)
	}
	for p, want := range map[string]bool{"a*c": true, "a?c": true, "a*": true, "*": true, "a?": false, "b*": false} {
		if got := globMatch(p, "abc"); got != want {
			t.Errorf("globMatch(%q, abc) = %v", p, got)
		}
	}
}

// isolateAWSEnv points the SDK at empty config files and clears credential/region variables.
// It uses t.Setenv, so callers must not be parallel.
func isolateAWSEnv(t *testing.T) string {
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IOT", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	cfgFile := filepath.Join(dir, "config")
	credFile := filepath.Join(dir, "credentials")
	for _, f := range []string{cfgFile, credFile} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("HOME", dir)
	return dir
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("missing region names --region", func(t *testing.T) {
		isolateAWSEnv(t)
		_, err := New(ctx, Config{StaticAccessKeyID: "a", StaticSecretKey: "b"})
		e := asError(t, err)
		if e.Kind != KindNoRegion || !strings.Contains(e.Cause, "--region") || !strings.Contains(e.Fix, "--region") {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("unknown profile", func(t *testing.T) {
		isolateAWSEnv(t)
		_, err := New(ctx, Config{Profile: "nosuch", Region: "us-east-1"})
		e := asError(t, err)
		if e.Kind != KindConfig || !strings.Contains(e.Cause, "profile nosuch does not exist") {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("region display name", func(t *testing.T) {
		_, err := New(ctx, Config{Region: "US East (Ohio)", StaticAccessKeyID: "a", StaticSecretKey: "b"})
		if e := asError(t, err); e.Kind != KindWrongRegion || !strings.Contains(e.Cause, `"US East (Ohio)"`) || !strings.Contains(e.Fix, "us-east-1") {
			t.Fatalf("got %+v", e)
		}
		for _, r := range []string{"us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-7", "il-central-1"} {
			if err := checkRegion(r, false); err != nil {
				t.Errorf("%s rejected: %v", r, err)
			}
		}
		if err := checkRegion("local", true); err != nil {
			t.Errorf("custom endpoint region rejected: %v", err)
		}
		if err := checkRegion("local", false); err == nil {
			t.Error("non-AWS region accepted without a custom endpoint")
		}
	})
	t.Run("bad endpoint url", func(t *testing.T) {
		_, err := New(ctx, Config{Region: "us-east-1", EndpointURL: "localhost:4566"})
		if e := asError(t, err); e.Kind != KindConfig || !strings.Contains(e.Cause, "--endpoint-url") {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		isolateAWSEnv(t)
		srv := unreachedServer(t, "no request should be sent without credentials")
		c, err := New(ctx, Config{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetRegistrationCode(ctx)
		e := asError(t, err)
		if e.Kind != KindNoCredentials || !strings.Contains(e.Fix, "aws configure") {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("expired sso session says aws sso login --profile", func(t *testing.T) {
		dir := isolateAWSEnv(t)
		cfg := "[profile dev]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = eu-west-1\n"
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		srv := unreachedServer(t, "no request should be sent without a valid SSO token")
		c, err := New(ctx, Config{Profile: "dev", EndpointURL: srv.URL, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		if c.Region() != "eu-west-1" {
			t.Errorf("region from profile = %q", c.Region())
		}
		_, err = c.CallerAccount(ctx)
		e := asError(t, err)
		if e.Kind != KindExpiredToken || !strings.Contains(e.Fix, "aws sso login --profile dev") {
			t.Fatalf("got %+v", e)
		}
		// The same profile chosen through AWS_PROFILE.
		t.Setenv("AWS_PROFILE", "dev")
		c, err = New(ctx, Config{EndpointURL: srv.URL, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetRegistrationCode(ctx)
		if e := asError(t, err); e.Kind != KindExpiredToken || !strings.Contains(e.Fix, "aws sso login --profile dev") || c.Region() != "eu-west-1" {
			t.Fatalf("via AWS_PROFILE: %+v", e)
		}
	})
	t.Run("AWS_ENDPOINT_URL_IOT and AWS_ENDPOINT_URL are honoured", func(t *testing.T) {
		isolateAWSEnv(t)
		var iotHits, stsHits atomic.Int32
		iotSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			iotHits.Add(1)
			_, _ = w.Write([]byte(`{"endpointAddress":"abc-ats.iot.us-east-1.amazonaws.com"}`))
		}))
		defer iotSrv.Close()
		stsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stsHits.Add(1)
			xmlOK(`<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/x</Arn><UserId>U</UserId></GetCallerIdentityResult></GetCallerIdentityResponse>`)(w, r)
		}))
		defer stsSrv.Close()
		t.Setenv("AWS_ENDPOINT_URL_IOT", iotSrv.URL)
		t.Setenv("AWS_ENDPOINT_URL", stsSrv.URL)
		c, err := New(ctx, Config{Region: "us-east-1", StaticAccessKeyID: "a", StaticSecretKey: "b", MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		host, err := c.DataEndpoint(ctx)
		if err != nil || host != "abc-ats.iot.us-east-1.amazonaws.com" {
			t.Fatalf("DataEndpoint = %q, %v", host, err)
		}
		acct, err := c.CallerAccount(ctx)
		if err != nil || acct != "123456789012" {
			t.Fatalf("CallerAccount = %q, %v", acct, err)
		}
		if iotHits.Load() != 1 || stsHits.Load() != 1 {
			t.Fatalf("hits iot=%d sts=%d", iotHits.Load(), stsHits.Load())
		}
	})
}

func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c := newTestClient(t, "http://"+addr, 2)
	_, err = c.GetRegistrationCode(context.Background())
	e := asError(t, err)
	if e.Kind != KindUnavailable || !strings.Contains(e.Cause, "cannot reach http://"+addr) || !strings.Contains(e.Fix, "--endpoint-url") {
		t.Fatalf("got %+v", e)
	}
}

func TestTransportClassification(t *testing.T) {
	t.Parallel()
	dns := fmt.Errorf("operation error IoT: GetRegistrationCode, https response error: %w",
		&net.DNSError{Err: "no such host", Name: "iot.xx-nowhere-1.amazonaws.com", IsNotFound: true})
	e := asError(t, errContext{Region: "xx-nowhere-1"}.mapError("GetRegistrationCode", dns))
	if e.Kind != KindWrongRegion || !strings.Contains(e.Cause, "region xx-nowhere-1") || !strings.Contains(e.Fix, "--region") {
		t.Fatalf("dns on AWS endpoint: %+v", e)
	}
	e = asError(t, errContext{Region: "us-east-1", Endpoint: "https://iot.example.test"}.mapError("GetRegistrationCode", dns))
	if e.Kind != KindUnavailable || !strings.Contains(e.Fix, "--endpoint-url") {
		t.Fatalf("dns on custom endpoint: %+v", e)
	}
	e = asError(t, errContext{}.mapError("X", context.Canceled))
	if e.Kind != KindOther || e.Cause != "cancelled" {
		t.Fatalf("cancel: %+v", e)
	}
	if (errContext{}).mapError("X", nil) != nil {
		t.Fatal("nil must stay nil")
	}
	orig := &Error{Kind: KindConflict, Cause: "c"}
	ec := errContext{}
	if got := ec.mapError("X", orig); got != orig {
		t.Fatal("an *Error must pass through unchanged")
	}
}

// BenchmarkErrorMappingThroughSDK measures one failing IoT call through the real SDK
// (signing, HTTP to loopback, error deserialisation, mapping).
func BenchmarkErrorMappingThroughSDK(b *testing.B) {
	srv, _ := errorServer(b, 409, "ResourceAlreadyExistsException", `{"message":"exists","resourceId":"abc","resourceArn":"arn:x"}`)
	c, err := New(context.Background(), Config{Region: "us-east-2", EndpointURL: srv.URL, StaticAccessKeyID: "a", StaticSecretKey: "b", MaxAttempts: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		_, err := c.RegisterCA(ctx, RegisterCAInput{CACertificatePEM: "x"})
		if !IsKind(err, KindAlreadyExists) {
			b.Fatal(err)
		}
	}
}

func FuzzTrustsIoT(f *testing.F) {
	f.Add(TrustPolicy("123456789012", "us-east-2"), "123456789012", "us-east-2")
	f.Add(urlEncode(TrustPolicy("", "")), "", "")
	f.Add(`{"Statement":{"Effect":"Allow","Principal":{"Service":["iot.amazonaws.com"]},"Action":"*","Condition":{"StringLike":{"aws:SourceAccount":"1*"}}}}`, "123", "eu-west-1")
	f.Fuzz(func(t *testing.T, doc, account, region string) {
		ok, reason, err := trustsIoT(doc, account, region)
		if ok && (reason != "" || err != nil) {
			t.Fatalf("ok with reason %q / err %v", reason, err)
		}
	})
}

func FuzzGlobMatch(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := globMatch(pattern, s)
		if !strings.ContainsAny(pattern, "*?") && got != (pattern == s) {
			t.Fatalf("literal %q vs %q = %v", pattern, s, got)
		}
		if pattern == "*" && !got {
			t.Fatal("* must match everything")
		}
		if len(pattern) <= 12 && len(s) <= 12 && got != naiveGlob(pattern, s) {
			t.Fatalf("globMatch(%q, %q) = %v, reference says %v", pattern, s, got, !got)
		}
	})
}

// naiveGlob is the obvious recursive matcher, the reference for FuzzGlobMatch.
func naiveGlob(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		return naiveGlob(p[1:], s) || (s != "" && naiveGlob(p, s[1:]))
	case '?':
		return s != "" && naiveGlob(p[1:], s[1:])
	}
	return s != "" && p[0] == s[0] && naiveGlob(p[1:], s[1:])
}
