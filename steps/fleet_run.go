package steps

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Running a fleet (Fleet.Run: the issuing pipeline and the devices in flight), its report
// (report.json, also printed by `jitpwiz fleet --json`), its CSV (devices.csv) and the
// headless runner's lines.

// Run issues the devices and brings them online, Concurrency at a time and at most Rate
// starting per second, until every device has provisioned or failed, or ctx ends (the
// devices not started are then "not run"). Before any device connects, its certificate ID
// is in certificates.jsonl; at the end report.json and devices.csv are written (also when
// interrupted). The error is about the fleet itself (its files, an interruption); devices
// that fail are in the report (FleetReport.Err).
func (f *Fleet) Run(ctx context.Context) (*FleetReport, error) {
	f.mu.Lock()
	if f.rec != nil {
		f.mu.Unlock()
		return nil, i18n.NewError("fleet.ran-already")
	}
	now := f.clock.Now()
	f.rec = &fleetRecord{dir: filepath.Join(f.s.Path(FleetDir), newFleetID(f.s, now)), manifest: fleetManifest{
		Version: 1, Names: f.o.Names, Devices: f.o.Devices, KeyType: string(f.keyType), Target: targetID(f.s),
		CAID: f.s.CA.RegisteredID, KeysSaved: f.o.SaveKeys, Created: now.UTC()}}
	f.rec.manifest.ID = filepath.Base(f.rec.dir)
	f.start = now
	f.rows = make([]fleetRow, f.o.Devices)
	f.mu.Unlock()
	if err := pki.EnsureWorkspace(f.rec.dir); err != nil {
		return nil, err
	}
	if err := f.rec.saveManifest(); err != nil {
		return nil, err
	}
	journal, err := openAppendLog(f.rec.path(fleetJournalFile))
	if err != nil {
		return nil, err
	}
	f.tap = newFleetTap(f.s)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	work := make(chan *fleetDev, 2*f.o.Concurrency)
	var issuers sync.WaitGroup
	var jmu sync.Mutex
	var next atomic.Int64
	next.Store(2) // device 1 was issued by NewFleet
	var issueErr error
	var ieOnce sync.Once
	send := func(batch []*fleetDev) bool {
		lines := make([]any, len(batch))
		for i, d := range batch {
			lines[i] = d.fleetDevice
		}
		jmu.Lock()
		err := journal.write(lines...)
		jmu.Unlock()
		if err == nil && f.o.SaveKeys {
			for _, d := range batch {
				if err = f.saveKeys(d); err != nil {
					break
				}
			}
		}
		if err != nil {
			ieOnce.Do(func() { issueErr = err })
			cancel()
			return false
		}
		f.mu.Lock()
		f.issued += len(batch)
		for _, d := range batch {
			f.rows[d.idx-1].fleetDevice = d.fleetDevice
		}
		f.mu.Unlock()
		for _, d := range batch {
			select {
			case work <- d:
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	const batchSize = 16
	issuers.Add(1)
	go func() { // device 1 first, so a fleet of one starts at once
		defer issuers.Done()
		if !send([]*fleetDev{f.first}) {
			return
		}
		for range max(1, min(runtime.GOMAXPROCS(0), 4)) {
			issuers.Add(1)
			go func() {
				defer issuers.Done()
				for {
					from := int(next.Add(batchSize) - batchSize)
					if from > f.o.Devices || ctx.Err() != nil {
						return
					}
					var batch []*fleetDev
					for i := from; i < from+batchSize && i <= f.o.Devices; i++ {
						d, err := f.issue(i)
						if err != nil {
							ieOnce.Do(func() { issueErr = err })
							cancel()
							return
						}
						batch = append(batch, d)
					}
					if !send(batch) {
						return
					}
				}
			}()
		}
	}()
	go func() { issuers.Wait(); close(work) }()

	var workers sync.WaitGroup
	for range f.o.Concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for d := range work {
				if ctx.Err() != nil || f.limiter.Wait(ctx) != nil {
					continue // counted as not run
				}
				f.begin()
				f.finish(f.runDevice(ctx, d))
			}
		}()
	}
	workers.Wait()
	_ = journal.close()
	if f.tap != nil {
		f.tap.stop()
	}
	f.mu.Lock()
	f.end = f.clock.Now()
	f.interrupt = ctx.Err() != nil && issueErr == nil
	f.finished = true
	f.mu.Unlock()
	rep := f.report()
	f.rec.manifest.Finished = &rep.Finished
	f.rec.manifest.Interrupted = rep.Interrupted
	f.rec.manifest.Policies = rep.Policies
	err = errors.Join(issueErr, f.rec.saveManifest(), f.writeReport(rep))
	if issueErr == nil && rep.Interrupted && err == nil {
		err = i18n.NewError("fleet.interrupted", i18n.Args{"Ran": rep.Devices - rep.NotRun, "Devices": rep.Devices})
	}
	return rep, err
}

// saveKeys writes a device's key and certificates (--save-keys), as step 9 names them.
func (f *Fleet) saveKeys(d *fleetDev) error {
	dir := filepath.Join(f.rec.dir, fleetKeysDir, d.Name)
	if err := pki.EnsureWorkspace(dir); err != nil {
		return err
	}
	keyPEM, err := pki.EncodeKeyPEM(d.key)
	if err != nil {
		return err
	}
	leaf := pki.EncodeCertPEM(d.chain[0])
	for _, w := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{pki.FileDeviceKey, keyPEM, pki.KeyMode},
		{pki.FileDeviceCert, leaf, pki.CertMode},
		{pki.FileDeviceBundle, pki.Bundle(d.chain...), pki.CertMode},
	} {
		if err := pki.WriteFile(filepath.Join(dir, w.name), w.data, w.mode, false); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fleet) begin() {
	f.mu.Lock()
	f.started++
	f.inFlight++
	f.mu.Unlock()
}

func (f *Fleet) finish(r fleetRow) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight--
	f.done++
	f.rows[r.number-1] = r
	if r.Outcome == OutcomeProvisioned {
		f.provision++
		f.latencies = append(f.latencies, r.Total)
		return
	}
	f.failed++
	fc := f.failures[r.Cause]
	if fc == nil {
		fc = &FleetFailure{Phase: r.Phase, Cause: r.Cause, Fix: r.fix, Example: r.Name}
		f.failures[r.Cause] = fc
	}
	fc.Count++
}

