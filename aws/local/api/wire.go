package api

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// epoch marshals as a JSON number of seconds since 1970 (fractional milliseconds), the
// rest-json timestamp format the IoT model uses; the Go SDK rejects strings.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

func ts(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// writeJSON sends a rest-json success response.
func writeJSON(w http.ResponseWriter, v any) {
	if v == nil {
		v = struct{}{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		writeIoTError(w, store.Errorf(store.CodeInternalFailure, "cannot encode the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeIoTError sends a rest-json error: the status from the model, X-Amzn-ErrorType,
// and {"message", ...members}.
func writeIoTError(w http.ResponseWriter, err error) {
	ae := store.AsAPIError(err)
	if ae == nil {
		ae = store.Errorf(store.CodeInternalFailure, "%v", err)
	}
	status := ae.Status
	if status == 0 {
		status = store.StatusFor(ae.Code)
	}
	body := map[string]string{"message": ae.Message}
	if ae.ResourceID != "" {
		body["resourceId"] = ae.ResourceID
	}
	if ae.ResourceARN != "" {
		body["resourceArn"] = ae.ResourceARN
	}
	b, _ := json.Marshal(body)
	noteCall(w, "", "", ae.Code)
	w.Header().Set("X-Amzn-ErrorType", ae.Code)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// errStatus is an error with a code the store does not know (SerializationException,
// UnknownOperationException, MissingAuthenticationTokenException...).
func errStatus(status int, code, format string, args ...any) *store.APIError {
	return &store.APIError{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

const maxBody = 1 << 20

// decodeBody decodes a JSON request body into v; an empty body leaves v zero.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errStatus(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request body is larger than %d bytes", maxBody)
		}
		if isTimeout(err) {
			return errBodyTimeout(bodyTimeoutOf(r))
		}
		return errStatus(http.StatusBadRequest, "SerializationException", "The request body could not be read completely (the connection broke off); retry the request")
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errStatus(http.StatusBadRequest, "SerializationException", "The request body is not valid JSON for this operation: %v", err)
	}
	return nil
}

// queryBool reads a boolean query parameter ("true"/"false"; absent is false).
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	switch strings.ToLower(v) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, store.Errorf(store.CodeInvalidRequest, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be true or false", v, name)
}

// page is the result of paginating a list of n items.
type page struct {
	start, end int    // items[start:end]
	next       string // marker/token for the following page, "" when done
}

// paginate implements marker/pageSize (and nextToken/maxResults) pagination over n
// items. Markers are opaque to clients: base64 of the next offset.
func paginate(r *http.Request, n int, sizeParam, markerParam string, def int) (page, error) {
	q := r.URL.Query()
	size := def
	if s := q.Get(sizeParam); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 250 {
			return page{}, store.Errorf(store.CodeInvalidRequest, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have value between 1 and 250", s, sizeParam)
		}
		size = v
	}
	start := 0
	if m := q.Get(markerParam); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		v, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "o:") || v < 0 || v > n {
			return page{}, store.Errorf(store.CodeInvalidRequest, "The %s %q is invalid; pass the value from the previous response unchanged", markerParam, m)
		}
		start = v
	}
	end := min(start+size, n)
	p := page{start: start, end: end}
	if end < n {
		p.next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	return p, nil
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}
