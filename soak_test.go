//go:build soak

package main

// The soak benchmark (`make soak`, SOAK_DURATION=1m for a short try): the real binary runs
// `jitpwiz local` while this test drives a mixed load at it for SOAK_DURATION (default 20m) —
// devices provisioned by JITP one after another (from a pool of names, each one's previous
// certificate removed first, so the registry does not grow), control-plane calls, idle
// connected devices, and broken clients (closed at once, garbage, TLS without a
// certificate, silent connections) — and samples the process every SOAK_SAMPLE (default duration/20): its RSS,
// its open file descriptors, and the accept latency of a probe device (TCP connect + TLS
// handshake + CONNECT → CONNACK). It prints a table (and writes it to SOAK_REPORT if set)
// and fails when RSS or descriptors keep growing: the peak of the second half must stay
// within 1.5× (RSS) and 1.2× + 16 (descriptors) of the first half's peak. Loopback only;
// every loop ends with the duration.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	iottypes "github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/pki"
)

const (
	soakIdle = 50  // devices kept connected and idle
	soakPool = 200 // thing names provisioned in turn
)

type soakSample struct {
	at         time.Duration
	rssKiB     int
	fds        int
	p50, max   time.Duration
	probes     int
	failed     int
	provisions int64
	apiCalls   int64
	broken     int64
	errors     int64 // provisioning or clean-up steps that went wrong
}

func TestSoak(t *testing.T) {
	dur := envDuration(t, "SOAK_DURATION", 20*time.Minute)
	every := envDuration(t, "SOAK_SAMPLE", dur/20)
	bin := filepath.Join(t.TempDir(), "jitpwiz")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ws := filepath.Join(t.TempDir(), "ws")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "local", "--dir", ws, "--api-port", "0", "--mqtt-port", "0")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = srv.Wait() }()
	endpoint, mqttAddr, rootCA, warnings := readBanner(t, stdout)

	// The workspace's CA, registered for JITP with the scoped template, by a real run.
	if out, err := exec.Command(bin, "run", "--dir", ws, "--yes").CombinedOutput(); err != nil {
		t.Fatalf("jitpwiz run: %v\n%s", err, out)
	}
	ca, err := pki.LoadCAFiles(filepath.Join(ws, pki.FileCACert), filepath.Join(ws, pki.FileCAKey), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pemRoot, err := os.ReadFile(rootCA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemRoot)
	d := &soakDriver{ca: ca, roots: roots, addr: mqttAddr}

	cfg := sdkaws.Config{Region: local.DefaultRegion, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(local.AccessKeyID, local.SecretAccessKey, "")}
	iotc := iot.NewFromConfig(cfg, func(o *iot.Options) { o.BaseEndpoint = &endpoint })

	loadCtx, stopLoad := context.WithTimeout(ctx, dur)
	defer stopLoad()
	var wg sync.WaitGroup
	run := func(f func(context.Context)) { wg.Add(1); go func() { defer wg.Done(); f(loadCtx) }() }
	run(func(ctx context.Context) { d.provisionLoop(ctx, iotc) })
	run(func(ctx context.Context) { d.apiLoop(ctx, iotc) })
	for range 4 {
		run(d.brokenLoop)
	}

	probe, err := d.newDevice("soak-probe")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := d.connect(probe, true); err == nil { // first connect: JITP provisions it
		c.Close()
	}
	start := time.Now()
	var samples []soakSample
	tick := time.NewTicker(every)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-loadCtx.Done():
			done = true
		case <-tick.C:
		}
		s := soakSample{at: time.Since(start).Round(time.Second), rssKiB: rssKiB(t, srv.Process.Pid), fds: fdCount(t, srv.Process.Pid)}
		var lat []time.Duration
		for range 5 {
			t0 := time.Now()
			c, err := d.connect(probe, false)
			if err != nil {
				s.failed++
				continue
			}
			lat = append(lat, time.Since(t0))
			c.Close()
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		if len(lat) > 0 {
			s.p50, s.max = lat[len(lat)/2], lat[len(lat)-1]
		}
		s.probes = len(lat)
		s.provisions, s.apiCalls, s.broken, s.errors = d.provisions.Load(), d.apiCalls.Load(), d.broken.Load(), d.errors.Load()
		samples = append(samples, s)
		t.Logf("%s", s.row())
	}
	wg.Wait()
	d.closeIdle()

	report := soakReport(dur, samples, warnings())
	fmt.Print(report)
	if p := os.Getenv("SOAK_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkBounded(t, samples)
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q is not a duration (e.g. 1m, 20m)", name, v)
	}
	return d
}

