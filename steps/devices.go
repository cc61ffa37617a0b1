package steps

import (
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// What the device steps (9, 11, 12, 13) share of the current thing: its files' names and
// how to connect with them.

// deviceFiles are the current device's file names as commands show them (relative to the
// workspace when inside it).
func deviceFiles(s *Session) (cert, key, csr, bundle string) {
	d := s.Device()
	return s.relName(d.CertFile), s.relName(d.KeyFile), s.relName(d.CSRFile), s.relName(d.BundleFile)
}

// probeOptions are the mqttprobe options for the current device presenting certFile.
func probeOptions(s *Session, certFile, clientID string) mqttprobe.Options {
	o := mqttprobe.Options{
		Host:     s.Endpoint.Host,
		Port:     s.Endpoint.Port,
		Addr:     s.Endpoint.Addr,
		CertFile: s.Path(certFile),
		KeyFile:  s.Path(s.Device().KeyFile),
		CAFile:   s.Path(pki.FileServerRootCA),
		ClientID: clientID,
	}
	applyPort(s, &o)
	return o
}

// certARN is the ARN AWS IoT gives a certificate with this ID.
func certARN(s *Session, id string) string {
	if s.Account == "" || s.Region == "" {
		return ""
	}
	return aws.CertificateARN(s.Region, s.Account, id)
}

// applyPort sets the ALPN mqttprobe offers for --port 443: x-amzn-mqtt-ca, whatever port
// number the endpoint has (the local IoT Core's ALPN listener is not on 443).
func applyPort(s *Session, o *mqttprobe.Options) {
	if s.Options.alpn443() {
		o.ALPN = []string{mqttprobe.ALPN}
	}
}

// alpnWords says " with ALPN x-amzn-mqtt-ca" for --port 443 (the step lines and the runner's
// connection line).
func alpnWords(s *Session) string {
	if s.Options.alpn443() {
		return i18n.T("devices.alpn", i18n.Args{"ALPN": mqttprobe.ALPN})
	}
	return ""
}

// roundTripLine is the check of the device's own message coming back (step 13 and the
// closing summary).
func roundTripLine(thing string, u *UseResult) ResultLine {
	return checkLine(i18n.T("step13.check.round-trip", i18n.Args{"Thing": thing}), i18n.T("step13.ev.round-trip", i18n.Args{"Topic": u.Topic, "After": fmtDur(u.RoundTrip)}), true)
}
