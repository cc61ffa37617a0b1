// Package store is the persistent state of the embedded local AWS IoT Core: CA and
// device certificates, things, policies, attachments, IAM roles, the registration
// code and the event log. The control plane (aws/local) and the broker
// (aws/local/broker) both read and change it only through Store.Update / Store.View
// and the helper methods on *State, so the rules AWS applies (duplicates, delete
// guards, limits) live in one place.
//
// State is kept in an embedded database, <workspace>/.local-iot/state.db (bbolt;
// directory 0700, file 0600): one record per object, indexes for the lookups and
// lists (schema.go), one transaction per Update, committed with fsync, so it survives
// restarts and a crash (kill -9 included) leaves the last committed transaction.
// Readers (View) see a consistent snapshot and never wait for a writer. Events are
// appended to the same database in the transaction that caused them. A workspace
// made by an older jitpwiz (state.json + events.jsonl) is migrated on its first Open.
package store

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jitpwiz/jitpwiz/pki"
)

// DirName is the state directory inside a workspace; StateFile is the file in it.
// DirName is the state directory inside a workspace; DBFile is the database in it.
// StateFile and EventsFile are where jitpwiz kept the state before the database; Open
// migrates them (and renames them with MigratedSuffix).
const (
	DirName        = ".local-iot"
	DBFile         = "state.db"
	StateFile      = "state.json"
	EventsFile     = "events.jsonl"
	MigratedSuffix = ".migrated"
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
	// Latency makes the rules that take time on AWS take time here too (the zero value:
	// none; see Latency).
	Latency Latency
	// ThingTypeDeleteWait is how long a thing type must have been deprecated before
	// DeleteThingType accepts it: "wait for five minutes after you deprecate it"
	// (delete-thing-types.md). Zero: five minutes; negative: no wait (tests).
	ThingTypeDeleteWait time.Duration
}

// Latency is how long changes take to become effective where AWS documents a delay. The
// zero value makes every change effective at once (the local IoT Core's default).
type Latency struct {
	// DetachThingPrincipal: a detached principal stays attached this long. The model
	// (DetachThingPrincipal): "This call is asynchronous. It might take several seconds
	// for the detachment to propagate."
	DetachThingPrincipal time.Duration
	// PolicyDeleteAfterDetach: DeletePolicy is refused with DeleteConflictException for
	// this long after the policy's last detach. The model (DeletePolicy): "it can take
	// up to five minutes after a policy is detached before it's ready to be deleted."
	PolicyDeleteAfterDetach time.Duration
	// RoleUsable: provisioning cannot use a role for this long after CreateRole (IAM is
	// eventually consistent: a new role takes a few seconds to be usable).
	RoleUsable time.Duration
}

// Store is the concurrency-safe, persistent state. The zero value is not usable; call Open.
type Store struct {
	dir    string
	path   string
	opts   Options
	shared *sharedDB

	account, region, endpointPrefix string
	migrated                        string // what this Open migrated, "" if nothing

	mu       sync.Mutex
	ownerSet bool   // SetOwner wrote server.json (guarded by mu)
	closed   bool   // (guarded by mu)
	release  func() // directory lock
}

// sharedDB is one open database. Stores of the same directory in one process share it
// (bbolt must not open a file twice), with its writer lock and its subscribers.
type sharedDB struct {
	key  string
	db   *bolt.DB
	refs int // guarded by dbs.Mutex

	wmu   sync.Mutex // one committer at a time; held until the commit's events are published
	qmu   sync.Mutex // guards queue
	queue []*call    // Updates waiting for the next commit

	subMu sync.Mutex
	subs  map[chan Event]struct{}

	cas sync.Map // CA ID → *x509.Certificate: parsed once (an ID is the hash of the DER)
}

var dbs = struct {
	sync.Mutex
	m map[string]*sharedDB
}{m: map[string]*sharedDB{}}

func (sh *sharedDB) caCert(id, pemText string) *x509.Certificate {
	if c, ok := sh.cas.Load(id); ok {
		return c.(*x509.Certificate)
	}
	c, err := parseCert(pemText)
	if err != nil {
		return nil
	}
	sh.cas.Store(id, c)
	return c
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
	s := &Store{dir: dir, path: filepath.Join(dir, DBFile), opts: opts}
	if err := s.open(); err != nil {
		release()
		return nil, err
	}
	s.release = release
	return s, nil
}

