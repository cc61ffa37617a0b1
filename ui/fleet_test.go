package ui

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/jitpwiz/jitpwiz/steps"
)

// scriptedFleet is a fleet whose progress is fixed — as if measured on an injected clock
// with fixed latencies — until the test lets it finish.
type scriptedFleet struct {
	mu      sync.Mutex
	p       steps.FleetProgress
	final   steps.FleetProgress
	rep     *steps.FleetReport
	release chan struct{}
	stopped bool // Run saw its context end (q)
}

func (f *scriptedFleet) Progress() steps.FleetProgress {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.p
}

func (f *scriptedFleet) Run(ctx context.Context) (*steps.FleetReport, error) {
	select {
	case <-f.release:
	case <-ctx.Done():
		f.mu.Lock()
		f.stopped = true
		f.mu.Unlock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped { // the devices in flight finished; the others never started
		f.p.Finished, f.p.InFlight, f.p.NotRun = true, 0, 400
		f.rep.Provisioned, f.rep.Failed, f.rep.NotRun, f.rep.Interrupted = 590, 10, 400, true
		return f.rep, errors.New("interrupted: 600 of 1000 devices ran")
	}
	f.p = f.final
	return f.rep, nil
}

const fleetDir = "/home/ana/ws/fleet/20260304-050607"

func newScriptedFleet() *scriptedFleet {
	failure := steps.FleetFailure{Phase: steps.PhaseReconnect, Count: 10, Example: "Fleet-00017",
		Cause: "reconnect as the thing: the certificate was registered but is stuck in PENDING_ACTIVATION: JITP ran the template and it failed — InvalidRequestException: Invalid registration template. Cannot resolve reference value: {Ref=AWS::IoT::Certificate::Organization}"}
	running := steps.FleetProgress{ID: "20260304-050607", Dir: fleetDir, Target: "aws", Devices: 1000, Concurrency: 32,
		Issued: 700, Started: 632, InFlight: 32, Done: 600, Provisioned: 590, Failed: 10, Failures: []steps.FleetFailure{failure},
		Elapsed: 75 * time.Second, Rate: 8, P50: 1840 * time.Millisecond, P99: 3120 * time.Millisecond,
		Limiter:  steps.LimiterState{Rate: 8, Waiting: 3, Delayed: 599},
		Warnings: []string{"auto-registration is DISABLE on CA 93133b514bfb…, so every device will fail"},
		Keys:     "in memory only (not written; --save-keys writes them)"}
	final := running
	final.Done, final.Provisioned, final.InFlight, final.Issued, final.Started = 1000, 990, 0, 1000, 1000
	final.Elapsed, final.Finished, final.Limiter.Waiting = 125*time.Second, true, 0
	rep := &steps.FleetReport{Fleet: running.ID, Devices: 1000, Provisioned: 990, Failed: 10, DurationSeconds: 125, RatePerSecond: 8,
		LatencyMs: steps.FleetLatency{P50: 1840, P90: 2500, P99: 3120, Max: 4000}, Failures: []steps.FleetFailure{failure},
		Report: fleetDir + "/report.json", CSV: fleetDir + "/devices.csv"}
	return &scriptedFleet{p: running, final: final, rep: rep, release: make(chan struct{})}
}

func newFleetTestModel(f *scriptedFleet) *FleetModel {
	return NewFleetModel(context.Background(), FleetOptions{Source: f, Interval: 5 * time.Millisecond,
		Headline: "1000 devices (Fleet-00001 … Fleet-01000), 32 at a time, at most 8 devices/s, target aws (us-east-2)",
		Notes:    []string{"rate limit 8 devices/s by default, under the AWS IoT Core default quotas: RegisterThing 10/s"},
		ShowPath: func(p string) string { return strings.TrimPrefix(p, "/home/ana/ws/") }})
}

func fleetScreen(t *testing.T, m *FleetModel, width int) []byte {
	t.Helper()
	out := ansi.Strip(m.View())
	for i, l := range strings.Split(out, "\n") {
		if w := ansi.StringWidth(l); w > width {
			t.Errorf("line %d is %d cells wide on a %d-cell terminal: %q", i+1, w, width, l)
		}
	}
	return []byte(out)
}

// The live view while the fleet runs: progress bar, devices by outcome with the cause of
// the failures, rate, p50/p99, the rate limiter, the warning — from fixed figures.
func TestGoldenFleetRunning(t *testing.T) {
	f := newScriptedFleet()
	defer close(f.release)
	tm := teatest.NewTestModel(t, newFleetTestModel(f), teatest.WithInitialTermSize(100, 30))
	waitScreen(t, tm, "600/1000 done")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*FleetModel)
	golden.RequireEqual(t, fleetScreen(t, m, 100))
}

// The last frame, which stays in the terminal: the summary and where the report is.
func TestGoldenFleetDone(t *testing.T) {
	f := newScriptedFleet()
	tm := teatest.NewTestModel(t, newFleetTestModel(f), teatest.WithInitialTermSize(100, 30))
	waitScreen(t, tm, "600/1000 done")
	close(f.release)
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	m := tm.FinalModel(t).(*FleetModel)
	rep, err := m.Report()
	if rep != f.rep || err != nil {
		t.Fatalf("report %v %v", rep, err)
	}
	golden.RequireEqual(t, fleetScreen(t, m, 100))
}

// q stops the fleet (no new device starts), the view says so, and the last frame tells
// how many did not run.
func TestFleetQuitStops(t *testing.T) {
	f := newScriptedFleet()
	tm := teatest.NewTestModel(t, newFleetTestModel(f), teatest.WithInitialTermSize(100, 30))
	waitScreen(t, tm, "q stop")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	m := tm.FinalModel(t).(*FleetModel)
	out := ansi.Strip(m.View())
	if !f.stopped || !strings.Contains(out, "not run (interrupted)") || !strings.Contains(out, "✗ interrupted") {
		t.Fatalf("after q:\n%s", out)
	}
}

// The real `jitpwiz fleet` in a terminal (tmux): the live view, then its last frame stays
// on the screen with the summary and where the report is.
func TestTmuxFleet(t *testing.T) {
	bin, tmp := tmuxBinary(t, "builds and runs the binary")
	ws := filepath.Join(tmp, "ws")
	if out, err := exec.Command(bin, "run", "--dir", ws, "--yes", "--key", "ec256").CombinedOutput(); err != nil {
		t.Fatalf("jitpwiz run: %v\n%s", err, out)
	}
	s := startTmux(t, "fleet", 110, 40, fmt.Sprintf("%s fleet --dir %s -n 30 --concurrency 4; echo fleet-exit-$?; sleep 60", bin, ws))
	scr := s.waitFor("the fleet to end", 60*time.Second, func(scr string) bool { return strings.Contains(scr, "fleet-exit-") })
	for _, want := range []string{"jitpwiz fleet", "30/30 done", "provisioned  30", "latency      p50", "✓ 30/30 provisioned", "report.json", "fleet-exit-0"} {
		if !strings.Contains(scr, want) {
			t.Errorf("the last frame lacks %q:\n%s", want, scr)
		}
	}
}
