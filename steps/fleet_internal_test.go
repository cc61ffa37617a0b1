package steps

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
)

// fakeClock is a clock that moves only when told to, or when someone sleeps on it.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.advance(d)
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// The rate limiter spaces starts evenly at the rate, counts who waited, gives a slot back
// when the wait is cancelled, and without a limit never waits — on a fake clock, so
// nothing here depends on how fast the machine is.
func TestRateLimiterFakeClock(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	l := NewRateLimiter(8, clk)
	start := clk.Now()
	for i := 0; i < 17; i++ {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The first start is at once, each next one 1/8 s later: 16 waits of 125 ms.
	if got := clk.Now().Sub(start); got != 2*time.Second {
		t.Fatalf("17 starts at 8/s took %v of the clock, want 2s", got)
	}
	for _, d := range clk.slept {
		if d != 125*time.Millisecond {
			t.Fatalf("waits %v, want 125ms each", clk.slept)
		}
	}
	if st := l.State(); st.Delayed != 16 || st.Waited != 2*time.Second || st.Waiting != 0 || st.Rate != 8 {
		t.Fatalf("state %+v", st)
	}

	// A wait that is cancelled returns the error and gives its slot back: the next start
	// waits one interval, not two.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	before := clk.Now()
	if err := l.Wait(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	if clk.Now() != before {
		t.Fatal("a cancelled wait moved the clock")
	}
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(before); got != 125*time.Millisecond {
		t.Fatalf("after a cancelled wait the next start waited %v, want 125ms", got)
	}

	// No limit: never a wait.
	free := NewRateLimiter(0, clk)
	before = clk.Now()
	for i := 0; i < 100; i++ {
		if err := free.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if clk.Now() != before || free.State().Delayed != 0 {
		t.Fatalf("no limit: the clock moved %v, %d delayed", clk.Now().Sub(before), free.State().Delayed)
	}
}

// Defaults: none on the local target, DefaultFleetRateAWS on aws unless --rate is given
// (also 0, no limit); bad values name the flag.
func TestFleetOptionsResolve(t *testing.T) {
	o := FleetOptions{Devices: 5}
	if err := o.resolve(TargetLocal); err != nil || o.Rate != 0 || o.Concurrency != DefaultFleetConcurrency || o.Names != DefaultFleetNames || o.KeyType != "ec256" {
		t.Fatalf("local defaults %+v %v", o, err)
	}
	o = FleetOptions{Devices: 5}
	if err := o.resolve(TargetAWS); err != nil || o.Rate != DefaultFleetRateAWS {
		t.Fatalf("aws default rate %v %v", o.Rate, err)
	}
	o = FleetOptions{Devices: 5, Rate: 0, RateSet: true}
	if err := o.resolve(TargetAWS); err != nil || o.Rate != 0 {
		t.Fatalf("--rate 0 on aws %v %v", o.Rate, err)
	}
	for _, c := range []struct {
		o    FleetOptions
		want string
	}{
		{FleetOptions{}, "-n 0"},
		{FleetOptions{Devices: MaxFleetDevices + 1}, "-n"},
		{FleetOptions{Devices: 1, Concurrency: -1}, "--concurrency"},
		{FleetOptions{Devices: 1, Concurrency: MaxFleetConcurrency + 1}, "--concurrency"},
		{FleetOptions{Devices: 1, Rate: -1}, "--rate"},
		{FleetOptions{Devices: 1, KeyType: "dsa"}, "--key"},
	} {
		if err := c.o.resolve(TargetLocal); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.o, err, c.want)
		}
	}
}

// The --names pattern: one number verb, names that are thing names from 1 to N; anything
// else is refused naming --names, the problem and an example.
func TestParseNamePattern(t *testing.T) {
	for _, c := range []struct {
		p     string
		n     int
		first string
		last  string
	}{
		{"Fleet-%05d", 10000, "Fleet-00001", "Fleet-10000"},
		{"dev_%d", 3, "dev_1", "dev_3"},
		{"%d:sensor", 12, "1:sensor", "12:sensor"},
	} {
		np, err := parseNamePattern(c.p, c.n)
		if err != nil || np.name(1) != c.first || np.name(c.n) != c.last {
			t.Errorf("%q: %v %q…%q", c.p, err, np.name(1), np.name(c.n))
		}
	}
	for _, c := range []struct{ p, want string }{
		{"Fleet", "exactly one number verb"},
		{"Fleet-%d-%d", "exactly one number verb"},
		{"Fleet-%s", "not a number verb"},
		{"Fleet-%", "not a number verb"},
		{"Fleet #%d", "not a valid thing name"},
		{"Fleet-%5d", "not a valid thing name"}, // pads with spaces
		{"Fleet-%030d", "at most 20"},
		{strings.Repeat("x", 125) + "-%d", "not a valid thing name"},
	} {
		_, err := parseNamePattern(c.p, 1000)
		if err == nil || !strings.Contains(err.Error(), "--names") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error naming --names with %q", c.p, err, c.want)
		}
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond, 0.01: time.Millisecond} {
		if got := quantile(d, q); got != want {
			t.Errorf("q%v = %v, want %v", q, got, want)
		}
	}
	if quantile(nil, .5) != 0 || quantile(d[:1], .99) != time.Millisecond {
		t.Error("edge cases")
	}
}

