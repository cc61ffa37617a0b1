// Package api is the control plane of the embedded local AWS IoT Core: one
// http.Handler speaking the real AWS wire protocols on a single listener —
// IoT (rest-json, API version 2015-05-28), IAM (query, 2010-05-08) and STS
// (query, 2011-06-15) — over the state in aws/local/store.
//
// Clients need no changes beyond an endpoint URL: the AWS CLI with --endpoint-url,
// aws-sdk-go-v2 with BaseEndpoint. Requests must carry a SigV4 Authorization header
// (from any credentials; signatures are not verified). The credential scope's service
// selects the API: iot or execute-api → IoT, iam → IAM, sts → STS. A request without
// Authorization is refused as AWS refuses it (403 MissingAuthenticationToken).
//
// Extension (not AWS): GET /jitpwiz/local returns the broker's host, ports and root
// CA path as JSON (no auth), and every DescribeEndpoint response carries the MQTT
// port in the X-Jitpwiz-Mqtt-Port header, so a client that only has the endpoint URL
// can find the broker.
package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// Options configure the control plane.
type Options struct {
	// EndpointHost is what DescribeEndpoint returns for iot:Data-ATS and iot:Data: the
	// host name clients connect MQTT to. It must resolve to the broker (the local
	// server uses "localhost") and be in the broker's server certificate.
	EndpointHost string
	// MQTTPort and ALPNPort are the broker's ports (0: unknown / none), reported by
	// GET /jitpwiz/local and the X-Jitpwiz-Mqtt-Port header.
	MQTTPort int
	ALPNPort int
	// RootCAPath is the broker's awsRootCA.pem, reported by GET /jitpwiz/local.
	RootCAPath string
	// OnCertificateStatus is called after a device certificate's status changed through
	// UpdateCertificate (the broker disconnects devices whose cert left ACTIVE).
	OnCertificateStatus func(certID, status string)
	// CallerUserName names the caller in STS GetCallerIdentity (default "local").
	CallerUserName string
	// OnCall, if set, is called after every request (the local CloudTrail view).
	OnCall func(Call)
	// BodyReadTimeout bounds how long a request body may take to arrive after its
	// headers (0: DefaultBodyReadTimeout); a slower one is answered
	// RequestTimeoutException. The server's ReadHeaderTimeout covers the headers.
	BodyReadTimeout time.Duration
}

// Call describes one control-plane request, for OnCall.
type Call struct {
	Time      time.Time
	Service   string // "iot", "iam", "sts", or "" when the request was refused before dispatch
	Operation string // e.g. "RegisterCACertificate"; "METHOD /path" for an unknown IoT route
	Status    int
	ErrorCode string // AWS error code when the call failed
	Duration  time.Duration
}

// callRecorder captures what OnCall reports.
type callRecorder struct {
	http.ResponseWriter
	call Call
}

func (c *callRecorder) WriteHeader(status int) {
	if c.call.Status == 0 {
		c.call.Status = status
	}
	c.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (c *callRecorder) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *callRecorder) Write(b []byte) (int, error) {
	if c.call.Status == 0 {
		c.call.Status = http.StatusOK
	}
	return c.ResponseWriter.Write(b)
}

// noteCall records the operation (and error code) on w if it is a callRecorder.
func noteCall(w http.ResponseWriter, service, op, code string) {
	if c, ok := w.(*callRecorder); ok {
		if service != "" {
			c.call.Service = service
		}
		if op != "" {
			c.call.Operation = op
		}
		if code != "" {
			c.call.ErrorCode = code
		}
	}
}

// Handler is the control-plane http.Handler.
type Handler struct {
	st   *store.Store
	opts Options
}

// New returns the control plane over s.
func New(s *store.Store, opts Options) *Handler {
	if opts.EndpointHost == "" {
		opts.EndpointHost = "localhost"
	}
	if opts.CallerUserName == "" {
		opts.CallerUserName = "local"
	}
	if opts.BodyReadTimeout <= 0 {
		opts.BodyReadTimeout = DefaultBodyReadTimeout
	}
	return &Handler{st: s, opts: opts}
}

