package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// `jitpwiz local --latency aws` starts with AWS's latencies and says so in its banner; a
// value it cannot read is refused before anything starts, naming the flag.
func TestLocalLatencyFlag(t *testing.T) {
	cmd := newRootCmd()
	var out lockedBuffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"local", "--dir", t.TempDir(), "--api-port", "0", "--mqtt-port", "0", "--latency", "slow"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), `--latency "slow"`) {
		t.Fatalf("--latency slow: %v\n%s", err, out.String())
	}

	cmd = newRootCmd()
	out = lockedBuffer{}
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"local", "--dir", t.TempDir(), "--api-port", "0", "--mqtt-port", "0", "--latency", "aws,policy-delete=30s"})
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
	if !strings.Contains(out.String(), "Latency (as on AWS)             provisioning=2s,detach=5s,policy-delete=30s,role=10s") {
		t.Errorf("banner does not show the latency:\n%s", out.String())
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
