package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws/local/api"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
)

// Run starts the local IoT Core, writes the connection details (endpoint URL, MQTT
// host:port, awsRootCA.pem, ready-to-paste exports) to w, then streams every event
// to w until ctx is cancelled (Ctrl+C in `jitpwiz local`). It returns after the
// server has stopped.
func Run(ctx context.Context, opts Options, w io.Writer) error {
	var mu sync.Mutex
	println := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(w, s)
	}
	if opts.ShowAPICalls {
		prev := opts.OnAPICall
		opts.OnAPICall = func(c api.Call) {
			if prev != nil {
				prev(c)
			}
			println(FormatCall(c))
		}
	}
	logs := make(chan string, 64)
	if opts.Logger == nil {
		// Warnings (a listener that cannot accept, or is at its connection limit) go
		// into the event stream, so whoever watches `jitpwiz local` sees them. They
		// pass through a channel: one logged while Start runs waits for the banner.
		opts.Logger = slog.New(slog.NewTextHandler(lineWriter(logs), &slog.HandlerOptions{
			Level: slog.LevelWarn,
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		}))
	}
	mu.Lock() // calls that arrive early wait until the banner is out
	opts.Standalone = true
	s, err := Start(ctx, opts)
	if err != nil {
		mu.Unlock()
		return err
	}
	defer s.Close()
	evs, cancel := s.Events()
	defer cancel()
	placeServerCA(s, func(m string) { fmt.Fprintln(w, m) }) // the banner's lock is held
	WriteBanner(w, s)
	mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			println("\n" + words("stopping", "Path", s.Store().Path()))
			return s.Close()
		case <-s.Done():
			return nil
		case ev, ok := <-evs:
			if !ok {
				return nil
			}
			println(FormatEvent(ev))
		case line := <-logs:
			println(line)
		}
	}
}

// lineWriter passes each log record (one line) to Run's event stream, with the time
// first like the events; when the stream is that far behind, the line is dropped rather
// than blocking the broker.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	select {
	case w <- time.Now().Local().Format(time.TimeOnly) + "  " + strings.TrimRight(string(p), "\n"):
	default:
	}
	return len(p), nil
}

// FormatCall renders a control-plane request as one line of the event stream.
func FormatCall(c api.Call) string {
	res := fmt.Sprint(c.Status)
	if c.ErrorCode != "" {
		res += " " + c.ErrorCode
	}
	svc := c.Service
	if svc == "" {
		svc = "-"
	}
	return fmt.Sprintf("%s  %-22s %s → %s (%s)", c.Time.Local().Format(time.TimeOnly), "API "+svc, c.Operation, res,
		c.Duration.Round(time.Microsecond))
}

// Words renders the sentences `jitpwiz local` prints — "banner.title", "banner.state", ...,
// "stopping" — with their arguments, in the user's language: steps sets it (its catalog's
// local.yaml, keys local.<name>). Unset, the sentences are their names.
var Words func(key string, args map[string]string) string

func words(key string, kv ...string) string {
	args := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	if Words != nil {
		return Words(key, args)
	}
	return key
}

// wordsError is an error whose text is the sentence name (the options `jitpwiz local` refuses).
func wordsError(name string, kv ...string) error { return errors.New(words(name, kv...)) }

// placeServerCA copies awsRootCA.pem into the workspace, where the walkthrough's commands
// name it (--cafile awsRootCA.pem, from the workspace): unless the workspace has a different
// file of that name (another target's server CA), which stays, and is said so.
func placeServerCA(s *Server, say func(string)) {
	dst := filepath.Join(s.opts.Dir, pki.FileServerRootCA)
	if b, err := os.ReadFile(dst); err == nil {
		if !bytes.Equal(b, s.RootCAPEM()) {
			say(words("note.server-ca-kept", "File", dst, "Path", s.RootCAPath()))
		}
		return
	}
	if err := pki.WriteFile(dst, s.RootCAPEM(), pki.CertMode, false); err != nil {
		say(words("note.server-ca-unwritten", "File", dst, "Err", err.Error(), "Path", s.RootCAPath()))
	}
}

// serverCAInWorkspace is the workspace's awsRootCA.pem when it is this IoT Core's server CA.
func serverCAInWorkspace(s *Server) (string, bool) {
	p := filepath.Join(filepath.Dir(filepath.Dir(s.RootCAPath())), pki.FileServerRootCA)
	b, err := os.ReadFile(p)
	return p, err == nil && bytes.Equal(b, s.RootCAPEM())
}