// Info is the body of GET /jitpwiz/local.
type Info struct {
	Account      string `json:"account"`
	Region       string `json:"region"`
	EndpointHost string `json:"endpointAddress"`
	MQTTPort     int    `json:"mqttPort"`
	ALPNPort     int    `json:"alpnPort,omitempty"`
	RootCAPath   string `json:"rootCAPath,omitempty"`
}

// InfoPath is the path of the local-only information document.
const InfoPath = "/jitpwiz/local"

// EventsPath is the local-only event log (the local stand-in for CloudTrail and CloudWatch
// Logs): GET returns the logged events as a JSON array, oldest first; ?after=N only those
// with Seq > N. doctor reads why provisioning failed or a connection was refused there, and
// puts the log into its support bundle.
const EventsPath = "/jitpwiz/local/events"

// events answers GET EventsPath.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	var after int64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeIoTError(w, errStatus(http.StatusBadRequest, "InvalidRequestException", "after=%q is not an event sequence number (0 or more)", v))
			return
		}
		after = n
	}
	evs := h.st.Events(after)
	if evs == nil {
		evs = []store.Event{}
	}
	writeJSON(w, evs)
}

func (h *Handler) info() Info {
	return Info{Account: h.st.Account(), Region: h.st.Region(), EndpointHost: h.opts.EndpointHost,
		MQTTPort: h.opts.MQTTPort, ALPNPort: h.opts.ALPNPort, RootCAPath: h.opts.RootCAPath}
}

// ServeHTTP authenticates the request and dispatches it to IoT, IAM or STS.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.OnCall != nil {
		c := &callRecorder{ResponseWriter: w, call: Call{Time: time.Now()}}
		h.serve(c, r)
		c.call.Duration = time.Since(c.call.Time)
		if c.call.Operation == "" {
			c.call.Operation = r.Method + " " + r.URL.EscapedPath()
		}
		h.opts.OnCall(c.call)
		return
	}
	h.serve(w, r)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	rid := newRequestID()
	w.Header().Set("x-amzn-RequestId", rid)
	// The body must arrive within BodyReadTimeout (decodeBody and ParseForm report
	// a timeout as RequestTimeoutException). Recorders without a connection say
	// ErrNotSupported; nothing to bound then.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.opts.BodyReadTimeout))
	r = r.WithContext(context.WithValue(r.Context(), bodyTimeoutKey{}, h.opts.BodyReadTimeout))
	if r.Method == http.MethodGet && r.URL.Path == InfoPath {
		writeJSON(w, h.info())
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == EventsPath {
		h.events(w, r)
		return
	}
	query := looksLikeQuery(r)
	scope, err := credentialScope(r)
	if err != nil {
		if query {
			writeQueryError(w, "", rid, err)
		} else {
			writeIoTError(w, err)
		}
		return
	}
	switch scope.service {
	case "iot", "execute-api":
		if scope.region != "" && scope.region != h.st.Region() {
			writeIoTError(w, errStatus(http.StatusForbidden, "InvalidSignatureException",
				"Credential should be scoped to a valid region, not '%s'. This local AWS IoT Core serves region '%s' — use --region %s", scope.region, h.st.Region(), h.st.Region()))
			return
		}
		noteCall(w, "iot", "", "")
		h.serveIoT(w, r)
	case "iam":
		noteCall(w, "iam", "", "")
		h.serveQuery(w, r, rid, iamService)
	case "sts":
		noteCall(w, "sts", "", "")
		h.serveQuery(w, r, rid, stsService)
	default:
		err := errStatus(http.StatusForbidden, "InvalidSignatureException",
			"Credential should be scoped to correct service: the local AWS IoT Core serves 'iot' (or 'execute-api'), 'iam' and 'sts', not '%s'.", scope.service)
		if query {
			writeQueryError(w, "", rid, err)
		} else {
			writeIoTError(w, err)
		}
	}
}

type bodyTimeoutKey struct{}

// bodyTimeoutOf is the body read timeout in force for r (for messages).
func bodyTimeoutOf(r *http.Request) time.Duration {
	if d, ok := r.Context().Value(bodyTimeoutKey{}).(time.Duration); ok {
		return d
	}
	return DefaultBodyReadTimeout
}

// looksLikeQuery reports whether r uses the query protocol (form body or Action=).
func looksLikeQuery(r *http.Request) bool {
	if r.URL.Query().Get("Action") != "" {
		return true
	}
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && r.URL.Path == "/" && strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}