// FleetReportSchema names the report's format; it changes when a field changes meaning.
const FleetReportSchema = "jitpwiz-fleet-report/1"

// FleetReport is report.json.
type FleetReport struct {
	Schema   string `json:"schema"`
	Fleet    string `json:"fleet"`    // the fleet's ID (its directory name)
	Dir      string `json:"dir"`      // the fleet's directory
	Report   string `json:"report"`   // this file
	CSV      string `json:"csv"`      // devices.csv
	Keys     string `json:"keys"`     // "memory", or the directory --save-keys wrote
	Target   string `json:"target"`   // local | aws
	Region   string `json:"region"`   // the target's region
	Endpoint string `json:"endpoint"` // the MQTT endpoint host:port
	CAID     string `json:"caCertificateId"`

	Names       string  `json:"names"`
	KeyType     string  `json:"keyType"`
	Devices     int     `json:"devices"`
	Concurrency int     `json:"concurrency"`
	RateLimit   float64 `json:"rateLimitPerSecond"` // 0: none
	RateSource  string  `json:"rateLimitSource,omitempty"`
	RateWaited  int     `json:"rateLimitedDevices"` // devices that waited for the rate limit

	Started         time.Time `json:"started"`
	Finished        time.Time `json:"finished"`
	DurationSeconds float64   `json:"durationSeconds"`
	Interrupted     bool      `json:"interrupted"`

	Provisioned   int            `json:"provisioned"`
	Failed        int            `json:"failed"`
	NotRun        int            `json:"notRun"`
	RatePerSecond float64        `json:"ratePerSecond"` // devices finished per second
	LatencyMs     FleetLatency   `json:"latencyMs"`     // of the provisioned devices
	Failures      []FleetFailure `json:"failures"`
	Policies      []string       `json:"policies"` // attached to the certificates by JITP
	Warnings      []string       `json:"warnings"`
}

