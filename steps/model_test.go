package steps

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

func TestWrapCommand(t *testing.T) {
	cases := []struct {
		line  string
		width int
		want  []string
	}{
		{"openssl genrsa -out deviceRootCA.key 2048", 60, []string{"openssl genrsa -out deviceRootCA.key 2048"}},
		{"openssl x509 -req -days 3650 -extfile deviceRootCA_openssl.conf -extensions v3_ca", 50,
			[]string{"openssl x509 -req -days 3650 -extfile \\", "    deviceRootCA_openssl.conf -extensions v3_ca"}},
	}
	for _, c := range cases {
		got := wrapCommand(c.line, c.width)
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("wrapCommand(%q, %d) =\n%s\nwant\n%s", c.line, c.width, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
		for _, l := range got {
			if ansi.StringWidth(l) > c.width {
				t.Errorf("line %q wider than %d", l, c.width)
			}
		}
		// joined back (continuations removed) it is the same command
		joined := strings.ReplaceAll(strings.Join(got, "\n"), " \\\n    ", " ")
		if joined != c.line {
			t.Errorf("rejoined %q, want %q", joined, c.line)
		}
	}
	// Wrapped with its trailing comment, the command still does the same thing in a shell:
	// the comment's continuation lines must not run as commands.
	t.Run("bash", func(t *testing.T) {
		bash := testtool.Need(t, "bash")
		cmd := "echo one two three four five six seven eight   # refused: outside DemoThing/* because the policy is scoped"
		for _, w := range []int{20, 30, 44} {
			wrapped := strings.Join(wrapCommand(cmd, w), "\n")
			want, err1 := exec.Command(bash, "-c", cmd).CombinedOutput()
			got, err2 := exec.Command(bash, "-c", wrapped).CombinedOutput()
			if err1 != nil || err2 != nil || string(got) != string(want) {
				t.Errorf("width %d: wrapped command\n%s\nprints %q (%v), unwrapped prints %q (%v)", w, wrapped, got, err2, want, err1)
			}
		}
	})
	long := "cat " + strings.Repeat("x", 80)
	for _, l := range strings.Split(strings.Join(wrapCommand(long, 40), "\n"), "\n") {
		if ansi.StringWidth(l) > 40 {
			t.Errorf("a word wider than the box must be cut: %q", l)
		}
	}
}

func TestReflow(t *testing.T) {
	text := "short line one\nshort line two"
	if got := reflow(text, 40); got != text {
		t.Errorf("lines that fit keep their breaks: %q", got)
	}
	if got := reflow(text, 10); got != "short line one short line two" {
		t.Errorf("too-wide lines become one paragraph: %q", got)
	}
}

func TestExplainError(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		cause, fix string
	}{
		{"aws", &aws.Error{Op: "RegisterCACertificate", Cause: "the CA is already registered", Fix: "reuse it"},
			"RegisterCACertificate: the CA is already registered", "reuse it"},
		{"aws wrapped", errors.Join(errors.New("register"), &aws.Error{Message: "AWS said no"}), "AWS said no", ""},
		{"pki field", &pki.FieldError{Field: "country", Value: "XX", Problem: "is not an assigned ISO 3166 code", Fix: "use IN"},
			`country "XX": is not an assigned ISO 3166 code`, "use IN"},
		{"dash convention", errors.New("first connect: the certificate stayed PENDING_ACTIVATION — add C to the device subject"),
			"first connect: the certificate stayed PENDING_ACTIVATION", "add C to the device subject"},
		{"mqttprobe config", fmt.Errorf("use: %w", &mqttprobe.ConfigError{Field: "key", Cause: "deviceCert.key does not match deviceCert.crt", Fix: "issue the device certificate again"}),
			"key: deviceCert.key does not match deviceCert.crt", "issue the device certificate again"},
		{"cancelled", context.Canceled, "the step was cancelled before it finished", "press r to run it again"},
		{"plain", errors.New("boom"), "boom", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cause, fix := ExplainError(c.err)
			if cause != c.cause || fix != c.fix {
				t.Errorf("got (%q, %q), want (%q, %q)", cause, fix, c.cause, c.fix)
			}
		})
	}
}

func TestWrapWords(t *testing.T) {
	got := wrapWords("create it with --endpoint-url http://127.0.0.1:4599 now", 20)
	for _, l := range strings.Split(got, "\n") {
		if ansi.StringWidth(l) > 20 {
			t.Errorf("line %q wider than 20", l)
		}
	}
	if !strings.Contains(got, "--endpoint-url") {
		t.Errorf("an option must not be split at its hyphen:\n%s", got)
	}
}
