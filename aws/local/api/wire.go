package api

import (
	"bytes"
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

// newestFirst reads isAscendingOrder: the IoT lists that take it (certificates, CAs,
// policies) answer newest first unless it is true.
func newestFirst(r *http.Request) (bool, error) {
	asc, err := queryBool(r, "isAscendingOrder")
	return !asc, err
}

// pageRequest reads a list request's page size (sizeParam, 1..250, default def) and
// marker (markerParam) into a store.Page. Markers are opaque to clients: the base64 of
// the index key of the previous page's last item, which the store's list resumes after.
// Standard base64 with padding, because the model's Marker pattern is [A-Za-z0-9+/]+={0,2}.
func pageRequest(r *http.Request, sizeParam, markerParam string, def int, desc bool) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{Limit: def, Desc: desc}
	if s := q.Get(sizeParam); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 250 {
			return p, store.Errorf(store.CodeInvalidRequest, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have value between 1 and 250", s, sizeParam)
		}
		p.Limit = v
	}
	if m := q.Get(markerParam); m != "" {
		b, err := base64.StdEncoding.DecodeString(m)
		if err != nil || !bytes.HasPrefix(b, []byte(markerTag)) || len(b) == len(markerTag) {
			return p, badMarker(markerParam, m)
		}
		p.After = b[len(markerTag):]
	}
	return p, nil
}

// markerTag starts every marker, so a value a client made up is told apart.
const markerTag = "m1:"

// nextMarker is the marker for the page after the one that ended at key ("" when none).
func nextMarker(key []byte) string {
	if key == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(append([]byte(markerTag), key...))
}

func badMarker(param, value string) error {
	return store.Errorf(store.CodeInvalidRequest, "The %s %q is invalid; pass the value from the previous response unchanged", param, value)
}

// listError turns the store's complaint about a marker into one naming the parameter.
func listError(r *http.Request, markerParam string, err error) error {
	if errors.Is(err, store.ErrBadMarker) {
		return badMarker(markerParam, r.URL.Query().Get(markerParam))
	}
	return err
}
