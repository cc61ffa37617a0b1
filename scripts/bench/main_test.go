package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/pki"
)

// TestSmoke runs the fleet and handshake measurements of make bench at a tiny size
// against an in-process local IoT Core, so the benchmark keeps compiling and working
// without taking make test's time; it asserts what they count, never how fast.
func TestSmoke(t *testing.T) {
	srv, err := local.Start(context.Background(), local.Options{Dir: t.TempDir(), APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := core{endpoint: srv.EndpointURL(), host: srv.MQTTHost(), port: srv.MQTTPort(), serverCA: srv.RootCAPEM()}
	ca, err := registerFleetCA(context.Background(), c, "Smoke")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := issueDevices(ca, pki.EC256, "Smoke", 12)
	if err != nil {
		t.Fatal(err)
	}
	res := provision(c, devs, 4, nil)
	if len(res.done) != 12 || len(res.failures) != 0 {
		t.Fatalf("provisioned %d of 12, failures %v", len(res.done), res.failures)
	}
	if r := res.windowRate(0, 12); r <= 0 {
		t.Errorf("rate %v", r)
	}
	// Each device is a thing with its certificate attached: the reconnect as the thing
	// was accepted because JITP made it.
	things, err := c.iot().ListThings(context.Background(), nil)
	if err != nil || len(things.Things) != 12 {
		t.Fatalf("things after the fleet: %v %v", things, err)
	}
	// Devices of a CA the core does not know are refused, and counted as failures with
	// the reason.
	other := &fleetCA{}
	other.cert, other.key = mustCA(t)
	strangers, err := issueDevices(other, pki.EC256, "Stranger", 2)
	if err != nil {
		t.Fatal(err)
	}
	if bad := provision(c, strangers, 2, nil); len(bad.done) != 0 || bad.failures["reconnect as the thing: closed without CONNACK"] != 2 {
		t.Errorf("unknown devices: %+v", bad)
	}
	if hs, err := handshakeRate(pki.EC256, 20, 4); err != nil || hs <= 0 {
		t.Errorf("handshake loop: %v %v", hs, err)
	}
}

// The fleet command's completions are read from its devices.csv: start + total of the
// provisioned devices, sorted; failed and not-run devices do not count.
func TestFleetCompletions(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "devices.csv")
	body := "device,thing,certificate_id,outcome,phase,cause,start_ms,first_connect_ms,reconnect_ms,publish_ms,total_ms,reconnect_attempts\n" +
		"F-1,F-1,aa,provisioned,,,10.000,1,1,1,5.500,1\n" +
		"F-2,F-2,bb,failed,reconnect as the thing,\"x, y\",0.000,1,1,0,2.000,1\n" +
		"F-3,F-3,cc,provisioned,,,1.000,1,1,1,3.000,1\n" +
		"F-4,,,not-run,,,,,,,,\n"
	if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := fleetCompletions(csv)
	if err != nil || len(got) != 2 || got[0] != 4*time.Millisecond || got[1] != 15500*time.Microsecond {
		t.Fatalf("completions %v %v", got, err)
	}
	if r := (jitpResult{done: got}).windowRate(0, 2); r <= 0 {
		t.Fatalf("rate %v", r)
	}
}

func mustCA(t *testing.T) (*x509.Certificate, crypto.Signer) {
	key, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.SelfSignCA(key, pki.Subject{Country: "IN", Organization: "Unregistered"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// CPU per device over the first and the last tenth: from the start to the first progress
// mark, and from the last mark to the end.
func TestCPUWindows(t *testing.T) {
	marks := []cpuMark{{0, 0, 1}, {100, 0.5, 1.4}, {500, 2, 3}, {900, 4, 5}, {1000, 4.6, 5.5}}
	fleet, local := cpuWindows(marks, 1000)
	near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
	if !near(fleet[0], 5) || !near(fleet[1], 6) || !near(local[0], 4) || !near(local[1], 5) {
		t.Fatalf("fleet %v local %v", fleet, local)
	}
	if f, l := cpuWindows(marks[:2], 1000); f != [2]float64{} || l != [2]float64{} {
		t.Fatalf("too few marks: %v %v", f, l)
	}
}

// make bench rewrites docs/benchmarks.md but keeps what make soak wrote: the "## Soak"
// section, from its heading to the end (the repository's file has one), and nothing of a
// report without it.
func TestKeptSections(t *testing.T) {
	kept := keptSections(filepath.Join("..", "..", "docs", "benchmarks.md"))
	if !strings.HasPrefix(kept, "## Soak\n") || !strings.Contains(kept, "make soak") || strings.Contains(kept, "## Machine") {
		t.Fatalf("the Soak section of docs/benchmarks.md as make bench keeps it:\n%.300s", kept)
	}
	dir := t.TempDir()
	old := filepath.Join(dir, "benchmarks.md")
	body := "# Benchmarks\n\n## Machine\n\nold figures\n\n## Soak\n\nsoak figures\n| 30s | 39.7 |\n"
	if err := os.WriteFile(old, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := keptSections(old), "## Soak\n\nsoak figures\n| 30s | 39.7 |\n"; got != want {
		t.Errorf("kept %q, want %q", got, want)
	}
	if err := os.WriteFile(old, []byte("# Benchmarks\n\n## Machine\n\nold figures\n## Soaking\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := keptSections(old); got != "" {
		t.Errorf("a report without a Soak section kept %q", got)
	}
	if got := keptSections(filepath.Join(dir, "none.md")); got != "" {
		t.Errorf("no report kept %q", got)
	}
}
