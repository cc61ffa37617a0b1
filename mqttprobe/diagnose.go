package mqttprobe

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
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

// Diagnosis is a failure (or success) in plain words, for the steps and the TUI.
type Diagnosis struct {
	Class    DiagClass
	OK       bool
	Cause    string
	Fix      string
	Evidence []string
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
			f.Problems = append(f.Problems, "could not check the certificate: "+err.Error())
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
			f.Problems = append(f.Problems, "could not check the CA: "+err.Error())
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
		return Diagnosis{Class: DiagUnknown, Cause: "nothing was tried yet", Fix: "connect first"}
	}
	host := f.Options.Host
	var ev []string
	if o.Detail != "" {
		ev = append(ev, "connection: "+o.Detail)
	}
	if o.TLS != nil && o.TLS.Version != "" {
		ev = append(ev, fmt.Sprintf("TLS: %s %s, SNI %q, ALPN %q, %d certificate(s) sent", o.TLS.Version, o.TLS.CipherSuite, o.TLS.SNI, o.TLS.ALPN, o.TLS.ClientChain))
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
		return d(DiagConfig, o.Detail, "fix the connection settings")
	}

	// An AWS endpoint of another region: nothing there knows this CA or certificate.
	if r := EndpointRegion(host); r != "" && f.Region != "" && r != f.Region && o.Class != ClassConnected {
		return d(DiagWrongRegion, "the endpoint "+host+" is in region "+r+", but the CA was registered (and is being checked) in "+f.Region,
			"use the endpoint of "+f.Region+" (aws iot describe-endpoint --endpoint-type iot:Data-ATS --region "+f.Region+")")
	}

	switch o.Class {
	case ClassDialFailed:
		var dns *net.DNSError
		if errors.As(o.Err, &dns) {
			return d(DiagEndpointUnreachable, "the endpoint "+host+" does not resolve", "copy the endpoint from DescribeEndpoint (iot:Data-ATS) for your region; check DNS and network")
		}
		if errors.Is(o.Err, syscall.ECONNREFUSED) {
			return d(DiagEndpointUnreachable, "nothing accepts connections at "+f.Options.dialAddr(),
				"check the port (8883, or 443 with ALPN) and, for the local target, that the local IoT Core is running")
		}
		return d(DiagEndpointUnreachable, "cannot reach "+f.Options.dialAddr()+" ("+o.Detail+")",
			"check the network; port 8883 is often blocked by firewalls — try port 443 (ALPN x-amzn-mqtt-ca)")
	case ClassServerUntrusted, ClassServerCertInvalid:
		issuer := ""
		if o.TLS != nil {
			issuer = o.TLS.ServerIssuer
		}
		return d(DiagWrongServerCA, "the server CA file does not verify the broker's certificate (issued by "+orStr(issuer, "an unknown CA")+")",
			"use Amazon Root CA 1 and Root CA 3 (AmazonRootCA1.pem + AmazonRootCA3.pem) for AWS, or the local broker's awsRootCA.pem for the local target — not your own device CA")
	case ClassServerNameMismatch:
		return d(DiagWrongEndpointName, "the broker's certificate is not valid for "+host,
			"connect with the exact iot:Data-ATS endpoint name (the -ats one); for the local target use the name jitpwiz prints")
	case ClassNoResponse:
		return d(DiagEndpointUnreachable, "the broker accepted TLS but did not answer the MQTT CONNECT",
			"check this is an MQTT endpoint (not the HTTPS one) and retry")
	case ClassConnected:
		if f.Use != nil {
			return diagnoseUse(f, ev)
		}
		return Diagnosis{Class: DiagOK, OK: true, Cause: "the broker accepted the connection (CONNACK 0)", Evidence: ev}
	}

	// From here the broker saw the certificate and refused or dropped: TLS alert,
	// close without CONNACK, or CONNACK refused. Without the control plane nothing tells
	// why: say that it is unreachable rather than guess from what could not be looked up.
	if f.ControlPlaneDown != "" && !f.CertFound && !f.CAChecked {
		return d(DiagEndpointUnreachable, "the control plane is unreachable ("+f.ControlPlaneDown+"), so what the broker did with the certificate cannot be checked",
			"check that the control plane is running and reachable — for the local target, that the local IoT Core (or `jitpwiz local`) has not stopped — then run again")
	}
	if o.Class == ClassTLSRejected && (o.Alert == "no application protocol" || (f.Options.port() == 443 && (o.TLS == nil || o.TLS.ALPN == ""))) {
		return d(DiagTLSRejected, "the broker refused the TLS session on port 443 (alert \""+o.Alert+"\"): MQTT with a client certificate on 443 needs ALPN x-amzn-mqtt-ca",
			"offer ALPN x-amzn-mqtt-ca (mosquitto_pub --tls-alpn x-amzn-mqtt-ca), or use port 8883")
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
		cause := "the device sent no SNI (TLS server name), and AWS IoT refuses connections without it — the CA certificate in the chain does not replace it"
		if ip != nil && !f.Options.NoSNI {
			cause = "the device connected to the IP address " + host + ", so its TLS client sent no SNI (server name), and AWS IoT refuses connections without SNI"
		}
		return d(DiagNoSNI, cause, "connect with the endpoint host name "+orStr(f.Endpoint, "from DescribeEndpoint (iot:Data-ATS)")+
			" as the host: clients send it as SNI (mosquitto_pub -h <endpoint>; to reach a local core on another address, map the name in /etc/hosts)")
	}
	if f.Endpoint != "" && !strings.EqualFold(host, f.Endpoint) && EndpointRegion(host) == "" && !expectedDrop &&
		(o.Class == ClassDropped || o.Class == ClassTLSRejected || o.Class == ClassConnackRefused) {
		return d(DiagWrongSNI, "the device sent SNI "+quoteID(host)+", but this endpoint only accepts its own name "+f.Endpoint+" (the DescribeEndpoint address) as SNI",
			"connect with the host "+f.Endpoint)
	}
	if f.CertFound && f.Cert != nil {
		switch f.Cert.Status {
		case aws.StatusPendingActivation:
			why := append(append([]string(nil), f.ProvisioningErrors...), templateProblems(f.TemplateBody, leaf)...)
			fix := "fix the provisioning template or the device certificate subject, then delete the certificate (set INACTIVE, delete) and connect again"
			if len(why) == 0 {
				why = []string{"the template could not be applied (see CloudTrail RegisterThing errors on AWS, or the local IoT Core's event log)"}
			}
			return d(DiagCertPending, "the certificate was registered but is stuck in PENDING_ACTIVATION: JITP ran the template and it failed — "+strings.Join(why, "; "), fix,
				"certificate "+short(f.Cert.ID)+" status PENDING_ACTIVATION")
		case aws.StatusActive:
			if expectedDrop {
				return Diagnosis{Class: DiagExpectedDrop, OK: true,
					Cause:    "the broker dropped the first connection while it provisioned the device; the certificate is now ACTIVE",
					Fix:      "connect again (as client ID = the thing name)",
					Evidence: append(ev, "certificate "+short(f.Cert.ID)+" ACTIVE")}
			}
			if f.ThingName != "" && f.Options.ClientID != f.ThingName {
				return d(DiagClientIDMismatch, fmt.Sprintf("the certificate is ACTIVE but the policy only lets client ID = thing name connect; client ID %q is not the thing name %q", f.Options.ClientID, f.ThingName),
					"connect with client ID "+f.ThingName+" (the policy resource is client/${iot:Connection.Thing.ThingName})",
					"certificate "+short(f.Cert.ID)+" ACTIVE")
			}
			what := "the broker closed the connection at CONNECT"
			if o.Class == ClassConnackRefused {
				what = fmt.Sprintf("the broker answered CONNACK %d (%s)", o.ConnackCode, ConnackText(o.ConnackCode))
			}
			return d(DiagConnectDenied, what+" although the certificate is ACTIVE: the attached policy does not allow iot:Connect for client ID "+quoteID(f.Options.ClientID),
				"check the policy attached to the certificate (its iot:Connect resource) and that the certificate is attached to the thing; policy changes take a few minutes on AWS",
				"certificate "+short(f.Cert.ID)+" ACTIVE")
		default:
			return d(DiagCertNotActive, "the certificate is "+f.Cert.Status+", so the broker refuses it and JITP will not re-provision it",
				"activate it (aws iot update-certificate --new-status ACTIVE) or delete it and connect again to re-run JITP",
				"certificate "+short(f.Cert.ID)+" status "+f.Cert.Status)
		}
	}
	// The certificate was not registered: JITP did not run.
	if leaf != nil && f.CACert != nil && leaf.CheckSignatureFrom(f.CACert) != nil {
		return d(DiagOtherCA, "the device certificate (issuer "+leaf.Issuer.String()+") was not signed by your CA ("+f.CACert.Subject.String()+")",
			"issue the device certificate with the registered CA's key (deviceRootCA.key), or register the CA that did sign it")
	}
	if f.CAChecked && f.CA == nil {
		caName := "the issuing CA"
		if f.CACert != nil {
			caName = "CA " + f.CACert.Subject.String()
		}
		return d(DiagCANotRegistered, caName+" ("+short(f.CAID)+") is not registered in region "+orStr(f.Region, "(this region)")+", so nothing provisions this device",
			"register the CA in the same region as the endpoint (the Register CA step), with --set-as-active --allow-auto-registration")
	}
	if f.CA != nil {
		if f.CA.Status != aws.StatusActive {
			return d(DiagCAInactive, "the registered CA "+short(f.CA.ID)+" is "+f.CA.Status+": AWS IoT does not auto-register devices from an inactive CA",
				"aws iot update-ca-certificate --certificate-id "+f.CA.ID+" --new-status ACTIVE")
		}
		if f.CA.AutoRegistrationStatus != aws.AutoRegEnable {
			return d(DiagAutoRegOff, "auto-registration is "+orStr(f.CA.AutoRegistrationStatus, "DISABLE")+" on CA "+short(f.CA.ID)+", so the device certificate is not registered on connect",
				"aws iot update-ca-certificate --certificate-id "+f.CA.ID+" --new-auto-registration-status ENABLE")
		}
		if f.CA.RegistrationConfig == nil || (f.CA.RegistrationConfig.TemplateBody == "" && f.CA.RegistrationConfig.TemplateName == "") {
			return d(DiagNotProvisioned, "CA "+short(f.CA.ID)+" has no provisioning template (registration config), so this is JITR, not JITP: the certificate waits for your own activation",
				"update the CA with --registration-config file://jitp_template.json")
		}
	}
	if o.Class == ClassTLSRejected {
		return d(DiagTLSRejected, "the broker refused the device certificate during TLS (alert \""+o.Alert+"\")",
			"check the device certificate is signed by the registered CA, is within its validity period, and that the CA is ACTIVE with auto-registration ENABLE")
	}
	return d(DiagNotProvisioned, "the broker dropped the connection and no certificate was registered",
		"check the CA is registered ACTIVE with auto-registration ENABLE in the endpoint's region, and that the device connects with the endpoint's host name (sent as SNI)")
}

