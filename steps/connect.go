package steps

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/aws/local/api"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// The back-ends of a session: the embedded local IoT Core or the AWS client, brought up by
// Connect and stopped by Close.

// amazonRootCAs are Amazon Root CA 1 (RSA 2048) and Amazon Root CA 3 (ECC P-256), shipped in
// the binary as one PEM file: AWS IoT's ATS endpoints present a chain to one or the other
// depending on the cipher suite negotiated, and AWS recommends trusting both (AWS IoT
// Developer Guide, server-authentication.html "CA certificates for server authentication").
// They are the certificates of https://www.amazontrust.com/repository/ (AmazonRootCA1.pem,
// AmazonRootCA3.pem); TestAmazonRootCAs checks them against the SHA-256 hashes of their
// public keys that the repository publishes.
//
//go:embed amazon_root_cas.pem
var amazonRootCAs []byte

// localBackend is what starting the embedded IoT Core yields.
type localBackend struct {
	Config     aws.Config // endpoint URL, region and dummy credentials
	Endpoint   Endpoint   // MQTT host/port
	ServerRoot []byte     // PEM of the CA that signs the broker's certificate
	RootPath   string     // where that PEM is kept
	MQTTPort   int        // the broker's MQTT port (Endpoint.Port is the ALPN one with --port 443)
	Closer     Backend
}

// Connect brings up the cloud side of the session: for the local target it starts the
// embedded IoT Core in-process (state in <workspace>/.local-iot) unless --endpoint-url
// points at one already running; for aws it builds the SDK client from the standard
// credential chain. It resolves the account, region and MQTT data endpoint.
// Call Close when done.
func (s *Session) Connect(ctx context.Context) error {
	if s.client != nil {
		return nil
	}
	if err := s.lockWorkspace(); err != nil { // see lock.go; released by Close
		return err
	}
	s.sharedLocalPID = 0
	var (
		cfg aws.Config
		ep  Endpoint
	)
	if s.Options.Target == TargetLocal && s.Options.EndpointURL == "" {
		if err := pki.EnsureWorkspace(s.dir); err != nil {
			return err
		}
		lb, err := startLocal(ctx, s)
		var locked *store.LockedError
		switch {
		case err == nil:
			s.backend = lb.Closer
			s.localURL = lb.Config.EndpointURL
			s.serverRoot, s.serverRootPath = lb.ServerRoot, lb.RootPath
			cfg, ep = lb.Config, lb.Endpoint
			s.movedPorts = movedPorts(lb.Config.EndpointURL, lb.MQTTPort)
		case errors.As(err, &locked) && locked.Owner != nil && locked.Owner.Standalone && locked.Owner.EndpointURL != "":
			// `jitpwiz local --dir` serves this very workspace in another shell: use it,
			// as --endpoint-url would (run, doctor, clean and the wizard alike; nothing saved).
			// Another run or wizard on the workspace is not shared: the lock keeps two
			// processes from working on the same session at once.
			var ierr error
			var region string
			if ep, s.serverRoot, s.serverRootPath, region, ierr = localInfo(ctx, s, locked.Owner.EndpointURL); ierr != nil {
				return err
			}
			if err := s.checkLocalRegion(locked.Owner.EndpointURL, region); err != nil {
				return err
			}
			s.localURL, s.sharedLocalPID = locked.Owner.EndpointURL, locked.Owner.PID
			cfg = aws.Config{Region: s.Options.Region, EndpointURL: locked.Owner.EndpointURL,
				StaticAccessKeyID: localAccessKeyID, StaticSecretKey: localSecretKey}
		default:
			return err
		}
	} else {
		region := s.Options.Region
		if region == "" && s.Options.AtRecordedRegion && s.Options.Target == TargetAWS {
			region = s.Region // clean: where the workspace registered its resources
		}
		cfg = aws.Config{Profile: s.Options.Profile, Region: region, EndpointURL: s.Options.EndpointURL}
		if s.Options.Target == TargetLocal {
			cfg.StaticAccessKeyID, cfg.StaticSecretKey = localAccessKeyID, localSecretKey
			var err error
			var region string
			if ep, s.serverRoot, s.serverRootPath, region, err = localInfo(ctx, s, s.Options.EndpointURL); err != nil {
				return err
			}
			if err := s.checkLocalRegion(s.Options.EndpointURL, region); err != nil {
				return err
			}
		} else {
			s.serverRoot, s.serverRootPath = amazonRootCAs, ""
			if f := s.Options.ServerCA; f != "" { // another broker than AWS IoT (--server-ca)
				b, err := os.ReadFile(f)
				if err != nil {
					s.Close()
					return i18n.NewError("connect.err.server-ca", i18n.Args{"File": f, "Err": err})
				}
				s.serverRoot, s.serverRootPath = b, f
			}
			if s.Options.MQTTEndpoint != "" {
				ep, _ = parseHostPort(s.Options.MQTTEndpoint) // checked by Validate
			}
		}
	}
	previousRegion := s.Region
	c, err := aws.New(ctx, cfg)
	if err != nil {
		s.Close()
		return err
	}
	acct, err := c.CallerAccount(ctx)
	if err != nil {
		s.Close()
		return err
	}
	if ep.Host == "" {
		host, err := c.DataEndpoint(ctx)
		if err != nil {
			s.Close()
			return err
		}
		ep = Endpoint{Host: host, Port: AWSDataPort}
		if s.Options.alpn443() {
			ep.Port = 443
		}
		if h, p, err := net.SplitHostPort(host); err == nil {
			if port, err := strconv.Atoi(p); err == nil {
				ep = Endpoint{Host: h, Port: port}
			}
		} else if s.Options.EndpointURL != "" && s.Options.Target == TargetAWS {
			// Another implementation of the API: its broker may be elsewhere, with its own CA.
			trust := s.Options.ServerCA
			if trust == "" {
				trust = i18n.T("connect.amazon-roots")
			}
			s.notices = append(s.notices, i18n.T("connect.no-port", i18n.Args{"URL": s.Options.EndpointURL, "Host": host, "Addr": fmt.Sprintf("%s:%d", host, ep.Port), "Trust": trust}))
		}
	}
	if ep.Host == "" {
		s.Close()
		return i18n.NewError("connect.err.no-endpoint", i18n.Args{"Target": s.Options.Target})
	}
	s.client = c
	s.Account = acct
	s.Region = c.Region()
	s.Endpoint = ep
	if previousRegion != "" && previousRegion != s.Region && (s.CA.RegisteredID != "" || s.RegistrationCode != "") {
		s.notices = append(s.notices, i18n.T("connect.region-changed", i18n.Args{"Old": previousRegion, "New": s.Region, "Dir": pki.ShellQuote(s.dir)}))
	}
	// Device ARNs need the account and region: fill them in for records made before Connect.
	for _, d := range s.Devices {
		if d.CertID != "" {
			d.CertARN = certARN(s, d.CertID)
		}
	}
	return nil
}

