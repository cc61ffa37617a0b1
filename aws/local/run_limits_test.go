package local

import (
	"context"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// TestRunShowsListenerWarnings: `jitpwiz local` (Run, no Logger given) prints the broker's
// warnings among its events — here a connection over the MQTT listener's limit.
func TestRunShowsListenerWarnings(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testtool.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Dir: t.TempDir(), APIAddr: ":0", MQTTAddr: ":0", MaxConnections: 1}, &out)
	}()
	banner := waitFor(t, &out, "Events (Ctrl+C to stop):")
	m := regexp.MustCompile(`MQTT over TLS, mutual auth +localhost:(\d+)`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no MQTT port in the banner:\n%s", banner)
	}
	addr := net.JoinHostPort("127.0.0.1", m[1])
	for range 2 { // the first holds the only place (its handshake pending), the second is refused
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	waitFor(t, &out, "MQTT listener at its connection limit")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
