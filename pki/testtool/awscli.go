package testtool

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The AWS CLI v2 is Python: each `aws` process spends about a second of CPU importing
// awscli before it sends anything. AWSCLI runs the real CLI's entry point instead in a
// long-lived interpreter (awscli_driver.py, started from the same interpreter and
// installation as the aws script), one fresh CLI run per command, with the command's
// environment, directory and argument list, and returns what the process would have
// printed and its exit code. TestAWSCLIDriverMatchesSubprocess (in aws/local/api) holds
// it to that, byte for byte, against the subprocess.
//
// If a driver cannot be started the command runs as a subprocess and the test logs why;
// under CI=true that failure fails the test instead. JITPWIZ_AWSCLI=subprocess makes
// every command a subprocess (to compare or to measure).

//go:embed awscli_driver.py
var awsCLIDriverSource []byte

// AWSCLICommand is one run of the AWS CLI.
type AWSCLICommand struct {
	Script   string        // the aws script, e.g. /usr/bin/aws
	Args     []string      // the arguments after "aws"
	Env      []string      // the whole environment ("NAME=value"), as exec.Cmd.Env
	Dir      string        // the working directory
	Combined bool          // stderr goes where stdout goes (Stdout holds both, in order)
	Timeout  time.Duration // 0: none
}

// AWSCLIResult is what the CLI printed and its exit code.
type AWSCLIResult struct {
	Stdout, Stderr string
	Code           int
}

// AWSCLI runs c through a shared driver (see above), or as a subprocess when no driver can
// be had.
func AWSCLI(t testing.TB, c AWSCLICommand) AWSCLIResult {
	t.Helper()
	if os.Getenv("JITPWIZ_AWSCLI") == "subprocess" {
		return AWSCLISubprocess(t, c)
	}
	r, err := AWSCLIDriver(c)
	var unsupported errUnsupported
	switch {
	case errors.Is(err, errTimeout):
		t.Fatalf("aws %s timed out after %s", strings.Join(c.Args, " "), c.Timeout)
	case errors.As(err, &unsupported):
		t.Logf("aws %s: running a subprocess: %v", strings.Join(c.Args, " "), err)
		return AWSCLISubprocess(t, c)
	case err != nil:
		if os.Getenv("CI") == "true" {
			t.Fatalf("aws %s: the AWS CLI driver failed (under CI=true this is not left to the subprocess): %v",
				strings.Join(c.Args, " "), err)
		}
		t.Logf("aws %s: the AWS CLI driver failed, running a subprocess instead: %v", strings.Join(c.Args, " "), err)
		return AWSCLISubprocess(t, c)
	}
	return r
}

var errTimeout = errors.New("timed out")

// errUnsupported is a command the driver declines because only a new process would run
// it faithfully (not a failure of the driver).
type errUnsupported string

func (e errUnsupported) Error() string { return string(e) }

// AWSCLISubprocess runs c as its own process, as a user's shell would.
func AWSCLISubprocess(t testing.TB, c AWSCLICommand) AWSCLIResult {
	t.Helper()
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if c.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Script, c.Args...)
	cmd.Env, cmd.Dir = c.Env, c.Dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if c.Combined {
		cmd.Stderr = &out
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("aws %s timed out after %s: %s%s", strings.Join(c.Args, " "), c.Timeout, out.String(), errb.String())
	}
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("aws %s: %v", strings.Join(c.Args, " "), err)
		}
		code = ee.ExitCode()
	}
	return AWSCLIResult{out.String(), errb.String(), code}
}

// startupOnly reports whether the environment variable name matters only when the
// interpreter starts (so a driver started with one value cannot serve another).
func startupOnly(name string) bool {
	return strings.HasPrefix(name, "PYTHON") || name == "LANG" || strings.HasPrefix(name, "LC_")
}

// A pool of drivers for one script and one set of start-up-only variables.
type driverPool struct {
	script string
	env    []string // the drivers' start-up environment
	idle   chan *cliDriver
	mu     sync.Mutex
	n      int
	err    error // why a driver could not start; then the pool gives out none
}

var (
	poolsMu sync.Mutex
	pools   = map[string]*driverPool{}
)

func poolFor(c AWSCLICommand) *driverPool {
	var startEnv []string
	for _, kv := range c.Env {
		if name, _, _ := strings.Cut(kv, "="); startupOnly(name) || name == "PATH" {
			startEnv = append(startEnv, kv)
		}
	}
	slices.Sort(startEnv)
	key := c.Script + "\x00" + strings.Join(startEnv, "\x00")
	poolsMu.Lock()
	defer poolsMu.Unlock()
	p := pools[key]
	if p == nil {
		max := max(2, runtime.GOMAXPROCS(0))
		p = &driverPool{script: c.Script, env: startEnv, idle: make(chan *cliDriver, max)}
		pools[key] = p
	}
	return p
}

// get returns an idle driver, starts one while fewer than the pool's size run, or waits
// for one to come back.
func (p *driverPool) get() (*cliDriver, error) {
	select {
	case d := <-p.idle:
		return d, nil
	default:
	}
	p.mu.Lock()
	if p.err != nil {
		p.mu.Unlock()
		return nil, p.err
	}
	if p.n < cap(p.idle) {
		p.n++
		p.mu.Unlock()
		d, err := startDriver(p.script, p.env)
		if err != nil {
			p.mu.Lock()
			p.n--
			p.err = err
			p.mu.Unlock()
		}
		return d, err
	}
	p.mu.Unlock()
	return <-p.idle, nil
}

