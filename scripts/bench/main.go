// Command bench measures jitpwiz and its local IoT Core and writes docs/benchmarks.md
// (`make bench`). Every comparison is measured in the same run, its two sides
// alternated, so that the ratios hold on any machine; the absolute figures are this
// machine's. It drives the built binary (bin/jitpwiz) the way a user does: `jitpwiz
// local` as a separate process for the control plane and the broker, `jitpwiz run`,
// the wizard in a pseudo-terminal, and the walkthrough as a shell script with the real
// openssl, AWS CLI and mosquitto_pub.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/jitpwiz/jitpwiz/pki"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

type config struct {
	bin     string
	out     string
	devices []int // JITP fleet sizes
	things  []int // CreateThing/ListThings sizes
	rounds  int   // A/B rounds for run vs script and the wizard
	conc    int
	awsCLI  string
	only    string // run only the sections whose name contains this
}

func main() {
	var c config
	var devices, things string
	flag.StringVar(&c.bin, "bin", "bin/jitpwiz", "the jitpwiz binary to measure")
	flag.StringVar(&c.out, "out", "docs/benchmarks.md", "report file")
	flag.StringVar(&devices, "devices", "1000,10000", "JITP fleet sizes")
	flag.StringVar(&things, "things", "10,1000,10000", "thing counts for CreateThing/ListThings")
	flag.IntVar(&c.rounds, "rounds", 3, "A/B rounds of the headless run vs the walkthrough script, and wizard starts")
	flag.IntVar(&c.conc, "concurrency", 32, "devices connecting at once")
	flag.StringVar(&c.awsCLI, "aws", "/usr/bin/aws", "the AWS CLI the walkthrough script uses")
	flag.StringVar(&c.only, "only", "", "run only the sections whose name contains this (e.g. JITP)")
	flag.Parse()
	c.devices, c.things = ints(devices), ints(things)
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// report collects the sections of docs/benchmarks.md.
type report struct {
	b       strings.Builder
	targets []string
}

func (r *report) printf(format string, a ...any) { fmt.Fprintf(&r.b, format, a...) }

func (r *report) target(ok bool, format string, a ...any) {
	mark := "met"
	if !ok {
		mark = "**not met**"
	}
	r.targets = append(r.targets, fmt.Sprintf("| %s | %s |", fmt.Sprintf(format, a...), mark))
}

func progress(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...) }

