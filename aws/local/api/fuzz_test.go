package api

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// FuzzHandler sends arbitrary methods, paths, services and bodies to the control
// plane: it must never panic, and every answer must be a well-formed AWS response
// (JSON for IoT with X-Amzn-ErrorType on errors, XML for IAM/STS).
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, path, service, ctype, body string }{
		{"GET", "/registrationcode", "iot", "", ""},
		{"POST", "/cacertificate?setAsActive=true", "execute-api", "application/json", `{"caCertificate":"x"}`},
		{"PUT", "/cacertificate/abc?newStatus=ACTIVE", "iot", "application/json", `{"registrationConfig":{"templateBody":"{}"}}`},
		{"POST", "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-2%3A123456789012%3Acert%2Fab", "iot", "", ""},
		{"PUT", "/target-policies/p", "iot", "application/json", `{"target":"t"}`},
		{"POST", "/policies/p", "iot", "application/json", `{"policyDocument":"{\"Statement\":[]}"}`},
		{"GET", "/things?maxResults=0&nextToken=%%", "iot", "", ""},
		{"POST", "/", "iam", "application/x-www-form-urlencoded", "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D"},
		{"POST", "/", "sts", "application/x-www-form-urlencoded", "Action=GetCallerIdentity"},
		{"POST", "/", "", "application/x-www-form-urlencoded", "Action=GetRole"},
		{"DELETE", "/things/%ZZ", "iot", "", ""},
		{"POST", "/provisioning-templates", "iot", "application/json", `{"templateName":"t","type":"JITP","templateBody":"{}","provisioningRoleArn":"arn:aws:iam::123456789012:role/r"}`},
		{"GET", "/provisioning-templates/t/versions/x", "iot", "", ""},
		{"PUT", "/thing-groups/addThingToThingGroup", "iot", "application/json", `{"thingGroupArn":"arn:aws:iot:us-east-2:123456789012:thinggroup/","thingName":"x"}`},
		{"POST", "/thing-types/t/deprecate", "iot", "application/json", `{"undoDeprecate":true}`},
		{"POST", "/", "iam", "application/x-www-form-urlencoded", "Action=PutRolePolicy&RoleName=r&PolicyName=p&PolicyDocument=%7B%7D"},
		{"POST", "/", "iam", "application/x-www-form-urlencoded", "Action=ListRoles&Marker=bTE6&MaxItems=1"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.service, s.ctype, s.body)
	}
	st, err := store.Open(filepath.Join(f.TempDir(), store.DirName), store.Options{Account: testAccount, Region: testRegion})
	if err != nil {
		f.Fatal(err)
	}
	h := New(st, Options{})
	f.Fuzz(func(t *testing.T, method, path, service, ctype, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if service != "" {
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261124/"+testRegion+"/"+service+"/aws4_request, SignedHeaders=host, Signature=0")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if res.Header.Get("x-amzn-RequestId") == "" {
			t.Fatalf("%s %s: no request ID", method, path)
		}
		switch ct := res.Header.Get("Content-Type"); ct {
		case "application/json":
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("%s %s: invalid JSON %q", method, path, rec.Body.String())
			}
			if res.StatusCode != 200 && res.Header.Get("X-Amzn-ErrorType") == "" {
				t.Fatalf("%s %s: status %d without X-Amzn-ErrorType", method, path, res.StatusCode)
			}
		case "text/xml":
			var v struct{ XMLName xml.Name }
			if err := xml.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("%s %s: invalid XML %q", method, path, rec.Body.String())
			}
		default:
			t.Fatalf("%s %s: content type %q", method, path, ct)
		}
	})
}

// FuzzGoRefusal: only net/http's exact refusal is recognised (never a response of
// the handler), and the shaped replacement is always a parseable AWS error.
func FuzzGoRefusal(f *testing.F) {
	f.Add("HTTP/1.1 400 Bad Request" + goBadRequestHeaders + "400 Bad Request")
	f.Add("HTTP/1.1 400 Bad Request: invalid header name" + goBadRequestHeaders + "400 Bad Request: invalid header name")
	f.Add("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}")
	f.Add("HTTP/1.1 200 OK\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		detail, ok := goRefusal([]byte(s))
		if !ok {
			return
		}
		if !strings.HasPrefix(s, "HTTP/1.1 400 Bad Request") || !strings.Contains(s, goBadRequestHeaders) {
			t.Fatalf("recognised %q", s)
		}
		out := string(shapedBadRequest(detail))
		head, body, found := strings.Cut(out, "\r\n\r\n")
		var m map[string]string
		if !found || !strings.Contains(head, "X-Amzn-ErrorType: InvalidRequestException") || json.Unmarshal([]byte(body), &m) != nil || m["message"] == "" {
			t.Fatalf("shaped %q", out)
		}
	})
}
