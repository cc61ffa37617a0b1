// Package local is the embedded local AWS IoT Core: the control plane (aws/local/api:
// IoT, IAM and STS on one HTTP listener, AWS wire protocols), the MQTT broker
// (aws/local/broker: TLS with mutual auth, JITP/JITR on first connect, IoT policies),
// and the persistent state both share (aws/local/store, <workspace>/.local-iot).
//
// Clients reach it exactly as they reach AWS, with an endpoint URL and any
// credentials: the AWS CLI with --endpoint-url, aws-sdk-go-v2 with BaseEndpoint,
// mosquitto_pub with --cafile awsRootCA.pem -h <MQTTHost> -p <MQTTPort>.
//
// Endpoint choice: DescribeEndpoint(iot:Data-ATS) returns Options.EndpointHost,
// "localhost" by default — a name every resolver maps to loopback (names such as
// <prefix>-ats.iot.<region>.localhost only resolve with systemd-resolved), that
// mosquitto_pub and Go both send as SNI, and that is in the broker's server
// certificate. DescribeEndpoint has no port field, so the MQTT port is reported by
// Server.MQTTPort, by the X-Jitpwiz-Mqtt-Port header of DescribeEndpoint responses and
// by GET /jitpwiz/local on the control plane.
package local

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/api"
	"github.com/jitpwiz/jitpwiz/aws/local/broker"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// Dummy credentials and identity of the local IoT Core. Any credentials are accepted;
// these are what jitpwiz uses and prints.
const (
	AccessKeyID     = "AKIDLOCALJITPWIZ0000"
	SecretAccessKey = "jitpwiz-local-secret-not-a-real-aws-key"
	Account         = store.DefaultAccount // 123456789012
	DefaultRegion   = store.DefaultRegion  // us-east-2, the walkthrough's
)

// Default listen addresses. When a default port is taken, a free loopback port is
// used instead; an explicit address must be available.
const (
	DefaultAPIAddr      = "127.0.0.1:4599"
	DefaultMQTTAddr     = broker.DefaultAddr // 127.0.0.1:8883
	DefaultEndpointHost = "localhost"
)

// Options configure Start. Zero values take the defaults.
type Options struct {
	// Dir is the workspace; the state lives in Dir/.local-iot (mode 0700). Required.
	Dir string
	// Region and Account of a new state (an existing state keeps its own; a different
	// non-empty value is an error). Defaults us-east-2 / 123456789012.
	Region  string
	Account string
	// APIAddr is the control plane's host:port ("" = DefaultAPIAddr, falling back to a
	// free port; ":0" = a free port). MQTTAddr is the broker's ("" = DefaultMQTTAddr
	// with the same fallback). ALPNAddr, if set, adds a broker listener that requires
	// ALPN x-amzn-mqtt-ca (AWS's port 443 flavour).
	APIAddr  string
	MQTTAddr string
	ALPNAddr string
	// Listen is the interface address used for every listen address that has no host
	// (default 127.0.0.1, loopback only). "0.0.0.0" exposes the local IoT Core to
	// the network; set EndpointHost to a name the other machines resolve.
	Listen string
	// EndpointHost is what DescribeEndpoint returns and what the broker's certificate
	// and SNI check accept besides localhost/127.0.0.1/::1. Default "localhost".
	EndpointHost string
	// Standalone marks the server as `jitpwiz local` serving the workspace for other
	// jitpwiz processes (recorded in the owner file); Run sets it.
	Standalone bool
	// Thing is the workspace's thing, for the banner's publish as the thing once provisioned
	// ("" when the workspace has none yet).
	Thing string
	// JITRActivator activates every certificate JITR registers, as a topic rule on the
	// registered topic with the JITR guide's Lambda would (activator.go). Off by default:
	// as on AWS, nothing activates a JITR certificate by itself.
	JITRActivator bool
	// OnAPICall, if set, is called after every control-plane request.
	OnAPICall func(api.Call)
	// ShowAPICalls makes Run print every control-plane request among the events.
	ShowAPICalls bool
	// MaxConnections is each MQTT listener's limit of open connections (0: the broker's
	// default, see broker.Options.MaxConnections).
	MaxConnections int
	// Logger receives diagnostics (nil: discarded; Run prints warnings among the events).
	// Now is the clock (tests).
	Logger *slog.Logger
	Now    func() time.Time
	// Latency makes the local IoT Core take as long as AWS where a script can notice
	// (jitpwiz local --latency aws; AWSLatency). The zero value is fast: every change
	// takes effect at once.
	Latency Latency
	// ThingTypeDeleteWait is how long a thing type must be deprecated before it can be
	// deleted (zero: AWS's five minutes; negative: none, for tests).
	ThingTypeDeleteWait time.Duration
}