func (s *Store) open() error {
	key := lockKey(s.dir)
	dbs.Lock()
	sh := dbs.m[key]
	if sh == nil {
		if err := pki.CheckRegular(s.path); err != nil { // bbolt would follow a link
			dbs.Unlock()
			return err
		}
		db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
		if err != nil {
			dbs.Unlock()
			if errors.Is(err, bolt.ErrTimeout) {
				return &LockedError{Dir: s.dir}
			}
			return fmt.Errorf("local IoT state %s cannot be opened (%v) — if it is damaged, restore it from a backup, or remove it to start with an empty local IoT Core", s.path, err)
		}
		_ = os.Chmod(s.path, 0o600)
		sh = &sharedDB{key: key, db: db, subs: map[chan Event]struct{}{}}
		dbs.m[key] = sh
	}
	sh.refs++
	dbs.Unlock()
	s.shared = sh
	if err := s.init(); err != nil {
		s.closeDB()
		return err
	}
	return nil
}

func (s *Store) closeDB() {
	dbs.Lock()
	defer dbs.Unlock()
	sh := s.shared
	if sh == nil {
		return
	}
	s.shared = nil
	if sh.refs--; sh.refs == 0 {
		_ = sh.db.Close()
		delete(dbs.m, sh.key)
	}
}

