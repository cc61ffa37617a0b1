// Command demo records demo.tape's run of `jitpwiz --demo` with asciinema and renders it as
// an animated SVG with svg-term, for the README: vhs, which demo.tape is written for, cannot
// record on machines without ttyd. The tape stays the script: its keys, texts, pauses and
// waits on the screen drive a terminal in tmux, in which asciinema records the shown part.
//
//	go run ./scripts/demo -tape demo.tape -svg docs/demo.svg     (make demo)
//
// It needs tmux, asciinema (Debian) and svg-term (npm svg-term-cli): scripts/deps.sh.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

func main() {
	var o Options
	flag.StringVar(&o.Tape, "tape", "demo.tape", "the tape to follow")
	flag.StringVar(&o.Cast, "cast", "", "write the asciinema recording here (default: a temporary file)")
	flag.StringVar(&o.SVG, "svg", "docs/demo.svg", "render the recording as an animated SVG here")
	flag.IntVar(&o.Cols, "cols", 120, "terminal columns")
	flag.IntVar(&o.Rows, "rows", 40, "terminal rows")
	flag.StringVar(&o.Dir, "dir", ".", "directory the tape's commands run in")
	flag.Parse()
	if err := Record(o); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// Options say what to record and where.
type Options struct {
	Tape, Cast, SVG, Dir string
	Cols, Rows           int
	// Log receives a line per tape command (nil: none).
	Log func(string)
}

// Record follows the tape in a new tmux server of its own, records the shown part with
// asciinema into o.Cast and renders o.SVG with svg-term.
func Record(o Options) error {
	for _, tool := range []string{"tmux", "asciinema", "svg-term"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed — run scripts/deps.sh (asciinema from Debian, svg-term from npm's svg-term-cli)", tool)
		}
	}
	src, err := os.ReadFile(o.Tape)
	if err != nil {
		return fmt.Errorf("tape %s: %v", o.Tape, err)
	}
	tape, err := ParseTape(string(src))
	if err != nil {
		return fmt.Errorf("%s: %w", o.Tape, err)
	}
	if o.Cast == "" {
		tmp, err := os.MkdirTemp("", "jitpwiz-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		o.Cast = filepath.Join(tmp, "demo.cast")
	}
	if o.Cast, err = filepath.Abs(o.Cast); err != nil {
		return err
	}
	r := &recorder{o: o, tape: tape, socket: fmt.Sprintf("jitpwiz-demo-%d", os.Getpid())}
	defer r.tmux("kill-server")
	if err := r.follow(); err != nil {
		return fmt.Errorf("%w\nthe screen:\n%s", err, r.screen())
	}
	if err := checkCast(o.Cast); err != nil {
		return err
	}
	if o.SVG == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.SVG), 0o755); err != nil {
		return err
	}
	out, err := exec.Command("svg-term", "--in", o.Cast, "--out", o.SVG, "--window", "--width", fmt.Sprint(o.Cols), "--height", fmt.Sprint(o.Rows)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("svg-term: %v\n%s", err, out)
	}
	return nil
}

type recorder struct {
	o         Options
	tape      *Tape
	socket    string
	recording bool
}

func (r *recorder) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", r.socket}, args...)...).CombinedOutput()
	return string(out), err
}

func (r *recorder) screen() string {
	out, _ := r.tmux("capture-pane", "-p", "-t", "demo")
	return out
}

func (r *recorder) log(format string, args ...any) {
	if r.o.Log != nil {
		r.o.Log(fmt.Sprintf(format, args...))
	}
}

// prompt is the shells' prompt ($ then a space): Wait waits for it on the last line.
const prompt = "$ "