func (p *driverPool) put(d *cliDriver) { p.idle <- d }

// drop forgets a driver that failed; the pool may start another.
func (p *driverPool) drop(d *cliDriver) {
	d.kill()
	p.mu.Lock()
	p.n--
	p.mu.Unlock()
}

type cliDriver struct {
	cmd     *exec.Cmd
	req     *os.File
	ans     *bufio.Reader
	ansFile *os.File
	stderr  *Buffer
}

func (d *cliDriver) kill() {
	d.req.Close()
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
	d.ansFile.Close()
}

// startDriver starts the driver with the interpreter named on the script's #! line and
// waits until it has imported awscli.
func startDriver(script string, env []string) (*cliDriver, error) {
	interp, err := interpreterOf(script)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "awscli-driver-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the interpreter has read the script once it says it is ready
	src := filepath.Join(dir, "awscli_driver.py")
	if err := os.WriteFile(src, awsCLIDriverSource, 0o600); err != nil {
		return nil, err
	}
	home := filepath.Join(dir, "home") // empty: no user site-packages, no ~/.aws
	if err := os.Mkdir(home, 0o700); err != nil {
		return nil, err
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, err
	}
	cmd := exec.Command(interp[0], append(interp[1:], src, script)...)
	cmd.Env = append(slices.Clone(env), "HOME="+home)
	cmd.Dir = "/"                           // dir goes away; each command has its own directory
	cmd.ExtraFiles = []*os.File{reqR, ansW} // fds 3 and 4
	stderr := &Buffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		reqR.Close()
		reqW.Close()
		ansR.Close()
		ansW.Close()
		return nil, fmt.Errorf("starting %s: %w", strings.Join(interp, " "), err)
	}
	reqR.Close()
	ansW.Close()
	d := &cliDriver{cmd: cmd, req: reqW, ans: bufio.NewReader(ansR), ansFile: ansR, stderr: stderr}
	line, err := d.ans.ReadBytes('\n')
	var ready struct{ Ready bool }
	if err != nil || json.Unmarshal(line, &ready) != nil || !ready.Ready {
		d.kill()
		return nil, fmt.Errorf("%s %s did not start (%v): %s", strings.Join(interp, " "), script, err,
			strings.TrimSpace(stderr.String()))
	}
	return d, nil
}

// interpreterOf reads the #! line of script.
func interpreterOf(script string) ([]string, error) {
	f, err := os.Open(script)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "#!") {
		return nil, fmt.Errorf("%s does not start with a #! line", script)
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 || !strings.Contains(filepath.Base(fields[0]), "python") {
		return nil, fmt.Errorf("%s is not run by Python (#!%s)", script, strings.TrimSpace(line[2:]))
	}
	return fields, nil
}

// AWSCLIDriver runs c in a driver, never as a subprocess, and says why it could not.
func AWSCLIDriver(c AWSCLICommand) (AWSCLIResult, error) {
	env := map[string]string{}
	for _, kv := range c.Env {
		name, value, _ := strings.Cut(kv, "=")
		env[name] = value // the last one wins, as in exec.Cmd
	}
	dir := c.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return AWSCLIResult{}, err
		}
		dir = wd
	}
	req, err := json.Marshal(map[string]any{"argv": c.Args, "env": env, "cwd": dir, "combined": c.Combined})
	if err != nil {
		return AWSCLIResult{}, err
	}
	p := poolFor(c)
	d, err := p.get()
	if err != nil {
		return AWSCLIResult{}, err
	}
	type answer struct {
		Stdout, Stderr []byte
		Code           int
		Error          string
		Unsupported    string
	}
	done := make(chan error, 1)
	var ans answer
	go func() {
		if _, err := d.req.Write(append(req, '\n')); err != nil {
			done <- err
			return
		}
		line, err := d.ans.ReadBytes('\n')
		if err != nil {
			done <- fmt.Errorf("%w: %s", err, strings.TrimSpace(d.stderr.String()))
			return
		}
		done <- json.Unmarshal(line, &ans)
	}()
	var timeout <-chan time.Time
	if c.Timeout > 0 {
		tm := time.NewTimer(c.Timeout)
		defer tm.Stop()
		timeout = tm.C
	}
	select {
	case err = <-done:
	case <-timeout:
		p.drop(d)
		<-done
		return AWSCLIResult{}, errTimeout
	}
	if err == nil && ans.Unsupported != "" {
		p.put(d)
		return AWSCLIResult{}, errUnsupported(ans.Unsupported)
	}
	if err == nil && ans.Error != "" {
		err = errors.New(ans.Error)
	}
	if err != nil {
		p.drop(d)
		return AWSCLIResult{}, err
	}
	p.put(d)
	return AWSCLIResult{string(ans.Stdout), string(ans.Stderr), ans.Code}, nil
}

// StopAWSCLIDrivers ends every driver and waits for it (a TestMain calls it after m.Run,
// so that the drivers' CPU time is counted in the test binary's children's, as the aws
// processes' was). Without it the drivers end on their own when the test binary exits.
func StopAWSCLIDrivers() {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	for _, p := range pools {
		for {
			select {
			case d := <-p.idle:
				d.req.Close()
				_ = d.cmd.Wait()
				d.ansFile.Close()
				continue
			default:
			}
			break
		}
	}
}
