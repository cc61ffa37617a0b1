// Package store is the persistent state of the embedded local AWS IoT Core: CA and
// device certificates, things, policies, attachments, IAM roles, the registration
// code and the event log. The control plane (aws/local) and the broker
// (aws/local/broker) both read and change it only through Store.Update / Store.View
// and the helper methods on *State, so the rules AWS applies (duplicates, delete
// guards, limits) live in one place.
//
// State is kept as one JSON file, <workspace>/.local-iot/state.json (directory 0700,
// file 0600), rewritten atomically after every successful Update that changed it, so
// it survives restarts and a crash never leaves a half-written file. The event log is
// appended to events.jsonl beside it.
package store

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
)

// DirName is the state directory inside a workspace; StateFile is the file in it.
const (
	DirName    = ".local-iot"
	StateFile  = "state.json"
	EventsFile = "events.jsonl" // one JSON event per line, appended as events happen
)

// Defaults for a fresh state.
const (
	DefaultAccount = "123456789012"
	DefaultRegion  = "us-east-2" // the AWS JITP walkthrough's region
)

// Dir returns the state directory of a workspace: <workspace>/.local-iot.
func Dir(workspace string) string { return filepath.Join(workspace, DirName) }

// Options configure Open. Zero values take defaults.
type Options struct {
	// Account and Region are used when the state is created. An existing state keeps
	// its own; Open fails if they differ from non-empty values given here, since every
	// ARN in it names them.
	Account string
	Region  string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Random fills b with random bytes (tests); default crypto/rand.
	Random func(b []byte)
}

// Store is the concurrency-safe, persistent state. The zero value is not usable; call Open.
type Store struct {
	dir     string
	path    string
	opts    Options
	account string
	region  string

	mu sync.Mutex
	st *State

	subMu sync.Mutex
	subs  map[chan Event]struct{}

	release  func() // directory lock
	ownerSet bool   // SetOwner wrote server.json (guarded by mu)

	lastWritten []byte   // state.json as last written (guarded by mu)
	evf         *os.File // events.jsonl, append-only (guarded by mu)
	evLines     int      // lines in events.jsonl (guarded by mu)
}

// Open loads (or creates) the state in dir — the .local-iot directory itself, see Dir.
// The directory is created with mode 0700 (and tightened to 0700 if it is looser).
// If another process has the directory open, Open fails with a *LockedError naming it.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Random == nil {
		opts.Random = func(b []byte) { _, _ = rand.Read(b) }
	}
	if err := pki.EnsureWorkspace(dir); err != nil {
		return nil, fmt.Errorf("local IoT state: %w", err)
	}
	release, err := acquire(dir)
	if err != nil {
		return nil, err
	}
	s, err := open(dir, opts)
	if err != nil {
		release()
		return nil, err
	}
	s.release = release
	return s, nil
}

func open(dir string, opts Options) (*Store, error) {
	s := &Store{dir: dir, path: filepath.Join(dir, StateFile), opts: opts, subs: map[chan Event]struct{}{}}
	b, err := os.ReadFile(s.path)
	switch {
	case err == nil:
		var st State
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("local IoT state %s is damaged (%v) — restore it from a backup, or remove it to start with an empty local IoT Core", s.path, err)
		}
		if st.Version > stateVersion {
			return nil, fmt.Errorf("local IoT state %s was written by a newer jitpwiz (format %d, this one reads %d) — upgrade jitpwiz or use another --dir", s.path, st.Version, stateVersion)
		}
		if opts.Account != "" && st.Account != "" && opts.Account != st.Account {
			return nil, fmt.Errorf("local IoT state %s belongs to account %s, not %s — use another --dir, or remove %s to start over", s.path, st.Account, opts.Account, s.path)
		}
		if opts.Region != "" && st.Region != "" && opts.Region != st.Region {
			return nil, fmt.Errorf("local IoT state %s is for region %s, not %s — pass --region %s, use another --dir, or remove %s to start over", s.path, st.Region, opts.Region, st.Region, s.path)
		}
		if st.Account == "" {
			st.Account = firstNonEmpty(opts.Account, DefaultAccount)
		}
		if st.Region == "" {
			st.Region = firstNonEmpty(opts.Region, DefaultRegion)
		}
		st.Version = stateVersion
		st.fill()
		s.st = &st
	case errors.Is(err, fs.ErrNotExist):
		s.st = newState(firstNonEmpty(opts.Account, DefaultAccount), firstNonEmpty(opts.Region, DefaultRegion))
	default:
		return nil, fmt.Errorf("local IoT state: cannot read %s: %w", s.path, err)
	}
	s.st.now, s.st.random = opts.Now, opts.Random
	if s.st.EndpointPrefix == "" {
		s.st.EndpointPrefix = s.st.randomLower(14)
	}
	s.account, s.region = s.st.Account, s.st.Region
	if err := s.loadEvents(); err != nil {
		return nil, err
	}
	if err := s.write(s.st); err != nil {
		s.evf.Close()
		return nil, err
	}
	return s, nil
}

// loadEvents reads events.jsonl (tolerating a torn last line), keeps the newest
// MaxEvents, and opens the file for appending; a long file is compacted first.
func (s *Store) loadEvents() error {
	path := filepath.Join(s.dir, EventsFile)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local IoT state: cannot read %s: %w", path, err)
	}
	var evs []Event
	lines := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines++
		var ev Event
		if json.Unmarshal(line, &ev) == nil && ev.Seq > 0 {
			evs = append(evs, ev)
		}
	}
	if len(evs) > MaxEvents {
		evs = evs[len(evs)-MaxEvents:]
	}
	s.st.Events = evs
	s.st.NextEventSeq = 1
	if n := len(evs); n > 0 {
		s.st.NextEventSeq = evs[n-1].Seq + 1
	}
	if lines > len(evs) {
		return s.compactEvents(s.st.Events)
	}
	return s.openEvents(lines)
}