// WriteBanner writes how to reach s: URLs, files, and commands to paste. The commands run
// from the workspace (the walkthrough's file names), which the first line enters, when the
// workspace holds the server CA as awsRootCA.pem; otherwise they name its file in the state.
func WriteBanner(w io.Writer, s *Server) {
	q := pki.ShellQuote
	ep := s.EndpointURL()
	root := s.RootCAPath()
	ws, inWorkspace := serverCAInWorkspace(s)
	fmt.Fprintf(w, "%s\n\n", words("banner.title", "Account", s.Account(), "Region", s.Region()))
	type row struct{ label, value string }
	rows := []row{
		{words("banner.control-plane"), ep},
		{words("banner.mqtt"), fmt.Sprintf("%s:%d   %s", s.MQTTHost(), s.MQTTPort(), words("banner.describe-endpoint", "Host", s.MQTTHost()))},
	}
	if p := s.ALPNPort(); p != 0 {
		rows = append(rows, row{words("banner.alpn"), fmt.Sprintf("%s:%d", s.MQTTHost(), p)})
	}
	if inWorkspace {
		rows = append(rows, row{words("banner.server-ca"), ws + "   " + words("banner.server-ca-same", "Path", root)})
	} else {
		rows = append(rows, row{words("banner.server-ca"), root})
	}
	if s.opts.JITRActivator {
		rows = append(rows, row{words("banner.jitr-activator"), words("banner.jitr-activator-on")})
	}
	rows = append(rows, row{words("banner.state"), s.Store().Path()})
	if m := s.Migrated(); m != "" {
		rows = append(rows, row{"", "(" + m + ")"})
	}
	if l := s.opts.Latency; l != (Latency{}) {
		rows = append(rows, row{words("banner.latency"), l.String()})
	}
	// The values line up after the widest label (in display columns: a label may be in a
	// language of double-width characters).
	col := 0
	for _, r := range rows {
		col = max(col, ansi.StringWidth(r.label)+3)
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %s%s%s\n", r.label, strings.Repeat(" ", col-ansi.StringWidth(r.label)), r.value)
	}
	fmt.Fprintln(w)
	if l := s.opts.Listen; l != "" && l != "localhost" && !net.ParseIP(l).IsLoopback() {
		for _, line := range strings.Split(words("banner.warning", "Addr", l), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
		fmt.Fprintln(w)
	}
	cafile := q(root)
	fmt.Fprintln(w, words("banner.paste"))
	fmt.Fprintln(w)
	if inWorkspace {
		fmt.Fprintf(w, "  cd %s\n", q(filepath.Dir(ws)))
		cafile = pki.FileServerRootCA
	}
	fmt.Fprintf(w, "  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s\n",
		AccessKeyID, SecretAccessKey, s.Region(), s.Region())
	fmt.Fprintf(w, "  export AWS_ENDPOINT_URL=%s MQTT_HOST=%s MQTT_PORT=%d   # %s\n", q(ep), q(s.MQTTHost()), s.MQTTPort(), words("banner.comment-endpoint-url"))
	fmt.Fprintf(w, "  aws iot get-registration-code --endpoint-url %s   # %s\n", q(ep), words("banner.comment-debian-cli"))
	fmt.Fprintf(w, "  # %s\n", words("banner.comment-first-connect"))
	fmt.Fprintf(w, "  mosquitto_pub --cafile %s --cert %s --key %s -h %s -p %d -q 1 -t foo/bar -i anyclientID --tls-version tlsv1.2 -m \"Hello\" -d\n",
		cafile, pki.FileDeviceBundle, pki.FileDeviceKey, q(s.MQTTHost()), s.MQTTPort())
	thing := s.opts.Thing
	if thing == "" {
		thing = "<thing name>"
	}
	fmt.Fprintf(w, "  # %s\n", words("banner.comment-as-thing"))
	fmt.Fprintf(w, "  mosquitto_pub --cafile %s --cert %s --key %s -h %s -p %d -q 1 -t %s -i %s --tls-version tlsv1.2 -m \"Hello\" -d\n",
		cafile, pki.FileDeviceCert, pki.FileDeviceKey, q(s.MQTTHost()), s.MQTTPort(), q(thing+"/test"), q(thing))
	fmt.Fprintln(w)
	fmt.Fprintln(w, words("banner.events"))
}

// FormatEvent renders an event as one line (plus indented parameter lines for a
// failed provisioning, since they show which certificate fields the template saw).
func FormatEvent(ev store.Event) string {
	var b strings.Builder
	b.WriteString(ev.Time.Local().Format(time.TimeOnly))
	b.WriteString("  ")
	fmt.Fprintf(&b, "%-22s", ev.Kind)
	var who []string
	if ev.Thing != "" {
		who = append(who, "thing "+ev.Thing)
	}
	if ev.Client != "" {
		who = append(who, "client "+ev.Client)
	}
	if ev.CertID != "" {
		who = append(who, "cert "+short(ev.CertID))
	} else if ev.CAID != "" {
		who = append(who, "CA "+short(ev.CAID))
	}
	if len(who) > 0 {
		b.WriteString("[" + strings.Join(who, ", ") + "] ")
	}
	if ev.Error != "" {
		b.WriteString(ev.Error + ": ")
	}
	b.WriteString(ev.Message)
	if ev.Kind == store.EventProvisioningFailed && len(ev.Params) > 0 {
		keys := make([]string, 0, len(ev.Params))
		for k := range ev.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("\n          parameters from the certificate:")
		for _, k := range keys {
			fmt.Fprintf(&b, "\n            %s = %s", k, ev.Params[k])
		}
	}
	return b.String()
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}

// StateDir is where Start keeps the state of workspace dir.
func StateDir(dir string) string { return filepath.Join(dir, store.DirName) }