// readBanner reads `jitpwiz local`'s banner, then keeps reading its output in the
// background; warnings returns the lines logged at WARN or above so far.
func readBanner(t *testing.T, r io.Reader) (endpoint, mqttAddr, rootCA string, warnings func() []string) {
	sc := bufio.NewScanner(r)
	var banner strings.Builder
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Events (Ctrl+C to stop)") {
			break
		}
	}
	b := banner.String()
	ep := regexp.MustCompile(`export AWS_ENDPOINT_URL=(\S+)`).FindStringSubmatch(b)
	mq := regexp.MustCompile(`MQTT over TLS, mutual auth +(\S+):(\d+)`).FindStringSubmatch(b)
	ca := regexp.MustCompile(`Server CA \(--cafile\) +(\S+)`).FindStringSubmatch(b)
	if ep == nil || mq == nil || ca == nil {
		t.Fatalf("jitpwiz local banner:\n%s", b)
	}
	var mu sync.Mutex
	var warn []string
	go func() {
		for sc.Scan() {
			if l := sc.Text(); strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				mu.Lock()
				warn = append(warn, l)
				mu.Unlock()
			}
		}
	}()
	return strings.Trim(ep[1], "'"), net.JoinHostPort("127.0.0.1", mq[2]), ca[1], func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), warn...)
	}
}

type soakDevice struct {
	name string
	cert tls.Certificate // the device certificate alone
	full tls.Certificate // with the CA (the first connect's deviceCertAndCACert.crt)
}

type soakDriver struct {
	ca    *pki.CA
	roots *x509.CertPool
	addr  string

	provisions, apiCalls, broken, errors atomic.Int64

	mu   sync.Mutex
	idle []idleConn
}

type idleConn struct {
	name string
	conn net.Conn
}

func (d *soakDriver) newDevice(name string) (*soakDevice, error) {
	key, err := pki.GenerateKey(pki.EC256)
	if err != nil {
		return nil, err
	}
	csr, err := pki.NewCSR(key, pki.Subject{Country: "IN", CommonName: name})
	if err != nil {
		return nil, err
	}
	c, err := d.ca.Issue(csr, 365)
	if err != nil {
		return nil, err
	}
	dev := &soakDevice{name: name, cert: tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: key, Leaf: c}}
	dev.full = dev.cert
	dev.full.Certificate = append(dev.full.Certificate, d.ca.Cert.Raw)
	return dev, nil
}

// connect dials as dev (with the CA in the chain for a first connect) and returns the
// connection once CONNACK 0 arrived; a first connect returns the broker's drop as error.
func (d *soakDriver) connect(dev *soakDevice, first bool) (net.Conn, error) {
	cert := dev.cert
	if first {
		cert = dev.full
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", d.addr,
		&tls.Config{ServerName: "localhost", RootCAs: d.roots, Certificates: []tls.Certificate{cert}})
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 1200, ClientIdentifier: dev.name}}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		conn.Close()
		return nil, err
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil {
		conn.Close()
		return nil, err
	}
	if ack[0]>>4 != packets.Connack || ack[3] != 0 {
		conn.Close()
		return nil, fmt.Errorf("CONNACK %x", ack)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

func publish(conn net.Conn, topic string) error {
	var buf bytes.Buffer
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: topic, Payload: []byte("soak")}
	if err := pk.PublishEncode(&buf); err != nil {
		return err
	}
	_, err := conn.Write(buf.Bytes())
	return err
}