func (s *Store) openEvents(lines int) error {
	path := filepath.Join(s.dir, EventsFile)
	f, err := pki.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("local IoT state: cannot open %s: %w", path, err)
	}
	s.evf, s.evLines = f, lines
	return nil
}

// compactEvents rewrites events.jsonl atomically with evs only.
func (s *Store) compactEvents(evs []Event) error {
	var buf bytes.Buffer
	for _, e := range evs {
		line, _ := json.Marshal(e)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if s.evf != nil {
		s.evf.Close()
		s.evf = nil
	}
	path := filepath.Join(s.dir, EventsFile)
	if err := pki.WriteFile(path, buf.Bytes(), 0o600, true); err != nil {
		return fmt.Errorf("local IoT state: %w", err)
	}
	return s.openEvents(len(evs))
}

// appendEvents writes committed events to events.jsonl. The log is best effort: a
// failure is not a reason to fail the transaction that already committed.
func (s *Store) appendEvents(evs []Event, all []Event) {
	if len(evs) == 0 || s.evf == nil {
		return
	}
	var buf bytes.Buffer
	for _, e := range evs {
		line, _ := json.Marshal(e)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if _, err := s.evf.Write(buf.Bytes()); err != nil {
		return
	}
	s.evLines += len(evs)
	if s.evLines > 2*MaxEvents {
		_ = s.compactEvents(all)
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Dir is the state directory. Path is the state file.
func (s *Store) Dir() string  { return s.dir }
func (s *Store) Path() string { return s.path }

// Account and Region of the state (fixed when it was created).
func (s *Store) Account() string { return s.account }
func (s *Store) Region() string  { return s.region }

// Update runs fn on a copy of the state under the store's lock. If fn returns nil the
// copy becomes the state and is written to disk before Update returns; if fn returns an
// error (or writing fails) nothing changes and that error is returned. Events added
// with State.AddEvent are delivered to subscribers after the commit.
// fn must not call Update or View (the lock is not re-entrant) and must not keep
// pointers into the state after it returns.
func (s *Store) Update(fn func(st *State) error) error {
	s.mu.Lock()
	c := s.st.clone()
	if err := fn(c); err != nil {
		s.mu.Unlock()
		return err
	}
	if err := s.write(c); err != nil {
		s.mu.Unlock()
		return err
	}
	added := c.added
	c.added = nil
	s.st = c
	s.appendEvents(added, c.Events)
	// Take the subscribers' lock before releasing the state's, so subscribers see
	// events in commit (Seq) order even when transactions race.
	s.subMu.Lock()
	s.mu.Unlock()
	s.publishLocked(added)
	s.subMu.Unlock()
	return nil
}

// View runs fn on the committed state under the lock. fn must not change the state
// and must not keep pointers into it after it returns (copy what you need).
func (s *Store) View(fn func(st *State) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(s.st)
}

// write persists st atomically (temp file + fsync + rename), mode 0600, unless it is
// unchanged since the last write (a transaction that only added events).
func (s *Store) write(st *State) error {
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return Errorf(CodeInternalFailure, "cannot encode the local IoT state: %v", err)
	}
	if bytes.Equal(b, s.lastWritten) {
		return nil
	}
	if err := pki.WriteFile(s.path, b, 0o600, true); err != nil {
		return Errorf(CodeInternalFailure, "cannot save the local IoT state: %v — check that %s is writable and the disk is not full", err, s.dir)
	}
	s.lastWritten = b
	return nil
}

// AddEvent appends an event to the log in its own transaction (a convenience for
// code that has nothing else to change).
func (s *Store) AddEvent(ev Event) error {
	return s.Update(func(st *State) error { st.AddEvent(ev); return nil })
}

// Events returns a copy of the logged events with Seq > after (0: all), oldest first.
func (s *Store) Events(after int64) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, e := range s.st.Events {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out
}

// Subscribe returns a channel receiving every event committed from now on, and a
// cancel func that stops delivery and closes the channel. Delivery never blocks the
// store: a subscriber that falls more than buffer events behind loses events (it can
// catch up with Events(lastSeq)).
func (s *Store) Subscribe(buffer int) (<-chan Event, func()) {
	if buffer < 1 {
		buffer = 64
	}
	ch := make(chan Event, buffer)
	s.subMu.Lock()
	s.subs[ch] = struct{}{}
	s.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs, ch)
			s.subMu.Unlock()
			close(ch)
		})
	}
}

// publishLocked delivers evs to every subscriber without blocking; s.subMu is held.
func (s *Store) publishLocked(evs []Event) {
	for ch := range s.subs {
		for _, e := range evs {
			select {
			case ch <- e:
			default:
			}
		}
	}
}

// AddEvent appends ev to the log (Seq and, if zero, Time are filled in). The log keeps
// the newest MaxEvents entries. The event is published to subscribers when the
// transaction commits, and dropped with it if the transaction fails.
func (st *State) AddEvent(ev Event) Event {
	ev.Seq = st.NextEventSeq
	st.NextEventSeq++
	if ev.Time.IsZero() {
		ev.Time = st.Now()
	}
	// Copy on append: the backing array may be shared with the committed state.
	evs := make([]Event, 0, len(st.Events)+1)
	start := 0
	if len(st.Events) >= MaxEvents {
		start = len(st.Events) - MaxEvents + 1
	}
	evs = append(evs, st.Events[start:]...)
	st.Events = append(evs, ev)
	st.added = append(st.added, ev)
	return ev
}