type scope struct {
	accessKey, region, service string
}

// credentialScope extracts the SigV4 credential scope from the Authorization header or
// a presigned URL. Signatures are not verified: any credentials are accepted.
func credentialScope(r *http.Request) (scope, error) {
	auth := r.Header.Get("Authorization")
	cred := ""
	switch {
	case auth != "":
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
			return scope{}, errStatus(http.StatusBadRequest, "IncompleteSignatureException",
				"Authorization header requires a SigV4 signature (AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...)")
		}
		for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
			part = strings.TrimSpace(part)
			if v, ok := strings.CutPrefix(part, "Credential="); ok {
				cred = v
			}
		}
	case r.URL.Query().Get("X-Amz-Credential") != "":
		cred = r.URL.Query().Get("X-Amz-Credential")
	default:
		return scope{}, errStatus(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	// AKID/date/region/service/aws4_request
	p := strings.Split(cred, "/")
	if len(p) != 5 || p[4] != "aws4_request" || p[0] == "" {
		return scope{}, errStatus(http.StatusBadRequest, "IncompleteSignatureException",
			"Authorization header requires 'Credential' parameter of the form <access key>/<date>/<region>/<service>/aws4_request")
	}
	return scope{accessKey: p[0], region: p[2], service: p[3]}, nil
}

// ---- IoT routing ----

type route struct {
	method  string
	pattern []string // literal segments; "{}" captures one (unescaped) segment
	op      string
	fn      iotOp
}

// iotOp serves one IoT operation: it returns the response body (nil for an empty object)
// or the error to answer with, and serveIoT writes either. It may set response headers
// on w, never the body. args are the path segments the route captured.
type iotOp func(h *Handler, w http.ResponseWriter, r *http.Request, args []string) (any, error)

func seg(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

// routes are the IoT control plane's REST routes, in the order serveIoT tries them.
var routes = iotRoutes()

func iotRoutes() []route {
	var routes []route
	add := func(method, path, op string, fn iotOp) { routes = append(routes, newRoute(method, path, op, fn)) }
	add("GET", "/registrationcode", "GetRegistrationCode", (*Handler).getRegistrationCode)
	add("DELETE", "/registrationcode", "DeleteRegistrationCode", (*Handler).deleteRegistrationCode)
	add("POST", "/cacertificate", "RegisterCACertificate", (*Handler).registerCACertificate)
	add("GET", "/cacertificate/{}", "DescribeCACertificate", (*Handler).describeCACertificate)
	add("PUT", "/cacertificate/{}", "UpdateCACertificate", (*Handler).updateCACertificate)
	add("DELETE", "/cacertificate/{}", "DeleteCACertificate", (*Handler).deleteCACertificate)
	add("GET", "/cacertificates", "ListCACertificates", (*Handler).listCACertificates)
	add("GET", "/certificates", "ListCertificates", (*Handler).listCertificates)
	add("GET", "/certificates/{}", "DescribeCertificate", (*Handler).describeCertificate)
	add("PUT", "/certificates/{}", "UpdateCertificate", (*Handler).updateCertificate)
	add("DELETE", "/certificates/{}", "DeleteCertificate", (*Handler).deleteCertificate)
	add("GET", "/certificates-by-ca/{}", "ListCertificatesByCA", (*Handler).listCertificatesByCA)
	add("GET", "/things", "ListThings", (*Handler).listThings)
	add("POST", "/things/{}", "CreateThing", (*Handler).createThing)
	add("GET", "/things/{}", "DescribeThing", (*Handler).describeThing)
	add("DELETE", "/things/{}", "DeleteThing", (*Handler).deleteThing)
	add("GET", "/things/{}/principals", "ListThingPrincipals", (*Handler).listThingPrincipals)
	add("PUT", "/things/{}/principals", "AttachThingPrincipal", (*Handler).attachThingPrincipal)
	add("DELETE", "/things/{}/principals", "DetachThingPrincipal", (*Handler).detachThingPrincipal)
	add("GET", "/principals/things", "ListPrincipalThings", (*Handler).listPrincipalThings)
	add("GET", "/policies", "ListPolicies", (*Handler).listPolicies)
	add("POST", "/policies/{}", "CreatePolicy", (*Handler).createPolicy)
	add("GET", "/policies/{}", "GetPolicy", (*Handler).getPolicy)
	add("DELETE", "/policies/{}", "DeletePolicy", (*Handler).deletePolicy)
	add("GET", "/policies/{}/version", "ListPolicyVersions", (*Handler).listPolicyVersions)
	add("PUT", "/target-policies/{}", "AttachPolicy", (*Handler).attachPolicy)
	add("POST", "/target-policies/{}", "DetachPolicy", (*Handler).detachPolicy)
	add("POST", "/attached-policies/{}", "ListAttachedPolicies", (*Handler).listAttachedPolicies)
	add("POST", "/policy-targets/{}", "ListTargetsForPolicy", (*Handler).listTargetsForPolicy)
	add("GET", "/principal-policies", "ListPrincipalPolicies", (*Handler).listPrincipalPolicies)
	add("GET", "/endpoint", "DescribeEndpoint", (*Handler).describeEndpoint)
	routes = append(routes, templateRoutes()...)
	routes = append(routes, registryRoutes()...)
	return routes
}

// serveIoT routes on the escaped path, splitting on "/" before unescaping each segment,
// so ARN labels (arn%3Aaws%3Aiot%3A...%3Acert%2F<id>) stay one segment.
func (h *Handler) serveIoT(w http.ResponseWriter, r *http.Request) {
	raw := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil { // net/http refuses most of these before the handler; see Listener
			writeIoTError(w, errBadEscape(s))
			return
		}
		segs[i] = u
	}
	for _, rt := range routes {
		if rt.method != r.Method || len(rt.pattern) != len(segs) {
			continue
		}
		var args []string
		ok := true
		for i, p := range rt.pattern {
			if p == "{}" {
				if segs[i] == "" {
					ok = false
					break
				}
				args = append(args, segs[i])
			} else if p != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			noteCall(w, "", rt.op, "")
			if err := validateRequest(rt.op, args, r); err != nil {
				writeIoTError(w, err)
				return
			}
			out, err := rt.fn(h, w, r, args)
			if err != nil {
				writeIoTError(w, err)
				return
			}
			writeJSON(w, out)
			return
		}
	}
	writeIoTError(w, errUnknownOperation(r))
}

