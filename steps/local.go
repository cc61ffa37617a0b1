package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/api"
	"github.com/jitpwiz/jitpwiz/aws/local/broker"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// Dummy credentials for a local IoT Core reached through --endpoint-url (it does not check
// signatures, but the SDK needs some).
const (
	localAccessKeyID = "jitpwiz-local"
	localSecretKey   = "jitpwiz-local-secret"
)

// startLocal starts the embedded IoT Core for the session (state in <workspace>/.local-iot):
// the broker on loopback (8883, or a free port when taken) and the control plane on a free
// loopback port.
// TODO(local): switch to local.Start once aws/local exposes it.
func startLocal(ctx context.Context, s *Session) (*localBackend, error) {
	dir := store.Dir(s.dir)
	st, err := store.Open(dir, store.Options{Region: s.Options.Region})
	if err != nil {
		return nil, fmt.Errorf("local IoT Core in %s: %w", dir, err)
	}
	const host = "localhost"
	b, err := broker.New(broker.Options{Store: st, Dir: dir, Hostnames: []string{host}})
	if err != nil {
		return nil, fmt.Errorf("local IoT Core broker: %w", err)
	}
	if err := b.Start(); err != nil {
		return nil, fmt.Errorf("local IoT Core broker: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("local IoT Core control plane: %w", err)
	}
	srv := &http.Server{Handler: api.New(st, api.Options{EndpointHost: host, MQTTPort: b.Port(), RootCAPath: b.RootCAPath(),
		OnCertificateStatus: b.CertificateStatusChanged}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &localBackend{
		Config: aws.Config{Region: st.Region(), EndpointURL: "http://" + ln.Addr().String(),
			StaticAccessKeyID: localAccessKeyID, StaticSecretKey: localSecretKey, MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond},
		Endpoint:   Endpoint{Host: host, Port: b.Port()},
		ServerRoot: b.RootCAPEM(),
		Closer: closerFunc(func() error {
			err := srv.Close()
			if e := b.Close(); err == nil {
				err = e
			}
			return err
		}),
	}, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// localInfo asks a running local IoT Core (--target local --endpoint-url U) where its broker
// is and which root CA signs it.
func localInfo(ctx context.Context, endpointURL string) (Endpoint, []byte, error) {
	u := strings.TrimRight(endpointURL, "/") + api.InfoPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Endpoint{}, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Endpoint{}, nil, fmt.Errorf("--endpoint-url %s: cannot reach the local IoT Core (%v) — start it with `jitpwiz local`", endpointURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Endpoint{}, nil, fmt.Errorf("--endpoint-url %s does not look like a jitpwiz local IoT Core (%s from %s) — use --target aws for other endpoints", endpointURL, resp.Status, api.InfoPath)
	}
	var info api.Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return Endpoint{}, nil, fmt.Errorf("--endpoint-url %s: unreadable %s: %v", endpointURL, api.InfoPath, err)
	}
	root, err := os.ReadFile(info.RootCAPath)
	if err != nil {
		return Endpoint{}, nil, fmt.Errorf("the local IoT Core's root CA %s cannot be read (%v) — run jitpwiz on the same machine as `jitpwiz local`", info.RootCAPath, err)
	}
	return Endpoint{Host: info.EndpointHost, Port: info.MQTTPort}, root, nil
}
