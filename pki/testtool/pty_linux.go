package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// OpenPTY opens a new pseudo-terminal: term is the terminal's side (what it reads is what the
// program writes, what is written to it the program reads as typed), tty the program's side
// (its stdin, stdout and controlling terminal). Nothing answers the program's queries unless
// the caller does: a terminal that never answers.
func OpenPTY(cols, rows int) (term, tty *os.File, err error) {
	term, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fail := func(what string, e error) (*os.File, *os.File, error) {
		term.Close()
		return nil, nil, fmt.Errorf("pty: %s: %w", what, e)
	}
	var unlock int32
	if err := ioctl(term, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		return fail("unlock", err)
	}
	var n uint32
	if err := ioctl(term, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		return fail("number", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return fail("open", err)
	}
	size := struct{ rows, cols, x, y uint16 }{uint16(rows), uint16(cols), 0, 0}
	if err := ioctl(tty, syscall.TIOCSWINSZ, unsafe.Pointer(&size)); err != nil {
		tty.Close()
		return fail("size", err)
	}
	return term, tty, nil
}

// PTYRun is a program running on a pseudo-terminal of its own, its output collected as it
// comes.
type PTYRun struct {
	Cmd   *exec.Cmd
	Start time.Time // just before the program was started
	term  *os.File
	mu    sync.Mutex
	out   []byte
	more  chan struct{} // closed and replaced whenever output arrives
	done  chan struct{} // the reader stopped (the program and its terminal are gone)
}

// StartPTY starts cmd on a new cols×rows pseudo-terminal (its stdin, stdout, stderr and
// controlling terminal). answer, when not nil, is the terminal: it sees each piece of output
// and returns what the terminal replies (nil for nothing).
func StartPTY(cmd *exec.Cmd, cols, rows int, answer func(out []byte) []byte) (*PTYRun, error) {
	term, tty, err := OpenPTY(cols, rows)
	if err != nil {
		return nil, err
	}
	defer tty.Close() // the program has its own copy
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	r := &PTYRun{Cmd: cmd, term: term, more: make(chan struct{}), done: make(chan struct{})}
	r.Start = time.Now()
	if err := cmd.Start(); err != nil {
		term.Close()
		return nil, err
	}
	go func() {
		defer close(r.done)
		buf := make([]byte, 64<<10)
		for {
			n, err := term.Read(buf)
			if n > 0 {
				if answer != nil {
					if reply := answer(buf[:n]); len(reply) > 0 {
						_, _ = term.Write(reply)
					}
				}
				r.mu.Lock()
				r.out = append(r.out, buf[:n]...)
				close(r.more)
				r.more = make(chan struct{})
				r.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	return r, nil
}

// WaitFor waits until the output holds s, at most timeout: how long after the start it
// arrived, the output up to its end, and whether it did.
func (r *PTYRun) WaitFor(s string, timeout time.Duration) (time.Duration, []byte, bool) {
	return r.WaitMatch(regexp.MustCompile(regexp.QuoteMeta(s)), timeout)
}

// WaitMatch is WaitFor for a regular expression.
func (r *PTYRun) WaitMatch(re *regexp.Regexp, timeout time.Duration) (time.Duration, []byte, bool) {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		out, more := append([]byte(nil), r.out...), r.more
		r.mu.Unlock()
		if loc := re.FindIndex(out); loc != nil {
			return time.Since(r.Start), out[:loc[1]], true
		}
		select {
		case <-more:
		case <-r.done:
			return 0, out, false
		case <-deadline:
			return 0, out, false
		}
	}
}

// Type sends s to the program as typed on the terminal.
func (r *PTYRun) Type(s string) (int, error) { return r.term.Write([]byte(s)) }

// Stop kills the program and closes its terminal.
func (r *PTYRun) Stop() {
	if r.Cmd.Process != nil {
		_ = r.Cmd.Process.Kill()
		_ = r.Cmd.Wait()
	}
	r.term.Close()
	<-r.done
}

// XtermEnv is the environment of a program on an xterm that nothing else describes: this
// process's, without a multiplexer, COLORFGBG, NO_COLOR or CI (termenv takes CI for "not a
// terminal" and then never asks it anything, which would hide what a user's terminal sees).
func XtermEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "TERM", "TMUX", "STY", "CI", "COLORFGBG", "NO_COLOR", "CLICOLOR_FORCE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TERM=xterm-256color")
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}