// provisionLoop provisions devices by JITP one after another, each connecting as itself
// and publishing, then staying connected and idle (the oldest of soakIdle is let go).
// The things come from a pool of soakPool names: before a name is used again, its last
// certificate is removed through the control plane as `jitpwiz clean` would (INACTIVE,
// detach policies and thing, delete), so the registry stays the same size and what
// grows can only be the process itself.
func (d *soakDriver) provisionLoop(ctx context.Context, c *iot.Client) {
	last := map[string]string{} // thing → its current certificate ID
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("soak-%03d", i%soakPool)
		if id := last[name]; id != "" {
			if err := deleteCert(ctx, c, name, id); err != nil && ctx.Err() == nil {
				d.errors.Add(1)
			}
			d.apiCalls.Add(5)
		}
		dev, err := d.newDevice(name)
		if err != nil {
			return
		}
		d.closeIdleNamed(name) // its connection would be taken over anyway
		if conn, err := d.connect(dev, true); err == nil {
			conn.Close() // JITP drops the first connect; a CONNACK here is a broker fault
			d.errors.Add(1)
		}
		conn, err := d.connect(dev, false)
		if err == nil && publish(conn, dev.name+"/test") == nil {
			d.provisions.Add(1)
			last[name] = pki.CertID(dev.cert.Leaf)
			d.mu.Lock()
			d.idle = append(d.idle, idleConn{name, conn})
			if len(d.idle) > soakIdle {
				d.idle[0].conn.Close()
				d.idle = d.idle[1:]
			}
			d.mu.Unlock()
		} else {
			if conn != nil {
				conn.Close()
			}
			if ctx.Err() == nil {
				d.errors.Add(1)
			}
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
}

func deleteCert(ctx context.Context, c *iot.Client, thing, id string) error {
	desc, err := c.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: &id})
	if err != nil {
		return err
	}
	arn := desc.CertificateDescription.CertificateArn
	if _, err := c.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: &id, NewStatus: iottypes.CertificateStatusInactive}); err != nil {
		return err
	}
	pols, err := c.ListAttachedPolicies(ctx, &iot.ListAttachedPoliciesInput{Target: arn})
	if err != nil {
		return err
	}
	for _, p := range pols.Policies {
		if _, err := c.DetachPolicy(ctx, &iot.DetachPolicyInput{PolicyName: p.PolicyName, Target: arn}); err != nil {
			return err
		}
	}
	if _, err := c.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: &thing, Principal: arn}); err != nil {
		return err
	}
	_, err = c.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: &id})
	return err
}

func (d *soakDriver) closeIdleNamed(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, ic := range d.idle {
		if ic.name == name {
			ic.conn.Close()
			d.idle = append(d.idle[:i], d.idle[i+1:]...)
			return
		}
	}
}

func (d *soakDriver) closeIdle() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ic := range d.idle {
		ic.conn.Close()
	}
	d.idle = nil
}

func (d *soakDriver) apiLoop(ctx context.Context, c *iot.Client) {
	for ctx.Err() == nil {
		_, _ = c.ListThings(ctx, &iot.ListThingsInput{MaxResults: sdkaws.Int32(50)})
		_, _ = c.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: sdkaws.String("iot:Data-ATS")})
		_, _ = c.ListCACertificates(ctx, &iot.ListCACertificatesInput{})
		d.apiCalls.Add(3)
		sleepCtx(ctx, 50*time.Millisecond)
	}
}