// FleetLatency is how long a provisioned device took from its first connect until the
// PUBACK of its publish, in milliseconds.
type FleetLatency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Err is nil when every device provisioned, else what went wrong, in one line — a
// ReportedError: the summary lines said it already.
func (r *FleetReport) Err() error {
	if r.Provisioned == r.Devices {
		return nil
	}
	var parts []string
	for _, f := range r.Failures {
		parts = append(parts, fmt.Sprintf("%d × %s", f.Count, f.Cause))
	}
	if r.NotRun > 0 {
		parts = append(parts, i18n.T("fleet.err.not-run", i18n.Args{"N": r.NotRun}))
	}
	return &ReportedError{Err: i18n.NewError("fleet.err.not-provisioned", i18n.Args{"Failed": r.Devices - r.Provisioned, "Devices": r.Devices, "Causes": strings.Join(parts, "; ")})}
}

// fleetCSVHeader are devices.csv's columns: the device (certificate CN), the thing JITP
// makes of it, its certificate ID; outcome (provisioned | failed | not-run), the phase it
// failed in (first connect | reconnect as the thing | publish) and the cause in plain
// words; when it started (ms since the fleet started) and how long each phase took, in
// milliseconds: the first connect (until the broker dropped it), the reconnect as the
// thing (retries included), the publish (until PUBACK), and all three; and how many
// reconnects it took.
var fleetCSVHeader = []string{"device", "thing", "certificate_id", "outcome", "phase", "cause",
	"start_ms", "first_connect_ms", "reconnect_ms", "publish_ms", "total_ms", "reconnect_attempts"}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func msText(d time.Duration) string { return strconv.FormatFloat(msf(d), 'f', 3, 64) }

// report builds the report of a finished run.
func (f *Fleet) report() *FleetReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.s
	r := &FleetReport{
		Schema: FleetReportSchema, Fleet: f.rec.manifest.ID, Dir: f.rec.dir,
		Report: f.rec.path(fleetReportFile), CSV: f.rec.path(fleetCSVFile), Keys: "memory",
		Target: s.Options.Target, Region: s.Region, Endpoint: fmt.Sprintf("%s:%d", s.Endpoint.Host, s.Endpoint.Port),
		CAID: s.CA.RegisteredID, Names: f.o.Names, KeyType: string(f.keyType), Devices: f.o.Devices,
		Concurrency: f.o.Concurrency, RateLimit: f.o.Rate, RateWaited: f.limiter.State().Delayed,
		Started: f.start.UTC(), Finished: f.end.UTC(), DurationSeconds: f.end.Sub(f.start).Seconds(),
		Interrupted: f.interrupt, Provisioned: f.provision, Failed: f.failed, NotRun: f.o.Devices - f.done,
		Failures: f.failureList(), Policies: []string{}, Warnings: append([]string{}, f.warnings...),
	}
	if f.o.SaveKeys {
		r.Keys = f.rec.path(fleetKeysDir)
	}
	if s.Options.Target == TargetAWS && f.o.Rate > 0 && !f.o.RateSet {
		r.RateSource = FleetAWSQuotas
	}
	if r.DurationSeconds > 0 {
		r.RatePerSecond = float64(f.done) / r.DurationSeconds
	}
	lat := sortedDurations(f.latencies)
	r.LatencyMs = FleetLatency{P50: msf(quantile(lat, .5)), P90: msf(quantile(lat, .9)), P99: msf(quantile(lat, .99)), Max: msf(quantile(lat, 1))}
	// The policies JITP attached: asked of one provisioned device (they share the template).
	for _, row := range f.rows {
		if row.Outcome != OutcomeProvisioned || s.client == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if pols, err := s.client.ListAttachedPolicies(ctx, certARN(s, row.CertID)); err == nil {
			for _, p := range pols {
				r.Policies = append(r.Policies, p.Name)
			}
		}
		cancel()
		break
	}
	return r
}

