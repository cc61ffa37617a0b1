package mqttprobe

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki"
)

// DiagClass names a failure the user can fix.
type DiagClass string

const (
	DiagOK                  DiagClass = "ok"                  // connected / round trip worked
	DiagExpectedDrop        DiagClass = "expected-drop"       // first-connect drop, cert now ACTIVE
	DiagConfig              DiagClass = "config"              // files/options wrong
	DiagWrongServerCA       DiagClass = "wrong-server-ca"     // server cert not trusted by our CA file
	DiagWrongEndpointName   DiagClass = "wrong-endpoint-name" // server cert not valid for the host
	DiagNoSNI               DiagClass = "no-sni"              // no SNI sent (NoSNI, or an IP address as host)
	DiagWrongSNI            DiagClass = "wrong-sni"           // SNI is not the endpoint's name
	DiagClientIDMismatch    DiagClass = "client-id-mismatch"  // client ID ≠ thing name
	DiagConnectDenied       DiagClass = "connect-denied"      // policy refuses iot:Connect otherwise
	DiagTopicDenied         DiagClass = "topic-denied"        // publish/subscribe/receive outside policy
	DiagCertPending         DiagClass = "cert-pending"        // PENDING_ACTIVATION: the template failed
	DiagCertNotActive       DiagClass = "cert-not-active"     // INACTIVE, REVOKED, …
	DiagCANotRegistered     DiagClass = "ca-not-registered"   // issuer not registered in this region
	DiagCAInactive          DiagClass = "ca-inactive"         // CA status INACTIVE
	DiagAutoRegOff          DiagClass = "auto-registration-off"
	DiagOtherCA             DiagClass = "cert-from-other-ca"   // device cert not signed by the registered CA
	DiagWrongRegion         DiagClass = "wrong-region"         // endpoint of another region
	DiagEndpointUnreachable DiagClass = "endpoint-unreachable" // DNS / refused / timeout
	DiagTLSRejected         DiagClass = "tls-rejected"         // client cert refused, reason unknown
	DiagNotProvisioned      DiagClass = "not-provisioned"      // dropped, nothing registered, cause unknown
	DiagUnknown             DiagClass = "unknown"
)

// Diagnosis is a failure (or success) in plain words, for the steps and the TUI. Class says
// stably what it found; Cause, Fix and Evidence say it in the user's language.
type Diagnosis struct {
	Class    DiagClass
	OK       bool
	Cause    string
	Fix      string
	Evidence []string
	// Unprovided are the parameters of the CA's template that the device certificate cannot
	// supply (DiagCertPending): why provisioning failed, when that is why.
	Unprovided []string
}

func (d Diagnosis) String() string {
	s := string(d.Class) + ": " + d.Cause
	if d.Fix != "" {
		s += " — " + d.Fix
	}
	return s
}

// Facts is everything Diagnose reasons over. Fill what you know; Gather adds the
// control-plane lookups.
type Facts struct {
	Outcome *Outcome
	Use     *UseResult
	Options Options
	Chain   []*x509.Certificate // device cert file contents (leaf first)
	// CACert is the user's CA certificate (deviceRootCA.pem), when known.
	CACert    *x509.Certificate
	ThingName string // the thing the device should be (template: CN)
	Region    string // the control plane's region
	// Endpoint is the control plane's DescribeEndpoint (iot:Data-ATS) address, the
	// name the broker expects as SNI ("" when unknown; Gather asks).
	Endpoint string

	// StatusBefore is the certificate's status before the connect that produced Outcome
	// (StatusNotRegistered when it did not exist; "" when unknown). A drop that turned a
	// new certificate ACTIVE is the expected JITP drop, not a denial.
	StatusBefore string

	CertChecked bool // DescribeCertificate was asked
	CertFound   bool
	Cert        *aws.CertDescription
	CAChecked   bool // FindCA was asked for the issuing CA
	CA          *aws.CADescription
	CAID        string
	// TemplateBody is the CA's JITP template (from DescribeCACertificate), to explain
	// a certificate stuck in PENDING_ACTIVATION.
	TemplateBody string
	// ProvisioningErrors are what the provisioning service said about this certificate,
	// when the caller can read it (AWS: CloudTrail RegisterThing errorMessage; the local
	// IoT Core: its event log), e.g. "Cannot resolve reference value: …".
	ProvisioningErrors []string
	// Problems are control-plane lookups that failed while gathering (shown as evidence).
	Problems []string
	// ControlPlaneDown is set when the control plane did not answer at all while gathering
	// (unreachable, not an error answer): what it would have said is unknown.
	ControlPlaneDown string
}

