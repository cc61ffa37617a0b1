package store

import (
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

// One process at a time owns a state directory: two processes writing the same
// database would wait on each other or, with the old state.json, silently undo each
// other's changes. Open takes an exclusive,
// non-blocking advisory lock on <dir>/lock (flock; released by Close or when the
// process exits, even if it is killed). Within one process a directory may be opened
// again (tests, a session reopened after Close); the lock is reference-counted.
const (
	lockFileName  = "lock"
	ownerFileName = "server.json"
)

// Owner describes the process serving a state directory, so another jitpwiz can point
// the user (or itself) at it. local.Start records it; Close removes it.
type Owner struct {
	PID         int       `json:"pid"`
	EndpointURL string    `json:"endpointUrl,omitempty"`
	MQTTHost    string    `json:"mqttHost,omitempty"`
	MQTTPort    int       `json:"mqttPort,omitempty"`
	RootCAPath  string    `json:"rootCAPath,omitempty"`
	Region      string    `json:"region,omitempty"`
	Started     time.Time `json:"started"`
	// Standalone: the owner is `jitpwiz local`, which serves the workspace for others to
	// use; otherwise it is a jitpwiz run or wizard working on the workspace itself.
	Standalone bool `json:"standalone,omitempty"`
}

// LockedError is returned by Open when another process owns the directory.
type LockedError struct {
	Dir   string
	Owner *Owner // nil if the owner did not record itself
}

func (e *LockedError) Error() string {
	if e.Owner == nil || e.Owner.EndpointURL == "" {
		return fmt.Sprintf("the local IoT Core state in %s is in use by another jitpwiz process — stop it (Ctrl+C in its terminal), or use another --dir", e.Dir)
	}
	if e.Owner.Standalone {
		return fmt.Sprintf("the local IoT Core state in %s is served by `jitpwiz local` (pid %d, control plane %s) — jitpwiz run, doctor and clean on this workspace use it by themselves, other clients with --endpoint-url %s; to serve it from here instead, stop that one (Ctrl+C in its terminal)",
			e.Dir, e.Owner.PID, e.Owner.EndpointURL, e.Owner.EndpointURL)
	}
	return fmt.Sprintf("the local IoT Core state in %s is in use by another jitpwiz process (pid %d, control plane %s) — use that one with --target local --endpoint-url %s, or stop it (Ctrl+C in its terminal)",
		e.Dir, e.Owner.PID, e.Owner.EndpointURL, e.Owner.EndpointURL)
}

// ErrLocked matches *LockedError with errors.Is.
var ErrLocked = errors.New("local IoT state directory is in use by another process")

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

type procLock struct {
	f    *os.File
	refs int
}

var procLocks = struct {
	sync.Mutex
	m map[string]*procLock
}{m: map[string]*procLock{}}

func lockKey(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir
}

// acquire takes (or shares, in-process) the lock of dir.
func acquire(dir string) (release func(), err error) {
	key := lockKey(dir)
	procLocks.Lock()
	defer procLocks.Unlock()
	if pl, ok := procLocks.m[key]; ok {
		pl.refs++
		return releaser(key), nil
	}
	f, locked, err := TryLockFile(filepath.Join(dir, lockFileName))
	if err != nil {
		return nil, fmt.Errorf("local IoT state: %w", err)
	}
	if !locked {
		owner, _ := ReadOwner(dir)
		return nil, &LockedError{Dir: dir, Owner: owner}
	}
	procLocks.m[key] = &procLock{f: f, refs: 1}
	// Holding the lock, no other jitpwiz writes here: temp files left by one that was
	// killed mid-write (".state.json.tmp-*", ".awsRootCA.pem.tmp-*") can go.
	pki.RemoveStaleTemps(dir)
	return releaser(key), nil
}

// TryLockFile opens path (creating it 0600) and takes the exclusive, non-blocking advisory
// lock (flock) this package locks a state directory with. locked is false, and f nil, when
// another open file holds the lock — another process, or another open of path in this one.
// A lock is released by UnlockFile, or when the process exits, even if it is killed.
// A symbolic link or other non-regular file at path is refused (*pki.NotRegularError):
// the lock holder writes into its lock file, and must not write through a planted link.
func TryLockFile(path string) (f *os.File, locked bool, err error) {
	f, err = pki.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, pki.ErrNotRegular) {
		return nil, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("cannot open the lock file %s: %w", path, err)
	}
	locked, err = tryLock(f)
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	if !locked {
		f.Close()
		return nil, false, nil
	}
	return f, true, nil
}

// UnlockFile releases a lock TryLockFile took and closes its file.
func UnlockFile(f *os.File) {
	unlock(f)
	f.Close()
}

func releaser(key string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			procLocks.Lock()
			defer procLocks.Unlock()
			pl := procLocks.m[key]
			if pl == nil {
				return
			}
			if pl.refs--; pl.refs == 0 {
				UnlockFile(pl.f)
				delete(procLocks.m, key)
			}
		})
	}
}

// InUse reports whether a process other than this one holds the lock of dir (the
// .local-iot directory), and its recorded Owner if it wrote one.
func InUse(dir string) (bool, *Owner) {
	key := lockKey(dir)
	procLocks.Lock()
	_, mine := procLocks.m[key]
	procLocks.Unlock()
	if mine {
		return false, nil
	}
	f, err := pki.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR, 0)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	locked, err := tryLock(f)
	if err != nil {
		return false, nil
	}
	if locked {
		unlock(f)
		return false, nil
	}
	owner, _ := ReadOwner(dir)
	return true, owner
}

// SetOwner records who serves this state (see Owner); Close removes the record.
func (s *Store) SetOwner(o Owner) error {
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	b, err := json.MarshalIndent(o, "", " ")
	if err != nil {
		return err
	}
	if err := pki.WriteFile(filepath.Join(s.dir, ownerFileName), b, 0o600, true); err != nil {
		return fmt.Errorf("local IoT state: %w", err)
	}
	s.mu.Lock()
	s.ownerSet = true
	s.mu.Unlock()
	return nil
}

// ReadOwner reads the Owner record of dir (the .local-iot directory); nil if none.
func ReadOwner(dir string) (*Owner, error) {
	b, err := os.ReadFile(filepath.Join(dir, ownerFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var o Owner
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ownerFileName), err)
	}
	return &o, nil
}

// Close closes the database (when no other Store of this process has the directory
// open) and releases the directory lock (and removes the Owner record this Store
// wrote). Every committed transaction is already on disk. Calling Close more than once
// is harmless; a closed Store must not be used again.
func (s *Store) Close() error {
	s.mu.Lock()
	ownerSet, closed := s.ownerSet, s.closed
	s.ownerSet, s.closed = false, true
	s.mu.Unlock()
	if closed {
		return nil
	}
	if ownerSet {
		_ = os.Remove(filepath.Join(s.dir, ownerFileName))
	}
	s.closeDB()
	if s.release != nil {
		s.release()
	}
	return nil
}