// fakeConn is an accepted connection whose publish takes a fixed time on the fake clock.
type fakeConn struct {
	clk  *fakeClock
	fail error
}

func (c fakeConn) Publish(context.Context, string, []byte, time.Duration) error {
	c.clk.advance(time.Millisecond)
	return c.fail
}
func (fakeConn) Close() {}

// engineFleet is a fleet over a session without a back-end: its connections are fake and
// take fixed times on a fake clock (device i's reconnect takes i ms), so that its figures
// are known exactly.
func engineFleet(t *testing.T, n int, connect func(clk *fakeClock, o mqttprobe.Options) (fleetConn, mqttprobe.Outcome)) (*Fleet, *fakeClock) {
	t.Helper()
	return engineFleetOn(t, TargetLocal, n, connect)
}

// engineFleetOn is engineFleet for target (its defaults: the rate limit, the reconnect's
// retries).
func engineFleetOn(t *testing.T, target string, n int, connect func(clk *fakeClock, o mqttprobe.Options) (fleetConn, mqttprobe.Outcome)) (*Fleet, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Engine"})
	s := &Session{dir: t.TempDir(), Options: Options{Target: target, Country: "IN"}, Endpoint: Endpoint{Host: "localhost", Port: 8883}}
	o := FleetOptions{Devices: n, Concurrency: 1, Clock: clk}
	if err := o.resolve(target); err != nil {
		t.Fatal(err)
	}
	names, err := parseNamePattern(o.Names, n)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{s: s, o: o, names: names, keyType: pki.EC256, subject: pki.Subject{Country: "IN"}, ca: &pki.CA{Cert: ca.Cert, Key: ca.Key},
		limiter: NewRateLimiter(o.Rate, clk), clock: clk, wait: ProvisionTimeoutLocal, server: x509.NewCertPool(),
		failures: map[string]*FleetFailure{}, diagnosed: map[string][2]string{}}
	if target == TargetAWS {
		f.wait = fleetProvisionWaitAWS
	}
	f.connect = func(_ context.Context, o mqttprobe.Options, _ *mqttprobe.Material) (fleetConn, mqttprobe.Outcome) {
		return connect(clk, o)
	}
	if f.first, err = f.issue(1); err != nil {
		t.Fatal(err)
	}
	return f, clk
}

// deviceNumber is the number in Fleet-%05d.
func deviceNumber(t *testing.T, clientID string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(clientID, "first-"), "Fleet-"))
	if err != nil {
		t.Fatalf("client ID %q", clientID)
	}
	return n
}

