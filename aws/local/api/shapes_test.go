package api

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
	"github.com/jitpwiz/jitpwiz/pki"
)

// policyOfLength returns a valid policy document of exactly n characters (no
// whitespace), padding the client ID in its resource.
func policyOfLength(t *testing.T, n int) string {
	t.Helper()
	const head = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-2:123456789012:client/`
	const tail = `"}]}`
	pad := n - len(head) - len(tail)
	if pad < 1 {
		t.Fatalf("cannot build a %d-character policy", n)
	}
	doc := head + strings.Repeat("c", pad) + tail
	if _, err := policy.Parse(doc); err != nil || policy.DocumentChars(doc) != n {
		t.Fatalf("test policy: %v (%d characters)", err, policy.DocumentChars(doc))
	}
	return doc
}

// CreatePolicy refuses a document over 2048 characters not counting whitespace
// (CreatePolicy's policyDocument documentation in the IoT model), with
// MalformedPolicyException [U: the code].
func TestPolicyDocumentLengthLimit(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "/usr/bin/aws")
	e := newEnv(t)
	ctx := context.Background()

	atLimit := policyOfLength(t, policy.MaxDocumentChars)
	// Whitespace does not count: indent the 2048-character document generously.
	spaced := strings.ReplaceAll(strings.ReplaceAll(atLimit, `,"`, ",\n    \""), `{`, "{\n  ")
	if len(spaced) <= policy.MaxDocumentChars {
		t.Fatalf("spaced document is only %d bytes", len(spaced))
	}
	e.cliOK(t, nil, "iot", "create-policy", "--policy-name", "AtLimit", "--policy-document", "file://"+e.writeFile("at.json", []byte(spaced)))

	over := policyOfLength(t, policy.MaxDocumentChars+1)
	errs := e.cliFail(t, "MalformedPolicyException", "iot", "create-policy", "--policy-name", "Over",
		"--policy-document", "file://"+e.writeFile("over.json", []byte(over)))
	if !strings.Contains(errs, "2049 characters long without whitespace") || !strings.Contains(errs, "at most 2048") {
		t.Fatalf("CLI error: %s", errs)
	}
	_, err := e.iot.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: sdkaws.String("Over"), PolicyDocument: sdkaws.String(over)})
	wantAPIError(t, err, "MalformedPolicyException")
	resp := e.rawRequest("POST", "/policies/Over", "iot", "application/json", `{"policyDocument":`+strconv.Quote(over)+`}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	_ = e.st.View(func(st *store.State) error {
		if st.LookupPolicy("Over") != nil {
			t.Error("the over-long policy was stored")
		}
		if st.LookupPolicy("AtLimit") == nil {
			t.Error("the 2048-character policy was not stored")
		}
		return nil
	})
}

// ListCertificates and ListCertificatesByCA refuse a bad marker as the other
// marker lists do, and a marker outside the model's pattern gets AWS's validation
// wording.
func TestListMarkersRefused(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "/usr/bin/aws")
	e := newEnv(t)
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Markers"})
	caID, err := e.sdkRegisterCA(t, ca, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	lists := [][]string{
		{"iot", "list-certificates"},
		{"iot", "list-certificates-by-ca", "--ca-certificate-id", caID},
		{"iot", "list-ca-certificates"},
		{"iot", "list-policies"},
	}
	var msgs []string
	for _, l := range lists {
		errs := e.cliFail(t, "InvalidRequestException", append(append([]string{}, l...), "--marker", "bogus")...)
		msgs = append(msgs, errs[strings.Index(errs, "):")+2:])
		errs = e.cliFail(t, "InvalidRequestException", append(append([]string{}, l...), "--marker", "no*way")...)
		if !strings.Contains(errs, "1 validation error detected: Value 'no*way' at 'marker' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9+/]+={0,2}") {
			t.Fatalf("aws %v --marker no*way: %s", l, errs)
		}
	}
	for i, m := range msgs {
		if m != msgs[0] {
			t.Errorf("%v answers a bad marker with %q, %v with %q", lists[i], m, lists[0], msgs[0])
		}
	}
	resp := e.rawRequest("GET", "/certificates?marker="+strings.Repeat("A", 1025), "iot", "", "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Member must have length less than or equal to 1024") {
		t.Fatalf("1025-character marker: %d %s", resp.StatusCode, body)
	}
}

// A certificate ID that breaks the model's shape (64 characters, (0x)?[a-fA-F0-9]+)
// is 400 InvalidRequestException, not 404.
func TestCertificateIDShape(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "/usr/bin/aws")
	e := newEnv(t)
	ctx := context.Background()
	notHex := strings.Repeat("z", 64)
	errs := e.cliFail(t, "InvalidRequestException", "iot", "describe-certificate", "--certificate-id", notHex)
	if !strings.Contains(errs, "1 validation error detected: Value '"+notHex+"' at 'certificateId' failed to satisfy constraint: Member must satisfy regular expression pattern: (0x)?[a-fA-F0-9]+") {
		t.Fatalf("describe-certificate: %s", errs)
	}
	e.cliFail(t, "InvalidRequestException", "iot", "describe-ca-certificate", "--certificate-id", notHex)
	e.cliFail(t, "InvalidRequestException", "iot", "update-certificate", "--certificate-id", notHex, "--new-status", "INACTIVE")
	// The SDK sends what it is given (no length check): both violations, pattern first.
	_, err := e.iot.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: sdkaws.String("my-cert")})
	wantAPIError(t, err, "InvalidRequestException")
	if !strings.Contains(err.Error(), "2 validation errors detected: Value 'my-cert' at 'certificateId' failed to satisfy constraint: Member must satisfy regular expression pattern: (0x)?[a-fA-F0-9]+; Value 'my-cert' at 'certificateId' failed to satisfy constraint: Member must have length greater than or equal to 64") {
		t.Fatalf("SDK: %v", err)
	}
	_, err = e.iot.ListCertificatesByCA(ctx, &iot.ListCertificatesByCAInput{CaCertificateId: sdkaws.String(strings.Repeat("a", 65))})
	if wantAPIError(t, err, "InvalidRequestException"); err == nil || !strings.Contains(err.Error(), "at 'caCertificateId'") {
		t.Fatalf("ListCertificatesByCA: %v", err)
	}
	// A well-formed ID that does not exist is still 404.
	_, err = e.iot.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: sdkaws.String(strings.Repeat("ab", 32))})
	wantAPIError(t, err, "ResourceNotFoundException")
}

// rawConn is a plain TCP connection to the server for hand-written requests.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func (e *testEnv) dialRaw(t *testing.T) *rawConn {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{Conn: conn, r: bufio.NewReader(conn)}
}

// roundTrip writes request as is and reads the response and its body.
func (c *rawConn) roundTrip(t *testing.T, request string) (*http.Response, []byte) {
	t.Helper()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// rawHTTP sends one hand-written request on a new connection.
func (e *testEnv) rawHTTP(t *testing.T, request string) (*http.Response, []byte) {
	t.Helper()
	return e.dialRaw(t).roundTrip(t, request)
}

const rawAuth = "Authorization: AWS4-HMAC-SHA256 Credential=" + testAKID + "/20261124/" + testRegion + "/iot/aws4_request, SignedHeaders=host, Signature=00\r\n"

// A path with an invalid percent-escape, which net/http refuses before any handler
// runs, is answered in AWS's error shape, on a fresh connection and after a
// request served on the same connection.
func TestBadURLEscapeShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	check := func(what string, resp *http.Response, body []byte) {
		t.Helper()
		var m struct{ Message string }
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestException" || resp.Header.Get("Content-Type") != "application/json" ||
			resp.Header.Get("x-amzn-RequestId") == "" || json.Unmarshal(body, &m) != nil || !strings.Contains(m.Message, "%25") {
			t.Fatalf("%s: %d %v %q", what, resp.StatusCode, resp.Header, body)
		}
	}
	resp, body := e.rawHTTP(t, "GET /certificates/%zz HTTP/1.1\r\nHost: x\r\n"+rawAuth+"\r\n")
	check("bad escape", resp, body)
	// Keep-alive: a good request first, then the bad one on the same connection.
	c := e.dialRaw(t)
	if first, _ := c.roundTrip(t, "GET /registrationcode HTTP/1.1\r\nHost: x\r\n"+rawAuth+"\r\n"); first.StatusCode != 200 {
		t.Fatalf("first request: %d", first.StatusCode)
	}
	resp, body = c.roundTrip(t, "GET /certificates/%G1 HTTP/1.1\r\nHost: x\r\n"+rawAuth+"\r\n")
	check("bad escape after a good request", resp, body)
	// A header net/http refuses is shaped the same way, with its reason.
	resp, body = e.rawHTTP(t, "GET /registrationcode HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n"+rawAuth+"\r\n")
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestException" || !strings.Contains(string(body), "invalid header name") {
		t.Fatalf("bad header: %d %v %q", resp.StatusCode, resp.Header, body)
	}
}

// A request whose body stops arriving is answered RequestTimeoutException (408)
// after the body read timeout, for rest-json and for the query protocol.
func TestSlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, store.DirName), store.Options{Account: testAccount, Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, dir, st, func(o *Options) { o.BodyReadTimeout = 200 * time.Millisecond })
	// 100 bytes announced, 10 sent, then nothing: the connection stays open until
	// the server answers (no sleep: the read deadline ends the wait).
	resp, body := e.rawHTTP(t, "POST /policies/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"+rawAuth+"\r\n"+`{"policyDo`)
	var m struct{ Message string }
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("X-Amzn-ErrorType") != "RequestTimeoutException" ||
		json.Unmarshal(body, &m) != nil || !strings.Contains(m.Message, "did not arrive within 200ms") {
		t.Fatalf("slow rest-json body: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	iamAuth := strings.Replace(rawAuth, "/iot/", "/iam/", 1)
	resp, body = e.rawHTTP(t, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n"+iamAuth+"\r\nAction=GetRole&Ver")
	var xe struct {
		Error struct{ Type, Code, Message string }
	}
	if resp.StatusCode != http.StatusRequestTimeout || xml.Unmarshal(body, &xe) != nil || xe.Error.Code != "RequestTimeout" {
		t.Fatalf("slow query body: %d %q", resp.StatusCode, body)
	}
	_ = e.st.View(func(st *store.State) error {
		if st.LookupPolicy("slow") != nil {
			t.Error("a policy was created from a cut-off body")
		}
		return nil
	})
	// A prompt request on the same server is unaffected.
	if _, err := e.iot.GetRegistrationCode(context.Background(), &iot.GetRegistrationCodeInput{}); err != nil {
		t.Fatal(err)
	}
}
