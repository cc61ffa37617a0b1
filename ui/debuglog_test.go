package ui

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps"
)

// TestDebugLogRefusesLink: --debug's log file (<workspace>/jitpwiz-debug.log) is never
// appended through a planted symbolic link: the wizard does not start, the error names the
// file and the flag, and the file behind the link is untouched.
func TestDebugLogRefusesLink(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "jitpwiz-debug.log")
	if err := os.Symlink(victim, logFile); err != nil {
		t.Fatal(err)
	}
	w := newWorld()
	plan := []steps.Step{&testStep{id: "one", title: "One", w: w}}
	rc := RunConfig{Options: Options{Plan: steps.PlanOf(plan...), Spinner: oneFrame, Copy: (&clip{}).copy},
		In: strings.NewReader(""), Out: io.Discard, NoAltScreen: true, DebugLog: logFile}
	// The deadline only ends a wizard that started anyway (the failure this test catches).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Run(ctx, rc)
	if !errors.Is(err, pki.ErrNotRegular) || !strings.Contains(err.Error(), "--debug") || !strings.Contains(err.Error(), logFile) {
		t.Fatalf("Run with a linked debug log: %v, want a refusal naming --debug and %s", err, logFile)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the file behind the link was written: %q", b)
	}
	if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o644 {
		t.Errorf("the file behind the link changed mode: %v", fi.Mode())
	}
}
