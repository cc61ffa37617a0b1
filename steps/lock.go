package steps

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// One jitpwiz at a time works on a workspace: two runs (or a run and the wizard, or clean)
// would interleave their writes of the session file and of the keys and certificates.
// The in-process local IoT Core already locks <workspace>/.local-iot, but with
// `jitpwiz local` serving the workspace, or with --endpoint-url or --target aws, nothing
// else would keep them apart. So Connect takes an exclusive, non-blocking advisory lock
// (flock, as the local store does) on <workspace>/.jitpwiz.lock and Close releases it; the
// operating system releases it when the process dies, even if it is killed. The holder
// writes its pid in the file so the refused process can name it.
//
// The lock is per Session, not per process: a second Session on the same workspace in the
// same process is refused too.
//
// doctor only reads the session and asks the target: it calls ReadOnly before Connect and
// runs alongside a run or the wizard (its report may then show a step half done).

// LockFile is the workspace lock file, in the workspace directory.
const LockFile = ".jitpwiz.lock"

// WorkspaceLockedError is returned by Connect when another jitpwiz works on the workspace.
type WorkspaceLockedError struct {
	Dir string
	PID int // the holder's process id; 0 if it is not known
}

func (e *WorkspaceLockedError) Error() string {
	if e.PID > 0 {
		return i18n.T("lock.locked-pid", i18n.Args{"PID": e.PID, "Dir": e.Dir})
	}
	return i18n.T("lock.locked", i18n.Args{"Dir": e.Dir})
}

// ErrWorkspaceLocked matches *WorkspaceLockedError with errors.Is.
var ErrWorkspaceLocked = errors.New("the workspace is in use by another jitpwiz")

func (e *WorkspaceLockedError) Is(target error) bool { return target == ErrWorkspaceLocked }

// workspaceLocks holds what lock.go keeps for each Session: the locked file, or that the
// session is read-only.
var workspaceLocks = struct {
	sync.Mutex
	held     map[*Session]*heldLock
	readOnly map[*Session]bool
}{held: map[*Session]*heldLock{}, readOnly: map[*Session]bool{}}

type heldLock struct {
	f       *os.File
	created bool // the workspace did not exist: Close removes it again if nothing was saved
}

// ReadOnly marks a session that will not run steps or save (doctor): Connect does not take
// the workspace lock for it, so it may look at a workspace another jitpwiz is using.
// Call it before Connect.
func (s *Session) ReadOnly() {
	workspaceLocks.Lock()
	defer workspaceLocks.Unlock()
	workspaceLocks.readOnly[s] = true
}

// lockWorkspace takes the workspace lock for s unless s holds it already or is read-only.
func (s *Session) lockWorkspace() error {
	workspaceLocks.Lock()
	defer workspaceLocks.Unlock()
	if workspaceLocks.readOnly[s] || workspaceLocks.held[s] != nil {
		return nil
	}
	_, statErr := os.Stat(s.dir)
	if err := pki.EnsureWorkspace(s.dir); err != nil {
		return err
	}
	path := filepath.Join(s.dir, LockFile)
	f, locked, err := store.TryLockFile(path)
	if err != nil {
		return i18n.WrapError(err, "lock.workspace", i18n.Args{"Dir": s.dir})
	}
	if !locked {
		return &WorkspaceLockedError{Dir: s.dir, PID: lockHolder(path)}
	}
	// Open read the session before the lock was taken: another jitpwiz may have finished
	// steps since. Going on would save over its work.
	if !s.sameProgressOnDisk() {
		store.UnlockFile(f)
		return i18n.NewError("lock.changed", i18n.Args{"Dir": s.dir})
	}
	pki.RemoveStaleTemps(s.dir, "devices/*") // temp files of a killed jitpwiz: no other one is here now
	// Best effort: the pid only makes the refusal clearer.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	workspaceLocks.held[s] = &heldLock{f: f, created: errors.Is(statErr, os.ErrNotExist)}
	return nil
}

// LockWorkspace takes the workspace lock of s now, as Connect would later (Close releases
// it): for a command that must not even read what to do while another jitpwiz is at work
// (clean: a run in progress has not saved what it registered yet). It fails with a
// *WorkspaceLockedError naming the holder.
func LockWorkspace(s *Session) error { return s.lockWorkspace() }

// unlockWorkspace releases the lock lockWorkspace took (if any); harmless otherwise.
func (s *Session) unlockWorkspace() {
	workspaceLocks.Lock()
	defer workspaceLocks.Unlock()
	h := workspaceLocks.held[s]
	delete(workspaceLocks.held, s)
	delete(workspaceLocks.readOnly, s)
	if h == nil {
		return
	}
	_ = h.f.Truncate(0)
	if h.created {
		// A Connect that failed before anything was saved leaves no workspace behind
		// (the directory goes only if the lock file is all there is in it).
		if ents, err := os.ReadDir(s.dir); err == nil && len(ents) == 1 && ents[0].Name() == LockFile {
			_ = os.Remove(filepath.Join(s.dir, LockFile))
			_ = os.Remove(s.dir)
		}
	}
	store.UnlockFile(h.f)
}

// sameProgressOnDisk reports whether the session file records the same finished steps
// as s (which Open read from it, and sanitized the same way).
func (s *Session) sameProgressOnDisk() bool {
	disk := &Session{dir: s.dir}
	b, err := os.ReadFile(filepath.Join(s.dir, SessionFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return true // Open reported what it could not read; nothing to compare
	case json.Unmarshal(b, disk) != nil:
		return true
	default:
		disk.dir = s.dir
		disk.sanitize()
	}
	if len(s.Finished) == 0 && len(disk.Finished) == 0 {
		return true
	}
	mine, err1 := json.Marshal(s.Finished)
	theirs, err2 := json.Marshal(disk.Finished)
	return err1 == nil && err2 == nil && bytes.Equal(mine, theirs)
}

// lockHolder reads the pid the holder of the lock file wrote; 0 if none.
func lockHolder(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
