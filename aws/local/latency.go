package local

import (
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// Latency is how long the local IoT Core takes where AWS takes time a script can notice.
// The zero value is the default: fast, every change effective at once.
type Latency struct {
	// Provisioning: JITP provisions a certificate this long after its first connect,
	// which is closed at once; a connect meanwhile is refused (the certificate is still
	// PENDING_ACTIVATION). AWS: provisioning "typically completes within 1-3 s" (aws/iot-atlas,
	// JITP guide) [C].
	Provisioning time.Duration
	// DetachThingPrincipal: a detached principal stays attached this long (DeleteThing
	// is refused meanwhile). AWS: "This call is asynchronous. It might take several
	// seconds for the detachment to propagate" (botocore, DetachThingPrincipal) [M].
	DetachThingPrincipal time.Duration
	// PolicyDeleteAfterDetach: DeletePolicy is refused with DeleteConflictException for
	// this long after the policy's last detach. AWS: "it can take up to five minutes
	// after a policy is detached before it's ready to be deleted" (botocore, DeletePolicy) [M].
	PolicyDeleteAfterDetach time.Duration
	// RoleUsable: provisioning cannot use a role for this long after CreateRole. AWS: IAM
	// is eventually consistent; a new role takes seconds to be usable (IAM User Guide,
	// troubleshoot_general.html "Changes that I make are not always immediately visible";
	// hashicorp/terraform#2869) [C].
	RoleUsable time.Duration
}

// AWSLatency is what `jitpwiz local --latency aws` uses: the middle of the range AWS
// observes for provisioning, a detach of several (5) seconds, DeletePolicy's documented
// five minutes, and 10 seconds for a new role. The 5 and 10 seconds are the emulator's
// choice within "several" and "a few" [U].
func AWSLatency() Latency {
	return Latency{Provisioning: 2 * time.Second, DetachThingPrincipal: 5 * time.Second,
		PolicyDeleteAfterDetach: 5 * time.Minute, RoleUsable: 10 * time.Second}
}

// latencyKeys name the fields in ParseLatency's syntax, in the order String writes them.
var latencyKeys = []struct {
	key   string
	field func(l *Latency) *time.Duration
}{
	{"provisioning", func(l *Latency) *time.Duration { return &l.Provisioning }},
	{"detach", func(l *Latency) *time.Duration { return &l.DetachThingPrincipal }},
	{"policy-delete", func(l *Latency) *time.Duration { return &l.PolicyDeleteAfterDetach }},
	{"role", func(l *Latency) *time.Duration { return &l.RoleUsable }},
}

// ParseLatency reads the --latency flag: "none" (or ""), "aws", or a comma-separated list
// of "aws" and key=duration items that set one field each, e.g. "aws,policy-delete=30s"
// (keys: provisioning, detach, policy-delete, role; durations as Go writes them, 2s, 1m30s).
func ParseLatency(s string) (Latency, error) {
	var l Latency
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		switch item {
		case "", "none":
			continue
		case "aws":
			l = AWSLatency()
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		var field *time.Duration
		for _, k := range latencyKeys {
			if k.key == key {
				field = k.field(&l)
			}
		}
		if !ok || field == nil {
			return Latency{}, wordsError("err.latency-item", "Value", strconv.Quote(s), "Item", strconv.Quote(item))
		}
		d, err := time.ParseDuration(val)
		if err != nil || d < 0 {
			return Latency{}, wordsError("err.latency-duration", "Value", strconv.Quote(s), "Key", key, "Duration", val)
		}
		*field = d
	}
	return l, nil
}

// String is the latency in ParseLatency's syntax ("none" for the zero value).
func (l Latency) String() string {
	var parts []string
	for _, k := range latencyKeys {
		if d := *k.field(&l); d > 0 {
			parts = append(parts, k.key+"="+d.String())
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

func (l Latency) store() store.Latency {
	return store.Latency{DetachThingPrincipal: l.DetachThingPrincipal, PolicyDeleteAfterDetach: l.PolicyDeleteAfterDetach, RoleUsable: l.RoleUsable}
}