func run(c config) error {
	bin, err := filepath.Abs(c.bin)
	if err != nil {
		return err
	}
	c.bin = bin
	tmp, err := os.MkdirTemp("", "jitpwiz-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var r report
	start := time.Now()
	steps := []struct {
		name string
		fn   func(c config, tmp string, r *report) error
	}{
		{"start-up", benchStartup},
		{"headless run vs walkthrough script", benchRunVsScript},
		{"JITP vs bare handshakes", benchJITP},
		{"CreateThing / ListThings", benchThings},
		{"wizard exec → first frame", benchWizard},
	}
	var body report
	for _, s := range steps {
		if !strings.Contains(s.name, c.only) {
			continue
		}
		progress("%s…", s.name)
		if err := s.fn(c, tmp, &body); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	r.printf("# Benchmarks\n\nWritten by `make bench` (`go run ./scripts/bench`) on %s, in %s. Comparisons are measured in the same run with\n", start.UTC().Format("2006-01-02 15:04 UTC"), time.Since(start).Round(time.Second))
	r.printf("their two sides alternated (A, B, A, B, …), so the ratios are what to compare across machines; absolute figures are\nthis machine's. Raw figures are below each table.\n\n")
	r.printf("## Machine\n\n%s\n", machine(c))
	r.printf("## Targets\n\n| target (issue 13) | result |\n|---|---|\n%s\n\n", strings.Join(body.targets, "\n"))
	r.b.WriteString(body.b.String())
	r.b.WriteString(keptSections(c.out))
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(c.out, []byte(r.b.String()), 0o644)
}

// keptSections is what of the report at path other benchmarks wrote and this one must keep:
// the "## Soak" section of `make soak`, from its heading to the end of the file.
func keptSections(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if i := strings.Index(string(b), "\n## Soak\n"); i >= 0 {
		return string(b[i+1:]) // the report ends with a blank line already
	}
	return ""
}

func machine(c config) string {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); m != nil {
			cpu = string(m[1])
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`MemTotal:\s*(\d+) kB`).FindSubmatch(b); m != nil {
			kb, _ := strconv.Atoi(string(m[1]))
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	ver, _ := exec.Command(c.bin, "version").Output()
	cli, _ := exec.Command(c.awsCLI, "--version").CombinedOutput()
	osl, _ := exec.Command("openssl", "version").Output()
	mq, _ := exec.Command("mosquitto_pub", "--help").CombinedOutput()
	mqv := regexp.MustCompile(`mosquitto_pub version \S+`).Find(mq)
	return fmt.Sprintf("- CPU: %s, %d cores (GOMAXPROCS %d); memory %s; %s\n- %s, built by %s\n- %s; %s; %s\n",
		cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), mem, strings.TrimSpace(string(kernel)),
		strings.TrimSpace(string(ver)), runtime.Version(), strings.TrimSpace(string(cli)), strings.TrimSpace(string(osl)), mqv)
}

// ---- processes ----

// execTime runs cmd and returns its wall time and peak RSS (KiB).
func execTime(cmd *exec.Cmd) (time.Duration, int64, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t := time.Now()
	err := cmd.Run()
	d := time.Since(t)
	if err != nil {
		return d, 0, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, lastLines(out.String(), 15))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return d, rss, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// localCore is `jitpwiz local` running as its own process.
type localCore struct {
	core
	cmd *exec.Cmd
}

var (
	reEndpoint = regexp.MustCompile(`Control plane \(IoT, IAM, STS\)\s+(\S+)`)
	reMQTT     = regexp.MustCompile(`MQTT over TLS, mutual auth\s+(\S+):(\d+)`)
	reCA       = regexp.MustCompile(`Server CA \(--cafile\)\s+(\S+)`)
)

func startLocal(bin, dir string) (*localCore, error) {
	cmd := exec.Command(bin, "local", "--dir", dir, "--api-port", "0", "--mqtt-port", "0")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lc := &localCore{cmd: cmd}
	sc := bufio.NewScanner(pr)
	var banner strings.Builder
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Events (Ctrl+C to stop)") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	b := banner.String()
	m1, m2, m3 := reEndpoint.FindStringSubmatch(b), reMQTT.FindStringSubmatch(b), reCA.FindStringSubmatch(b)
	if m1 == nil || m2 == nil || m3 == nil {
		lc.stop()
		return nil, fmt.Errorf("jitpwiz local did not print its banner:\n%s", b)
	}
	lc.endpoint, lc.host = m1[1], m2[1]
	lc.port, _ = strconv.Atoi(m2[2])
	var err error
	if lc.serverCA, err = os.ReadFile(m3[1]); err != nil {
		lc.stop()
		return nil, err
	}
	return lc, nil
}

// peakRSS is the process's high-water resident set (VmHWM), in KiB.
func (lc *localCore) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", lc.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmHWM:\s*(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

func (lc *localCore) stop() {
	_ = lc.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = lc.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = lc.cmd.Process.Kill()
		<-done
	}
}

// ---- statistics ----

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func list(d []time.Duration) string {
	var s []string
	for _, x := range d {
		s = append(s, fmt.Sprintf("%.1f", float64(x.Microseconds())/1000))
	}
	return strings.Join(s, " ")
}

// ---- start-up ----

func benchStartup(c config, tmp string, r *report) error {
	ws := filepath.Join(tmp, "startup")
	if _, _, err := execTime(exec.Command(c.bin, "run", "--dir", ws, "--yes", "--key", "ec256")); err != nil {
		return err
	}
	const n = 21
	var version, noop []time.Duration
	for i := 0; i < n; i++ {
		d, _, err := execTime(exec.Command(c.bin, "version"))
		if err != nil {
			return err
		}
		version = append(version, d)
		d, _, err = execTime(exec.Command(c.bin, "run", "--dir", ws))
		if err != nil {
			return err
		}
		noop = append(noop, d)
	}
	cmd := exec.Command(c.bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	trace, _ := cmd.CombinedOutput()
	var inits time.Duration
	var top []string
	re := regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, ([\d.]+) ms clock`)
	type init struct {
		pkg string
		d   time.Duration
	}
	var all []init
	for _, m := range re.FindAllStringSubmatch(string(trace), -1) {
		f, _ := strconv.ParseFloat(m[2], 64)
		d := time.Duration(f * float64(time.Millisecond))
		inits += d
		all = append(all, init{m[1], d})
	}
	slices.SortFunc(all, func(a, b init) int { return int(b.d - a.d) })
	for _, x := range all[:min(3, len(all))] {
		top = append(top, fmt.Sprintf("%s %s", x.pkg, ms(x.d)))
	}
	r.printf("## Start-up\n\nExec → exit of `jitpwiz version` and of a no-op re-run (`jitpwiz run --dir WS` on a finished workspace), %d runs each, alternated.\n\n", n)
	r.printf("| command | median | p90 |\n|---|---|---|\n| `jitpwiz version` | %s | %s |\n| no-op `jitpwiz run` | %s | %s |\n\n", ms(median(version)), ms(quantile(version, .9)), ms(median(noop)), ms(quantile(noop, .9)))
	r.printf("`GODEBUG=inittrace=1 jitpwiz version`: package init functions take %s in all; the slowest: %s.\n", ms(inits), strings.Join(top, ", "))
	r.printf("go-runewidth is v0.0.31, which builds its width table on the first lookup of a rune above U+02FF; v0.0.27 built it in its\ninit function (about 40 ms on this machine, in every command).\n\n")
	r.printf("Raw (ms): version %s; no-op run %s\n\n", list(version), list(noop))
	r.target(median(version) < 15*time.Millisecond && median(noop) < 15*time.Millisecond, "exec → output < 15 ms: version %s, no-op run %s (medians)", ms(median(version)), ms(median(noop)))
	return nil
}

// ---- headless run vs the walkthrough script ----

func benchRunVsScript(c config, tmp string, r *report) error {
	script, err := filepath.Abs(filepath.Join("scripts", "bench", "walkthrough.sh"))
	if err != nil {
		return err
	}
	lc, err := startLocal(c.bin, filepath.Join(tmp, "script-core"))
	if err != nil {
		return err
	}
	defer lc.stop()
	caFile := filepath.Join(tmp, "script-core", ".local-iot", "awsRootCA.pem")
	r.printf("## Full headless run vs the walkthrough script\n\n")
	r.printf("`jitpwiz run --dir NEW --yes --key K` (its own in-process local IoT Core, all 13 steps) against `scripts/bench/walkthrough.sh`:\n")
	r.printf("the walkthrough's commands with openssl, %s and mosquitto_pub against a `jitpwiz local` started beforehand\n(not timed), %d rounds per key type, alternated. The script's time is dominated by the AWS CLI's start-up (one Python\nprocess per call, 10 calls).\n\n", c.awsCLI, c.rounds)
	r.printf("| keys | headless run (median) | script (median) | script ÷ run | peak RSS of the run |\n|---|---|---|---|---|\n")
	var raw []string
	for _, kt := range []struct{ flag, script, name string }{{"rsa2048", "rsa", "RSA-2048"}, {"ec256", "ec", "EC P-256"}} {
		var runs, scripts []time.Duration
		var rss int64
		for i := 0; i < c.rounds; i++ {
			org := fmt.Sprintf("Bench%s%d", kt.script, i)
			d, peak, err := execTime(exec.Command(c.bin, "run", "--dir", filepath.Join(tmp, "run-"+org), "--yes", "--key", kt.flag, "--ca-org", org))
			if err != nil {
				return err
			}
			runs, rss = append(runs, d), max(rss, peak)
			sdir := filepath.Join(tmp, "script-"+org)
			if err := os.MkdirAll(sdir, 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(sdir, "jitp_template.json"), templateJSON, 0o600); err != nil {
				return err
			}
			cmd := exec.Command("bash", script, lc.endpoint, lc.host, strconv.Itoa(lc.port), caFile, "Thing"+org, org, kt.script)
			cmd.Dir = sdir
			cmd.Env = append(os.Environ(), "AWSCLI="+c.awsCLI, "AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
			d, _, err = execTime(cmd)
			if err != nil {
				return err
			}
			scripts = append(scripts, d)
		}
		ratio := float64(median(scripts)) / float64(median(runs))
		r.printf("| %s | %s | %s | %.1f× | %.1f MB |\n", kt.name, ms(median(runs)), ms(median(scripts)), ratio, float64(rss)/1024)
		raw = append(raw, fmt.Sprintf("%s: run %s; script %s", kt.name, list(runs), list(scripts)))
		if kt.flag == "rsa2048" {
			r.target(ratio >= 25, "full headless run ≥ 25× faster than the walkthrough script (RSA-2048): %.1f×", ratio)
		}
	}
	r.printf("\nRaw (ms): %s\n\n", strings.Join(raw, "; "))
	return nil
}

// ---- JITP at fleet size vs bare handshakes ----

func benchJITP(c config, tmp string, r *report) error {
	r.printf("## JITP at fleet size vs a bare mutual-TLS handshake loop\n\n")
	r.printf("Each device: first connect with device + CA certificate (the broker provisions and drops it), then connect again as\nthe thing with its own certificate and get CONNACK 0 — two TLS connections. %d devices at a time against `jitpwiz local`\n(a separate process, a fresh workspace per fleet). The bare loop is Go's crypto/tls on loopback in the benchmark process:\na server with an EC P-256 certificate like the broker's, requiring client certificates, and clients with the same key type\nas the devices; %d handshakes, %d at a time, run before and after each fleet. The limit for JITP is half the handshake rate.\n", c.conc, 3000, c.conc)
	r.printf("The broker's CPU per provisioning is `jitpwiz local`'s user + system CPU time (/proc/<pid>/stat) over the first and the\nlast 1,000 devices, divided by 1,000: unlike the rates, it does not depend on what else the machine runs, so it tells\nwhether the local core itself slows down as devices accumulate.\n\n")
	r.printf("| device keys | devices | handshakes/s (before, after) | JITP/s overall | first 1,000 | last 1,000 | broker CPU per provisioning, first → last 1,000 | JITP ÷ (handshakes ÷ 2) | `jitpwiz local` peak RSS |\n|---|---|---|---|---|---|---|---|---|\n")
	var raw []string
	var fleets []fleetCmdRun
	for _, kt := range []struct {
		t    pki.KeyType
		name string
	}{{pki.RSA2048, "RSA-2048"}, {pki.EC256, "EC P-256"}} {
		for _, n := range c.devices {
			h1, err := handshakeRate(kt.t, 3000, c.conc)
			if err != nil {
				return err
			}
			dir := filepath.Join(tmp, fmt.Sprintf("fleet-%s-%d", kt.t, n))
			lc, err := startLocal(c.bin, dir)
			if err != nil {
				return err
			}
			ca, err := registerFleetCA(context.Background(), lc.core, "Fleet")
			if err != nil {
				lc.stop()
				return err
			}
			devs, err := issueDevices(ca, kt.t, "Fleet", n)
			if err != nil {
				lc.stop()
				return err
			}
			progress("  %s: %d devices…", kt.name, n)
			w := min(1000, n)
			cpu := map[int]float64{0: lc.cpuSeconds()}
			res := provision(lc.core, devs, c.conc, func(done int) {
				if done == w || done == n-w || done == n {
					cpu[done] = lc.cpuSeconds()
				}
			})
			rss := lc.peakRSS()
			lc.stop()
			h2, err := handshakeRate(kt.t, 3000, c.conc)
			if err != nil {
				return err
			}
			if len(res.failures) > 0 {
				return fmt.Errorf("%s, %d devices: %d provisioned, failures %v", kt.name, n, len(res.done), res.failures)
			}
			hs := (h1 + h2) / 2
			first, last := res.windowRate(0, w), res.windowRate(n-w, n)
			cpuFirst, cpuLast := 1000*(cpu[w]-cpu[0])/float64(w), 1000*(cpu[n]-cpu[n-w])/float64(w)
			frac := res.rate() / (hs / 2)
			r.printf("| %s | %d | %.0f (%.0f, %.0f) | %.1f | %.1f/s | %.1f/s | %.2f → %.2f ms (%+.0f%%) | %.0f%% | %.1f MB |\n", kt.name, n, hs, h1, h2, res.rate(), first, last, cpuFirst, cpuLast, 100*(cpuLast/cpuFirst-1), 100*frac, float64(rss)/1024)
			raw = append(raw, fmt.Sprintf("%s %d: %d provisioned in %s", kt.name, n, len(res.done), res.total.Round(time.Millisecond)))
			if n == slices.Max(c.devices) {
				r.target(frac >= 0.5, "JITP at %d devices ≥ 50%% of the bare handshake rate ÷ 2 (%s): %.0f%% (%.1f/s vs %.0f/s ÷ 2)", n, kt.name, 100*frac, res.rate(), hs)
				r.target(last >= 0.8*first, "last 1,000 within 20%% of the first 1,000, i.e. no more than 20%% slower (%s, %d devices): %.1f/s vs %.1f/s (%+.0f%%); the broker's CPU per provisioning %.2f → %.2f ms (%+.0f%%)", kt.name, n, last, first, 100*(last/first-1), cpuFirst, cpuLast, 100*(cpuLast/cpuFirst-1))
				if kt.t == pki.RSA2048 {
					r.target(rss <= 120*1024, "`jitpwiz local` with %d devices ≤ 120 MB RSS: %.1f MB", n, float64(rss)/1024)
				}
			}
			if kt.t == pki.EC256 {
				// jitpwiz fleet at the same size, right after the reference loop (A, B).
				progress("  jitpwiz fleet: %d devices…", n)
				fr, err := runFleetCmd(c, tmp, n)
				if err != nil {
					return err
				}
				fr.reference = res.rate()
				fleets = append(fleets, fr)
			}
		}
	}
	r.printf("\nRaw: %s\n\n", strings.Join(raw, "; "))
	writeFleetCmd(c, r, fleets)
	return nil
}

// ---- CreateThing / ListThings ----

func benchThings(c config, tmp string, r *report) error {
	lc, err := startLocal(c.bin, filepath.Join(tmp, "things"))
	if err != nil {
		return err
	}
	defer lc.stop()
	ic := lc.iot()
	ctx := context.Background()
	r.printf("## CreateThing and ListThings at size\n\nOne `jitpwiz local`; aws-sdk-go-v2 calls over loopback (signing and HTTP included). At each size: %d CreateThing calls (new\nnames, so the size grows by that much), and %d ListThings first pages (50 things, the default) alternated with them; then\nthe whole list through the SDK's paginator.\n\n", 40, 40)
	r.printf("| things | CreateThing median (p90) | ListThings first page median (p90) | list all (pages of 250) |\n|---|---|---|---|\n")
	have := 0
	var base time.Duration
	var raw []string
	for _, size := range c.things {
		if err := fillThings(ctx, ic, have, size); err != nil {
			return err
		}
		have = size
		var create, first []time.Duration
		for i := 0; i < 40; i++ {
			t := time.Now()
			if _, err := ic.CreateThing(ctx, &iot.CreateThingInput{ThingName: sdkaws.String(fmt.Sprintf("extra-%d-%02d", size, i))}); err != nil {
				return err
			}
			create = append(create, time.Since(t))
			t = time.Now()
			if _, err := ic.ListThings(ctx, &iot.ListThingsInput{}); err != nil {
				return err
			}
			first = append(first, time.Since(t))
		}
		t := time.Now()
		n := 0
		p := iot.NewListThingsPaginator(ic, &iot.ListThingsInput{MaxResults: sdkaws.Int32(250)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			n += len(out.Things)
		}
		all := time.Since(t)
		if n != size+40 {
			return fmt.Errorf("listed %d things, want %d", n, size+40)
		}
		r.printf("| %d | %s (%s) | %s (%s) | %s |\n", size, ms(median(create)), ms(quantile(create, .9)), ms(median(first)), ms(quantile(first, .9)), ms(all))
		raw = append(raw, fmt.Sprintf("%d: create %s; list %s", size, list(create), list(first)))
		if base == 0 {
			base = median(create)
		}
		if size == slices.Max(c.things) {
			r.target(median(create) <= 2*base, "CreateThing with %d things ≤ 2× its latency with %d: %s vs %s (%.2f×)", size, c.things[0], ms(median(create)), ms(base), float64(median(create))/float64(base))
			r.target(median(first) <= 2*time.Millisecond, "ListThings first page ≤ 2 ms at %d: %s", size, ms(median(first)))
		}
		have += 40
	}
	r.printf("\nRaw (ms): %s\n\n", strings.Join(raw, "; "))
	return nil
}

// fillThings creates things fill-<i> for i in [from, to), 8 at a time.
func fillThings(ctx context.Context, ic *iot.Client, from, to int) error {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := ic.CreateThing(ctx, &iot.CreateThingInput{ThingName: sdkaws.String(fmt.Sprintf("fill-%06d", i))}); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// ---- the wizard's first frame ----

// benchWizard starts the wizard in tmux windows (tmux is the terminal: it answers the
// queries lipgloss makes at start-up) and polls the pane until the first frame's header
// is on screen. The time includes tmux starting the process and the polling interval
// (about 1 ms), so it slightly overstates exec → first frame.
func benchWizard(c config, tmp string, r *report) error {
	sock := fmt.Sprintf("jitpwiz-bench-%d", os.Getpid())
	tmux := func(args ...string) ([]byte, error) {
		return exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
	}
	if out, err := tmux("new-session", "-d", "-x", "100", "-y", "30", "-s", "bench", "sleep 600"); err != nil {
		return fmt.Errorf("tmux: %v %s", err, out)
	}
	defer tmux("kill-server")
	var d []time.Duration
	for i := 0; i < c.rounds*2; i++ {
		ws := filepath.Join(tmp, fmt.Sprintf("wizard-%d", i))
		name := fmt.Sprintf("w%d", i)
		win := "bench:" + name
		t := time.Now()
		if out, err := tmux("new-window", "-d", "-t", "bench", "-n", name, c.bin+" --dir "+ws); err != nil {
			return fmt.Errorf("tmux new-window: %v %s", err, out)
		}
		got := time.Duration(-1)
		for time.Since(t) < 20*time.Second {
			out, _ := tmux("capture-pane", "-p", "-t", win)
			if bytes.Contains(out, []byte("Just-in-Time Provisioning")) {
				got = time.Since(t)
				break
			}
			time.Sleep(time.Millisecond)
		}
		_, _ = tmux("kill-window", "-t", win)
		if got < 0 {
			return fmt.Errorf("the wizard showed no first frame")
		}
		d = append(d, got)
	}
	r.printf("## Wizard exec → first frame\n\n`jitpwiz --dir NEW` in a tmux window (100×30): time from `tmux new-window` until the first frame's header is on\nthe screen (polled every millisecond), %d starts. It includes starting the in-process local IoT Core on a new workspace.\n\n", len(d))
	r.printf("| median | p90 |\n|---|---|\n| %s | %s |\n\nRaw (ms): %s\n\n", ms(median(d)), ms(quantile(d, .9)), list(d))
	return benchWizardPTY(c, tmp, r)
}
