package steps

import (
	"cmp"
	"fmt"
	"regexp"
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
		line += " --region " + pki.ShellQuote(cmp.Or(s.Region, s.Options.Region))
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
	parts := mosquittoConn(s, "mosquitto_pub", serverCA, cert, key)
	return joinShell(append(parts, "-q", "1", "-t", topic, "-i", clientID, "--tls-version", "tlsv1.2", "-m", msg, "-d"))
}

// mosquittoRR subscribes to topic and publishes msg on it over one connection, then prints
// the first message that comes back (mosquitto_rr, MQTT 5 request/response with the topic as
// its own response topic): the round trip step 13 makes. Two clients cannot do it by hand
// under the thing-scoped policy, which lets one client ID (the thing name) connect, and a
// second connection with that ID takes the first one's place.
func mosquittoRR(s *Session, cert, key, topic, clientID, msg string) string {
	parts := mosquittoConn(s, "mosquitto_rr", pki.FileServerRootCA, cert, key)
	return joinShell(append(parts, "-q", "1", "-t", topic, "-e", topic, "-i", clientID, "--tls-version", "tlsv1.2", "-m", msg, "-W", "10"))
}

// mosquittoConn is a mosquitto client's command up to its connection options: the TLS files,
// host and port of the session's endpoint.
func mosquittoConn(s *Session, tool, serverCA, cert, key string) []string {
	host := cmp.Or(s.Endpoint.Host, "<endpoint>")
	port := s.Endpoint.Port
	if port == 0 {
		port = AWSDataPort
		if s.Options.alpn443() {
			port = 443
		}
	}
	parts := []string{tool, "--cafile", serverCA, "--cert", cert, "--key", key,
		"-h", host, "-p", fmt.Sprint(port)}
	if s.Options.alpn443() {
		parts = append(parts, "--tls-alpn", mqttprobe.ALPN)
	}
	return parts
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
	id := s.Options.Target + "/" + cmp.Or(s.Options.Region, s.Region)
	if s.Account != "" {
		id += "/" + s.Account
	}
	if s.Options.EndpointURL != "" {
		id += "/" + s.Options.EndpointURL // another IoT Core than the embedded one
	}
	return id
}

// awsInTextRE finds where an AWS CLI command for a service of the target begins in prose.
var awsInTextRE = regexp.MustCompile(`\baws (iot|iam|sts) `)

// targetCommands gives each `aws iot|iam|sts …` command inside text (an error's fix, written
// by code that does not know the workspace) what awsCmd gives the commands steps show:
// --region, --profile and --endpoint-url where the target needs them and the command lacks
// them. A fix pasted from a banner or a ✗ line then goes to the same target as the step —
// not to real AWS when the workspace's is the local IoT Core.
func targetCommands(s *Session, text string) string {
	var extra []string
	if r := cmp.Or(s.Region, s.Options.Region); r != "" {
		extra = append(extra, "--region", pki.ShellQuote(r))
	}
	if s.Options.Profile != "" {
		extra = append(extra, "--profile", pki.ShellQuote(s.Options.Profile))
	}
	if u := apiURL(s); u != "" {
		extra = append(extra, "--endpoint-url", pki.ShellQuote(u))
	}
	if len(extra) == 0 {
		return text
	}
	var b strings.Builder
	for {
		loc := awsInTextRE.FindStringIndex(text)
		if loc == nil {
			b.WriteString(text)
			return b.String()
		}
		end, flags := commandEnd(text, loc[1])
		b.WriteString(text[:end])
		for i := 0; i+1 < len(extra); i += 2 {
			if !flags[extra[i]] {
				b.WriteString(" " + extra[i] + " " + extra[i+1])
			}
		}
		text = text[end:]
	}
}

// commandEnd is where the command whose arguments start at from ends in prose — before the
// first word that is neither an operation, a flag nor a flag's value, or at a closing ` ) , ;
// — and the flags it has.
func commandEnd(text string, from int) (int, map[string]bool) {
	flags := map[string]bool{}
	pos, first, wantValue := from, true, false
	for pos < len(text) {
		n := strings.IndexByte(text[pos:], ' ')
		if n < 0 {
			n = len(text) - pos
		}
		tok := text[pos : pos+n]
		if tok == "" { // two spaces
			pos++
			continue
		}
		core := strings.TrimRight(tok, "`),;")
		closed := len(core) < len(tok)
		switch {
		case core == "":
			return pos, flags
		case first && !strings.HasPrefix(core, "-"):
		case strings.HasPrefix(core, "--"):
			flags[core] = true
			wantValue = true
			first = false
			if closed {
				return pos + len(core), flags
			}
			pos += n + 1
			continue
		case wantValue:
			wantValue = false
		default:
			return max(from, pos-1), flags
		}
		first = false
		if closed {
			return pos + len(core), flags
		}
		pos += n + 1
	}
	return len(text), flags
}
