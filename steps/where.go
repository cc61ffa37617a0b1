package steps

import (
	"net"
	"net/url"
	"os"
	"strconv"

	"github.com/jitpwiz/jitpwiz/aws/local"
)

// Where is what the session is connected to, as the wizard's header shows it.
type Where struct {
	Target  string // local or aws
	Account string
	Region  string
	Profile string // --profile, else AWS_PROFILE ("" for the default chain)
	// EndpointURL is the control plane commands name with --endpoint-url ("" for AWS itself):
	// --endpoint-url, or the local IoT Core's.
	EndpointURL string
	MQTT        string // host:port devices connect to
	// SharedPID is the `jitpwiz local` process serving the workspace (0: none, or in-process).
	SharedPID int
	// Moved are the local IoT Core's default ports that were busy, and the ports used instead.
	Moved []PortMove
}

// PortMove is a default port that was busy and the free one used instead.
type PortMove struct {
	What          string // "API" (control plane) or "MQTT" (broker)
	Default, Used int
}

// Where reports what Connect reached (zero values before it).
func (s *Session) Where() Where {
	w := Where{Target: s.Options.Target, Account: s.Account, Region: s.Region, Profile: s.Options.Profile,
		EndpointURL: firstNonEmpty(s.Options.EndpointURL, s.localURL), SharedPID: s.sharedLocalPID, Moved: s.movedPorts}
	if w.Profile == "" && w.Target == TargetAWS {
		w.Profile = os.Getenv("AWS_PROFILE") // the SDK's profile when --profile is not given
	}
	if s.Endpoint.Host != "" {
		w.MQTT = net.JoinHostPort(s.Endpoint.Host, strconv.Itoa(s.Endpoint.Port))
	}
	return w
}

// movedPorts compares the ports an in-process local IoT Core listens on with its defaults:
// a default port that another program holds makes it take a free one.
func movedPorts(apiURL string, mqttPort int) []PortMove {
	var out []PortMove
	if u, err := url.Parse(apiURL); err == nil {
		if used, def := atoi(u.Port()), defaultPort(local.DefaultAPIAddr); used != 0 && used != def {
			out = append(out, PortMove{What: "API", Default: def, Used: used})
		}
	}
	if def := defaultPort(local.DefaultMQTTAddr); mqttPort != 0 && mqttPort != def {
		out = append(out, PortMove{What: "MQTT", Default: def, Used: mqttPort})
	}
	return out
}

func defaultPort(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	return atoi(p)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
