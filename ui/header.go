package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// The words of the header: what the wizard works on (keys of ui.yaml; the values stay as
// they are: local, aws, 123456789012, us-east-2, addresses).
const (
	headerTitle                = "jitpwiz"
	headerSubtitle    i18n.Key = "ui.header.subtitle"
	headerSep                  = " · "
	headerAPI                  = "API %s"  // the local IoT Core's control plane
	headerMQTT                 = "MQTT %s" // where devices connect
	headerDemoKeyword i18n.Key = "ui.header.demo"
)

// Header is the wizard's description of where it works, for Options.Header: the target, the
// AWS account and region, the profile or endpoint URL, the local IoT Core's ports (saying
// which default port was busy), and the workspace directory.
func Header(w steps.Where, dir string, demo bool) string {
	parts := []string{i18n.T("ui.header.target", i18n.Args{"Target": w.Target})}
	if w.Account != "" {
		parts = append(parts, i18n.T("ui.header.account", i18n.Args{"Account": w.Account}))
	}
	if w.Region != "" {
		parts = append(parts, w.Region)
	}
	if w.Profile != "" {
		parts = append(parts, i18n.T("ui.header.profile", i18n.Args{"Profile": w.Profile}))
	}
	moved := func(what, addr string) string {
		for _, m := range w.Moved {
			if m.What == what {
				return i18n.T("ui.header.moved", i18n.Args{"Addr": addr, "Port": m.Default})
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
			parts = append(parts, i18n.T("ui.header.shared", i18n.Args{"PID": w.SharedPID}))
		}
	case w.EndpointURL != "":
		parts = append(parts, i18n.T("ui.header.endpoint", i18n.Args{"URL": w.EndpointURL}))
	}
	parts = append(parts, dir)
	if demo {
		parts = append(parts, i18n.T(headerDemoKeyword))
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
