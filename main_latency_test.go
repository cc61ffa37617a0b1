package main

import (
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// `jitpwiz local --latency aws` starts with AWS's latencies and says so in its banner; a
// value it cannot read is refused before anything starts, naming the flag.
func TestLocalLatencyFlag(t *testing.T) {
	cmd := newRootCmd()
	var out testtool.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"local", "--dir", t.TempDir(), "--api-port", "0", "--mqtt-port", "0", "--latency", "slow"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), `--latency "slow"`) {
		t.Fatalf("--latency slow: %v\n%s", err, out.String())
	}

	started, stop := startLocal(t, t.TempDir(), "--latency", "aws,policy-delete=30s")
	if !strings.Contains(started.String(), "Latency (as on AWS)             provisioning=2s,detach=5s,policy-delete=30s,role=10s") {
		t.Errorf("banner does not show the latency:\n%s", started.String())
	}
	stop()
}
