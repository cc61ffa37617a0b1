package broker

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// listener is the broker's MQTT-over-TLS listener, a mochi-mqtt listeners.Listener in
// place of listeners.Net, whose Serve returns on the first Accept error — after running out
// of file descriptors (EMFILE) once, the broker would never accept again, and say nothing.
//
//   - Accept errors are retried with a backoff of 5 ms doubling to 1 s (net/http's
//     Server.Serve does the same for temporary errors). Every error but a closed listener
//     is retried: on a TCP listener they are all a shortage that passes (descriptors,
//     buffers, an aborted connection). A failure is logged as a warning with the error,
//     and the recovery with how many accepts failed and for how long (see Serve).
//   - At most max connections are open at once per listener (Options.MaxConnections); one
//     more gets a clear refusal: after the TLS handshake and CONNECT, a CONNACK "server
//     unavailable" (MQTT 3.1.1 return code 3; "server busy" 0x89 for MQTT 5), logged at
//     most every refusalLogEvery with the count. Refusals hold a descriptor each for at
//     most refuseTimeout, and only maxRefusing at once; beyond that a connection over the
//     limit is closed at once. [choice: AWS's own connection limits are per account and
//     their refusal on the wire is not documented.]
//   - Each accepted connection gets the broker's deadline for the handshake and CONNECT
//     (mochi sets none before CONNECT; the keep-alive governs afterwards).
type listener struct {
	id       string
	ln       net.Listener // TCP; TLS is added per connection
	tls      *tls.Config
	deadline time.Duration
	log      *slog.Logger
	server   *mqtt.Server // for refusals: mochi's packet codec and CONNACK

	slots    chan struct{} // a token per open connection; its capacity is the limit
	refusing chan struct{} // a token per refusal under way

	done      chan struct{}
	closeOnce sync.Once
	closed    atomic.Bool

	mu          sync.Mutex
	conns       map[net.Conn]struct{} // open connections, closed by Close (even mid-handshake)
	refused     int                   // connections refused since the last refusal log line
	lastRefusal time.Time
}

const (
	acceptRetryMin  = 5 * time.Millisecond
	acceptRetryMax  = time.Second
	maxRefusing     = 16
	refuseTimeout   = 5 * time.Second
	refusalLogEvery = 10 * time.Second
	acceptLogEvery  = 10 * time.Second
)

// DefaultMaxConnections is the per-listener connection limit when Options.MaxConnections
// is 0 (lowered to fit the process's descriptor limit, see connectionLimit). mochi keeps a
// 64 KiB outbound queue per client, so this is also about 640 MiB of memory.
const DefaultMaxConnections = 10000

// connectionLimit is the per-listener limit for Options.MaxConnections n: n itself when
// set, else DefaultMaxConnections, but no more than the open-file limit leaves once a
// reserve for everything else (state files, the control plane's connections) is kept,
// so that the limit's clear refusal comes before running out of descriptors.
func connectionLimit(n int) int {
	if n > 0 {
		return n
	}
	n = DefaultMaxConnections
	if nofile := openFileLimit(); nofile > 0 {
		budget := nofile - max(64, nofile/8)
		n = min(n, max(budget, 16))
	}
	return n
}

func newListener(id string, ln net.Listener, cfg *tls.Config, deadline time.Duration, maxConns int, log *slog.Logger, server *mqtt.Server) *listener {
	return &listener{
		id: id, ln: ln, tls: cfg, deadline: deadline, log: log, server: server,
		slots:    make(chan struct{}, maxConns),
		refusing: make(chan struct{}, maxRefusing),
		done:     make(chan struct{}),
		conns:    map[net.Conn]struct{}{},
	}
}

// track records an open connection; false when the listener is closed (the caller
// closes it).
func (l *listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	_ = c.Close()
}

var _ listeners.Listener = (*listener)(nil)

func (l *listener) ID() string              { return l.id }
func (l *listener) Address() string         { return l.ln.Addr().String() }
func (l *listener) Protocol() string        { return l.ln.Addr().Network() }
func (l *listener) Init(*slog.Logger) error { return nil } // logs go to the broker's logger

// open is the number of connections open on the listener now.
func (l *listener) open() int { return len(l.slots) }

