package steps_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/steps"
)

// TestWorkspaceLockInProcess: a second Session on a workspace another Session has connected
// is refused with an error naming the workspace and the holder's pid; a read-only one
// (doctor) is not; once the first is closed the second connects.
func TestWorkspaceLockInProcess(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	first := session(t, dir)

	second, err := steps.Open(steps.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	err = second.Connect(context.Background())
	if !errors.Is(err, steps.ErrWorkspaceLocked) {
		t.Fatalf("second Connect on a locked workspace: want ErrWorkspaceLocked, got %v", err)
	}
	want := fmt.Sprintf("another jitpwiz (pid %d) is using workspace %s — wait for it or use another --dir", os.Getpid(), dir)
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}

	reader, err := steps.Open(steps.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	reader.ReadOnly()
	if err := reader.Connect(context.Background()); err != nil {
		t.Errorf("a read-only session (doctor) must connect alongside: %v", err)
	}
	reader.Close()

	first.Close()
	if err := second.Connect(context.Background()); err != nil {
		t.Fatalf("Connect after the holder closed: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, steps.LockFile)); strings.TrimSpace(string(b)) != fmt.Sprint(os.Getpid()) {
		t.Errorf("the lock file should name its holder, has %q", b)
	}
}

// TestWorkspaceLockFailedConnectLeavesNoWorkspace: a Connect that fails on a new --dir
// (here: nothing listens at --endpoint-url) does not leave the lock file as a workspace.
func TestWorkspaceLockFailedConnectLeavesNoWorkspace(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	s, err := steps.Open(steps.Options{Dir: dir, EndpointURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err == nil {
		t.Fatal("Connect to a closed port succeeded")
	}
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the failed Connect left %s behind (%v)", dir, err)
	}
}

// TestE2EWorkspaceLockSecondProcess: with `jitpwiz local` serving the workspace (so the
// local store lock does not keep runs apart), a run that is under way holds the workspace:
// a second run (another process) is refused naming that run's pid, printed once, exit 1;
// doctor runs alongside; after the first run ends, the next run completes.
func TestE2EWorkspaceLockSecondProcess(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	srv, err := local.Start(context.Background(), local.Options{Dir: dir, APIAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", Standalone: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	first := exec.Command(binary, "run", "--dir", dir, "--yes", "--pause-after", "register-ca")
	stdout, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var firstErr bytes.Buffer
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var firstOut strings.Builder
	paused := false
	for !paused && sc.Scan() {
		firstOut.WriteString(sc.Text() + "\n")
		paused = strings.HasPrefix(sc.Text(), "paused after register-ca")
	}
	if !paused {
		t.Fatalf("the first run did not pause:\n%s\n%s", firstOut.String(), firstErr.String())
	}
	if !strings.Contains(firstOut.String(), "served by `jitpwiz local`") {
		t.Fatalf("the first run did not use the running jitpwiz local:\n%s", firstOut.String())
	}

	r := jitpwiz(t, "run", "--dir", dir, "--yes", "--thing", "Other")
	msg := fmt.Sprintf("another jitpwiz (pid %d) is using workspace %s — wait for it or use another --dir", first.Process.Pid, dir)
	var ee *exec.ExitError
	if !errors.As(r.err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second run: want exit code 1, got %v\n%s", r.err, r)
	}
	if n := strings.Count(r.all(), msg); n != 1 {
		t.Errorf("the refusal should appear once, appears %d times:\n%s", n, r)
	}
	if strings.Contains(r.all(), "Other") && strings.Contains(r.out, "✓ ") {
		t.Errorf("the refused run did something:\n%s", r)
	}

	d := jitpwiz(t, "doctor", "--dir", dir)
	if strings.Contains(d.all(), "is using workspace") || strings.Contains(d.out, "cannot reach") {
		t.Errorf("doctor must run alongside a run:\n%s", d)
	}

	if err := first.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
	}
	_ = first.Wait()
	r = mustRun(t, "run", "--dir", dir)
	if !strings.Contains(r.out, "published as itself") {
		t.Errorf("the run after the first ended:\n%s", r)
	}
}

// TestE2EErrorPrintedOnce: a failure `run` reports (its ✗ line) is not printed again on
// stderr; one it does not report (a bad flag) is printed once, on stderr. Both exit 1.
func TestE2EErrorPrintedOnce(t *testing.T) {
	t.Parallel()
	exit1 := func(r runResult) {
		t.Helper()
		var ee *exec.ExitError
		if !errors.As(r.err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("want exit code 1, got %v\n%s", r.err, r)
		}
	}
	dir := filepath.Join(t.TempDir(), "ws")
	r := jitpwiz(t, "run", "--dir", dir, "--yes", "--endpoint-url", "http://127.0.0.1:1")
	exit1(r)
	const reported = "--endpoint-url http://127.0.0.1:1: cannot reach the local IoT Core"
	if n := strings.Count(r.all(), reported); n != 1 || !strings.Contains(r.out, "✗ cannot reach") {
		t.Errorf("a reported failure should appear once (on its ✗ line), appears %d times:\n%s", n, r)
	}
	if r.errOut != "" {
		t.Errorf("stderr should be empty after a reported failure:\n%s", r)
	}

	r = jitpwiz(t, "run", "--dir", dir, "--yes", "--key", "rsa1024")
	exit1(r)
	if n := strings.Count(r.all(), "--key"); n != 1 || !strings.HasPrefix(r.errOut, "jitpwiz: ") {
		t.Errorf("a bad flag should be printed once on stderr, appears %d times:\n%s", n, r)
	}
}

// TestE2EDurationColumn: on the lines of the steps that ran, what follows the duration
// starts in the same column whatever the duration ("73ms" or "1ms" or "<1ms").
func TestE2EDurationColumn(t *testing.T) {
	t.Parallel()
	_, r := runFresh(t)
	ran := regexp.MustCompile(`^✓ [ \d]\d/13 .{18} +(<?\d[\dhms.µ]*)  \S`)
	cols := map[int][]string{}
	durs := map[string]bool{}
	for _, l := range strings.Split(r.out, "\n") {
		m := ran.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		col := utf8.RuneCountInString(l[:m[3]])
		cols[col] = append(cols[col], l)
		durs[l[m[2]:m[3]]] = true
	}
	if len(durs) < 2 {
		t.Fatalf("want step lines with different durations to compare:\n%s", r.out)
	}
	if len(cols) != 1 {
		t.Errorf("the text after the duration starts in %d different columns:\n%v", len(cols), cols)
	}
}

// TestWorkspaceLockStaleSession: a Session opened before another jitpwiz finished steps in
// the workspace (and let go of it) is refused at Connect rather than save over that work;
// opened again, it connects.
func TestWorkspaceLockStaleSession(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	stale, err := steps.Open(steps.Options{Dir: dir, Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	// The other run finishes step 1, saves, and dies (the lock goes with it).
	if r := jitpwiz(t, "run", "--dir", dir, "--yes", "--stop-after", "ca-key"); r.err == nil {
		t.Fatalf("--stop-after should kill the run:\n%s", r)
	}
	err = stale.Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "workspace "+dir+" was changed by another jitpwiz") {
		t.Fatalf("Connect with a stale session: want a refusal, got %v", err)
	}
	fresh := session(t, dir)
	if _, ok := fresh.Finished[string(steps.IDCAKey)]; !ok {
		t.Errorf("the reopened session does not see the other run's step 1")
	}
}