// brokenLoop is a misbehaving client, one kind after another: a connection closed at
// once, garbage instead of a TLS handshake, TLS without a client certificate, a
// connection that says nothing for 2 s, and a handshake that stops half way.
func (d *soakDriver) brokenLoop(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		conn, err := net.DialTimeout("tcp", d.addr, 5*time.Second)
		if err != nil {
			sleepCtx(ctx, 100*time.Millisecond)
			continue
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		switch i % 5 {
		case 0:
		case 1:
			_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			_, _ = io.Copy(io.Discard, conn)
		case 2:
			_ = tls.Client(conn, &tls.Config{ServerName: "localhost", RootCAs: d.roots}).Handshake()
		case 3:
			sleepCtx(ctx, 2*time.Second)
		case 4:
			_, _ = conn.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}) // a ClientHello's first bytes
			sleepCtx(ctx, time.Second)
		}
		conn.Close()
		d.broken.Add(1)
		sleepCtx(ctx, 20*time.Millisecond)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func rssKiB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("jitpwiz local is gone: %v", err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no VmRSS")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func fdCount(t *testing.T, pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("jitpwiz local is gone: %v", err)
	}
	return len(ents)
}

func (s soakSample) row() string {
	return fmt.Sprintf("| %8s | %7.1f | %4d | %8s | %8s | %d/%d | %6d | %8d | %7d |", s.at, float64(s.rssKiB)/1024, s.fds,
		s.p50.Round(100*time.Microsecond), s.max.Round(100*time.Microsecond), s.probes, s.probes+s.failed, s.provisions, s.apiCalls, s.broken)
}

func soakReport(dur time.Duration, samples []soakSample, warnings []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak: %s of mixed load on jitpwiz local (%d idle devices kept connected, %d thing names provisioned in turn)\n\n", dur, soakIdle, soakPool)
	b.WriteString("|     time | RSS MiB |  fds | accept p50 | accept max | probes | provisioned | API calls | broken clients |\n")
	b.WriteString("|---------:|--------:|-----:|-----------:|-----------:|-------:|------------:|----------:|---------------:|\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "| %8s | %7.1f | %4d | %10s | %10s | %6s | %11d | %9d | %14d |\n", s.at, float64(s.rssKiB)/1024, s.fds,
			s.p50.Round(100*time.Microsecond), s.max.Round(100*time.Microsecond), fmt.Sprintf("%d/%d", s.probes, s.probes+s.failed),
			s.provisions, s.apiCalls, s.broken)
	}
	fmt.Fprintf(&b, "\nprovisioning or clean-up errors: %d; warnings logged by jitpwiz local: %d\n", samples[len(samples)-1].errors, len(warnings))
	for i, w := range warnings {
		if i == 5 {
			fmt.Fprintf(&b, "  …\n")
			break
		}
		fmt.Fprintf(&b, "  %s\n", w)
	}
	return b.String()
}

// checkBounded fails when the second half's peaks outgrow the first half's (after the
// first sample, the warm-up), and when probes failed.
func checkBounded(t *testing.T, samples []soakSample) {
	if len(samples) < 4 {
		t.Fatalf("only %d samples: run longer or sample more often (SOAK_SAMPLE)", len(samples))
	}
	rest := samples[1:]
	half := len(rest) / 2
	peak := func(ss []soakSample, f func(soakSample) int) int {
		m := 0
		for _, s := range ss {
			m = max(m, f(s))
		}
		return m
	}
	rss := func(s soakSample) int { return s.rssKiB }
	fds := func(s soakSample) int { return s.fds }
	if a, b := peak(rest[:half], rss), peak(rest[half:], rss); float64(b) > 1.5*float64(a) {
		t.Errorf("RSS keeps growing: peak %d KiB in the first half, %d KiB in the second", a, b)
	}
	if a, b := peak(rest[:half], fds), peak(rest[half:], fds); float64(b) > 1.2*float64(a)+16 {
		t.Errorf("open descriptors keep growing: peak %d in the first half, %d in the second", a, b)
	}
	for _, s := range samples {
		if s.failed > 0 {
			t.Errorf("at %s, %d of the probe connections failed", s.at, s.failed)
		}
	}
	if n := samples[len(samples)-1].errors; n > 0 {
		t.Errorf("%d provisioning or clean-up steps went wrong", n)
	}
}
