package store

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockHelperProcess is not a test: TestOpenRefusesSecondProcess runs the test
// binary with STORE_LOCK_DIR set to hold a state directory from another process.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("STORE_LOCK_DIR")
	if dir == "" {
		return
	}
	s, err := Open(dir, Options{})
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	if err := s.SetOwner(Owner{EndpointURL: "http://127.0.0.1:4599", MQTTHost: "localhost", MQTTPort: 8883}); err != nil {
		os.Exit(1)
	}
	os.Stdout.WriteString("ready\n")
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the lock until the parent closes stdin
	s.Close()
	os.Exit(0)
}

func TestOpenRefusesSecondProcess(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), DirName)
	cmd, release := holdInOtherProcess(t, dir)

	_, err := Open(dir, Options{})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process holds the state: %v", err)
	}
	if le.Owner == nil || le.Owner.PID != cmd.Process.Pid || !strings.Contains(err.Error(), "--endpoint-url http://127.0.0.1:4599") {
		t.Fatalf("locked error does not name the owner: %v (%+v)", err, le.Owner)
	}
	if busy, owner := InUse(dir); !busy || owner == nil || owner.MQTTPort != 8883 {
		t.Fatalf("InUse = %v %+v", busy, owner)
	}

	if err := release(); err != nil {
		t.Fatalf("helper exit: %v", err)
	}
	if busy, _ := InUse(dir); busy {
		t.Fatal("InUse after the owner exited")
	}
	if o, _ := ReadOwner(dir); o != nil {
		t.Errorf("owner record left behind: %+v", o)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after the owner exited: %v", err)
	}
	s.Close()
}

func TestReopenInProcessSharesTheLock(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), DirName)
	a, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("second Open in the same process: %v", err)
	}
	if busy, _ := InUse(dir); busy {
		t.Error("this process's own lock reported as another's")
	}
	a.Close()
	a.Close() // harmless
	b.Close()
	procLocks.Lock()
	n := len(procLocks.m)
	_, held := procLocks.m[lockKey(dir)]
	procLocks.Unlock()
	if held {
		t.Errorf("lock still held after every Store closed (%d locks in process)", n)
	}
}

// TestLockedErrorNamesJitpwizLocal: when the owner is `jitpwiz local`, the message says the
// jitpwiz commands use it by themselves (other clients via --endpoint-url).
func TestLockedErrorNamesJitpwizLocal(t *testing.T) {
	t.Parallel()
	e := &LockedError{Dir: "/w/.local-iot", Owner: &Owner{PID: 42, EndpointURL: "http://127.0.0.1:4599", Standalone: true}}
	msg := e.Error()
	for _, want := range []string{"served by `jitpwiz local` (pid 42", "jitpwiz run, doctor and clean on this workspace use it", "--endpoint-url http://127.0.0.1:4599"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	e.Owner.Standalone = false
	if msg := e.Error(); !strings.Contains(msg, "in use by another jitpwiz process (pid 42") {
		t.Errorf("non-standalone owner: %s", msg)
	}
}
