package steps

import (
	"fmt"
	"strings"

	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The equivalent commands steps show refer to files relative to the workspace directory: the
// user runs them after `cd <workspace>`, exactly as in the walkthrough.

// awsCmd renders an AWS CLI command with the session's region, profile and, for the local
// target or a custom endpoint, --endpoint-url, so it works when run by hand.
func awsCmd(s *Session, service string, args ...string) string {
	parts := append([]string{"aws", service}, args...)
	line := joinShell(parts)
	if s.Region != "" || s.Options.Region != "" {
		line += " --region " + pki.ShellQuote(firstNonEmpty(s.Region, s.Options.Region))
	}
	if s.Options.Profile != "" {
		line += " --profile " + pki.ShellQuote(s.Options.Profile)
	}
	if u := apiURL(s); u != "" {
		line += " --endpoint-url " + pki.ShellQuote(u)
	}
	return line
}

// apiURL is the control-plane endpoint URL commands should name ("" for real AWS).
func apiURL(s *Session) string {
	if s.Options.EndpointURL != "" {
		return s.Options.EndpointURL
	}
	if s.Options.Target == TargetLocal {
		if s.localURL != "" {
			return s.localURL
		}
		return "<local endpoint URL from `jitpwiz local`>"
	}
	return ""
}

// mosquittoPub is the walkthrough's mosquitto_pub command for the session's endpoint (with
// --port 443, ALPN x-amzn-mqtt-ca as mosquitto's --tls-alpn).
func mosquittoPub(s *Session, cert, key, topic, clientID, msg string) string {
	return mosquittoPubWith(s, pki.FileServerRootCA, cert, key, topic, clientID, msg)
}

// mosquittoPubWith is mosquittoPub with the server CA file serverCA (doctor names the
// customer's own file).
func mosquittoPubWith(s *Session, serverCA, cert, key, topic, clientID, msg string) string {
	host := firstNonEmpty(s.Endpoint.Host, "<endpoint>")
	port := s.Endpoint.Port
	if port == 0 {
		port = AWSDataPort
		if s.Options.alpn443() {
			port = 443
		}
	}
	parts := []string{"mosquitto_pub", "--cafile", serverCA, "--cert", cert, "--key", key,
		"-h", host, "-p", fmt.Sprint(port)}
	if s.Options.alpn443() {
		parts = append(parts, "--tls-alpn", mqttprobe.ALPN)
	}
	return joinShell(append(parts, "-q", "1", "-t", topic, "-i", clientID, "--tls-version", "tlsv1.2", "-m", msg, "-d"))
}

func joinShell(parts []string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		if strings.HasPrefix(p, "file://") || strings.HasPrefix(p, "--") {
			q[i] = p
			continue
		}
		q[i] = pki.ShellQuote(p)
	}
	return strings.Join(q, " ")
}

func cmdLines(cs ...pki.Command) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Line)
	}
	return out
}

// targetID identifies the cloud side results were made on: a change (other region,
// account or target) invalidates every cloud step.
func targetID(s *Session) string {
	id := s.Options.Target + "/" + firstNonEmpty(s.Options.Region, s.Region)
	if s.Account != "" {
		id += "/" + s.Account
	}
	if s.Options.EndpointURL != "" {
		id += "/" + s.Options.EndpointURL // another IoT Core than the embedded one
	}
	return id
}
