// Package testtool finds the real tools the tests drive — openssl, the AWS CLI,
// mosquitto_pub, tmux — once for every package. Without a tool a test is skipped on a
// laptop, but under CI=true it fails: CI installs every tool the tests need
// (scripts/deps.sh), so a missing one there is a broken machine, not a reason to pass.
// It also starts helper processes (StartHelper) for the tests that need a second process,
// and has a Buffer goroutines may write while a test reads it.
//
// It imports nothing of jitpwiz, so that every package's tests can use it, pki's own
// included.
package testtool

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Need returns the path of the external tool name (a name looked up on PATH, or a path),
// skipping the test when it is missing — except under CI=true, where it fails the test.
func Need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI but not installed: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// Helper is a helper process: the test binary run again for one test function, which
// does its part only when its environment variables are set, and holds on until its
// stdin is closed.
type Helper struct {
	Cmd    *exec.Cmd
	Stdin  io.WriteCloser
	Stdout *bufio.Reader
	Stderr io.Reader // only from StartHelperWithStderr; read it, or the helper may block
}

// StartHelper starts the test binary again to run only the test named test, with env
// ("NAME=value") added to its environment and pipes to its stdin and stdout. The test's
// cleanup stops it if the test did not: it closes stdin and waits, and kills a helper
// that has not exited 30 seconds later.
func StartHelper(t testing.TB, test string, env ...string) *Helper {
	t.Helper()
	return startHelper(t, test, false, env)
}

// StartHelperWithStderr is StartHelper with the helper's standard error piped too.
func StartHelperWithStderr(t testing.TB, test string, env ...string) *Helper {
	t.Helper()
	return startHelper(t, test, true, env)
}

func startHelper(t testing.TB, test string, withStderr bool, env []string) *Helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	h := &Helper{Cmd: cmd}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if withStderr {
		if h.Stderr, err = cmd.StderrPipe(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.Stdin, h.Stdout = stdin, bufio.NewReader(stdout)
	t.Cleanup(func() {
		h.Stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return h
}

// ReadLine reads the next line the helper printed, without its newline.
func (h *Helper) ReadLine() (string, error) {
	line, err := h.Stdout.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// Stop closes the helper's stdin and waits for it to exit.
func (h *Helper) Stop() error {
	h.Stdin.Close()
	return h.Cmd.Wait()
}

// Buffer is a bytes.Buffer that goroutines may write (a command's output, a server's
// log) while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
