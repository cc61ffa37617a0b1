package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The fleet command measured as a user runs it: `jitpwiz fleet -n N --json` on a workspace
// that `jitpwiz run --yes --key ec256` completed, against that workspace's `jitpwiz local`
// (a separate process, as for the reference loop). It is measured right after the
// reference loop at the same size, which stays the measure of the local core: the loop
// sends raw MQTT CONNECTs with one shared key, so its rate is the broker's; the fleet
// command also makes a key and a certificate per device, uses paho's client and publishes
// once as the thing, so its rate is what a user of `jitpwiz fleet` gets, and the ratio
// of the two is the cost of all that.

// fleetCmdRun is one `jitpwiz fleet` run.
type fleetCmdRun struct {
	n           int
	report      fleetReport
	first, last float64 // devices/s over the first and the last 1,000 to finish
	brokerCPU   float64 // jitpwiz local's CPU ms per device
	// CPU ms per device of the fleet process and of jitpwiz local over the first and the
	// last tenth of the devices (as the fleet's progress lines mark them).
	fleetCPU, localCPU [2]float64
	rss                int64   // peak RSS of the fleet process (KiB)
	localRSS           int64   // peak RSS of jitpwiz local (KiB)
	reference          float64 // the reference loop's provisionings/s at the same size
	wall               time.Duration
}

// fleetReport is what the benchmark reads of report.json.
type fleetReport struct {
	Provisioned   int     `json:"provisioned"`
	Failed        int     `json:"failed"`
	Devices       int     `json:"devices"`
	RatePerSecond float64 `json:"ratePerSecond"`
	Duration      float64 `json:"durationSeconds"`
	CSV           string  `json:"csv"`
	LatencyMs     struct {
		P50, P90, P99, Max float64
	} `json:"latencyMs"`
	Failures []struct {
		Cause string `json:"cause"`
		Count int    `json:"count"`
	} `json:"failures"`
}

func runFleetCmd(c config, tmp string, n int) (fleetCmdRun, error) {
	fr := fleetCmdRun{n: n}
	ws := filepath.Join(tmp, fmt.Sprintf("fleetcmd-%d", n))
	if _, _, err := execTime(exec.Command(c.bin, "run", "--dir", ws, "--yes", "--key", "ec256", "--ca-org", "BenchFleet")); err != nil {
		return fr, err
	}
	lc, err := startLocal(c.bin, ws)
	if err != nil {
		return fr, err
	}
	defer lc.stop()
	cpu0 := lc.cpuSeconds()
	cmd := exec.Command(c.bin, "fleet", "--dir", ws, "-n", strconv.Itoa(n), "--concurrency", strconv.Itoa(c.conc), "--json")
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	t := time.Now()
	if err := cmd.Start(); err != nil {
		return fr, err
	}
	// At the headline and at each progress line ("  D/N done · …", every tenth of the
	// devices), both processes' CPU so far.
	marks := []cpuMark{{0, 0, cpu0}}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			errOut.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "fleet: ") { // the headline: the fleet starts now (start-up not counted)
				marks[0] = cpuMark{0, procCPUSeconds(cmd.Process.Pid), lc.cpuSeconds()}
			}
			if m := reProgress.FindStringSubmatch(sc.Text()); m != nil {
				d, _ := strconv.Atoi(m[1])
				marks = append(marks, cpuMark{d, procCPUSeconds(cmd.Process.Pid), lc.cpuSeconds()})
			}
		}
	}()
	err = cmd.Wait()
	pw.Close()
	<-scanned
	fr.wall = time.Since(t)
	end := lc.cpuSeconds()
	fr.brokerCPU = 1000 * (end - cpu0) / float64(n)
	fr.localRSS = lc.peakRSS()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fr.rss = ru.Maxrss
		total := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
		marks = append(marks, cpuMark{n, total, end})
	}
	fr.fleetCPU, fr.localCPU = cpuWindows(marks, n)
	if jerr := json.Unmarshal(out.Bytes(), &fr.report); jerr != nil {
		return fr, fmt.Errorf("jitpwiz fleet -n %d: %v, no report (%v)\n%s", n, err, jerr, lastLines(errOut.String(), 15))
	}
	if err != nil || fr.report.Provisioned != n {
		return fr, fmt.Errorf("jitpwiz fleet -n %d: %v: %d provisioned, failures %+v\n%s", n, err, fr.report.Provisioned, fr.report.Failures, lastLines(errOut.String(), 15))
	}
	done, err := fleetCompletions(fr.report.CSV)
	if err != nil {
		return fr, err
	}
	res := jitpResult{done: done}
	w := min(1000, n)
	fr.first, fr.last = res.windowRate(0, w), res.windowRate(n-w, n)
	return fr, nil
}

// cpuMark is both processes' CPU seconds when done devices had finished.
type cpuMark struct {
	done         int
	fleet, local float64
}

var reProgress = regexp.MustCompile(`^\s+(\d+)/\d+ done`)

