// Package testtool finds the real tools the tests drive — openssl, the AWS CLI,
// mosquitto_pub, tmux — once for every package. Without a tool a test is skipped on a
// laptop, but under CI=true it fails: CI installs every tool the tests need
// (scripts/deps.sh), so a missing one there is a broken machine, not a reason to pass.
//
// It imports nothing of jitpwiz, so that every package's tests can use it, pki's own
// included.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Need returns the path of the external tool name (a name looked up on PATH, or a path),
// skipping the test when it is missing — except under CI=true, where it fails the test.
func Need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI but not installed: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}
