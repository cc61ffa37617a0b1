package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// openssl runs the openssl binary in dir and returns stdout; it fails the test on error.
func openssl(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := opensslErr(dir, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func opensslErr(dir string, args ...string) (string, error) {
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.Stdin = strings.NewReader("")
	err := cmd.Run()
	return buf.String(), err
}

// shell runs a command line with bash in dir and returns stdout.
func shell(t testing.TB, dir, line string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", "set -eo pipefail\n"+line)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader("")
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash -c %q: %v\nstdout: %s\nstderr: %s", line, err, out.String(), errb.String())
	}
	return out.String()
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustContain(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s: %q does not contain %q", what, s, sub)
		}
	}
}

type (
	rsaPrivateKey   = rsa.PrivateKey
	ecdsaPrivateKey = ecdsa.PrivateKey
)

func bigOne() *big.Int { return big.NewInt(1) }