// follow runs the tape: a plain shell in tmux, the hidden commands in it, then asciinema
// recording a shell of its own for the rest, which ends with the tape.
func (r *recorder) follow() error {
	shell := "env PS1='" + prompt + "' PROMPT_COMMAND= bash --norc --noprofile"
	if out, err := r.tmux("new-session", "-d", "-s", "demo", "-x", fmt.Sprint(r.o.Cols), "-y", fmt.Sprint(r.o.Rows), "-c", r.o.Dir, shell); err != nil {
		return fmt.Errorf("tmux new-session: %v: %s", err, out)
	}
	if out, err := r.tmux("set-option", "-t", "demo", "status", "off"); err != nil {
		return fmt.Errorf("tmux set-option: %v: %s", err, out)
	}
	if err := r.waitPrompt(r.tape.WaitTimeout); err != nil {
		return err
	}
	hidden := false
	for _, c := range r.tape.Commands {
		switch c.Kind {
		case Hide:
			if r.recording {
				return fmt.Errorf("line %d: Hide after the recording started: this recorder only hides what comes before it", c.Line)
			}
			hidden = true
			continue
		case Show:
			hidden = false
			continue
		}
		if !hidden && !r.recording {
			if err := r.startRecording(); err != nil {
				return err
			}
		}
		if err := r.do(c, hidden); err != nil {
			return fmt.Errorf("line %d: %w", c.Line, err)
		}
	}
	if r.recording {
		return r.stopRecording()
	}
	return errors.New("the tape shows nothing: no command after its last Hide")
}

func (r *recorder) do(c Command, hidden bool) error {
	switch c.Kind {
	case Type:
		r.log("type %q", c.Text)
		if hidden {
			return r.send("-l", c.Text)
		}
		for _, ch := range c.Text {
			if err := r.send("-l", string(ch)); err != nil {
				return err
			}
			time.Sleep(r.tape.TypingSpeed) // the recording's typing pace
		}
	case Key:
		r.log("key %s", c.Key)
		return r.send(c.Key)
	case Sleep:
		if !hidden {
			time.Sleep(c.Dur) // a pause in the recording, for viewers to read
		}
	case WaitPrompt:
		r.log("wait for the prompt")
		return r.waitPrompt(r.tape.WaitTimeout)
	case WaitScreen:
		r.log("wait for /%s/", c.Re)
		return r.waitScreen(c.Re, r.tape.WaitTimeout)
	}
	return nil
}

func (r *recorder) send(keys ...string) error {
	if out, err := r.tmux(append([]string{"send-keys", "-t", "demo"}, keys...)...); err != nil {
		return fmt.Errorf("tmux send-keys: %v: %s", err, out)
	}
	return nil
}

// waitScreen polls the pane until re matches it.
func (r *recorder) waitScreen(re *regexp.Regexp, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if re.MatchString(r.screen()) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the screen did not show /%s/ within %s", re, timeout)
		}
		time.Sleep(50 * time.Millisecond) // the polling interval
	}
}

// waitPrompt waits until the last line of the pane that is not empty is the bare prompt.
func (r *recorder) waitPrompt(timeout time.Duration) error {
	return r.waitScreen(regexp.MustCompile(`(?m)^\$\s*\z`), timeout)
}

// doneMark is what the shell prints once asciinema has ended: 42-recorded (the command line
// says $((6*7))-recorded, so only the output matches).
var doneMark = regexp.MustCompile(`(?m)^42-recorded$`)

func (r *recorder) startRecording() error {
	r.log("recording to %s", r.o.Cast)
	cmd := fmt.Sprintf(`asciinema rec --quiet --overwrite --idle-time-limit 3 --cols %d --rows %d -c "bash --norc --noprofile" %s; clear; echo "$((6*7))-recorded"`,
		r.o.Cols, r.o.Rows, shellQuote(r.o.Cast))
	if err := r.send("-l", cmd); err != nil {
		return err
	}
	if err := r.send("Enter"); err != nil {
		return err
	}
	if err := r.waitPrompt(r.tape.WaitTimeout); err != nil {
		return fmt.Errorf("asciinema did not start: %w", err)
	}
	r.recording = true
	return nil
}

func (r *recorder) stopRecording() error {
	if err := r.send("-l", "exit"); err != nil {
		return err
	}
	if err := r.send("Enter"); err != nil {
		return err
	}
	if err := r.waitScreen(doneMark, r.tape.WaitTimeout); err != nil {
		return fmt.Errorf("asciinema did not end: %w", err)
	}
	return nil
}

// checkCast checks that path is an asciicast v2 recording with output in it.
func checkCast(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("no recording: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	if !sc.Scan() || !strings.Contains(sc.Text(), `"version": 2`) && !strings.Contains(sc.Text(), `"version":2`) {
		return fmt.Errorf("%s is not an asciicast v2 recording", path)
	}
	events := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"o"`) {
			events++
		}
	}
	if events == 0 {
		return fmt.Errorf("%s recorded no output", path)
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
