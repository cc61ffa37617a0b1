package steps

import (
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
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
	return mqttprobe.Options{
		Host:     s.Endpoint.Host,
		Port:     s.Endpoint.Port,
		Addr:     s.Endpoint.Addr,
		CertFile: s.Path(certFile),
		KeyFile:  s.Path(s.Device().KeyFile),
		CAFile:   s.Path(pki.FileServerRootCA),
		ClientID: clientID,
	}
}

// certARN is the ARN AWS IoT gives a certificate with this ID.
func certARN(s *Session, id string) string {
	if s.Account == "" || s.Region == "" {
		return ""
	}
	return "arn:aws:iot:" + s.Region + ":" + s.Account + ":cert/" + id
}
