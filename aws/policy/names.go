package policy

import (
	"strings"
	"unicode"
)

// knownActions are the AWS IoT data-plane actions (lower-cased).
var knownActions = iotActions(
	"Connect", "Publish", "Subscribe", "Receive", "RetainPublish",
	"GetRetainedMessage", "ListRetainedMessages", "DeleteThingShadow", "GetThingShadow",
	"UpdateThingShadow", "ListNamedShadowsForThing", "AssumeRoleWithCertificate",
	"DescribeJobExecution", "GetPendingJobExecutions", "StartNextPendingJobExecution", "UpdateJobExecution",
)

// iotActions is the set of "iot:<name>" for names, lower-cased.
func iotActions(names ...string) map[string]bool {
	out := make(map[string]bool, len(names))
	for _, a := range names {
		out["iot:"+strings.ToLower(a)] = true
	}
	return out
}

// KnownAction reports whether a (wildcard-free) action is an AWS IoT data-plane action.
func KnownAction(a string) bool { return knownActions[strings.ToLower(a)] }

// Variables returns the names of the ${...} policy variables in s, in order.
func Variables(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, s[i+2:i+j])
		s = s[i+j+1:]
	}
}

// KnownVariable reports whether name (without ${}) is a policy variable AWS IoT resolves.
func KnownVariable(name string) bool {
	switch name {
	case "*", "?", "$", // escapes
		"iot:ClientId", "iot:CertificateId", "iot:Certificate.SerialNumber", "aws:SourceIp",
		"iot:Connection.Thing.ThingName", "iot:Connection.Thing.ThingTypeName", "iot:Connection.Thing.IsAttached",
		"iot:Certificate.AvailableKeys":
		return true
	}
	if a, ok := strings.CutPrefix(name, "iot:Connection.Thing.Attributes["); ok {
		return len(a) > 1 && strings.HasSuffix(a, "]")
	}
	for _, p := range []string{"iot:Certificate.Subject.", "iot:Certificate.Issuer."} {
		if a, ok := strings.CutPrefix(name, p); ok {
			return a != ""
		}
	}
	return false
}

// MaxChars is the AWS IoT limit on a policy document's length, not counting whitespace.
const MaxChars = 2048

// CountChars returns the length of a policy document as AWS IoT counts it
// against MaxChars: characters other than whitespace.
func CountChars(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}
