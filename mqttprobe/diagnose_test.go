package mqttprobe

import (
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki"
)

func TestDiagnoseClasses(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	dropped := &Outcome{Class: ClassDropped, ConnectSent: true, Detail: "closed without CONNACK"}
	opts := Options{Host: testHost, ClientID: "DemoThing"}
	active := &aws.CertDescription{ID: pki.CertID(p.device.cert), Status: aws.StatusActive, CAID: "ca01"}
	okCA := &aws.CADescription{ID: "ca01", Status: aws.StatusActive, AutoRegistrationStatus: aws.AutoRegEnable,
		RegistrationConfig: &aws.RegistrationConfig{TemplateBody: "{}", RoleArn: "arn:aws:iam::1:role/JITPRole"}}
	chain := []*x509.Certificate{p.device.cert}
	cases := []struct {
		name  string
		f     Facts
		class DiagClass
		ok    bool
		cause string
		fix   string
	}{
		{name: "wrong server CA", f: Facts{Outcome: &Outcome{Class: ClassServerUntrusted, TLS: &TLSInfo{ServerIssuer: "CN=Amazon RSA 2048 M01"}}, Options: opts},
			class: DiagWrongServerCA, cause: "Amazon RSA 2048 M01", fix: "Amazon Root CA 1"},
		{name: "wrong endpoint name", f: Facts{Outcome: &Outcome{Class: ClassServerNameMismatch}, Options: opts},
			class: DiagWrongEndpointName, fix: "-ats"},
		// Issue 12: without SNI AWS refuses the connection, with or without the CA in
		// the chain, so the fix is SNI and never the bundle.
		{name: "no SNI and no chain", f: Facts{Outcome: dropped, Options: Options{Host: testHost, ClientID: "x", NoSNI: true}, Chain: chain,
			CertChecked: true}, class: DiagNoSNI, cause: "sent no SNI", fix: "endpoint host name"},
		{name: "no SNI with the CA in the chain", f: Facts{Outcome: dropped, Options: Options{Host: testHost, ClientID: "x", NoSNI: true},
			Chain: []*x509.Certificate{p.device.cert, p.deviceCA.cert}, CertChecked: true, Endpoint: "abc-ats.iot.us-east-2.amazonaws.com"},
			class: DiagNoSNI, cause: "does not replace it", fix: "abc-ats.iot.us-east-2.amazonaws.com"},
		{name: "IP address as host", f: Facts{Outcome: dropped, Options: Options{Host: "127.0.0.1", ClientID: "x"}, Chain: chain, CertChecked: true,
			Endpoint: "localhost"}, class: DiagNoSNI, cause: "IP address 127.0.0.1", fix: "host name localhost"},
		{name: "SNI naming another host", f: Facts{Outcome: dropped, Options: Options{Host: "localhost", ClientID: "DemoThing"}, Chain: chain,
			ThingName: "DemoThing", CertChecked: true, CertFound: true, Cert: active, Endpoint: "iot.lab.example"},
			class: DiagWrongSNI, cause: `SNI "localhost"`, fix: "host iot.lab.example"},
		{name: "an AWS endpoint alias is not judged as a wrong SNI", f: Facts{Outcome: dropped, Options: opts, Chain: chain,
			ThingName: "DemoThing", CertChecked: true, CertFound: true, Cert: active, Endpoint: "other-ats.iot.us-east-2.amazonaws.com"},
			class: DiagConnectDenied, cause: "iot:Connect"},
		{name: "client ID is not the thing name", f: Facts{Outcome: dropped, Options: Options{Host: testHost, ClientID: "anyclientID"}, Chain: chain,
			ThingName: "DemoThing", CertChecked: true, CertFound: true, Cert: active},
			class: DiagClientIDMismatch, cause: `client ID "anyclientID" is not the thing name "DemoThing"`, fix: "client ID DemoThing"},
		{name: "connect denied by policy", f: Facts{Outcome: &Outcome{Class: ClassConnackRefused, ConnackCode: 5}, Options: opts, Chain: chain,
			ThingName: "DemoThing", CertChecked: true, CertFound: true, Cert: active},
			class: DiagConnectDenied, cause: "CONNACK 5 (not authorized)", fix: "iot:Connect"},
		{name: "expected drop", f: Facts{Outcome: dropped, Options: opts, Chain: chain, CertChecked: true, CertFound: true, Cert: active},
			class: DiagExpectedDrop, ok: true, cause: "now ACTIVE", fix: "connect again"},
		{name: "drop that provisioned a new cert is expected even with a thing name", f: Facts{Outcome: dropped,
			Options: Options{Host: testHost, ClientID: "anyclientID"}, Chain: chain, ThingName: "DemoThing", StatusBefore: StatusNotRegistered,
			CertChecked: true, CertFound: true, Cert: active}, class: DiagExpectedDrop, ok: true, cause: "provisioned the device"},
		{name: "control-plane problems become evidence", f: Facts{Outcome: dropped, Options: opts, Chain: chain,
			Problems: []string{"could not check the CA: access denied"}}, class: DiagNotProvisioned, cause: "no certificate was registered", fix: "auto-registration ENABLE"},
		{name: "cert revoked", f: Facts{Outcome: dropped, Options: opts, Chain: chain, CertChecked: true, CertFound: true,
			Cert: &aws.CertDescription{ID: "c", Status: aws.StatusRevoked}}, class: DiagCertNotActive, cause: "REVOKED", fix: "update-certificate"},
		{name: "pending activation without known template", f: Facts{Outcome: dropped, Options: opts, Chain: chain, CertChecked: true, CertFound: true,
			Cert: &aws.CertDescription{ID: "c", Status: aws.StatusPendingActivation}}, class: DiagCertPending, cause: "CloudTrail", fix: "connect again"},
		{name: "cert signed by another CA", f: Facts{Outcome: dropped, Options: opts, Chain: []*x509.Certificate{p.otherDevice.cert},
			CACert: p.deviceCA.cert, CertChecked: true}, class: DiagOtherCA, cause: "Other CA", fix: "deviceRootCA.key"},
		{name: "CA not registered", f: Facts{Outcome: dropped, Options: opts, Chain: chain, CACert: p.deviceCA.cert, CertChecked: true,
			CAChecked: true, CAID: pki.CertID(p.deviceCA.cert), Region: "us-east-2"}, class: DiagCANotRegistered, cause: "not registered in region us-east-2", fix: "--allow-auto-registration"},
		{name: "CA inactive", f: Facts{Outcome: dropped, Options: opts, Chain: chain, CertChecked: true, CAChecked: true,
			CA: &aws.CADescription{ID: "ca01", Status: aws.StatusInactive, AutoRegistrationStatus: aws.AutoRegEnable}},
			class: DiagCAInactive, cause: "INACTIVE", fix: "--new-status ACTIVE"},
		{name: "auto-registration off", f: Facts{Outcome: dropped, Options: opts, Chain: chain, CertChecked: true, CAChecked: true,
			CA: &aws.CADescription{ID: "ca01", Status: aws.StatusActive, AutoRegistrationStatus: aws.AutoRegDisable}},
			class: DiagAutoRegOff, cause: "auto-registration is DISABLE", fix: "--new-auto-registration-status ENABLE"},
		{name: "JITR only (no template)", f: Facts{Outcome: dropped, Options: opts, Chain: chain, CertChecked: true, CAChecked: true,
			CA: &aws.CADescription{ID: "ca01", Status: aws.StatusActive, AutoRegistrationStatus: aws.AutoRegEnable}},
			class: DiagNotProvisioned, cause: "JITR", fix: "--registration-config"},
		{name: "TLS rejected, CA fine", f: Facts{Outcome: &Outcome{Class: ClassTLSRejected, Alert: "bad certificate"}, Options: opts, Chain: chain,
			CertChecked: true, CAChecked: true, CA: okCA}, class: DiagTLSRejected, cause: "bad certificate", fix: "validity"},
		{name: "endpoint in another region", f: Facts{Outcome: dropped, Options: Options{Host: "abc-ats.iot.eu-west-1.amazonaws.com"}, Region: "us-east-2"},
			class: DiagWrongRegion, cause: "region eu-west-1", fix: "--region us-east-2"},
		{name: "endpoint does not resolve", f: Facts{Outcome: &Outcome{Class: ClassDialFailed, Err: &net.DNSError{Name: "nope", Err: "no such host"}}, Options: opts},
			class: DiagEndpointUnreachable, cause: "does not resolve", fix: "DescribeEndpoint"},
		{name: "config", f: Facts{Outcome: &Outcome{Class: ClassConfig, Err: &ConfigError{Field: "device key file", Cause: "encrypted", Fix: "decrypt it"}}},
			class: DiagConfig, cause: "device key file: encrypted", fix: "decrypt it"},
		{name: "connected", f: Facts{Outcome: &Outcome{Class: ClassConnected}, Options: opts}, class: DiagOK, ok: true, cause: "CONNACK 0"},
		{name: "receive denied", f: Facts{Use: &UseResult{Connect: Outcome{Class: ClassConnected}, Topic: "DemoThing/test", Subscribed: true, Published: true,
			Denied: DeniedReceive, Err: errors.New("timeout"), Detail: "never came back"}, Options: opts, ThingName: "DemoThing"},
			class: DiagTopicDenied, cause: "never came back", fix: "iot:Receive on DemoThing/test"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Diagnose(tc.f)
			if d.Class != tc.class || d.OK != tc.ok {
				t.Fatalf("class %s ok=%v, want %s ok=%v: %v", d.Class, d.OK, tc.class, tc.ok, d)
			}
			if !strings.Contains(d.Cause, tc.cause) {
				t.Errorf("cause %q lacks %q", d.Cause, tc.cause)
			}
			if !strings.Contains(d.Fix, tc.fix) {
				t.Errorf("fix %q lacks %q", d.Fix, tc.fix)
			}
			for _, pr := range tc.f.Problems {
				if !strings.Contains(strings.Join(d.Evidence, "\n"), pr) {
					t.Errorf("evidence %v lacks %q", d.Evidence, pr)
				}
			}
			if !d.OK && d.Fix == "" {
				t.Errorf("a failure needs a fix: %v", d)
			}
		})
	}
}