// checkLocalRegion refuses a --region that a running local IoT Core does not serve, before
// anything is asked of it or saved (an in-process one refuses it when it starts).
func (s *Session) checkLocalRegion(url, served string) error {
	if served != "" && s.Options.Region != "" && s.Options.Region != served {
		return i18n.NewError("connect.err.local-region", i18n.Args{"Region": s.Options.Region, "URL": url, "Served": served})
	}
	return nil
}

// Close stops the back-ends started by Connect. The session stays usable for reading.
func (s *Session) Close() error {
	var err error
	if s.backend != nil {
		err = s.backend.Close()
		s.backend = nil
	}
	s.client = nil
	s.unlockWorkspace() // the workspace lock Connect took (lock.go)
	return err
}

// requireClient returns the cloud client or an error saying Connect is needed.
func (s *Session) requireClient() (aws.Client, error) {
	if s.client == nil {
		return nil, i18n.NewError("connect.err.not-connected")
	}
	return s.client, nil
}

// Dummy credentials for a local IoT Core (it does not check signatures, but the SDK needs some).
const (
	localAccessKeyID = local.AccessKeyID
	localSecretKey   = local.SecretAccessKey
)

// devicePort is the port devices use on a local IoT Core: its ALPN listener with --port 443,
// else its MQTT port.
func devicePort(s *Session, mqttPort, alpnPort int) int {
	if s.Options.alpn443() {
		return alpnPort
	}
	return mqttPort
}

// startLocal starts the embedded IoT Core for the session (state in <workspace>/.local-iot):
// the broker on loopback 8883 and the control plane on 4599, or free loopback ports when
// those are taken. It runs until Session.Close.
func startLocal(ctx context.Context, s *Session) (*localBackend, error) {
	lo := local.Options{Dir: s.dir, Region: s.Options.Region}
	if s.Options.alpn443() {
		lo.ALPNAddr = "127.0.0.1:0" // AWS's port 443 flavour, on a free loopback port
	}
	srv, err := local.Start(context.WithoutCancel(ctx), lo)
	if err != nil {
		return nil, i18n.WrapError(err, "connect.err.start-local", i18n.Args{"Dir": s.dir})
	}
	if m := srv.Migrated(); m != "" {
		s.notices = append(s.notices, m)
	}
	return &localBackend{
		Config: aws.Config{Region: srv.Region(), EndpointURL: srv.EndpointURL(),
			StaticAccessKeyID: local.AccessKeyID, StaticSecretKey: local.SecretAccessKey, MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond},
		Endpoint:   Endpoint{Host: srv.MQTTHost(), Port: devicePort(s, srv.MQTTPort(), srv.ALPNPort())},
		ServerRoot: srv.RootCAPEM(),
		RootPath:   srv.RootCAPath(),
		MQTTPort:   srv.MQTTPort(),
		Closer:     srv,
	}, nil
}

// localInfo asks a running local IoT Core (--target local --endpoint-url U) where its broker
// is, which root CA signs it, and which region it serves.
func localInfo(ctx context.Context, s *Session, endpointURL string) (Endpoint, []byte, string, string, error) {
	u := strings.TrimRight(endpointURL, "/") + api.InfoPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Endpoint{}, nil, "", "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Endpoint{}, nil, "", "", i18n.NewError("connect.err.unreachable", i18n.Args{"URL": endpointURL, "Err": err})
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Endpoint{}, nil, "", "", i18n.NewError("connect.err.not-local", i18n.Args{"URL": endpointURL, "Status": resp.Status, "Path": api.InfoPath})
	}
	var info api.Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return Endpoint{}, nil, "", "", i18n.NewError("connect.err.unreadable", i18n.Args{"URL": endpointURL, "Path": api.InfoPath, "Err": err})
	}
	root, err := os.ReadFile(info.RootCAPath)
	if err != nil {
		return Endpoint{}, nil, "", "", i18n.NewError("connect.err.root", i18n.Args{"Path": info.RootCAPath, "Err": err})
	}
	port := info.MQTTPort
	if s.Options.alpn443() {
		if info.ALPNPort == 0 {
			return Endpoint{}, nil, "", "", i18n.NewError("connect.err.no-alpn", i18n.Args{"URL": endpointURL})
		}
		port = info.ALPNPort
	}
	return Endpoint{Host: info.EndpointHost, Port: port}, root, info.RootCAPath, info.Region, nil
}
