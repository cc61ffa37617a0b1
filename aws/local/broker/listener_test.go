package broker

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// waitFor polls cond (the broker's own state) until it holds; the deadline only ends a
// test that is already broken.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) mqttListener(t *testing.T) *listener {
	t.Helper()
	l, ok := e.b.server.Listeners.Get("mqtts")
	if !ok {
		t.Fatal("no mqtts listener")
	}
	return l.(*listener)
}

// Past Options.MaxConnections a connection gets CONNACK 3 "server unavailable" (a Go client
// and mosquitto_pub both see it), the refusal is logged, and once a connection closes a
// new device connects.
func TestListenerConnectionLimit(t *testing.T) {
	t.Parallel()
	var logs testtool.Buffer // the broker logs from its goroutines
	e := newEnv(t, func(o *Options) {
		o.MaxConnections = 2
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	ca := newTestCA(t, "deviceRootCA")
	e.registerCA(ca, "ACTIVE", "ENABLE", nil)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "Thing1"})
	e.activeDevice(t, ca, dev, "admin", adminPolicy)

	a := e.connected(t, ca, dev, "Thing1")
	e.connected(t, ca, dev, "Thing1b")
	over := e.rawDial(t, &tls.Config{ServerName: "localhost", Certificates: []tls.Certificate{dev.tlsCert(ca, false)}})
	if rc, err := over.connect("Thing1c"); err != nil || rc != 3 {
		t.Fatalf("third connection with a limit of 2: rc=%d err=%v, want CONNACK 3 (server unavailable)", rc, err)
	}
	over.expectClosed(t, "refused connection")
	if r := e.mosquittoPub(t, dev.CertFile, dev.KeyFile, "Thing1d", "Thing1d/x"); r.code == 0 || !strings.Contains(r.out, "unavailable") {
		t.Errorf("mosquitto_pub over the limit: want a 'server unavailable' refusal, got %s", r)
	}
	waitFor(t, "the refusal in the log", func() bool { return strings.Contains(logs.String(), "at its connection limit") })
	if !strings.Contains(logs.String(), "limit=2") {
		t.Errorf("the refusal log line does not give the limit:\n%s", logs.String())
	}

	a.conn.Close()
	l := e.mqttListener(t)
	waitFor(t, "the closed connection's slot", func() bool { return l.open() < 2 })
	e.connected(t, ca, dev, "Thing1e")
}

// TestListenerFDHelper is not a test: TestListenerSurvivesFDExhaustion runs the test binary
// with BROKER_FD_HELPER set. It starts a broker with a device registered, lowers its own
// RLIMIT_NOFILE to a few descriptors above what it uses, prints the port and files, and
// serves until stdin closes. Its log (warnings and above) goes to stderr.
func TestListenerFDHelper(t *testing.T) {
	if os.Getenv("BROKER_FD_HELPER") == "" {
		return
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// A limit far above the descriptors the process may open: accept meets EMFILE.
	e := newEnv(t, func(o *Options) { o.MaxConnections = 10000; o.Logger = log })
	ca := newTestCA(t, "deviceRootCA")
	e.registerCA(ca, "ACTIVE", "ENABLE", nil)
	dev := ca.issue(t, pki.Subject{Country: "US", CommonName: "FDThing"})
	e.activeDevice(t, ca, dev, "admin", adminPolicy)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	limit := uint64(len(ents) + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ready %s %d %s %s %s\n", e.port, limit, e.rootCA, dev.CertFile, dev.KeyFile)
	_, _ = io.Copy(io.Discard, os.Stdin)
	e.b.Close()
	os.Exit(0)
}

// TestListenerSurvivesFDExhaustion: a broker process with a low RLIMIT_NOFILE gets more
// connections than it has descriptors; accept fails with EMFILE, which is logged and
// retried; once the connections are closed, a device connects and publishes. (mochi's
// own listener returned on that error and never accepted again, silently.)
func TestListenerSurvivesFDExhaustion(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/fd")
	}
	t.Parallel()
	// The helper is stopped at cleanup (killed if it does not exit).
	h := testtool.StartHelperWithStderr(t, "TestListenerFDHelper", "BROKER_FD_HELPER=1")
	var logs testtool.Buffer
	logLines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(h.Stderr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
			select {
			case logLines <- sc.Text():
			default:
			}
		}
		close(logLines)
	}()
	waitLog := func(what string) {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-logLines:
				if !ok {
					t.Fatalf("the broker process ended before logging %q:\n%s", what, logs.String())
				}
				if strings.Contains(l, what) {
					return
				}
			case <-timeout:
				t.Fatalf("the broker process did not log %q:\n%s", what, logs.String())
			}
		}
	}
	var port, rootCA, crt, key string
	var limit int
	line, err := h.Stdout.ReadString('\n')
	if _, serr := fmt.Sscanf(line, "ready %s %d %s %s %s", &port, &limit, &rootCA, &crt, &key); err != nil || serr != nil {
		t.Fatalf("helper: %q %v %v\n%s", line, err, serr, logs.String())
	}
	addr := net.JoinHostPort("127.0.0.1", port)

	// More connections than the broker has descriptors.
	var conns []net.Conn
	for range 2 * limit {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(closeAll)
	// Every descriptor of the broker process is in use: its next accept fails with EMFILE.
	fdDir := fmt.Sprintf("/proc/%d/fd", h.Cmd.Process.Pid)
	waitFor(t, "the broker process to run out of descriptors", func() bool {
		ents, _ := os.ReadDir(fdDir)
		return len(ents) >= limit
	})
	closeAll()

	// A new device connects and publishes.
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	pemRoot, err := os.ReadFile(rootCA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemRoot)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: "localhost", RootCAs: pool, Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatalf("a device cannot connect after the descriptors were freed: %v\n%s", err, logs.String())
	}
	defer conn.Close()
	c := &rawClient{conn: conn, r: bufio.NewReader(conn)}
	if rc, err := c.connect("FDThing"); err != nil || rc != 0 {
		t.Fatalf("CONNECT after the descriptors were freed: rc=%d err=%v\n%s", rc, err, logs.String())
	}
	if err := c.publish("FDThing/test", 1, []byte("back")); err != nil {
		t.Fatal(err)
	}
	c.expect(t, packets.Puback, "PUBACK after recovering")
	waitLog("cannot accept connections")
	if !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("the accept failure is not logged with its cause:\n%s", logs.String())
	}
	waitLog("accepting connections again")
}

// The default limit leaves room below the open-file limit; an explicit one is kept.
func TestConnectionLimitDefault(t *testing.T) {
	t.Parallel()
	if n := connectionLimit(7); n != 7 {
		t.Errorf("connectionLimit(7) = %d", n)
	}
	n := connectionLimit(0)
	if n < 16 || n > DefaultMaxConnections {
		t.Errorf("default limit %d outside [16, %d]", n, DefaultMaxConnections)
	}
	if nofile := openFileLimit(); nofile > 0 && nofile < 2*DefaultMaxConnections && n >= nofile {
		t.Errorf("default limit %d is not below the open-file limit %d", n, nofile)
	}
}
