package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// Request-level failures in AWS's rest-json error shape (X-Amzn-ErrorType +
// {"message"}), where net/http or a slow client would otherwise produce something
// no AWS client expects.

// errBadEscape is the answer to a request path with an invalid percent-escape. What
// AWS's front end answers is not documented [U]; this is the closest modelled
// shape: InvalidRequestException (400), which every IoT operation lists.
func errBadEscape(segment string) *store.APIError {
	return errStatus(http.StatusBadRequest, store.CodeInvalidRequest,
		"The request path%s is not valid percent-encoding: %% must be followed by two hex digits (write a literal %% as %%25; the AWS CLI and SDKs encode paths this way)",
		quoteSegment(segment))
}

func quoteSegment(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" segment %q", s)
}

// DefaultBodyReadTimeout is how long a request body may take to arrive (after its
// headers) before the request is answered RequestTimeoutException (Options.BodyReadTimeout).
const DefaultBodyReadTimeout = 30 * time.Second

// errBodyTimeout is the answer to a request whose body did not arrive in time. AWS
// documents no such IoT error [U]; RequestTimeoutException is the code both
// aws-sdk-go-v2 (aws/retry standard.go) and botocore (retries/standard.py) treat
// as transient and retry, and 408 is HTTP's status for it.
func errBodyTimeout(d time.Duration) *store.APIError {
	return errStatus(http.StatusRequestTimeout, "RequestTimeoutException",
		"The request body did not arrive within %s; send the whole body promptly (the AWS CLI and SDKs do) and retry", d)
}

// isTimeout reports whether a body read failed on the read deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Listener wraps the control plane's listener so that a request net/http cannot
// parse at all — a request line or headers it refuses, most often an invalid
// percent-escape in the path — is answered in AWS's shape (errBadEscape) instead
// of net/http's plain-text "400 Bad Request", which the SDKs report as an error
// without a code. net/http writes that answer straight to the connection and
// closes it; the wrapper recognises the exact bytes and replaces them.
func Listener(ln net.Listener) net.Listener { return shapingListener{ln} }

type shapingListener struct{ net.Listener }

func (l shapingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &shapingConn{Conn: c}, nil
}

// goBadRequest starts what net/http writes for an unparseable request
// (net/http/server.go, conn.serve): "HTTP/1.1 400 Bad Request" and, for some
// errors, ": <detail>", then these headers and a plain-text body.
const (
	goBadRequest        = "HTTP/1.1 400 Bad Request"
	goBadRequestHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
)

// shapingConn rewrites net/http's refusal on any request of the connection. A
// response of the handler never matches it: those carry JSON or XML content types
// and net/http writes their headers in sorted order (Content-Length first).
type shapingConn struct{ net.Conn }

func (c *shapingConn) Write(p []byte) (int, error) {
	if detail, ok := goRefusal(p); ok {
		_, err := c.Conn.Write(shapedBadRequest(detail))
		return len(p), err
	}
	return c.Conn.Write(p)
}

// goRefusal recognises net/http's answer to an unparseable request and returns
// its detail text ("" when it has none).
func goRefusal(p []byte) (string, bool) {
	s := string(p)
	if !strings.HasPrefix(s, goBadRequest) {
		return "", false
	}
	head, _, found := strings.Cut(s, goBadRequestHeaders)
	if !found {
		return "", false
	}
	rest := strings.TrimPrefix(head, goBadRequest)
	if rest == "" {
		return "", true
	}
	if d, ok := strings.CutPrefix(rest, ": "); ok {
		return d, true
	}
	return "", false
}

func shapedBadRequest(detail string) []byte {
	ae := errBadEscape("")
	if detail != "" {
		ae = errStatus(http.StatusBadRequest, store.CodeInvalidRequest, "The request could not be parsed: %s", detail)
	} else {
		ae.Message = "The request could not be parsed: its request line or headers are malformed — most often an invalid percent-escape in the path: % must be followed by two hex digits (write a literal % as %25; the AWS CLI and SDKs encode paths this way)"
	}
	body, _ := json.Marshal(map[string]string{"message": ae.Message})
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 400 Bad Request\r\n")
	b.WriteString("Content-Type: application/json\r\n")
	b.WriteString("X-Amzn-ErrorType: " + ae.Code + "\r\n")
	b.WriteString("x-amzn-RequestId: " + newRequestID() + "\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	b.WriteString("Connection: close\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}
