package ui

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// tmuxSession is a detached tmux session on a private server socket.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
	seen   []string // every screen captured, for checking demo.tape's waits
}

func (s *tmuxSession) run(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	return string(out), err
}

func (s *tmuxSession) capture() string {
	out, err := s.run("capture-pane", "-p", "-t", s.name)
	if err != nil {
		s.t.Fatalf("capture-pane: %v: %s", err, out)
	}
	if len(s.seen) == 0 || s.seen[len(s.seen)-1] != out {
		s.seen = append(s.seen, out)
	}
	return out
}

func (s *tmuxSession) send(keys ...string) {
	if out, err := s.run(append([]string{"send-keys", "-t", s.name}, keys...)...); err != nil {
		s.t.Fatalf("send-keys %v: %v: %s", keys, err, out)
	}
}

// waitFor polls the pane until cond holds or the deadline passes.
func (s *tmuxSession) waitFor(what string, d time.Duration, cond func(string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	scr := ""
	for time.Now().Before(deadline) {
		scr = s.capture()
		if cond(scr) {
			return scr
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a timing assumption
	}
	s.t.Fatalf("timed out waiting for %s; screen:\n%s", what, scr)
	return ""
}

// startTmux runs cmd in a detached width×height tmux session of its own server, which the
// test's cleanup kills.
func startTmux(t *testing.T, name string, width, height int, cmd string) *tmuxSession {
	t.Helper()
	sweepTmux.Do(sweepStaleTmux)
	s := &tmuxSession{t: t, socket: fmt.Sprintf("jitpwiz-%s-%d", name, os.Getpid()), name: name}
	if out, err := s.run("new-session", "-d", "-s", s.name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), cmd); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _, _ = s.run("kill-server") })
	return s
}

var sweepTmux sync.Once

// sweepStaleTmux kills the tmux servers an earlier test process left behind: a test that go
// test's timeout killed runs no cleanup, so its server (socket jitpwiz-NAME-PID) outlives it.
// A socket whose process is gone is stale; one of a live process (another package's tests,
// running now) is left alone.
func sweepStaleTmux() {
	dir := filepath.Join(cmp.Or(os.Getenv("TMUX_TMPDIR"), "/tmp"), fmt.Sprintf("tmux-%d", os.Getuid())) // where tmux keeps its sockets
	socks, _ := filepath.Glob(filepath.Join(dir, "jitpwiz-*-*"))
	for _, sock := range socks {
		name := filepath.Base(sock)
		pid, err := strconv.Atoi(name[strings.LastIndexByte(name, '-')+1:])
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		_ = exec.Command("tmux", "-L", name, "kill-server").Run()
		_ = os.Remove(sock)
	}
}

// alive says whether process pid exists (EPERM: it does, and is another user's).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// built is the jitpwiz binary the tmux tests run, built once for all of them.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// tmuxBinary is what a test of the real binary in tmux needs: tmux (or a skip, never under
// CI=true), and what jitpwizBinary gives.
func tmuxBinary(t *testing.T, why string) (bin, dir string) {
	t.Helper()
	testtool.Need(t, "tmux")
	return jitpwizBinary(t, why)
}

// jitpwizBinary is jitpwiz (built once for the package's tests) and a new directory of the
// test's own. Tests of the real binary are skipped with -short (why says what they do).
func jitpwizBinary(t *testing.T, why string) (bin, dir string) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip(why)
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "jitpwiz-ui-test-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "jitpwiz")
		build := exec.Command("go", "build", "-o", built.bin, ".")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin, t.TempDir()
}

// removeBuilt removes the binary the tests built (from TestMain, after every test).
func removeBuilt() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}

// resize makes the session's window width×height and waits until the program has drawn a
// frame of that width (ready says when the frame is complete).
func (s *tmuxSession) resize(width, height int, ready func(scr string) bool) string {
	s.t.Helper()
	if out, err := s.run("resize-window", "-t", s.name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height)); err != nil {
		s.t.Fatalf("resize-window: %v: %s", err, out)
	}
	return s.waitFor(fmt.Sprintf("a frame %d wide", width), 20*time.Second, ready)
}

// sendBytes writes raw bytes to the program's terminal input (what a terminal sends for a
// mouse event, for instance).
func (s *tmuxSession) sendBytes(b string) {
	args := []string{"send-keys", "-t", s.name, "-H"}
	for i := 0; i < len(b); i++ {
		args = append(args, fmt.Sprintf("%02x", b[i]))
	}
	if out, err := s.run(args...); err != nil {
		s.t.Fatalf("send-keys -H: %v: %s", err, out)
	}
}