// Server is a running local IoT Core.
type Server struct {
	opts   Options
	st     *store.Store
	broker *broker.Broker
	http   *http.Server
	apiLn  net.Listener

	activator *activator // nil unless Options.JITRActivator

	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

// Start opens the state in opts.Dir and starts the broker and the control plane.
// The server runs until Close, or until ctx is cancelled. If another process serves
// the same workspace, Start fails with a *store.LockedError naming its endpoint URL
// (see Running).
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, wordsError("err.no-dir")
	}
	// Every path the server hands out (the banner's --cafile, the state file, the owner
	// record and /jitpwiz/local that other processes read) must work from any directory.
	if abs, err := filepath.Abs(opts.Dir); err == nil {
		opts.Dir = abs
	}
	if opts.EndpointHost == "" {
		opts.EndpointHost = DefaultEndpointHost
	}
	if err := checkOptions(opts); err != nil {
		return nil, err // before anything is written
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Listen != "" {
		if ip := net.ParseIP(opts.Listen); ip == nil && opts.Listen != "localhost" {
			return nil, wordsError("err.listen", "Value", strconv.Quote(opts.Listen))
		}
	}
	st, err := store.Open(store.Dir(opts.Dir), store.Options{Account: opts.Account, Region: opts.Region, Now: opts.Now,
		Latency: opts.Latency.store(), ThingTypeDeleteWait: opts.ThingTypeDeleteWait})
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, st: st, done: make(chan struct{})}
	if m := st.Migrated(); m != "" {
		opts.Logger.Info(m, "dir", st.Dir())
	}

	mqttAddr := withHost(opts.MQTTAddr, opts.Listen)
	alpnAddr := ""
	if opts.ALPNAddr != "" {
		alpnAddr = withHost(opts.ALPNAddr, opts.Listen)
	}
	if opts.MQTTAddr == "" && opts.Listen != "" {
		// Keep the default port but on the requested interface.
		_, port, _ := net.SplitHostPort(DefaultMQTTAddr)
		mqttAddr = net.JoinHostPort(opts.Listen, port)
		if ln, err := net.Listen("tcp", mqttAddr); err != nil {
			mqttAddr = net.JoinHostPort(opts.Listen, "0")
		} else {
			ln.Close()
		}
	}
	b, err := broker.New(broker.Options{
		Store: st, Dir: st.Dir(), Addr: mqttAddr, ALPNAddr: alpnAddr,
		Hostnames: []string{opts.EndpointHost}, MaxConnections: opts.MaxConnections, Logger: opts.Logger, Now: opts.Now,
		ProvisioningDelay: opts.Latency.Provisioning,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := b.Start(); err != nil {
		st.Close()
		return nil, err
	}
	s.broker = b
	if opts.JITRActivator {
		if err := startActivator(s); err != nil {
			b.Close()
			st.Close()
			return nil, err
		}
	}

	ln, err := listenAPI(opts.APIAddr, opts.Listen)
	if err != nil {
		s.stopActivator()
		b.Close()
		st.Close()
		return nil, err
	}
	s.apiLn = ln
	h := api.New(st, api.Options{
		EndpointHost:        opts.EndpointHost,
		MQTTPort:            s.MQTTPort(),
		ALPNPort:            s.ALPNPort(),
		RootCAPath:          b.RootCAPath(),
		OnCertificateStatus: b.CertificateStatusChanged,
		OnCall:              opts.OnAPICall,
	})
	s.http = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)}
	if err := st.SetOwner(store.Owner{EndpointURL: s.EndpointURL(), MQTTHost: s.MQTTHost(), MQTTPort: s.MQTTPort(),
		RootCAPath: b.RootCAPath(), Region: st.Region(), Started: time.Now(), Standalone: opts.Standalone}); err != nil {
		opts.Logger.Warn("cannot record the server in the state directory", "err", err)
	}
	go func() {
		// api.Listener gives requests net/http cannot parse (a bad percent-escape)
		// AWS's error shape instead of net/http's plain-text 400.
		if err := s.http.Serve(api.Listener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Logger.Error("local control plane stopped", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	opts.Logger.Info("local AWS IoT Core started", "api", s.EndpointURL(), "mqtt", net.JoinHostPort(s.MQTTHost(), strconv.Itoa(s.MQTTPort())), "dir", st.Dir())
	return s, nil
}

var hostNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// checkOptions rejects options that cannot work, naming the `jitpwiz local` flag and the fix.
func checkOptions(opts Options) error {
	if opts.Region != "" && !policy.ValidRegion(opts.Region) {
		return wordsError("err.region", "Value", strconv.Quote(opts.Region))
	}
	if net.ParseIP(strings.Trim(opts.EndpointHost, "[]")) != nil {
		// The broker requires SNI = this name (as AWS does), and TLS clients send no
		// SNI, or an address the broker cannot accept, for an IP address.
		return wordsError("err.endpoint-host-ip", "Value", strconv.Quote(opts.EndpointHost))
	}
	if len(opts.EndpointHost) > 253 || !hostNameRE.MatchString(opts.EndpointHost) {
		return wordsError("err.endpoint-host", "Value", strconv.Quote(opts.EndpointHost))
	}
	seen := map[int]string{}
	for _, a := range []struct{ flag, addr string }{{"--api-port", opts.APIAddr}, {"--mqtt-port", opts.MQTTAddr}, {"--alpn-port", opts.ALPNAddr}} {
		if a.addr == "" {
			continue
		}
		_, p, err := net.SplitHostPort(a.addr)
		n, nerr := strconv.Atoi(p)
		if err != nil || nerr != nil || n < 0 || n > 65535 {
			return wordsError("err.port", "Flag", a.flag, "Value", p)
		}
		if prev, dup := seen[n]; dup && n != 0 {
			return wordsError("err.same-port", "Flag", prev, "Other", a.flag, "Port", strconv.Itoa(n))
		}
		seen[n] = a.flag
	}
	return nil
}

// withHost fills in host when addr has none (":8883" → "<host>:8883"); "" stays "".
func withHost(addr, host string) string {
	if addr == "" || host == "" {
		return addr
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil || h != "" {
		return addr
	}
	return net.JoinHostPort(host, p)
}

func listenAPI(addr, listen string) (net.Listener, error) {
	host := listen
	if host == "" {
		host = "127.0.0.1"
	}
	if addr == "" {
		_, port, _ := net.SplitHostPort(DefaultAPIAddr)
		if ln, err := net.Listen("tcp", net.JoinHostPort(host, port)); err == nil {
			return ln, nil
		}
		addr = ":0"
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, wordsError("err.api-addr", "Value", strconv.Quote(addr), "Err", err.Error())
	}
	if h == "" {
		h = host
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(h, p))
	if err != nil {
		return nil, wordsError("err.api-listen", "Addr", net.JoinHostPort(h, p), "Err", err.Error())
	}
	return ln, nil
}

// EndpointURL is the control plane's URL, for --endpoint-url / BaseEndpoint.
// A wildcard listen address is shown as 127.0.0.1.
func (s *Server) EndpointURL() string {
	return "http://" + displayAddr(s.apiLn.Addr())
}

func displayAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := ta.IP.String()
	if ta.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(ta.Port))
}

// MQTTHost is the broker's host name as DescribeEndpoint returns it (mosquitto_pub -h).
func (s *Server) MQTTHost() string { return s.opts.EndpointHost }

// MQTTPort is the broker's MQTT-over-TLS port (mosquitto_pub -p).
func (s *Server) MQTTPort() int { return portOf(s.broker.Addr()) }

// ALPNPort is the port of the ALPN x-amzn-mqtt-ca listener, or 0 when there is none.
func (s *Server) ALPNPort() int { return portOf(s.broker.ALPNAddr()) }

func portOf(a net.Addr) int {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.Port
	}
	return 0
}

