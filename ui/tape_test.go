package ui

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps"
)

// tapeWaits returns the regexes of every `Wait+Screen /regex/` in demo.tape.
func tapeWaits(t *testing.T) []*regexp.Regexp {
	t.Helper()
	b, err := os.ReadFile("../demo.tape")
	if err != nil {
		t.Fatalf("demo.tape: %v", err)
	}
	re := regexp.MustCompile(`(?m)^Wait\+Screen(?:@\S+)?\s+/(.*)/\s*$`)
	var out []*regexp.Regexp
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out = append(out, regexp.MustCompile(m[1]))
	}
	if len(out) == 0 {
		t.Fatal("demo.tape has no Wait+Screen")
	}
	return out
}

// TestDemoTapeFollowsPlan checks that the tape waits for every step of the plan, in order, by
// the title the sidebar shows — a renamed step would otherwise hang the recording.
func TestDemoTapeFollowsPlan(t *testing.T) {
	waits := tapeWaits(t)
	i := 0
	for n, st := range steps.NewPlan(&steps.Session{}).Steps() {
		want := regexp.MustCompile(`^● \+` + strconv.Itoa(n+1) + ` ` + regexp.QuoteMeta(st.Title()) + `$`)
		for i < len(waits) && !want.MatchString(waits[i].String()) {
			i++
		}
		if i == len(waits) {
			t.Fatalf("demo.tape never waits for step %d %q (or not in order)", n+1, st.Title())
		}
	}
}

// TestDemoTapeValidates runs `vhs validate demo.tape` (vhs is pinned and installed by CI).
func TestDemoTapeValidates(t *testing.T) {
	vhs := "vhs"
	if _, err := exec.LookPath(vhs); err != nil {
		// `go install` puts it in GOBIN or GOPATH/bin, which need not be on PATH
		if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
			for i, dir := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				if i == 1 {
					dir = filepath.Join(dir, "bin")
				}
				if p := filepath.Join(dir, "vhs"); dir != "" && fileExists(p) {
					vhs = p
					break
				}
			}
		}
	}
	if vhs == "vhs" {
		testtool.Need(t, "vhs")
	}
	out, err := exec.Command(vhs, "validate", "../demo.tape").CombinedOutput()
	if err != nil {
		t.Fatalf("vhs validate demo.tape: %v\n%s", err, out)
	}
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
