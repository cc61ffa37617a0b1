package broker

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// AWS IoT Core message-broker limits (jitp-spec §5). Exceeding one closes the
// connection, as AWS does for MQTT 3.1.1 clients.
const (
	MaxClientIDBytes      = 128
	MaxTopicBytes         = 256
	MaxTopicSlashes       = 7
	MaxPayloadBytes       = 128 * 1024
	MaxFiltersPerSubcribe = 8
	MaxSubsPerConnection  = 50
	MinKeepalive          = 30   // seconds
	MaxKeepalive          = 1200 // seconds
	SessionExpiry         = 3600 // seconds a persistent session is kept after a disconnect
)

// checkClientID validates an MQTT client ID against AWS's rules.
func checkClientID(id string) error {
	if len(id) > MaxClientIDBytes {
		return fmt.Errorf("client ID is %d bytes; AWS IoT allows at most %d", len(id), MaxClientIDBytes)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("client ID is not valid UTF-8")
	}
	if strings.HasPrefix(id, "$") {
		return fmt.Errorf("client ID %q starts with $, which AWS IoT reserves", id)
	}
	return nil
}

// checkTopic validates a topic name (publish) or topic filter (subscribe) against
// the size and depth limits. The $aws/rules/<rule>/ prefix does not count (spec §5).
func checkTopic(t string, filter bool) error {
	what := "topic"
	if filter {
		what = "topic filter"
	}
	if t == "" {
		return fmt.Errorf("empty %s", what)
	}
	if len(t) > MaxTopicBytes {
		return fmt.Errorf("%s is %d bytes; AWS IoT allows at most %d", what, len(t), MaxTopicBytes)
	}
	if !utf8.ValidString(t) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	counted := t
	if strings.HasPrefix(t, "$aws/rules/") {
		rest := strings.TrimPrefix(t, "$aws/rules/")
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			counted = rest[i+1:]
		} else {
			counted = ""
		}
	}
	if n := strings.Count(counted, "/"); n > MaxTopicSlashes {
		return fmt.Errorf("%s %q has %d slashes; AWS IoT allows at most %d (8 levels)", what, t, n, MaxTopicSlashes)
	}
	if !filter && strings.ContainsAny(t, "+#") {
		return fmt.Errorf("topic %q contains a wildcard; wildcards are only allowed in subscriptions", t)
	}
	return nil
}

// reservedTopicAllowed says whether a topic or filter that starts with $ may be used
// at all (policies still decide afterwards). AWS reserves every $ topic; of those,
// this broker carries $aws/events/... (lifecycle and JITR events, subscribe only),
// $aws/things/... and $aws/rules/... (plain pub/sub here: no shadow or rules engine).
func reservedTopicAllowed(t string, publish bool) bool {
	if !strings.HasPrefix(t, "$") {
		return true
	}
	switch {
	case strings.HasPrefix(t, "$aws/things/"), strings.HasPrefix(t, "$aws/rules/"):
		return true
	case strings.HasPrefix(t, "$aws/events/"):
		return !publish
	}
	return false
}