// Gather fills the control-plane facts: the certificate's status, the issuing CA's
// registration, status, auto-registration and template.
func Gather(ctx context.Context, cloud aws.Client, f *Facts) {
	if cloud == nil {
		return
	}
	if f.Region == "" {
		f.Region = cloud.Region()
	}
	if f.Endpoint == "" && f.Outcome != nil && f.Outcome.Class != ClassConnected && f.Outcome.Class != ClassConfig {
		if ep, err := cloud.DataEndpoint(ctx); err == nil {
			f.Endpoint = ep
		}
	}
	if len(f.Chain) == 0 {
		if m, err := f.Options.Load(); err == nil {
			f.Chain = m.Chain
		}
	}
	if len(f.Chain) > 0 && !f.CertChecked {
		d, err := cloud.DescribeCertificate(ctx, pki.CertID(f.Chain[0]))
		switch {
		case err == nil:
			f.CertChecked, f.CertFound, f.Cert = true, true, &d
		case aws.IsKind(err, aws.KindNotFound):
			f.CertChecked = true
		default:
			f.Problems = append(f.Problems, say("diag.problem-cert", "Err", err.Error()))
			if aws.IsKind(err, aws.KindUnavailable) {
				f.ControlPlaneDown = err.Error()
			}
		}
	}
	switch {
	case f.CAID != "":
	case f.Cert != nil && f.Cert.CAID != "":
		f.CAID = f.Cert.CAID
	case f.CACert != nil:
		f.CAID = pki.CertID(f.CACert)
	case len(f.Chain) > 1:
		f.CAID = pki.CertID(f.Chain[1])
	}
	if f.CAID != "" && !f.CAChecked {
		ca, err := cloud.FindCA(ctx, f.CAID)
		if err == nil {
			f.CAChecked, f.CA = true, ca
			if ca != nil && ca.RegistrationConfig != nil && f.TemplateBody == "" {
				f.TemplateBody = ca.RegistrationConfig.TemplateBody
			}
		} else {
			f.Problems = append(f.Problems, say("diag.problem-ca", "Err", err.Error()))
			if aws.IsKind(err, aws.KindUnavailable) && f.ControlPlaneDown == "" {
				f.ControlPlaneDown = err.Error()
			}
		}
	}
}