// writeReport writes report.json and devices.csv (atomically, 0644).
func (f *Fleet) writeReport(r *FleetReport) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := pki.WriteFile(r.Report, append(b, '\n'), pki.CertMode, true); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := f.writeCSV(&buf); err != nil {
		return err
	}
	return pki.WriteFile(r.CSV, buf.Bytes(), pki.CertMode, true)
}

// writeCSV writes devices.csv: the header, then one row per device in device order.
func (f *Fleet) writeCSV(w io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cw := csv.NewWriter(w)
	if err := cw.Write(fleetCSVHeader); err != nil {
		return err
	}
	for i, row := range f.rows {
		if row.Name == "" { // never issued (interrupted)
			row.Name = f.names.name(i + 1)
		}
		if row.Outcome == "" {
			row.Outcome = OutcomeNotRun
		}
		rec := []string{row.Name, row.Thing, row.CertID, row.Outcome, row.Phase, row.Cause, "", "", "", "", "", ""}
		if row.Outcome != OutcomeNotRun {
			rec[6], rec[7], rec[8] = msText(row.Start), msText(row.First), msText(row.Reconnect)
			rec[9], rec[10], rec[11] = msText(row.Publish), msText(row.Total), strconv.Itoa(row.Attempts)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Headline says what the fleet is about to do, in one line.
func (f *Fleet) Headline() string {
	o := f.o
	limit := i18n.T("fleet.headline.no-limit")
	if o.Rate > 0 {
		limit = i18n.T("fleet.headline.limit", i18n.Args{"Rate": strconv.FormatFloat(o.Rate, 'g', -1, 64)})
	}
	return i18n.N("fleet.headline", o.Devices, i18n.Args{"First": f.names.name(1), "Last": f.names.name(o.Devices), "Concurrency": o.Concurrency,
		"Limit": limit, "Target": describeTarget(f.s)})
}

// Notes are what to know before the fleet starts: where the default rate limit comes from.
func (f *Fleet) Notes() []string {
	if f.o.Rate > 0 && f.s.Options.Target == TargetAWS && !f.o.RateSet {
		return []string{i18n.T("fleet.note.rate", i18n.Args{"Rate": strconv.FormatFloat(f.o.Rate, 'g', -1, 64)})}
	}
	return nil
}

// ProgressLine is one headless progress line.
func (p FleetProgress) ProgressLine() string {
	var b strings.Builder
	b.WriteString("  " + i18n.T("fleet.progress.done", i18n.Args{"Done": p.Done, "Devices": p.Devices, "Provisioned": p.Provisioned, "Failed": p.Failed}))
	if p.InFlight > 0 {
		b.WriteString(" · " + i18n.T("fleet.progress.in-flight", i18n.Args{"N": p.InFlight}))
	}
	b.WriteString(" · " + i18n.T("fleet.progress.rate", i18n.Args{"Rate": fmt.Sprintf("%.1f", p.Rate)}))
	if p.Provisioned > 0 {
		fmt.Fprintf(&b, " · p50 %s p99 %s", fmtDur(p.P50), fmtDur(p.P99))
	}
	if p.Limiter.Waiting > 0 {
		b.WriteString(" · " + i18n.T("fleet.progress.waiting", i18n.Args{"N": p.Limiter.Waiting}))
	}
	return b.String()
}

// SummaryLines are the last lines of a fleet: the outcome, the failures by cause, and
// where the report is.
func (r *FleetReport) SummaryLines(show func(string) string) []string {
	if show == nil {
		show = func(p string) string { return p }
	}
	mark := "✓"
	if r.Provisioned != r.Devices {
		mark = "✗"
	}
	latency := ""
	if r.Provisioned > 0 {
		latency = fmt.Sprintf(", p50 %.0f ms, p99 %.0f ms", r.LatencyMs.P50, r.LatencyMs.P99)
	}
	out := []string{mark + " " + i18n.T("fleet.summary.head", i18n.Args{"Provisioned": r.Provisioned, "Devices": r.Devices,
		"Time": fmtDur(time.Duration(r.DurationSeconds * float64(time.Second))), "Rate": fmt.Sprintf("%.1f", r.RatePerSecond), "Latency": latency})}
	for _, f := range r.Failures {
		key := i18n.Key("fleet.summary.failed")
		if f.Fix != "" {
			key = "fleet.summary.failed-fix"
		}
		out = append(out, "  "+i18n.T(key, i18n.Args{"N": f.Count, "Cause": f.Cause, "Fix": f.Fix}))
	}
	if r.NotRun > 0 {
		out = append(out, "  "+i18n.T("fleet.summary.not-run", i18n.Args{"N": r.NotRun}))
	}
	out = append(out, "  "+i18n.T("fleet.summary.files", i18n.Args{"Report": show(r.Report), "CSV": show(r.CSV)}))
	return out
}

// FleetHeadless is where the headless fleet writes.
type FleetHeadless struct {
	Out io.Writer // progress lines and the summary; with JSON, the report
	Log io.Writer // with JSON, the progress lines and the summary
	// JSON prints the report (report.json's content) to Out at the end.
	JSON bool
	// ShowPath turns a path into what is shown (nil: as is).
	ShowPath func(string) string
}

// RunHeadless runs the fleet without the live view: a line saying what it does, a progress
// line at every tenth of the devices (and at least every 10 s), then the summary.
func (f *Fleet) RunHeadless(ctx context.Context, h FleetHeadless) (*FleetReport, error) {
	w := h.Out
	if h.JSON {
		w = h.Log
	}
	if w == nil {
		w = io.Discard
	}
	fmt.Fprintln(w, i18n.T("fleet.headless.headline", i18n.Args{"Headline": f.Headline()}))
	for _, n := range f.Notes() {
		fmt.Fprintln(w, "  "+n)
	}
	for _, warn := range f.Warnings() {
		fmt.Fprintln(w, "  "+i18n.T("fleet.headless.warning", i18n.Args{"Warning": warn}))
	}
	type result struct {
		r   *FleetReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := f.Run(ctx)
		done <- result{r, err}
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	step := max(100, f.o.Devices/10) // a line at every tenth, for fleets of 1,000 and more
	nextMark, lastLine := step, time.Now()
	for {
		select {
		case res := <-done:
			if res.r != nil {
				for _, l := range res.r.SummaryLines(h.ShowPath) {
					fmt.Fprintln(w, l)
				}
				if res.err != nil {
					fmt.Fprintln(w, "✗ "+res.err.Error())
					res.err = &ReportedError{Err: res.err}
				}
				if h.JSON {
					b, err := json.MarshalIndent(res.r, "", "  ")
					if err != nil {
						return res.r, err
					}
					fmt.Fprintln(h.Out, string(b))
				}
			}
			return res.r, res.err
		case <-tick.C:
			p := f.Progress()
			if p.Done >= nextMark || time.Since(lastLine) >= 10*time.Second {
				if p.Done >= nextMark {
					nextMark = (p.Done/step + 1) * step
				}
				if p.Done < f.o.Devices {
					fmt.Fprintln(w, p.ProgressLine())
				}
				lastLine = time.Now()
			}
		}
	}
}

// OpenFleetWorkspace opens the workspace of `jitpwiz fleet` (Open, with the error for a
// directory that is no workspace saying how to make one).
func OpenFleetWorkspace(o Options) (*Session, error) {
	if o.Dir != "" && !pki.FileExists(filepath.Join(o.Dir, SessionFile)) {
		return nil, i18n.WrapError(ErrFleetNeedsCA, "fleet.needs-ca.no-workspace", i18n.Args{"Dir": o.Dir, "File": SessionFile, "DirArg": pki.ShellQuote(o.Dir)})
	}
	return OpenExisting(o)
}