func TestEndpointRegion(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"a1b2c3d4e5f6g7-ats.iot.us-east-2.amazonaws.com": "us-east-2",
		"A1B2-ATS.IOT.EU-WEST-1.AMAZONAWS.COM":           "eu-west-1",
		"abc.iot.cn-north-1.amazonaws.com.cn":            "cn-north-1",
		"localhost":                                      "",
		"iot.us-east-2.amazonaws.com.evil.example":       "",
	} {
		if got := EndpointRegion(host); got != want {
			t.Errorf("EndpointRegion(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestTemplateProblems(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	tmpl := `{"Parameters":{"AWS::IoT::Certificate::Country":{"Type":"String"},"AWS::IoT::Certificate::Organization":{"Type":"String","Default":"Acme"},` +
		`"AWS::IoT::Certificate::CommonName":{"Type":"String"}},"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":{"Ref":"AWS::IoT::Certificate::CommonName"},` +
		`"AttributePayload":{"c":{"Ref":"AWS::IoT::Certificate::Country"},"o":{"Ref":"AWS::IoT::Certificate::Organization"}}}}}}`
	if got, names := templateProblems(tmpl, p.device.cert); len(got) != 0 || len(names) != 0 { // device has C and CN; O has a Default
		t.Fatalf("device with Country: %v %v", got, names)
	}
	got, names := templateProblems(tmpl, p.cnOnly.cert)
	if len(got) != 1 || !strings.Contains(got[0], "Country") || len(names) != 1 || names[0] != "AWS::IoT::Certificate::Country" {
		t.Fatalf("CN-only device: %v %v", got, names)
	}
	if got, names := templateProblems("{nope", p.device.cert); len(got) != 1 || !strings.Contains(got[0], "not valid JSON") || len(names) != 0 {
		t.Fatalf("bad JSON: %v %v", got, names)
	}
}

func FuzzRemoteAlert(f *testing.F) {
	f.Add("remote error: tls: unknown certificate authority")
	f.Add("read tcp: remote error: tls: bad certificate")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		a := remoteAlert(errors.New(s))
		if a != "" && !strings.Contains(s, a) {
			t.Fatalf("alert %q not from %q", a, s)
		}
	})
}

func FuzzTemplateProblems(f *testing.F) {
	f.Add(`{"Resources":{"a":{"Ref":"AWS::IoT::Certificate::Country"}}}`)
	f.Add(`{"Parameters":{"x":{"Default":1}},"Resources":[{"Ref":"x"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		p := testPKI(t)
		_, _ = templateProblems(body, p.device.cert) // must not panic
	})
}
