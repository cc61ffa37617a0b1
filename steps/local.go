package steps

import (
	"context"
	"errors"
)

// Dummy credentials for a local IoT Core reached through --endpoint-url.
const (
	localAccessKeyID = "jitpwiz-local"
	localSecretKey   = "jitpwiz-local-secret"
)

// startLocal starts the embedded IoT Core for the session (state in <workspace>/.local-iot).
func startLocal(ctx context.Context, s *Session) (*localBackend, error) {
	return nil, errors.New("the embedded local IoT Core is not available in this build — use --target aws or --endpoint-url")
}
