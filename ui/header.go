package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/steps"
)

// The words of the header: what the wizard works on.
const (
	headerTitle    = "jitpwiz"
	headerSubtitle = " · AWS IoT Just-in-Time Provisioning"
	headerSep      = " · "
	headerTarget   = "target %s"        // local, aws
	headerAccount  = "account %s"       // 123456789012
	headerRegion   = "%s"               // us-east-2
	headerProfile  = "profile %s"       // --profile
	headerEndpoint = "endpoint %s"      // --endpoint-url
	headerAPI      = "API %s"           // the local IoT Core's control plane
	headerMQTT     = "MQTT %s"          // where devices connect
	headerMoved    = "%s (%d was busy)" // a default port another program holds
	headerShared   = "served by jitpwiz local (pid %d)"
	headerDemo     = "demo"
)

// Header is the wizard's description of where it works, for Options.Header: the target, the
// AWS account and region, the profile or endpoint URL, the local IoT Core's ports (saying
// which default port was busy), and the workspace directory.
func Header(w steps.Where, dir string, demo bool) string {
	parts := []string{fmt.Sprintf(headerTarget, w.Target)}
	if w.Account != "" {
		parts = append(parts, fmt.Sprintf(headerAccount, w.Account))
	}
	if w.Region != "" {
		parts = append(parts, fmt.Sprintf(headerRegion, w.Region))
	}
	if w.Profile != "" {
		parts = append(parts, fmt.Sprintf(headerProfile, w.Profile))
	}
	moved := func(what, addr string) string {
		for _, m := range w.Moved {
			if m.What == what {
				return fmt.Sprintf(headerMoved, addr, m.Default)
			}
		}
		return addr
	}
	switch {
	case w.Target == steps.TargetLocal && w.EndpointURL != "":
		parts = append(parts, fmt.Sprintf(headerAPI, moved("API", strings.TrimPrefix(w.EndpointURL, "http://"))))
		if w.MQTT != "" {
			parts = append(parts, fmt.Sprintf(headerMQTT, moved("MQTT", w.MQTT)))
		}
		if w.SharedPID != 0 {
			parts = append(parts, fmt.Sprintf(headerShared, w.SharedPID))
		}
	case w.EndpointURL != "":
		parts = append(parts, fmt.Sprintf(headerEndpoint, w.EndpointURL))
	}
	parts = append(parts, dir)
	if demo {
		parts = append(parts, headerDemo)
	}
	return strings.Join(parts, headerSep)
}

// fitParts lays the header's parts (joined by " · ") on lines of width w, breaking only
// between parts; a part wider than a line is cut with the ellipsis.
func fitParts(s string, w int, ellipsis string) []string {
	var lines []string
	cur := ""
	for _, p := range strings.Split(s, headerSep) {
		switch {
		case cur == "":
			cur = p
		case ansi.StringWidth(cur+headerSep+p) <= w:
			cur += headerSep + p
		default:
			lines = append(lines, cur)
			cur = p
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, ellipsis)
	}
	return lines
}
