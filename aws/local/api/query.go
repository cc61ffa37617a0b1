package api

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// IAM and STS speak the AWS query protocol: POST / with a form body
// (Action=...&Version=...), XML responses <OpResponse><OpResult>…</OpResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></OpResponse>, and errors
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>.

type queryService struct {
	name    string // "iam" | "sts"
	version string
	xmlns   string
}

var (
	iamService = queryService{"iam", "2010-05-08", "https://iam.amazonaws.com/doc/2010-05-08/"}
	stsService = queryService{"sts", "2011-06-15", "https://sts.amazonaws.com/doc/2011-06-15/"}
)

type xmlError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// writeQueryError writes a query-protocol XML error.
func writeQueryError(w http.ResponseWriter, xmlns, rid string, err error) {
	ae := store.AsAPIError(err)
	if ae == nil {
		ae = &store.APIError{Code: "InternalFailure", Status: http.StatusInternalServerError, Message: err.Error()}
	}
	code := ae.Code
	// Query services name the rest-json auth errors without the Exception suffix.
	switch code {
	case "MissingAuthenticationTokenException":
		code = "MissingAuthenticationToken"
		ae.Message = "Request is missing Authentication Token"
	case "InvalidSignatureException":
		code = "SignatureDoesNotMatch"
	case "IncompleteSignatureException":
		code = "IncompleteSignature"
	}
	status := ae.Status
	if status == 0 {
		status = store.StatusFor(code)
	}
	noteCall(w, "", "", code)
	var e xmlError
	e.Xmlns = xmlns
	e.Error.Type = "Sender"
	if status >= 500 {
		e.Error.Type = "Receiver"
	}
	e.Error.Code, e.Error.Message, e.RequestID = code, ae.Message, rid
	writeXML(w, status, e)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte("<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>cannot encode the response</Message></Error></ErrorResponse>")
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(b)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

// writeQueryResult writes <{action}Response xmlns><{action}Result>result</…>
// <ResponseMetadata><RequestId/></ResponseMetadata></…>; a nil result omits the Result element.
func writeQueryResult(w http.ResponseWriter, svc queryService, action, rid string, result any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	resp := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: svc.xmlns}}}
	err := enc.EncodeToken(resp)
	if err == nil && result != nil {
		err = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	}
	if err == nil {
		err = enc.EncodeElement(struct {
			RequestID string `xml:"RequestId"`
		}{rid}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	}
	if err == nil {
		err = enc.EncodeToken(resp.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		writeQueryError(w, svc.xmlns, rid, store.Errorf(store.CodeInternalFailure, "cannot encode the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (h *Handler) serveQuery(w http.ResponseWriter, r *http.Request, rid string, svc queryService) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		if isTimeout(err) {
			e := errBodyTimeout(bodyTimeoutOf(r))
			e.Code = "RequestTimeout" // the query protocol's codes have no Exception suffix
			writeQueryError(w, svc.xmlns, rid, e)
			return
		}
		writeQueryError(w, svc.xmlns, rid, errStatus(http.StatusBadRequest, "MalformedQueryString", "The request body is not a valid form: %v", err))
		return
	}
	action := r.Form.Get("Action")
	noteCall(w, "", action, "")
	if action == "" {
		writeQueryError(w, svc.xmlns, rid, errStatus(http.StatusBadRequest, "MissingAction", "Missing Action parameter (this endpoint speaks the %s query protocol)", strings.ToUpper(svc.name)))
		return
	}
	if v := r.Form.Get("Version"); v != "" && v != svc.version {
		writeQueryError(w, svc.xmlns, rid, errStatus(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, v))
		return
	}
	var (
		result any
		err    error
	)
	switch svc.name + ":" + action {
	case "iam:CreateRole":
		result, err = h.iamCreateRole(r.Form)
	case "iam:GetRole":
		result, err = h.iamGetRole(r.Form)
	case "iam:DeleteRole":
		err = h.iamUpdate(r.Form, func(st *store.State, v []string) error { return st.DeleteRole(v[0]) }, "RoleName")
	case "iam:AttachRolePolicy":
		err = h.iamUpdate(r.Form, func(st *store.State, v []string) error { return st.AttachRolePolicy(v[0], v[1]) }, "RoleName", "PolicyArn")
	case "iam:DetachRolePolicy":
		err = h.iamUpdate(r.Form, func(st *store.State, v []string) error { return st.DetachRolePolicy(v[0], v[1]) }, "RoleName", "PolicyArn")
	case "iam:ListAttachedRolePolicies":
		result, err = h.iamListAttachedRolePolicies(r.Form)
	case "sts:GetCallerIdentity":
		result = h.stsGetCallerIdentity()
	default:
		fn, ok := moreQueryActions[svc.name+":"+action]
		if !ok {
			writeQueryError(w, svc.xmlns, rid, errStatus(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, svc.version))
			return
		}
		result, err = fn(h, r.Form)
	}
	if err != nil {
		writeQueryError(w, svc.xmlns, rid, err)
		return
	}
	writeQueryResult(w, svc, action, rid, result)
}

// required reads the form field name, which must be present.
func required(f url.Values, name string) (string, error) {
	v, err := requiredAll(f, name)
	if err != nil {
		return "", err
	}
	return v[0], nil
}

// requiredAll reads the form fields names, in order, each of which must be present; the
// first one missing is refused as IAM refuses it, by its member name (the field's name
// in lower camel case: RoleName, roleName).
func requiredAll(f url.Values, names ...string) ([]string, error) {
	vals := make([]string, len(names))
	for i, name := range names {
		if vals[i] = f.Get(name); vals[i] == "" {
			member := strings.ToLower(name[:1]) + name[1:]
			return nil, errStatus(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
		}
	}
	return vals, nil
}

// ---- IAM ----

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlRole struct {
	Path                     string    `xml:"Path"`
	RoleName                 string    `xml:"RoleName"`
	RoleID                   string    `xml:"RoleId"`
	Arn                      string    `xml:"Arn"`
	CreateDate               string    `xml:"CreateDate"`
	AssumeRolePolicyDocument string    `xml:"AssumeRolePolicyDocument"`
	Description              string    `xml:"Description,omitempty"`
	MaxSessionDuration       int       `xml:"MaxSessionDuration"`
	Tags                     *[]xmlTag `xml:"Tags>member,omitempty"`
}

type roleResult struct {
	Role xmlRole `xml:"Role"`
}

// encodePolicyDoc URL-encodes a policy document as IAM returns it.
func encodePolicyDoc(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func toXMLRole(r *store.Role) xmlRole {
	x := xmlRole{Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN,
		CreateDate: r.Created.UTC().Format(time.RFC3339), AssumeRolePolicyDocument: encodePolicyDoc(r.TrustPolicy),
		Description: r.Description, MaxSessionDuration: r.MaxSessionDuration}
	if len(r.Tags) > 0 {
		tags := make([]xmlTag, len(r.Tags))
		for i, t := range r.Tags {
			tags[i] = xmlTag{t.Key, t.Value}
		}
		x.Tags = &tags
	}
	return x
}

func (h *Handler) iamCreateRole(f url.Values) (any, error) {
	v, err := requiredAll(f, "RoleName", "AssumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	in := store.CreateRoleInput{Name: v[0], Path: f.Get("Path"), TrustPolicy: v[1], Description: f.Get("Description"), Tags: iamTags(f)}
	if v := f.Get("MaxSessionDuration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errStatus(http.StatusBadRequest, "ValidationError", "MaxSessionDuration %q is not a number", v)
		}
		in.MaxSessionDuration = n
	}
	var out roleResult
	err = h.st.Update(func(st *store.State) error {
		r, err := st.CreateRole(in)
		if err != nil {
			return err
		}
		out.Role = toXMLRole(r)
		return nil
	})
	return out, err
}

func (h *Handler) iamGetRole(f url.Values) (any, error) {
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	var out roleResult
	err = h.st.View(func(st *store.State) error {
		r, err := st.Role(name)
		if err != nil {
			return err
		}
		out.Role = toXMLRole(r)
		return nil
	})
	return out, err
}

// iamUpdate reads the required form fields names and runs fn on their values (in the
// same order) in a store transaction: an IAM action that changes state and answers
// nothing.
func (h *Handler) iamUpdate(f url.Values, fn func(st *store.State, v []string) error, names ...string) error {
	v, err := requiredAll(f, names...)
	if err != nil {
		return err
	}
	return h.st.Update(func(st *store.State) error { return fn(st, v) })
}

func (h *Handler) iamListAttachedRolePolicies(f url.Values) (any, error) {
	type attached struct {
		PolicyName string `xml:"PolicyName"`
		PolicyArn  string `xml:"PolicyArn"`
	}
	type result struct {
		AttachedPolicies []attached `xml:"AttachedPolicies>member"`
		IsTruncated      bool       `xml:"IsTruncated"`
		Marker           string     `xml:"Marker,omitempty"`
	}
	name, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	prefix := f.Get("PathPrefix")
	var all []attached
	err = h.st.View(func(st *store.State) error {
		r, err := st.Role(name)
		if err != nil {
			return err
		}
		for _, arn := range r.AttachedPolicies {
			i := strings.Index(arn, ":policy")
			path := arn[i+len(":policy"):]
			if prefix != "" && !strings.HasPrefix(path, prefix) {
				continue
			}
			all = append(all, attached{PolicyName: arn[strings.LastIndex(arn, "/")+1:], PolicyArn: arn})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	size := 100
	if v := f.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, errStatus(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)
		}
		size = n
	}
	start := 0
	if m := f.Get("Marker"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 || n > len(all) {
			return nil, errStatus(http.StatusBadRequest, "ValidationError", "Invalid Marker %q", m)
		}
		start = n
	}
	end := min(start+size, len(all))
	out := result{AttachedPolicies: all[start:end], IsTruncated: end < len(all)}
	if out.IsTruncated {
		out.Marker = strconv.Itoa(end)
	}
	return out, nil
}

// ---- STS ----

func (h *Handler) stsGetCallerIdentity() any {
	type result struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}
	acct := h.st.Account()
	return result{Arn: "arn:aws:iam::" + acct + ":user/" + h.opts.CallerUserName, UserID: "AIDALOCALIOTCORE0000", Account: acct}
}
