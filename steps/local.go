package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/aws/local/api"
)

// Dummy credentials for a local IoT Core (it does not check signatures, but the SDK needs some).
const (
	localAccessKeyID = local.AccessKeyID
	localSecretKey   = local.SecretAccessKey
)

// startLocal starts the embedded IoT Core for the session (state in <workspace>/.local-iot):
// the broker on loopback 8883 and the control plane on 4599, or free loopback ports when
// those are taken. It runs until Session.Close.
func startLocal(ctx context.Context, s *Session) (*localBackend, error) {
	srv, err := local.Start(context.WithoutCancel(ctx), local.Options{Dir: s.dir, Region: s.Options.Region})
	if err != nil {
		return nil, fmt.Errorf("cannot start the local IoT Core in %s: %w", s.dir, err)
	}
	if m := srv.Migrated(); m != "" {
		s.reportf("", "%s", m)
	}
	return &localBackend{
		Config: aws.Config{Region: srv.Region(), EndpointURL: srv.EndpointURL(),
			StaticAccessKeyID: local.AccessKeyID, StaticSecretKey: local.SecretAccessKey, MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond},
		Endpoint:   Endpoint{Host: srv.MQTTHost(), Port: srv.MQTTPort()},
		ServerRoot: srv.RootCAPEM(),
		RootPath:   srv.RootCAPath(),
		Closer:     srv,
	}, nil
}

// localInfo asks a running local IoT Core (--target local --endpoint-url U) where its broker
// is, which root CA signs it, and which region it serves.
func localInfo(ctx context.Context, endpointURL string) (Endpoint, []byte, string, string, error) {
	u := strings.TrimRight(endpointURL, "/") + api.InfoPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Endpoint{}, nil, "", "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Endpoint{}, nil, "", "", fmt.Errorf("--endpoint-url %s: cannot reach the local IoT Core (%v) — start it with `jitpwiz local`", endpointURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Endpoint{}, nil, "", "", fmt.Errorf("--endpoint-url %s does not look like a jitpwiz local IoT Core (%s from %s) — use --target aws for other endpoints", endpointURL, resp.Status, api.InfoPath)
	}
	var info api.Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return Endpoint{}, nil, "", "", fmt.Errorf("--endpoint-url %s: unreadable %s: %v", endpointURL, api.InfoPath, err)
	}
	root, err := os.ReadFile(info.RootCAPath)
	if err != nil {
		return Endpoint{}, nil, "", "", fmt.Errorf("the local IoT Core's root CA %s cannot be read (%v) — run jitpwiz on the same machine as `jitpwiz local`", info.RootCAPath, err)
	}
	return Endpoint{Host: info.EndpointHost, Port: info.MQTTPort}, root, info.RootCAPath, info.Region, nil
}