var awsEndpointRE = regexp.MustCompile(`^[a-z0-9]+(-ats)?\.iot\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// EndpointRegion returns the region in an AWS IoT data endpoint name, or "".
func EndpointRegion(host string) string {
	m := awsEndpointRE.FindStringSubmatch(strings.ToLower(host))
	if m == nil {
		return ""
	}
	return m[2]
}

// Diagnose explains the outcome in plain words: the most specific cause the facts support.
func Diagnose(f Facts) Diagnosis {
	o := f.Outcome
	if o == nil && f.Use != nil {
		o = &f.Use.Connect
	}
	if o == nil {
		return Diagnosis{Class: DiagUnknown, Cause: say("diag.nothing.cause"), Fix: say("diag.nothing.fix")}
	}
	host := f.Options.Host
	var ev []string
	if o.Detail != "" {
		ev = append(ev, say("diag.ev.connection", "Detail", o.Detail))
	}
	if o.TLS != nil && o.TLS.Version != "" {
		ev = append(ev, say("diag.ev.tls", "Version", o.TLS.Version, "Cipher", o.TLS.CipherSuite, "SNI", strconv.Quote(o.TLS.SNI), "ALPN", strconv.Quote(o.TLS.ALPN),
			"N", strconv.Itoa(o.TLS.ClientChain)))
	}
	for _, p := range f.Problems {
		ev = append(ev, p)
	}
	d := func(c DiagClass, cause, fix string, more ...string) Diagnosis {
		return Diagnosis{Class: c, Cause: cause, Fix: fix, Evidence: append(ev, more...)}
	}

	if o.Class == ClassConfig {
		var ce *ConfigError
		if errors.As(o.Err, &ce) {
			return d(DiagConfig, ce.Field+": "+ce.Cause, ce.Fix)
		}
		return d(DiagConfig, o.Detail, say("diag.config.fix"))
	}

	// An AWS endpoint of another region: nothing there knows this CA or certificate.
	if r := EndpointRegion(host); r != "" && f.Region != "" && r != f.Region && o.Class != ClassConnected {
		return d(DiagWrongRegion, say("diag.wrong-region.cause", "Host", host, "Region", r, "CARegion", f.Region), say("diag.wrong-region.fix", "CARegion", f.Region))
	}

	switch o.Class {
	case ClassDialFailed:
		var dns *net.DNSError
		if errors.As(o.Err, &dns) {
			return d(DiagEndpointUnreachable, say("diag.dns.cause", "Host", host), say("diag.dns.fix"))
		}
		if errors.Is(o.Err, syscall.ECONNREFUSED) {
			return d(DiagEndpointUnreachable, say("diag.refused.cause", "Addr", f.Options.dialAddr()), say("diag.refused.fix"))
		}
		return d(DiagEndpointUnreachable, say("diag.unreachable.cause", "Addr", f.Options.dialAddr(), "Detail", o.Detail), say("diag.unreachable.fix"))
	case ClassServerUntrusted, ClassServerCertInvalid:
		issuer := ""
		if o.TLS != nil {
			issuer = o.TLS.ServerIssuer
		}
		return d(DiagWrongServerCA, say("diag.server-ca.cause", "Issuer", issuer), say("diag.server-ca.fix"))
	case ClassServerNameMismatch:
		return d(DiagWrongEndpointName, say("diag.server-name.cause", "Host", host), say("diag.server-name.fix"))
	case ClassNoResponse:
		return d(DiagEndpointUnreachable, say("diag.no-response.cause"), say("diag.no-response.fix"))
	case ClassConnected:
		if f.Use != nil {
			return diagnoseUse(f, ev)
		}
		return Diagnosis{Class: DiagOK, OK: true, Cause: say("diag.connected.cause"), Evidence: ev}
	}

	// From here the broker saw the certificate and refused or dropped: TLS alert,
	// close without CONNACK, or CONNACK refused. Without the control plane nothing tells
	// why: say that it is unreachable rather than guess from what could not be looked up.
	if f.ControlPlaneDown != "" && !f.CertFound && !f.CAChecked {
		return d(DiagEndpointUnreachable, say("diag.control-plane.cause", "Err", f.ControlPlaneDown), say("diag.control-plane.fix"))
	}
	if o.Class == ClassTLSRejected && (o.Alert == "no application protocol" || (f.Options.port() == 443 && (o.TLS == nil || o.TLS.ALPN == ""))) {
		return d(DiagTLSRejected, say("diag.alpn.cause", "Alert", o.Alert), say("diag.alpn.fix"))
	}
	leaf := firstOr(f.Chain)
	// A drop that turned a new certificate ACTIVE is JITP's expected drop, whatever
	// else the facts say.
	newCert := f.StatusBefore == StatusNotRegistered || f.StatusBefore == aws.StatusPendingActivation
	activeCert := f.CertFound && f.Cert != nil && f.Cert.Status == aws.StatusActive
	expectedDrop := activeCert && o.Class == ClassDropped && f.Use == nil && (newCert || (f.StatusBefore == "" && f.ThingName == ""))
	// AWS refuses a connection whose SNI is missing or not the endpoint's name
	// (jitp-spec.md §6); the CA in the chain does not make up for it.
	if ip := net.ParseIP(strings.Trim(host, "[]")); (f.Options.NoSNI || ip != nil) && !expectedDrop {
		cause := say("diag.no-sni.cause")
		if ip != nil && !f.Options.NoSNI {
			cause = say("diag.no-sni.cause-ip", "Host", host)
		}
		return d(DiagNoSNI, cause, say("diag.no-sni.fix", "Endpoint", f.Endpoint))
	}
	if f.Endpoint != "" && !strings.EqualFold(host, f.Endpoint) && EndpointRegion(host) == "" && !expectedDrop &&
		(o.Class == ClassDropped || o.Class == ClassTLSRejected || o.Class == ClassConnackRefused) {
		return d(DiagWrongSNI, say("diag.wrong-sni.cause", "SNI", quoteID(host), "Endpoint", f.Endpoint), say("diag.wrong-sni.fix", "Endpoint", f.Endpoint))
	}
	if f.CertFound && f.Cert != nil {
		switch f.Cert.Status {
		case aws.StatusPendingActivation:
			problems, unprovided := templateProblems(f.TemplateBody, leaf)
			why := append(append([]string(nil), f.ProvisioningErrors...), problems...)
			if len(why) == 0 {
				why = []string{say("diag.pending.why-unknown")}
			}
			dg := d(DiagCertPending, say("diag.pending.cause", "Why", strings.Join(why, "; ")), say("diag.pending.fix"),
				say("diag.ev.cert-status", "Cert", short(f.Cert.ID), "Status", aws.StatusPendingActivation))
			dg.Unprovided = unprovided
			return dg
		case aws.StatusActive:
			if expectedDrop {
				return Diagnosis{Class: DiagExpectedDrop, OK: true,
					Cause:    say("diag.expected-drop.cause"),
					Fix:      say("diag.expected-drop.fix"),
					Evidence: append(ev, say("diag.ev.cert-active", "Cert", short(f.Cert.ID)))}
			}
			if f.ThingName != "" && f.Options.ClientID != f.ThingName {
				return d(DiagClientIDMismatch, say("diag.client-id.cause", "Client", strconv.Quote(f.Options.ClientID), "Thing", strconv.Quote(f.ThingName)),
					say("diag.client-id.fix", "Thing", f.ThingName), say("diag.ev.cert-active", "Cert", short(f.Cert.ID)))
			}
			what := say("diag.connect-denied.closed")
			if o.Class == ClassConnackRefused {
				what = say("connect.connack", "Code", strconv.Itoa(int(o.ConnackCode)), "Text", ConnackText(o.ConnackCode))
			}
			return d(DiagConnectDenied, say("diag.connect-denied.cause", "What", what, "Client", quoteID(f.Options.ClientID)), say("diag.connect-denied.fix"),
				say("diag.ev.cert-active", "Cert", short(f.Cert.ID)))
		default:
			return d(DiagCertNotActive, say("diag.not-active.cause", "Status", f.Cert.Status), say("diag.not-active.fix"),
				say("diag.ev.cert-status", "Cert", short(f.Cert.ID), "Status", f.Cert.Status))
		}
	}
	// The certificate was not registered: JITP did not run.
	if leaf != nil && f.CACert != nil && leaf.CheckSignatureFrom(f.CACert) != nil {
		return d(DiagOtherCA, say("diag.other-ca.cause", "Issuer", leaf.Issuer.String(), "CA", f.CACert.Subject.String()), say("diag.other-ca.fix"))
	}
	if f.CAChecked && f.CA == nil {
		subject := ""
		if f.CACert != nil {
			subject = f.CACert.Subject.String()
		}
		return d(DiagCANotRegistered, say("diag.ca-not-registered.cause", "CA", subject, "ID", short(f.CAID), "Region", f.Region), say("diag.ca-not-registered.fix"))
	}
	if f.CA != nil {
		if f.CA.Status != aws.StatusActive {
			return d(DiagCAInactive, say("diag.ca-inactive.cause", "CA", short(f.CA.ID), "Status", f.CA.Status),
				"aws iot update-ca-certificate --certificate-id "+f.CA.ID+" --new-status ACTIVE")
		}
		if f.CA.AutoRegistrationStatus != aws.AutoRegEnable {
			return d(DiagAutoRegOff, say("diag.auto-reg-off.cause", "Status", orStr(f.CA.AutoRegistrationStatus, "DISABLE"), "CA", short(f.CA.ID)),
				"aws iot update-ca-certificate --certificate-id "+f.CA.ID+" --new-auto-registration-status ENABLE")
		}
		if f.CA.RegistrationConfig == nil || (f.CA.RegistrationConfig.TemplateBody == "" && f.CA.RegistrationConfig.TemplateName == "") {
			return d(DiagNotProvisioned, say("diag.no-template.cause", "CA", short(f.CA.ID)), say("diag.no-template.fix"))
		}
	}
	if o.Class == ClassTLSRejected {
		return d(DiagTLSRejected, say("diag.tls-rejected.cause", "Alert", o.Alert), say("diag.tls-rejected.fix"))
	}
	return d(DiagNotProvisioned, say("diag.not-provisioned.cause"), say("diag.not-provisioned.fix"))
}

func diagnoseUse(f Facts, ev []string) Diagnosis {
	u := f.Use
	if u.Received {
		return Diagnosis{Class: DiagOK, OK: true, Cause: u.Detail, Evidence: ev}
	}
	if u.BrokerGone {
		return Diagnosis{Class: DiagEndpointUnreachable, Cause: u.Detail, Fix: say("diag.broker-gone.fix"), Evidence: ev}
	}
	thing := f.ThingName
	if thing == "" {
		thing = f.Options.ClientID
	}
	outside := thing != "" && !strings.HasPrefix(u.Topic, thing+"/")
	if u.Denied != DeniedNone {
		cause := u.Detail
		fix := say("diag.topic.fix-outside", "Thing", thing)
		if !outside {
			fix = say("diag.topic.fix-inside", "Action", iotAction(u.Denied), "Topic", u.Topic)
		} else {
			cause = say("diag.topic.cause-outside", "Topic", u.Topic, "Thing", thing, "Detail", u.Detail)
		}
		return Diagnosis{Class: DiagTopicDenied, Cause: cause, Fix: fix, Evidence: append(ev, say("diag.ev.denied", "Action", iotAction(u.Denied), "Topic", u.Topic))}
	}
	return Diagnosis{Class: DiagUnknown, Cause: u.Detail, Fix: say("diag.use-unknown.fix"), Evidence: ev}
}

func firstOr(c []*x509.Certificate) *x509.Certificate {
	if len(c) == 0 {
		return nil
	}
	return c[0]
}

func orStr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// templateProblems finds Refs in a JITP template that the device certificate cannot
// supply (no such subject attribute and no Default): the usual reason a certificate
// stays PENDING_ACTIVATION. It returns the problems in words and the parameters. It is
// deliberately small; aws/template has the full linter.
func templateProblems(body string, leaf *x509.Certificate) (problems, unprovided []string) {
	if body == "" || leaf == nil {
		return nil, nil
	}
	var t struct {
		Parameters map[string]struct {
			Default *json.RawMessage
		}
		Resources json.RawMessage
	}
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return []string{say("diag.template.not-json", "Err", err.Error())}, nil
	}
	have := pki.JITPParameters(leaf)
	refs := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["Ref"].(string); ok && len(x) == 1 {
				refs[r] = true
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var res any
	if len(t.Resources) > 0 && json.Unmarshal(t.Resources, &res) == nil {
		walk(res)
	}
	for r := range refs {
		if _, ok := have[r]; ok {
			continue
		}
		if p, ok := t.Parameters[r]; ok && p.Default != nil {
			continue
		}
		unprovided = append(unprovided, r)
	}
	sort.Strings(unprovided)
	for _, r := range unprovided {
		problems = append(problems, say("diag.template.unprovided", "Ref", r, "Attr", strings.TrimPrefix(r, "AWS::IoT::Certificate::")))
	}
	return problems, unprovided
}