// The engine on fixed latencies: every device's phases are timed on the injected clock, the
// percentiles, the rate and the CSV's columns are exactly what those times give, and the
// devices that fail are counted by their cause.
func TestFleetEngineFixedLatencies(t *testing.T) {
	const n = 40
	f, _ := engineFleet(t, n, func(clk *fakeClock, o mqttprobe.Options) (fleetConn, mqttprobe.Outcome) {
		i := deviceNumber(t, o.ClientID)
		if strings.HasPrefix(o.ClientID, "first-") {
			clk.advance(10 * time.Millisecond)
			return nil, mqttprobe.Outcome{Class: mqttprobe.ClassDropped}
		}
		clk.advance(time.Duration(i) * time.Millisecond)
		if i%10 == 0 { // devices 10, 20, 30, 40: refused as the thing
			return nil, mqttprobe.Outcome{Class: mqttprobe.ClassDropped, Detail: "closed without CONNACK"}
		}
		return fakeConn{clk: clk}, mqttprobe.Outcome{Class: mqttprobe.ClassConnected}
	})
	rep, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Provisioned != 36 || rep.Failed != 4 || rep.NotRun != 0 || rep.Interrupted {
		t.Fatalf("report %+v", rep)
	}
	// Provisioned device i took 10 + i + 1 ms (first connect, reconnect, publish).
	var total time.Duration
	var lat []time.Duration
	for i := 1; i <= n; i++ {
		total += time.Duration(10+i) * time.Millisecond
		if i%10 != 0 {
			total += time.Millisecond
			lat = append(lat, time.Duration(11+i)*time.Millisecond)
		}
	}
	want := FleetLatency{P50: msf(quantile(lat, .5)), P90: msf(quantile(lat, .9)), P99: msf(quantile(lat, .99)), Max: 50}
	if rep.LatencyMs != want || want.P50 != 30 || want.P99 != 50 {
		t.Fatalf("latency %+v, want %+v", rep.LatencyMs, want)
	}
	if rep.DurationSeconds != total.Seconds() || rep.RatePerSecond != float64(n)/total.Seconds() {
		t.Fatalf("duration %v rate %v, want %v and %v", rep.DurationSeconds, rep.RatePerSecond, total.Seconds(), float64(n)/total.Seconds())
	}
	if len(rep.Failures) != 1 || rep.Failures[0].Count != 4 || rep.Failures[0].Phase != PhaseReconnect ||
		!strings.HasPrefix(rep.Failures[0].Cause, PhaseReconnect+": ") || rep.Failures[0].Example == "" {
		t.Fatalf("failures %+v", rep.Failures)
	}
	p := f.Progress()
	if !p.Finished || p.Done != n || p.Provisioned != 36 || p.P50 != 30*time.Millisecond || p.P99 != 50*time.Millisecond {
		t.Fatalf("progress %+v", p)
	}

	// devices.csv: the header, one row per device in order, phases adding up to the total.
	rows := readCSV(t, rep.CSV)
	if strings.Join(rows[0], ",") != strings.Join(fleetCSVHeader, ",") || len(rows) != n+1 {
		t.Fatalf("CSV header %v, %d rows", rows[0], len(rows))
	}
	journal := journalIDs(t, filepath.Join(rep.Dir, fleetJournalFile))
	for i, r := range rows[1:] {
		num := i + 1
		col := func(name string) string { return r[indexOf(fleetCSVHeader, name)] }
		if col("device") != fmt.Sprintf("Fleet-%05d", num) || col("thing") != col("device") || journal[col("device")] != col("certificate_id") {
			t.Fatalf("row %d: %v (journal %s)", num, r, journal[col("device")])
		}
		ms := func(name string) float64 {
			v, err := strconv.ParseFloat(col(name), 64)
			if err != nil {
				t.Fatalf("row %d %s: %q", num, name, col(name))
			}
			return v
		}
		if ms("first_connect_ms") != 10 || ms("reconnect_ms") != float64(num) || col("reconnect_attempts") != "1" {
			t.Fatalf("row %d timings %v", num, r)
		}
		if num%10 == 0 {
			if col("outcome") != OutcomeFailed || col("phase") != PhaseReconnect || col("cause") != rep.Failures[0].Cause || ms("total_ms") != float64(10+num) {
				t.Fatalf("failed row %d: %v", num, r)
			}
			continue
		}
		if col("outcome") != OutcomeProvisioned || col("phase") != "" || col("cause") != "" || ms("publish_ms") != 1 || ms("total_ms") != float64(11+num) {
			t.Fatalf("provisioned row %d: %v", num, r)
		}
	}
}