// RootCAPath is awsRootCA.pem: the CA that signed the broker's server certificate
// (mosquitto_pub --cafile). It lives in <Dir>/.local-iot.
func (s *Server) RootCAPath() string { return s.broker.RootCAPath() }

// RootCAPEM returns the contents of awsRootCA.pem.
func (s *Server) RootCAPEM() []byte { return s.broker.RootCAPEM() }

// Region and Account of the local IoT Core.
func (s *Server) Region() string  { return s.st.Region() }
func (s *Server) Account() string { return s.st.Account() }

// Store is the shared state (for in-process readers such as tests and the wizard's
// verification of the event log).
func (s *Server) Store() *store.Store { return s.st }

// Migrated says what Start migrated from an earlier jitpwiz's state.json (one line for
// the user), or is "" when the state needed no migration. It is said once: the next
// Start finds the database.
func (s *Server) Migrated() string { return s.st.Migrated() }

// Broker is the running MQTT broker.
func (s *Server) Broker() *broker.Broker { return s.broker }

// Events subscribes to the event log: every event committed from now on is sent on
// the channel until cancel is called (which closes it). Use EventLog for the past.
func (s *Server) Events() (<-chan store.Event, func()) { return s.st.Subscribe(256) }

// EventLog returns the logged events with Seq > after (0: all), oldest first.
func (s *Server) EventLog(after int64) []store.Event { return s.st.Events(after) }

// Done is closed when the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

// Close stops the control plane and the broker. State is already on disk.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err1 := s.http.Shutdown(ctx)
		err2 := s.broker.Close()
		s.stopActivator() // after the broker: no event comes any more; its last activation is written
		err3 := s.st.Close()
		s.closeErr = errors.Join(err1, err2, err3)
		close(s.done)
	})
	return s.closeErr
}

func (s *Server) stopActivator() {
	if s.activator != nil {
		s.activator.stop()
		s.activator = nil
	}
}

// Env returns the environment for AWS clients aimed at this server: the dummy
// credentials, the region, and AWS_ENDPOINT_URL (honoured by aws-sdk-go-v2 and pip
// awscli; the Debian AWS CLI v2.9 ignores it and needs --endpoint-url).
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + s.Region(),
		"AWS_DEFAULT_REGION=" + s.Region(),
		"AWS_ENDPOINT_URL=" + s.EndpointURL(),
	}
}

// Running reports the local IoT Core another process serves for workspace dir (for
// example `jitpwiz local --dir dir`), or nil when none does: connect to it with
// Owner.EndpointURL instead of calling Start.
func Running(dir string) *store.Owner {
	busy, owner := store.InUse(StateDir(dir))
	if !busy {
		return nil
	}
	if owner == nil {
		owner = &store.Owner{}
	}
	return owner
}