// errUnknownOperation is the answer to a method and path that are no operation.
// AWS's IoT endpoint is fronted by API Gateway (it signs as execute-api, model
// metadata signingName), and API Gateway answers a request for a method or resource
// it does not have with 403 MissingAuthenticationTokenException {"message":"Missing
// Authentication Token"} (API Gateway developer guide, gateway response type
// MISSING_AUTHENTICATION_TOKEN: "including the cases when the client attempts to
// invoke an unsupported API method or resource"; default status 403). That
// iot.<region>.amazonaws.com answers exactly so is inferred, not observed [U]; the
// code is in no IoT model, but clients treat it as AWS's (the SDKs' generic API
// error). The local core adds to the message which request it could not route.
func errUnknownOperation(r *http.Request) error {
	return errStatus(http.StatusForbidden, "MissingAuthenticationTokenException",
		"Missing Authentication Token (the answer of AWS's front end to a method and path it does not know: %s %s matches no operation this local IoT Core serves — an AWS IoT operation it does not emulate, or a wrong method or path)",
		r.Method, r.URL.EscapedPath())
}

func (h *Handler) describeEndpoint(w http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	typ := r.URL.Query().Get("endpointType")
	switch typ {
	case "", "iot:Data", "iot:Data-ATS":
	case "iot:CredentialProvider", "iot:Jobs":
		return nil, store.Errorf(store.CodeInvalidRequest, "Endpoint type %s is not served by this local AWS IoT Core; use iot:Data-ATS", typ)
	default:
		return nil, store.Errorf(store.CodeInvalidRequest, "Endpoint type %s is invalid. Valid types: iot:Data, iot:Data-ATS, iot:CredentialProvider, iot:Jobs", typ)
	}
	if h.opts.MQTTPort != 0 {
		w.Header().Set("X-Jitpwiz-Mqtt-Port", strconv.Itoa(h.opts.MQTTPort))
	}
	return map[string]string{"endpointAddress": h.opts.EndpointHost}, nil
}
