package ui

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps"
)

var sharedBin struct {
	once     sync.Once
	bin, err string
}

// screenBinary is tmuxBinary built once for the tests of this file.
func screenBinary(t *testing.T, why string) string {
	t.Helper()
	testtool.Need(t, "tmux")
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip(why)
	}
	sharedBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "jitpwiz-ui-bin-")
		if err != nil {
			sharedBin.err = err.Error()
			return
		}
		sharedBin.bin = filepath.Join(dir, "jitpwiz")
		build := exec.Command("go", "build", "-o", sharedBin.bin, ".")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			sharedBin.err = err.Error() + "\n" + string(out)
		}
	})
	if sharedBin.err != "" {
		t.Fatalf("go build: %s", sharedBin.err)
	}
	return sharedBin.bin
}

// flat is a captured screen as one line of words: box edges gone, wrapped lines joined.
func flat(scr string) string {
	scr = strings.NewReplacer("│", " ", "╭", " ", "╮", " ", "╰", " ", "╯", " ", "─", " ").Replace(scr)
	return strings.Join(strings.Fields(scr), " ")
}

// TestTmuxFirstConnectAutoRegistrationOff: with auto-registration DISABLE on the CA, step 11
// first says the connection was dropped and that it checks whether JITP ran — never that the
// drop was the expected outcome — then fails; the failed view keeps the polling evidence, and
// the banner's fix names this workspace's region and endpoint: run by hand with the real AWS
// CLI, it fixes the CA, and r then provisions the device.
func TestTmuxFirstConnectAutoRegistrationOff(t *testing.T) {
	bin := screenBinary(t, "runs the real binary in tmux")
	awsCLI := testtool.Need(t, "aws")
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		awsCLI = "/usr/bin/aws"
	}
	dir := filepath.Join(t.TempDir(), "ws")
	if out, err := exec.Command(bin, "run", "--dir", dir, "--yes", "--until", "10").CombinedOutput(); err != nil {
		t.Fatalf("run --until 10: %v\n%s", err, out)
	}
	s, err := steps.Open(steps.Options{Dir: dir})
	if err == nil {
		err = s.Connect(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Client().UpdateCA(context.Background(), s.CA.RegisteredID, aws.UpdateCAInput{NewAutoRegistrationStatus: aws.AutoRegDisable}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	ts := startTmux(t, "autoreg", 120, 45, bin+" --dir "+dir)
	ts.waitFor("step 11", 20*time.Second, func(scr string) bool {
		return strings.Contains(scr, "● 11 First connect") && strings.Contains(scr, "enter run")
	})
	ts.send("Enter")
	scr := flat(ts.waitFor("step 11 to fail", 30*time.Second, func(scr string) bool { return strings.Contains(scr, "First connect failed") }))
	for _, want := range []string{"the broker dropped the connection without CONNACK — checking whether JITP ran", "certificate status after", "auto-registration is DISABLE"} {
		if !strings.Contains(scr, want) {
			t.Errorf("the failed view lacks %q:\n%s", want, scr)
		}
	}
	if strings.Contains(scr, "expected JITP behaviour") {
		t.Errorf("the failed first connect calls the drop the expected JITP behaviour:\n%s", scr)
	}
	fix := regexp.MustCompile(`Fix: (aws iot update-ca-certificate --certificate-id [0-9a-f]{64} --new-auto-registration-status ENABLE --region us-east-2 --endpoint-url http://127\.0\.0\.1:\d+)`).FindStringSubmatch(scr)
	if fix == nil {
		t.Fatalf("the banner's fix does not name this workspace's region and endpoint:\n%s", scr)
	}
	cmd := exec.Command("sh", "-c", strings.Replace(fix[1], "aws", awsCLI, 1))
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the fix, run by hand: %v\n%s", err, out)
	}
	ts.send("r")
	ts.waitFor("step 11 done after the fix", 30*time.Second, func(scr string) bool { return strings.Contains(scr, "✓ 11 First connect") })
}