func diagnoseUse(f Facts, ev []string) Diagnosis {
	u := f.Use
	if u.Received {
		return Diagnosis{Class: DiagOK, OK: true, Cause: u.Detail, Evidence: ev}
	}
	if u.BrokerGone {
		return Diagnosis{Class: DiagEndpointUnreachable, Cause: u.Detail,
			Fix: "check that the broker is running — for the local target, that the local IoT Core (or `jitpwiz local`) has not stopped — then run again", Evidence: ev}
	}
	thing := f.ThingName
	if thing == "" {
		thing = f.Options.ClientID
	}
	outside := thing != "" && !strings.HasPrefix(u.Topic, thing+"/")
	if u.Denied != DeniedNone {
		cause := u.Detail
		fix := "use a topic under " + thing + "/ (the scoped policy allows " + thing + "/*), or widen the policy"
		if !outside {
			fix = "check the policy attached to the certificate allows " + iotAction(u.Denied) + " on " + u.Topic
		} else {
			cause = "topic " + u.Topic + " is outside the policy (" + thing + "/*): " + u.Detail
		}
		return Diagnosis{Class: DiagTopicDenied, Cause: cause, Fix: fix, Evidence: append(ev, "denied: "+iotAction(u.Denied)+" on "+u.Topic)}
	}
	return Diagnosis{Class: DiagUnknown, Cause: u.Detail, Fix: "retry; check the network", Evidence: ev}
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
// stays PENDING_ACTIVATION. It is deliberately small; aws/template has the full linter.
func templateProblems(body string, leaf *x509.Certificate) []string {
	if body == "" || leaf == nil {
		return nil
	}
	var t struct {
		Parameters map[string]struct {
			Default *json.RawMessage
		}
		Resources json.RawMessage
	}
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return []string{"the template is not valid JSON (" + err.Error() + ")"}
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
	var out []string
	for r := range refs {
		if _, ok := have[r]; ok {
			continue
		}
		if p, ok := t.Parameters[r]; ok && p.Default != nil {
			continue
		}
		attr := strings.TrimPrefix(r, "AWS::IoT::Certificate::")
		out = append(out, "the template references "+r+" but the device certificate has no "+attr+" in its subject and the parameter has no Default")
	}
	sort.Strings(out)
	return out
}
