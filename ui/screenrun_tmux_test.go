package ui

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

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
	bin, tmp := tmuxBinary(t, "runs the real binary in tmux")
	awsCLI := testtool.Need(t, "aws")
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		awsCLI = "/usr/bin/aws"
	}
	dir := filepath.Join(tmp, "ws")
	if out, err := exec.Command(bin, "run", "--dir", dir, "--yes", "--until", "10").CombinedOutput(); err != nil {
		t.Fatalf("run --until 10: %v\n%s", err, out)
	}
	s := openWorkspace(t, dir)
	if err := s.Client().UpdateCA(context.Background(), s.CA.RegisteredID, aws.UpdateCAInput{NewAutoRegistrationStatus: aws.AutoRegDisable}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	ts := startTmux(t, "autoreg", 120, 45, bin+" --dir "+dir)
	ts.waitFor("step 11", 20*time.Second, func(scr string) bool {
		return regexp.MustCompile(`● +11 First connect`).MatchString(scr) && strings.Contains(scr, "enter run")
	})
	pressUntil(t, ts, "Enter", func(scr string) bool {
		return strings.Contains(scr, "Running First connect") || strings.Contains(scr, "First connect failed")
	})
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
	pressUntil(t, ts, "r", func(scr string) bool {
		return strings.Contains(scr, "Running First connect") || regexp.MustCompile(`✓ +11 First connect`).MatchString(scr)
	})
	ts.waitFor("step 11 done after the fix", 30*time.Second, func(scr string) bool { return regexp.MustCompile(`✓ +11 First connect`).MatchString(scr) })
}

// TestTmuxTemplateNeedsOrganization: step 7 with a template file that needs the device
// certificate's Organization offers the field right there; with it typed, the wizard goes on
// to the end and JITP provisions the thing with the organization from the certificate.
func TestTmuxTemplateNeedsOrganization(t *testing.T) {
	bin, tmp := tmuxBinary(t, "runs the real binary in tmux")
	dir := filepath.Join(tmp, "ws")
	tpl, err := filepath.Abs("../steps/testdata/template-needs-org.json") // the thing's attribute org is the certificate's O
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "run", "--dir", dir, "--yes", "--until", "6").CombinedOutput(); err != nil {
		t.Fatalf("run --until 6: %v\n%s", err, out)
	}
	ts := startTmux(t, "needso", 120, 45, bin+" --dir "+dir)
	ts.waitFor("step 7", 20*time.Second, func(scr string) bool {
		return regexp.MustCompile(`● +7 Template`).MatchString(scr) && strings.Contains(scr, "enter run")
	})
	// scoped → admin → named → load a file, the last choice (a j more stays there). Keys that
	// arrive while the program still reads the terminal's answers at start-up are lost: j is
	// sent until the screen shows the choice.
	pressUntil(t, ts, "j", func(scr string) bool { return strings.Contains(scr, "(●) load a file") })
	ts.waitFor("the file input", 10*time.Second, func(scr string) bool { return strings.Contains(scr, "Template file") })
	ts.send("Tab")
	ts.send("-l", tpl)
	scr := ts.waitFor("the Organization offered", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "Organization (O) — the template needs it")
	})
	if !strings.Contains(flat(scr), "type the Organization (O) below") {
		t.Errorf("the file's problem does not point at the field:\n%s", scr)
	}
	ts.send("Tab")
	ts.send("-l", "Acme")
	ts.send("Enter")
	ts.waitFor("step 7 done", 20*time.Second, func(scr string) bool {
		return regexp.MustCompile(`✓ +7 Template`).MatchString(scr) && strings.Contains(scr, "enter continue")
	})
	ts.enterThrough(i18n.En, nil)
	ts.quit()
	s := openWorkspace(t, dir)
	th, err := s.Client().DescribeThing(context.Background(), steps.DefaultThing)
	if err != nil || th.Attributes["org"] != "Acme" {
		t.Fatalf("thing %+v (%v): want org=Acme from the certificate's subject", th, err)
	}
}

// pressUntil sends key until the screen shows what it should (a key the program never read is
// sent again; one it read moves the screen, and is not).
func pressUntil(t *testing.T, ts *tmuxSession, key string, shown func(string) bool) {
	t.Helper()
	for try := 0; try < 20; try++ {
		ts.send(key)
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if shown(ts.capture()) {
				return
			}
		}
	}
	t.Fatalf("%s never showed its effect:\n%s", key, ts.capture())
}
