package aws

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestSDKLogsStayOffTheTerminal: the SDK's own log lines (here the EC2 metadata client's
// "WARN falling back to IMDSv1" while it looks for credentials) must not reach the user's
// stderr; what went wrong reaches the user as an *Error with its cause and fix.
// Not parallel: it swaps os.Stderr.
func TestSDKLogsStayOffTheTerminal(t *testing.T) {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut { // the IMDSv2 token: refused, so the SDK falls back and warns
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		http.NotFound(w, r)
	}))
	defer imds.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	captured := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		captured <- string(b)
	}()
	var callErr error
	func() {
		defer func() { os.Stderr = saved }()
		c, err := New(context.Background(), Config{Region: "eu-west-1", EndpointURL: "http://127.0.0.1:1", MaxAttempts: 1})
		if err != nil {
			callErr = err
			return
		}
		_, callErr = c.CallerAccount(context.Background())
	}()
	w.Close()
	out := <-captured
	if callErr == nil {
		t.Fatal("no credentials anywhere, yet CallerAccount succeeded")
	}
	if strings.Contains(out, "SDK ") || strings.Contains(out, "IMDS") {
		t.Errorf("the SDK logged to stderr:\n%s", out)
	}
	if !strings.Contains(callErr.Error(), "no AWS credentials") {
		t.Errorf("error lacks the cause: %v", callErr)
	}
}