// On AWS: at most 8 devices start per second by default (the quotas are named), a device
// whose reconnect is refused while JITP finishes is retried at most once a second, then
// less often, and given up after 30 s — all on the fake clock.
func TestFleetEngineAWSPacing(t *testing.T) {
	tries := map[int]int{}
	f, _ := engineFleetOn(t, TargetAWS, 3, func(clk *fakeClock, o mqttprobe.Options) (fleetConn, mqttprobe.Outcome) {
		if strings.HasPrefix(o.ClientID, "first-") {
			return nil, mqttprobe.Outcome{Class: mqttprobe.ClassDropped}
		}
		i := deviceNumber(t, o.ClientID)
		tries[i]++
		if i == 3 || (i == 2 && tries[i] < 3) { // 2: provisioned after two refusals; 3: never
			return nil, mqttprobe.Outcome{Class: mqttprobe.ClassDropped}
		}
		return fakeConn{clk: clk}, mqttprobe.Outcome{Class: mqttprobe.ClassConnected}
	})
	if n := strings.Join(f.Notes(), " "); !strings.Contains(n, "8 devices/s") || !strings.Contains(n, "RegisterThing 10/s") {
		t.Errorf("notes %q", n)
	}
	rep, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Device 1 starts at once, device 2 waits 125 ms for the limiter; device 2 took 3 s,
	// so device 3 does not wait.
	if rep.RateLimit != 8 || rep.RateSource != FleetAWSQuotas || rep.RateWaited != 1 || rep.Provisioned != 2 || rep.Failed != 1 {
		t.Fatalf("report %+v", rep)
	}
	rows := readCSV(t, rep.CSV)
	col := func(r []string, name string) string { return r[indexOf(fleetCSVHeader, name)] }
	// Device 2: refused at 0 s, retried after 1 s and after 2 more: accepted at 3 s.
	if r := rows[2]; col(r, "reconnect_attempts") != "3" || col(r, "reconnect_ms") != "3000.000" || col(r, "outcome") != OutcomeProvisioned {
		t.Fatalf("device 2: %v", r)
	}
	// Device 3: tries at 0, 1, 3, 7, 12, 17, 22, 27 s; the next at 32 s would pass 30 s.
	if r := rows[3]; col(r, "reconnect_attempts") != "8" || col(r, "reconnect_ms") != "27000.000" || col(r, "phase") != PhaseReconnect {
		t.Fatalf("device 3: %v", r)
	}
}

