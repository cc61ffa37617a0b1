package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// startLocal runs `jitpwiz local` with args (after --dir dir and free ports) through
// cobra and waits for its banner. stop cancels its context (what Ctrl+C does through
// signal.NotifyContext) and waits until it has stopped without an error.
func startLocal(t *testing.T, dir string, args ...string) (out *testtool.Buffer, stop func()) {
	t.Helper()
	out = &testtool.Buffer{}
	cmd := newRootCmd()
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetArgs(append([]string{"local", "--dir", dir, "--api-port", "0", "--mqtt-port", "0"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // also when the banner never comes
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Events (Ctrl+C to stop):") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("jitpwiz local exited early: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return out, func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("jitpwiz local: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("jitpwiz local did not stop")
		}
	}
}

// TestLocalCommand runs `jitpwiz local` with free ports and a region, waits for the
// banner, and stops it.
func TestLocalCommand(t *testing.T) {
	dir := t.TempDir()
	out, stop := startLocal(t, dir, "--region", "eu-central-1")
	for _, want := range []string{"AWS_REGION=eu-central-1", "--endpoint-url http://127.0.0.1:", dir + "/.local-iot/awsRootCA.pem"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "127.0.0.1:4599") {
		t.Errorf("--api-port 0 still used the default port:\n%s", out.String())
	}
	stop()
}

// TestRunMigratesReleaseWorkspace: `jitpwiz run` on a workspace made by the release that
// kept the local IoT Core in state.json says, among its progress lines, that it migrated
// the state, and provisions a new device (a thing that is not in the state yet) against the migrated
// CA, role and template.
func TestRunMigratesReleaseWorkspace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("aws", "local", "store", "testdata", "release-workspace"))); err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, _ error) error {
		switch {
		case d.IsDir():
			return os.Chmod(p, 0o700)
		case strings.HasSuffix(p, ".key") || strings.HasSuffix(p, ".json"):
			return os.Chmod(p, 0o600)
		}
		return nil
	})
	run := func(args ...string) string {
		t.Helper()
		var out testtool.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"run", "--dir", dir, "--yes"}, args...))
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("jitpwiz run %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	out := run("--thing", "Sensor-004")
	if !strings.Contains(out, "· migrated the local IoT Core state from state.json") || !strings.Contains(out, "Sensor-004 was provisioned Just-in-Time") {
		t.Fatalf("run on a workspace of the previous release:\n%s", out)
	}
	if out := run("--thing", "Sensor-005"); strings.Contains(out, "migrated") {
		t.Errorf("the second run migrated again:\n%s", out)
	}
}
