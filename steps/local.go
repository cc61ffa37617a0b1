package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/local/api"
)

// Dummy credentials for a local IoT Core reached through --endpoint-url (it does not check
// signatures, but the SDK needs some).
const (
	localAccessKeyID = "jitpwiz-local"
	localSecretKey   = "jitpwiz-local-secret"
)

// startLocal starts the embedded IoT Core for the session (state in <workspace>/.local-iot).
func startLocal(ctx context.Context, s *Session) (*localBackend, error) {
	return nil, errors.New("the embedded local IoT Core is not available in this build — use --target aws or --endpoint-url")
}

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