// Interrupted: the devices not started are "not run" in the report and the CSV, and the
// fleet says it was interrupted.
func TestFleetEngineInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, _ := engineFleet(t, 50, func(clk *fakeClock, o mqttprobe.Options) (fleetConn, mqttprobe.Outcome) {
		if deviceNumber(t, o.ClientID) == 5 && !strings.HasPrefix(o.ClientID, "first-") {
			cancel() // Ctrl+C while device 5 is online
		}
		if strings.HasPrefix(o.ClientID, "first-") {
			return nil, mqttprobe.Outcome{Class: mqttprobe.ClassDropped}
		}
		return fakeConn{clk: clk}, mqttprobe.Outcome{Class: mqttprobe.ClassConnected}
	})
	rep, err := f.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "interrupted") || rep == nil || !rep.Interrupted || rep.NotRun == 0 || rep.Provisioned+rep.Failed+rep.NotRun != 50 {
		t.Fatalf("interrupted run: %v %+v", err, rep)
	}
	notRun := 0
	for _, r := range readCSV(t, rep.CSV)[1:] {
		if r[indexOf(fleetCSVHeader, "outcome")] == OutcomeNotRun {
			notRun++
		}
	}
	if notRun != rep.NotRun || !strings.Contains(rep.Err().Error(), "not run") {
		t.Fatalf("CSV has %d not run, report %d; Err %v", notRun, rep.NotRun, rep.Err())
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func journalIDs(t *testing.T, path string) map[string]string {
	t.Helper()
	devs, err := readJSONLines[fleetDevice](path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range devs {
		out[d.Name] = d.CertID
	}
	return out
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	panic(x)
}

// completedInProcess is a workspace (EC keys) in which the whole procedure ran in this
// process, connected to its in-process local IoT Core.
func completedInProcess(t *testing.T) *Session {
	t.Helper()
	s := openT(t, Options{Dir: filepath.Join(t.TempDir(), "ws"), Yes: true, KeyType: "ec256"})
	ctx := context.Background()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := NewPlan(s).Run(ctx, RunConfig{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// fleetOf20 runs a fleet of 20 devices, 8 at a time, on s, which must all be provisioned
// without a warning.
func fleetOf20(t *testing.T, s *Session) *FleetReport {
	t.Helper()
	ctx := context.Background()
	f, err := NewFleet(ctx, s, FleetOptions{Devices: 20, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	if w := f.Warnings(); len(w) != 0 {
		t.Fatalf("warnings on a good workspace: %v", w)
	}
	rep, err := f.Run(ctx)
	if err != nil || rep.Err() != nil || rep.Provisioned != 20 {
		t.Fatalf("fleet: %v %v", err, rep.Err())
	}
	return rep
}

// The fleet on the local IoT Core, checked against the control plane: every device's
// certificate ACTIVE, its thing with the template's attributes and the certificate
// attached, the template's policy attached to the certificate.
func TestFleetLocalProvisions(t *testing.T) {
	t.Parallel()
	s := completedInProcess(t)
	ctx := context.Background()
	rep := fleetOf20(t, s)
	if rep.Provisioned != 20 || len(rep.Policies) != 1 || rep.LatencyMs.P50 <= 0 || rep.LatencyMs.P99 < rep.LatencyMs.P50 {
		t.Fatalf("report %+v", rep)
	}
	c := s.client
	devs := journalIDs(t, filepath.Join(rep.Dir, fleetJournalFile))
	if len(devs) != 20 {
		t.Fatalf("journal has %d devices", len(devs))
	}
	for name, id := range devs {
		desc, err := c.DescribeCertificate(ctx, id)
		if err != nil || desc.Status != aws.StatusActive || desc.CAID != s.CA.RegisteredID {
			t.Fatalf("%s certificate: %v %+v", name, err, desc)
		}
		th, err := c.DescribeThing(ctx, name)
		if err != nil || th.Attributes["country"] != "IN" || th.Attributes["version"] != "v1" {
			t.Fatalf("%s thing: %v %+v", name, err, th)
		}
		principals, err := c.ListThingPrincipals(ctx, name)
		if err != nil || len(principals) != 1 || principals[0] != desc.ARN {
			t.Fatalf("%s principals %v %v", name, principals, err)
		}
		pols, err := c.ListAttachedPolicies(ctx, desc.ARN)
		if err != nil || len(pols) != 1 || pols[0].Name != rep.Policies[0] {
			t.Fatalf("%s policies %v %v (report %v)", name, pols, err, rep.Policies)
		}
	}
	// No key was written; the fleet's files are the manifest, the journal, the report, the CSV.
	var files []string
	_ = filepath.Walk(rep.Dir, func(p string, fi os.FileInfo, _ error) error {
		if !fi.IsDir() {
			files = append(files, filepath.Base(p))
		}
		if strings.HasSuffix(p, ".key") {
			t.Errorf("key written: %s", p)
		}
		return nil
	})
	if strings.Join(files, " ") != "certificates.jsonl devices.csv fleet.json report.json" {
		t.Errorf("fleet files %v", files)
	}
	// A second fleet may not reuse the names while the first is not removed.
	if _, err := NewFleet(ctx, s, FleetOptions{Devices: 3}); err == nil || !strings.Contains(err.Error(), "already a device of fleet "+rep.Fleet) {
		t.Fatalf("reusing the names: %v", err)
	}
}

// --save-keys writes each device's key 0600 and certificates in 0700 directories, and the
// saved files work by hand: the key matches the certificate, the bundle is leaf + CA.
func TestFleetSaveKeys(t *testing.T) {
	t.Parallel()
	s := completedInProcess(t)
	ctx := context.Background()
	f, err := NewFleet(ctx, s, FleetOptions{Devices: 3, SaveKeys: true, Names: "Saved-%d"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.Run(ctx)
	if err != nil || rep.Provisioned != 3 {
		t.Fatalf("%v %+v", err, rep)
	}
	for i := 1; i <= 3; i++ {
		dir := filepath.Join(rep.Keys, fmt.Sprintf("Saved-%d", i))
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v", dir, err, fi)
		}
		kfi, err := os.Stat(filepath.Join(dir, pki.FileDeviceKey))
		if err != nil || kfi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v %v", err, kfi)
		}
		key, err := pki.LoadKeyFile(filepath.Join(dir, pki.FileDeviceKey))
		if err != nil {
			t.Fatal(err)
		}
		cert, err := pki.LoadCertFile(filepath.Join(dir, pki.FileDeviceCert))
		if err != nil || !pki.KeyMatchesCert(key, cert) || cert.Subject.CommonName != fmt.Sprintf("Saved-%d", i) {
			t.Fatalf("saved certificate: %v", err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, pki.FileDeviceBundle))
		if chain, err := pki.ParseCertsPEM(b); err != nil || len(chain) != 2 || pki.CertID(chain[1]) != s.CA.CertID {
			t.Fatalf("bundle: %v %d", err, len(chain))
		}
	}
	if !strings.Contains(f.Progress().Keys, "saved") {
		t.Errorf("keys note %q", f.Progress().Keys)
	}
}

// A workspace whose CA is not registered yet is refused, saying what to run first.
func TestFleetNeedsRegisteredCA(t *testing.T) {
	t.Parallel()
	s := openT(t, Options{Dir: filepath.Join(t.TempDir(), "ws"), Yes: true, KeyType: "ec256"})
	ctx := context.Background()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runStep(t, s, IDCAKey)
	_, err := NewFleet(ctx, s, FleetOptions{Devices: 3})
	if !errors.Is(err, ErrFleetNeedsCA) || !strings.Contains(err.Error(), "jitpwiz run --dir") || !strings.Contains(err.Error(), "steps 1–8") {
		t.Fatalf("unregistered CA: %v", err)
	}
	if _, err := OpenFleetWorkspace(Options{Dir: filepath.Join(t.TempDir(), "none")}); !errors.Is(err, ErrFleetNeedsCA) || !strings.Contains(err.Error(), "jitpwiz run --dir") {
		t.Fatalf("no workspace: %v", err)
	}
}

// failingClient makes DeleteThing fail after after successful calls: a clean that stops
// half-way (as if killed: the test also forgets what it recorded).
type failingClient struct {
	aws.Client
	mu    sync.Mutex
	after int
}

func (c *failingClient) DeleteThing(ctx context.Context, name string) error {
	c.mu.Lock()
	c.after--
	stop := c.after < 0
	c.mu.Unlock()
	if stop {
		return errors.New("the clean was stopped here")
	}
	return c.Client.DeleteThing(ctx, name)
}

// clean removes a fleet: listed first as one action per fleet, then the policies; a clean
// stopped half-way goes on where it stopped (and is idempotent when its record of the
// removed devices was lost with the kill); the workspace's own device stays with
// `--fleet`, and a full clean after it removes the rest.
func TestCleanRemovesFleet(t *testing.T) {
	t.Parallel()
	s := completedInProcess(t)
	ctx := context.Background()
	rep := fleetOf20(t, s)
	devs := journalIDs(t, filepath.Join(rep.Dir, fleetJournalFile))

	// The full clean lists the fleet between the workspace's device and the policies.
	var plan []string
	for _, a := range s.CleanPlan() {
		plan = append(plan, a.What)
	}
	all := strings.Join(plan, "\n")
	iDev, iFleet, iPol := strings.Index(all, "delete thing "+DefaultThing), strings.Index(all, "remove fleet "+rep.Fleet+": 20 devices (Fleet-00001 … Fleet-00020)"), strings.Index(all, "delete policy")
	if iDev < 0 || iFleet < iDev || iPol < iFleet {
		t.Fatalf("clean plan order:\n%s", all)
	}

	// clean --fleet, stopped after 7 devices.
	real := s.client
	s.client = &failingClient{Client: real, after: 7}
	actions, err := FleetCleanPlan(s, rep.Fleet)
	if err != nil || len(actions) != 2 {
		t.Fatalf("fleet clean plan: %v %v", err, actions)
	}
	var out bytes.Buffer
	if err := RunClean(ctx, s, actions, &out); err == nil || !strings.Contains(out.String(), "✗ remove fleet") {
		t.Fatalf("the stopped clean: %v\n%s", err, out.String())
	}
	s.client = real
	removed := 0
	for name := range devs {
		if _, err := real.DescribeThing(ctx, name); aws.IsKind(err, aws.KindNotFound) {
			removed++
		}
	}
	// Those it recorded are gone from the target (others in flight when it stopped may
	// be gone too, unrecorded), and the rest is not.
	recorded := len(journalIDs(t, filepath.Join(rep.Dir, fleetCleanedFile)))
	if recorded == 0 || recorded > removed || removed == 20 {
		t.Fatalf("the stopped clean recorded %d devices and removed %d of 20", recorded, removed)
	}
	actions, err = FleetCleanPlan(s, "all")
	if err != nil || len(actions) != 2 || !strings.Contains(actions[0].What, fmt.Sprintf("; %d already removed", recorded)) {
		t.Fatalf("resumed plan: %v %v", err, actions)
	}
	// As if killed before its record was written: it must still go through.
	if err := os.Truncate(filepath.Join(rep.Dir, fleetCleanedFile), 0); err != nil {
		t.Fatal(err)
	}
	actions, _ = FleetCleanPlan(s, "")
	out.Reset()
	if err := RunClean(ctx, s, actions, &out); err != nil {
		t.Fatalf("resumed clean: %v\n%s", err, out.String())
	}
	for name, id := range devs {
		if _, err := real.DescribeThing(ctx, name); !aws.IsKind(err, aws.KindNotFound) {
			t.Errorf("thing %s still there: %v", name, err)
		}
		if _, err := real.DescribeCertificate(ctx, id); !aws.IsKind(err, aws.KindNotFound) {
			t.Errorf("certificate of %s still there: %v", name, err)
		}
	}
	// The workspace's own device and the policy it holds stay.
	d := s.DeviceFor(DefaultThing)
	if desc, err := real.DescribeCertificate(ctx, d.CertID); err != nil || desc.Status != aws.StatusActive {
		t.Fatalf("the workspace's device: %v %+v", err, desc)
	}
	if _, err := real.GetPolicy(ctx, rep.Policies[0]); err != nil {
		t.Fatalf("the policy the workspace's device holds was deleted: %v", err)
	}
	// Idempotent: the fleet is recorded as removed, nothing is left to do for it.
	if actions, err := FleetCleanPlan(s, ""); err != nil || len(actions) != 0 {
		t.Fatalf("after the clean: %v %v", err, actions)
	}
	if _, err := FleetCleanPlan(s, "nosuch"); err == nil || !strings.Contains(err.Error(), rep.Fleet) {
		t.Fatalf("unknown fleet: %v", err)
	}
	// The names are free again.
	if _, err := NewFleet(ctx, s, FleetOptions{Devices: 2}); err != nil {
		t.Fatalf("names after the clean: %v", err)
	}
	// The full clean now removes the workspace's device, the policy and the CA.
	out.Reset()
	if err := s.Clean(ctx, &out); err != nil {
		t.Fatalf("clean: %v\n%s", err, out.String())
	}
	if _, err := real.GetPolicy(ctx, rep.Policies[0]); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("policy after the full clean: %v", err)
	}
}

// refusingClient refuses DeletePolicy as AWS does for a while after a policy's detach.
type refusingClient struct{ aws.Client }

func (c *refusingClient) DeletePolicy(_ context.Context, name string) error {
	return &aws.Error{Kind: aws.KindConflict, Op: "DeletePolicy", Code: "DeleteConflictException",
		Message: "The policy cannot be deleted as the policy is attached to one or more principals (name=" + name + ")"}
}

// clean --fleet with a policy only the fleet held, which AWS does not let it delete yet
// (--wait 0): the devices are removed, the policy is ✗ and recorded as pending, the clean
// says it is not finished, and the next clean deletes the policy.
func TestFleetCleanPendingPolicy(t *testing.T) {
	t.Parallel()
	s := completedInProcess(t)
	ctx := context.Background()
	rep := fleetOf20(t, s)
	pol := rep.Policies[0]
	// Only the fleet holds the policy: the workspace's device lets go of it.
	d := s.DeviceFor(DefaultThing)
	if err := s.client.DetachPolicy(ctx, pol, certARN(s, d.CertID)); err != nil {
		t.Fatal(err)
	}
	real := s.client
	s.client = &refusingClient{Client: real}
	s.Options.CleanWait = -1 // clean --wait 0
	actions, err := FleetCleanPlan(s, "all")
	if err != nil || len(actions) != 2 || actions[1].What != "delete policy "+abbrev(pol) {
		t.Fatalf("fleet clean plan: %v %v", err, actions)
	}
	var out bytes.Buffer
	err = RunClean(ctx, s, actions, &out)
	if err == nil || !strings.Contains(err.Error(), "clean is not finished") || !strings.Contains(out.String(), "✓ remove fleet "+rep.Fleet) ||
		!strings.Contains(out.String(), "✗ delete policy "+abbrev(pol)) || !strings.Contains(out.String(), "the next `jitpwiz clean` deletes it") {
		t.Fatalf("clean --fleet with the policy refused: %v\n%s", err, out.String())
	}
	s.client = real
	for name := range journalIDs(t, filepath.Join(rep.Dir, fleetJournalFile)) {
		if _, err := real.DescribeThing(ctx, name); !aws.IsKind(err, aws.KindNotFound) {
			t.Errorf("thing %s still there: %v", name, err)
		}
	}
	if _, err := real.GetPolicy(ctx, pol); err != nil {
		t.Fatalf("the refused policy: %v", err)
	}
	saved, err := Open(Options{Dir: s.dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := saved.PendingPolicyDeletes; len(got) != 1 || got[0] != pol {
		t.Fatalf("pendingPolicyDeletes saved %v, want [%s]", got, pol)
	}
	// The next clean finishes it (with the workspace's own device and the CA).
	out.Reset()
	if err := s.Clean(ctx, &out); err != nil || !strings.Contains(out.String(), "✓ delete policy "+abbrev(pol)) {
		t.Fatalf("the next clean: %v\n%s", err, out.String())
	}
	if _, err := real.GetPolicy(ctx, pol); !aws.IsKind(err, aws.KindNotFound) {
		t.Errorf("pending policy %s after the next clean: %v", pol, err)
	}
	if len(s.PendingPolicyDeletes) != 0 {
		t.Errorf("pendingPolicyDeletes not cleared: %v", s.PendingPolicyDeletes)
	}
}
