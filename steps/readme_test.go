package steps_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// readmeBlocks returns the README's command blocks marked <!-- readme-test: NAME -->, by name.
func readmeBlocks(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)<!-- readme-test: (\\S+) -->\n```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	for _, name := range []string{"run", "serve", "by-hand"} {
		if out[name] == "" {
			t.Fatalf("README.md has no ```sh block marked <!-- readme-test: %s -->", name)
		}
	}
	return out
}

// TestREADMEByHand runs the README's by-hand commands as they are written: `jitpwiz run` in a
// new directory, `jitpwiz local` in a shell of its own, and — in a second shell, after the
// `cd` and `export` lines jitpwiz local printed, as the README says to paste — the AWS CLI and
// mosquitto_pub lines. Each must succeed.
func TestREADMEByHand(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "aws")
	testtool.Need(t, "mosquitto_pub")
	blocks := readmeBlocks(t)
	cwd := t.TempDir()
	env := append(os.Environ(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"), "AWS_PAGER=", "NO_COLOR=1")
	shell := func(script string) (string, error) {
		cmd := exec.Command("bash", "-e", "-c", script)
		cmd.Dir, cmd.Env = cwd, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := shell(blocks["run"]); err != nil {
		t.Fatalf("README block run:\n%s\n%v\n%s", blocks["run"], err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, "bash", "-c", "exec "+strings.TrimSpace(blocks["serve"]))
	srv.Dir, srv.Env = cwd, env
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = srv.Stdout
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	var banner strings.Builder
	var paste []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		banner.WriteString(line + "\n")
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "cd ") || strings.HasPrefix(l, "export ") {
			paste = append(paste, l)
		}
		if strings.Contains(line, "Events (Ctrl+C to stop)") {
			break
		}
	}
	go func() { // keep the event stream flowing
		for sc.Scan() {
		}
	}()
	if len(paste) != 3 || !strings.HasPrefix(paste[0], "cd ") {
		t.Fatalf("jitpwiz local did not print the cd and export lines the README says to paste:\n%s", banner.String())
	}
	script := strings.Join(paste, "\n") + "\n" + blocks["by-hand"]
	if out, err := shell(script); err != nil || !strings.Contains(out, "received PUBACK") {
		t.Fatalf("README block by-hand, after the pasted lines:\n%s\n%v\n%s", script, err, out)
	}
}
