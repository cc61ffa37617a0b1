package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLocalCommand runs `jitpwiz local` through cobra with free ports and a
// region, waits for the banner, and stops it by cancelling its context (what
// Ctrl+C does through signal.NotifyContext).
func TestLocalCommand(t *testing.T) {
	dir := t.TempDir()
	var out lockedBuffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"local", "--dir", dir, "--api-port", "0", "--mqtt-port", "0", "--region", "eu-central-1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Events (Ctrl+C to stop):") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("jitpwiz local exited early: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	for _, want := range []string{"AWS_REGION=eu-central-1", "--endpoint-url http://127.0.0.1:", dir + "/.local-iot/awsRootCA.pem"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "127.0.0.1:4599") {
		t.Errorf("--api-port 0 still used the default port:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("jitpwiz local: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("jitpwiz local did not stop")
	}
}