// cpuWindows are the CPU ms per device of the fleet and of jitpwiz local over the first and
// the last tenth of the devices: from the start to the first mark, and from the last mark
// before the end to the end.
func cpuWindows(marks []cpuMark, n int) (fleet, local [2]float64) {
	if len(marks) < 3 {
		return
	}
	per := func(a, b cpuMark) (float64, float64) {
		d := float64(b.done - a.done)
		if d <= 0 {
			return 0, 0
		}
		return 1000 * (b.fleet - a.fleet) / d, 1000 * (b.local - a.local) / d
	}
	fleet[0], local[0] = per(marks[0], marks[1])
	fleet[1], local[1] = per(marks[len(marks)-2], marks[len(marks)-1])
	return
}

// fleetCompletions are the times (since the fleet started) at which its provisioned devices
// finished, sorted: devices.csv's start_ms + total_ms.
func fleetCompletions(path string) ([]time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, fmt.Errorf("%s: %v (%d rows)", path, err, len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var out []time.Duration
	for _, r := range rows[1:] {
		if r[col["outcome"]] != "provisioned" {
			continue
		}
		start, err1 := strconv.ParseFloat(r[col["start_ms"]], 64)
		total, err2 := strconv.ParseFloat(r[col["total_ms"]], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: row %v", path, r)
		}
		out = append(out, time.Duration((start+total)*float64(time.Millisecond)))
	}
	slices.Sort(out)
	return out, nil
}

func writeFleetCmd(c config, r *report, runs []fleetCmdRun) {
	if len(runs) == 0 {
		return
	}
	r.printf("## `jitpwiz fleet` at fleet size\n\n")
	r.printf("`jitpwiz fleet -n N --concurrency %d --json` (EC P-256 device keys, one new key and certificate per device, the\n", c.conc)
	r.printf("scoped template) on a workspace `jitpwiz run --yes --key ec256` completed, against that workspace's `jitpwiz local`,\n")
	r.printf("right after the reference loop above at the same size. Per device: first connect (dropped while JITP provisions),\n")
	r.printf("reconnect as the thing, one QoS 1 publish until PUBACK. The rates and latencies are the fleet's own report\n")
	r.printf("(report.json) and devices.csv (first and last 1,000 to finish); the reference loop makes no keys, shares one\n")
	r.printf("and sends raw MQTT, so the fleet's rate over the loop's is what the fleet command itself costs.\n\n")
	r.printf("CPU per device is each process's user + system time over the first and the last tenth of the devices (from the\n")
	r.printf("fleet's headline to its first progress line, and from its last progress line to its exit), per device finished: like\n")
	r.printf("the broker's above, it does not depend on the machine's load. The fleet's first tenth also pays for filling its\n")
	r.printf("pipeline (certificates are issued ahead of the devices that connect), its last tenth for writing the report.\n\n")
	r.printf("| devices | fleet devices/s | reference loop provisionings/s | fleet ÷ loop | first 1,000 | last 1,000 | p50 | p99 | fleet CPU per device, first → last tenth | broker CPU per device, first → last tenth | fleet process peak RSS | `jitpwiz local` peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var raw []string
	for _, f := range runs {
		r.printf("| %d | %.1f | %.1f | %.0f%% | %.1f/s | %.1f/s | %.0f ms | %.0f ms | %.2f → %.2f ms | %.2f → %.2f ms | %.1f MB | %.1f MB |\n", f.n, f.report.RatePerSecond, f.reference,
			100*f.report.RatePerSecond/f.reference, f.first, f.last, f.report.LatencyMs.P50, f.report.LatencyMs.P99,
			f.fleetCPU[0], f.fleetCPU[1], f.localCPU[0], f.localCPU[1], float64(f.rss)/1024, float64(f.localRSS)/1024)
		raw = append(raw, fmt.Sprintf("%d: %d provisioned in %.3fs (the process ran %s), p90 %.0f ms, max %.0f ms", f.n, f.report.Provisioned, f.report.Duration, f.wall.Round(time.Millisecond), f.report.LatencyMs.P90, f.report.LatencyMs.Max))
	}
	big := runs[len(runs)-1]
	r.target(big.last >= 0.8*big.first, "`jitpwiz fleet`: last 1,000 within 20%% of the first 1,000, i.e. no more than 20%% slower (EC P-256, %d devices): %.1f/s vs %.1f/s (%+.0f%%); CPU per device, first → last tenth: the fleet %.2f → %.2f ms, the broker %.2f → %.2f ms",
		big.n, big.last, big.first, 100*(big.last/big.first-1), big.fleetCPU[0], big.fleetCPU[1], big.localCPU[0], big.localCPU[1])
	r.printf("\nRaw: %s\n\n", strings.Join(raw, "; "))
}

// cpuSeconds is jitpwiz local's user + system CPU time so far.
func (lc *localCore) cpuSeconds() float64 { return procCPUSeconds(lc.cmd.Process.Pid) }

// procCPUSeconds is a process's user + system CPU time so far (/proc/<pid>/stat, in clock
// ticks of 1/100 s, Linux's USER_HZ).
func procCPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:]) // fields from 3 (state) on
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}