// Serve accepts until Close, retrying failed accepts (see listener). Under a shortage that
// comes and goes the log stays short: a failure is logged at most every acceptLogEvery
// (with the failures since the last line), and the recovery only after a logged failure.
func (l *listener) Serve(establish listeners.EstablishFn) {
	var (
		delay     time.Duration
		failed    int // failed accepts since the last success
		unlogged  int // failed accepts since the last log line
		since     time.Time
		lastLog   time.Time
		logged    bool // this run of failures was logged
		lastError error
	)
	for {
		raw, err := l.ln.Accept()
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, acceptRetryMin), acceptRetryMax)
			if failed == 0 {
				since = time.Now()
			}
			failed++
			unlogged++
			lastError = err
			if now := time.Now(); lastLog.IsZero() || now.Sub(lastLog) >= acceptLogEvery {
				l.log.Warn("MQTT listener cannot accept connections; retrying until it can",
					"listener", l.id, "addr", l.Address(), "err", err, "failed_accepts", unlogged, "retry_in", delay)
				lastLog, unlogged, logged = now, 0, true
			}
			select {
			case <-time.After(delay):
			case <-l.done:
				return
			}
			continue
		}
		if failed > 0 {
			if logged {
				l.log.Warn("MQTT listener accepting connections again",
					"listener", l.id, "failed_accepts", failed, "for", time.Since(since).Round(time.Millisecond), "last_err", lastError)
			}
			failed, delay, logged, lastError = 0, 0, false, nil
		}
		if !l.track(raw) {
			_ = raw.Close()
			return
		}
		select {
		case l.slots <- struct{}{}:
		default:
			l.refuse(raw)
			continue
		}
		_ = raw.SetDeadline(time.Now().Add(l.deadline))
		conn := tls.Server(raw, l.tls)
		go func() {
			defer func() { <-l.slots }()
			defer l.untrack(raw)
			// mochi closes the connection before it returns; its error is the
			// client's business (refusals are in the event log).
			_ = establish(l.id, conn)
		}()
	}
}

// refuse answers a connection over the limit with CONNACK "server unavailable" (in the
// background, bounded), or closes it at once when too many refusals are under way.
func (l *listener) refuse(raw net.Conn) {
	l.noteRefusal()
	select {
	case l.refusing <- struct{}{}:
	default:
		l.untrack(raw)
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer l.untrack(raw)
		_ = raw.SetDeadline(time.Now().Add(refuseTimeout))
		conn := tls.Server(raw, l.tls)
		cl := l.server.NewClient(conn, l.id, "", false)
		fh := new(packets.FixedHeader)
		if err := cl.ReadFixedHeader(fh); err != nil || fh.Type != packets.Connect {
			return
		}
		pk, err := cl.ReadPacket(fh)
		if err != nil {
			return
		}
		cl.Properties.ProtocolVersion = pk.ProtocolVersion
		code := packets.ErrServerUnavailable // sent as 3.1.1's return code 3
		if pk.ProtocolVersion >= 5 {
			code = packets.ErrServerBusy
		}
		_ = l.server.SendConnack(cl, code, false, nil)
	}()
}

// noteRefusal logs the first refusal, then at most one line per refusalLogEvery.
func (l *listener) noteRefusal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused++
	if now := time.Now(); l.lastRefusal.IsZero() || now.Sub(l.lastRefusal) >= refusalLogEvery {
		l.log.Warn("MQTT listener at its connection limit; refusing new connections (CONNACK server unavailable)",
			"listener", l.id, "limit", cap(l.slots), "refused", l.refused)
		l.lastRefusal, l.refused = now, 0
	}
}

// Close stops accepting, has mochi close the listener's clients, and closes the
// connections that are not clients yet (mid-handshake or before CONNECT), so that
// mochi's wait for its connection handlers does not last until their deadline.
func (l *listener) Close(closeClients listeners.CloseFn) {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed.Store(true)
		pending := make([]net.Conn, 0, len(l.conns))
		for c := range l.conns {
			pending = append(pending, c)
		}
		l.mu.Unlock()
		close(l.done)
		_ = l.ln.Close()
		closeClients(l.id)
		for _, c := range pending {
			_ = c.Close()
		}
	})
}