// buffer is tmux's most recent paste buffer ("" when there is none).
func (s *tmuxSession) buffer() string {
	out, err := s.run("show-buffer")
	if err != nil {
		return ""
	}
	return out
}

// clearBuffers deletes every paste buffer of the session's server.
func (s *tmuxSession) clearBuffers() {
	for i := 0; i < 100; i++ {
		if _, err := s.run("delete-buffer"); err != nil {
			return
		}
	}
}

// enterThrough presses enter on each step of the wizard in s, which speaks lang — run it, then
// go on — until the closing screen, which it returns; a step that fails fails the test. It reads
// the footer's keys, the banner's "failed" and the closing line in lang, and the step's number
// from the sidebar's marker. ready, when not nil, is called with the step's number and screen
// before enter runs it (phase "run") and once it is done (phase "done"); it leaves the pane as
// it found it.
func (s *tmuxSession) enterThrough(lang i18n.Lang, ready func(n, phase, scr string)) string {
	t := s.t
	t.Helper()
	p := i18n.For(lang)
	run, cont := "enter "+p.T("base.key.run"), "enter "+p.T("base.key.continue")
	allDone := strings.TrimRight(p.T("ui.all-done"), ".。")
	failedWord := strings.TrimSpace(p.T("base.failed", i18n.Args{"Step": ""}))
	failed := func(scr string) bool { return strings.Contains(scr, failedWord) }
	step := func(scr string) string {
		if m := sidebarHere.FindStringSubmatch(scr); m != nil {
			return m[1]
		}
		return ""
	}
	for i := 0; i < 40; i++ {
		scr := s.waitFor("a step ready for enter", 60*time.Second, func(scr string) bool {
			return strings.Contains(scr, run) || strings.Contains(scr, cont) || strings.Contains(scr, allDone) || failed(scr)
		})
		switch {
		case failed(scr):
			t.Fatalf("a step failed:\n%s", scr)
		case strings.Contains(scr, allDone):
			return scr
		}
		n := step(scr)
		if n == "" {
			t.Fatalf("no step marked in the sidebar:\n%s", scr)
		}
		if strings.Contains(scr, run) {
			if ready != nil {
				ready(n, "run", scr)
			}
			s.send("Enter")
			scr = s.waitFor("step "+n+" to finish", 60*time.Second, func(scr string) bool {
				return strings.Contains(scr, cont) || failed(scr)
			})
			if failed(scr) {
				t.Fatalf("step %s failed:\n%s", n, scr)
			}
		}
		if ready != nil {
			ready(n, "done", scr)
		}
		s.send("Enter")
		s.waitFor("the step after "+n, 60*time.Second, func(scr string) bool {
			return strings.Contains(scr, allDone) || step(scr) != "" && step(scr) != n
		})
	}
	t.Fatalf("the wizard did not finish; screen:\n%s", s.capture())
	return ""
}

// quit presses q and waits until the program has ended (tmux then closes the session).
func (s *tmuxSession) quit() {
	s.t.Helper()
	s.send("q")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := s.run("has-session", "-t", s.name); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a timing assumption
	}
	s.t.Fatalf("q did not end the program:\n%s", s.capture())
}

// TestTmuxDemo runs the real binary as a person would: `jitpwiz --demo` in a 120×40 tmux
// pane, enter through every step, and the final screen must show the device's message and
// every step ✓.
func TestTmuxDemo(t *testing.T) {
	bin, tmp := tmuxBinary(t, "builds and runs the whole wizard")
	ws := filepath.Join(tmp, "ws")
	s := startTmux(t, "demo", 120, 40, fmt.Sprintf("%s --demo --dir %s", bin, ws))

	s.waitFor("the first step", 20*time.Second, func(scr string) bool { return strings.Contains(scr, "CA key") && strings.Contains(scr, "enter run") })
	final := s.enterThrough(i18n.En, nil)
	done := regexp.MustCompile(`(?m)^\s*✓ +\d{1,2} \S`).FindAllString(final, -1)
	if len(done) != 13 {
		t.Errorf("want 13 steps ✓ in the sidebar, got %d:\n%s", len(done), final)
	}
	if !strings.Contains(final, "published and received as DemoThing") {
		t.Errorf("final screen does not show the published message:\n%s", final)
	}
	// every Wait+Screen of demo.tape must match a screen the real program showed
	for _, re := range tapeWaits(t) {
		found := false
		for _, scr := range s.seen {
			if re.MatchString(scr) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("demo.tape waits for /%s/, which no screen of the real program matched", re)
		}
	}
	s.quit()
}