// init creates the buckets and meta of a new database (migrating state.json when there
// is one), or checks an existing database's format, account and region.
func (s *Store) init() error {
	var migratedFiles bool
	err := s.shared.db.Update(func(tx *bolt.Tx) error {
		created := map[string]bool{}
		for _, name := range bucketNames() {
			if tx.Bucket(name) == nil {
				created[string(name)] = true
			}
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		for _, k := range allKinds {
			if err := k.fillIndexes(tx, created); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get([]byte(metaVersion)); v != nil {
			n, _ := binary.Uvarint(v)
			if n > stateVersion {
				return fmt.Errorf("local IoT state %s was written by a newer jitpwiz (format %d, this one reads %d) — upgrade jitpwiz or use another --dir", s.path, n, stateVersion)
			}
			return nil
		}
		st := s.newState(tx)
		legacy, err := s.readLegacy()
		if err != nil {
			return err
		}
		account := firstNonEmpty(s.opts.Account, DefaultAccount)
		region := firstNonEmpty(s.opts.Region, DefaultRegion)
		if legacy != nil {
			account = firstNonEmpty(legacy.Account, account)
			region = firstNonEmpty(legacy.Region, region)
		}
		st.Account, st.Region = account, region
		put := func(k, v string) {
			if err := meta.Put([]byte(k), []byte(v)); err != nil {
				st.fail(err)
			}
		}
		put(metaAccount, account)
		put(metaRegion, region)
		if legacy != nil {
			s.migrated = legacy.load(st)
			migratedFiles = true
			put(metaMigratedFrom, s.migrated)
		}
		if st.EndpointPrefix == "" {
			st.EndpointPrefix = st.randomLower(14)
		}
		put(metaEndpointPrefix, st.EndpointPrefix)
		if err := meta.Put([]byte(metaVersion), binary.AppendUvarint(nil, stateVersion)); err != nil {
			return err
		}
		if st.err != nil {
			return st.err
		}
		return st.commit()
	})
	if err != nil {
		return err
	}
	err = s.shared.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		s.account = string(meta.Get([]byte(metaAccount)))
		s.region = string(meta.Get([]byte(metaRegion)))
		s.endpointPrefix = string(meta.Get([]byte(metaEndpointPrefix)))
		return nil
	})
	if err != nil {
		return err
	}
	if s.opts.Account != "" && s.opts.Account != s.account {
		return fmt.Errorf("local IoT state %s belongs to account %s, not %s — use another --dir, or remove %s to start over", s.path, s.account, s.opts.Account, s.dir)
	}
	if s.opts.Region != "" && s.opts.Region != s.region {
		return fmt.Errorf("local IoT state %s is for region %s, not %s — pass --region %s, use another --dir, or remove %s to start over", s.path, s.region, s.opts.Region, s.region, s.dir)
	}
	// The old files are kept beside the database under another name, so the migration
	// is not repeated and a user can still look at them (also after a crash between
	// the commit above and these renames).
	if migratedFiles || fileExists(filepath.Join(s.dir, StateFile)) {
		for _, f := range []string{StateFile, EventsFile} {
			p := filepath.Join(s.dir, f)
			if fileExists(p) {
				_ = os.Rename(p, p+MigratedSuffix)
			}
		}
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Migrated describes the migration this Open made from state.json (one line for the
// user: what was moved where), or is "" when the state was already a database.
func (s *Store) Migrated() string { return s.migrated }

// Dir is the state directory. Path is the database file.
func (s *Store) Dir() string  { return s.dir }
func (s *Store) Path() string { return s.path }

// Account and Region of the state (fixed when it was created).
func (s *Store) Account() string { return s.account }
func (s *Store) Region() string  { return s.region }

func (s *Store) newState(tx *bolt.Tx) *State {
	st := &State{Account: s.account, Region: s.region, EndpointPrefix: s.endpointPrefix, s: s, tx: tx, recs: map[string]any{}}
	if tx.Writable() {
		st.dirty = map[string]*tracked{}
	}
	if meta := tx.Bucket(bucketMeta); meta != nil {
		st.RegistrationCode = string(meta.Get([]byte(metaRegistrationCode)))
		st.code0 = st.RegistrationCode
	}
	return st
}

// commit writes back what changed in place, the registration code and the added events.
func (st *State) commit() error {
	st.flush()
	if st.err != nil {
		return st.err
	}
	if st.RegistrationCode != st.code0 {
		meta := st.tx.Bucket(bucketMeta)
		var err error
		if st.RegistrationCode == "" {
			err = meta.Delete([]byte(metaRegistrationCode))
		} else {
			err = meta.Put([]byte(metaRegistrationCode), []byte(st.RegistrationCode))
		}
		if err != nil {
			return err
		}
	}
	if len(st.added) == 0 {
		return nil
	}
	b := st.tx.Bucket(bucketEvents)
	for _, ev := range st.added {
		v, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(ev.Seq), v); err != nil {
			return err
		}
	}
	// Keep the newest MaxEvents: drop the oldest (events are never rewritten).
	first := st.nextSeq - MaxEvents
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) < first; k, _ = c.Next() {
		old = append(old, k)
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Update runs fn in a write transaction. If fn returns nil, what it changed is committed
// (written and fsync'd) before Update returns; if fn returns an error (or saving fails)
// nothing changes and that error is returned. Events added with State.AddEvent are
// delivered to subscribers after the commit, in commit order.
// fn must not call Update or View and must not keep pointers into the state after it
// returns. Writers run one at a time; readers (View) do not wait for them.
//
// Group commit: Updates that arrive while another commits are run one after the other
// in one database transaction, so they share its fsync. Each sees the changes of those
// before it, as if they had run alone in that order. When one of them fails, the
// transaction is rolled back and run again without it, and it runs again alone to give
// its own result — so fn may run more than once and must only change the state and
// its own results (as every fn here does).
func (s *Store) Update(fn func(st *State) error) error {
	sh := s.shared
	if sh == nil {
		return Errorf(CodeInternalFailure, "the local IoT state is closed")
	}
	c := &call{s: s, fn: fn}
	sh.qmu.Lock()
	sh.queue = append(sh.queue, c)
	sh.qmu.Unlock()
	sh.wmu.Lock() // the holder commits whatever is queued, this call's included
	if c.done {
		sh.wmu.Unlock()
		return c.err
	}
	sh.qmu.Lock()
	batch := sh.queue
	sh.queue = nil
	sh.qmu.Unlock()
	var added []Event
	for len(batch) > 0 {
		var alone []*call
		alone, added = sh.runBatch(batch, added)
		batch = nil
		for _, f := range alone { // failed in the batch: alone, after the others
			_, added = sh.runBatch([]*call{f}, added)
		}
	}
	// Take the subscribers' lock before releasing the writer's, so subscribers see
	// events in commit (Seq) order even when transactions race.
	sh.subMu.Lock()
	sh.wmu.Unlock()
	sh.publishLocked(added)
	sh.subMu.Unlock()
	return c.err
}

// call is one Update waiting for a commit. done and err are set under wmu.
type call struct {
	s    *Store
	fn   func(st *State) error
	done bool
	err  error
}

// runBatch commits the calls in one transaction and appends the events committed to
// added. A call that fails is taken out, the others run again without it, and it is
// returned in alone to run by itself afterwards (a call that fails alone is done).
func (sh *sharedDB) runBatch(batch []*call, added []Event) (alone []*call, _ []Event) {
	for len(batch) > 0 {
		failed := -1
		var evs []Event
		err := sh.db.Update(func(tx *bolt.Tx) error {
			st := batch[0].s.newState(tx)
			for i, c := range batch {
				st.s = c.s
				err := c.fn(st)
				if err == nil {
					err = st.err
				}
				if err != nil {
					failed = i
					return err
				}
			}
			if err := st.commit(); err != nil {
				return err
			}
			evs = st.added
			return nil
		})
		switch {
		case err == nil:
			for _, c := range batch {
				c.done, c.err = true, nil
			}
			return alone, append(added, evs...)
		case failed < 0 || len(batch) == 1:
			// The commit itself failed (every call fails with it), or a call alone failed.
			for _, c := range batch {
				c.done, c.err = true, storageError(c.s, err)
			}
			return alone, added
		}
		alone = append(alone, batch[failed])
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
	return alone, added
}

// storageError passes rule violations (and other errors fn returned) through and turns
// a failure of the database itself into an InternalFailure that says what to check.
func storageError(s *Store, err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, bolt.ErrDatabaseNotOpen) || errors.Is(err, bolt.ErrTxClosed) || isIOError(err) {
		return Errorf(CodeInternalFailure, "cannot save the local IoT state: %v — check that %s is writable and the disk is not full", err, s.dir)
	}
	return err
}

func isIOError(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// View runs fn on a consistent snapshot of the committed state (it does not wait for
// writers). fn must not change the state and must not keep pointers into it after it
// returns (copy what you need).
func (s *Store) View(fn func(st *State) error) error {
	sh := s.shared
	if sh == nil {
		return Errorf(CodeInternalFailure, "the local IoT state is closed")
	}
	return sh.db.View(func(tx *bolt.Tx) error {
		st := s.newState(tx)
		if err := fn(st); err != nil {
			return err
		}
		return st.err
	})
}

// AddEvent appends an event to the log in its own transaction (a convenience for
// code that has nothing else to change).
func (s *Store) AddEvent(ev Event) error { return s.AppendEvents(ev) }

// AppendEvents appends events to the log in one transaction (the broker batches its
// connection events this way).
func (s *Store) AppendEvents(evs ...Event) error {
	return s.Update(func(st *State) error {
		for _, ev := range evs {
			st.AddEvent(ev)
		}
		return nil
	})
}

// Events returns a copy of the logged events with Seq > after (0: all), oldest first.
func (s *Store) Events(after int64) []Event {
	var out []Event
	_ = s.View(func(st *State) error {
		c := st.tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
			var e Event
			if json.Unmarshal(v, &e) == nil {
				out = append(out, e)
			}
		}
		return nil
	})
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
	sh := s.shared
	ch := make(chan Event, buffer)
	sh.subMu.Lock()
	sh.subs[ch] = struct{}{}
	sh.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			sh.subMu.Lock()
			delete(sh.subs, ch)
			sh.subMu.Unlock()
			close(ch)
		})
	}
}

// publishLocked delivers evs to every subscriber without blocking; sh.subMu is held.
func (sh *sharedDB) publishLocked(evs []Event) {
	for ch := range sh.subs {
		for _, e := range evs {
			select {
			case ch <- e:
			default:
			}
		}
	}
}

// AddEvent appends ev to the log (Seq and, if zero, Time are filled in). The log keeps
// the newest MaxEvents entries. The event is written and published to subscribers when
// the transaction commits, and dropped with it if the transaction fails.
func (st *State) AddEvent(ev Event) Event {
	if st.nextSeq == 0 {
		st.nextSeq = 1
		if k, _ := st.tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
			st.nextSeq = int64(binary.BigEndian.Uint64(k)) + 1
		}
	}
	ev.Seq = st.nextSeq
	st.nextSeq++
	if ev.Time.IsZero() {
		ev.Time = st.Now()
	}
	st.added = append(st.added, ev)
	return ev
}
