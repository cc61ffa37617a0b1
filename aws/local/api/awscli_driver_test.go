package api

import (
	"os"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// TestMain ends the AWS CLI drivers when the tests are done, and waits for them.
func TestMain(m *testing.M) {
	code := m.Run()
	testtool.StopAWSCLIDrivers()
	os.Exit(code)
}

// TestAWSCLIDriverMatchesSubprocess holds the driver the CLI tests run the AWS CLI in to
// what the aws process gives: the same stdout, stderr and exit code, byte for byte, for
// successes and for each kind of failure, and nothing carried from one command to the
// next (credentials, region, working directory).
func TestAWSCLIDriverMatchesSubprocess(t *testing.T) {
	testtool.Need(t, "/usr/bin/aws")
	t.Parallel()
	e := newEnv(t)
	e.writeFile("name.txt", []byte("from-a-file"))
	noCreds := func(c testtool.AWSCLICommand) testtool.AWSCLICommand {
		var env []string
		for _, kv := range c.Env {
			if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
				env = append(env, kv)
			}
		}
		c.Env = env
		return c
	}
	combined := func(c testtool.AWSCLICommand) testtool.AWSCLICommand { c.Combined = true; return c }
	same := func(c testtool.AWSCLICommand) testtool.AWSCLICommand { return c }
	// In this order, so that a command without credentials follows and precedes ones with.
	cases := []struct {
		name   string
		mod    func(testtool.AWSCLICommand) testtool.AWSCLICommand
		code   int
		stderr string // in stderr (or in the combined output)
		args   []string
	}{
		{"success", same, 0, "", []string{"iot", "describe-endpoint", "--endpoint-type", "iot:Data-ATS"}},
		{"client error", same, 254, "(ResourceNotFoundException)", []string{"iot", "describe-thing", "--thing-name", "nosuch"}},
		{"file:// from the working directory", same, 254, "from-a-file", []string{"iot", "describe-thing", "--thing-name", "file://name.txt"}},
		{"no credentials", noCreds, 253, "Unable to locate credentials", []string{"sts", "get-caller-identity"}},
		{"credentials again", same, 0, "", []string{"sts", "get-caller-identity"}},
		{"parameter validation", same, 252, "--thing-name", []string{"iot", "describe-thing"}},
		{"unknown operation", same, 252, "Invalid choice", []string{"iot", "no-such-operation"}},
		{"general error", same, 255, "could not be found", []string{"iot", "describe-endpoint", "--profile", "nosuch"}},
		{"combined output", combined, 254, "(ResourceNotFoundException)", []string{"iot", "describe-thing", "--thing-name", "nosuch"}},
		{"other region", same, 254, "use --region us-east-2", []string{"iot", "describe-endpoint", "--region", "eu-west-1"}},
	}
	for _, tc := range cases {
		c := tc.mod(e.cliCommand(tc.args...))
		got, err := testtool.AWSCLIDriver(c)
		if err != nil {
			t.Fatalf("%s: the driver failed: %v", tc.name, err)
		}
		want := testtool.AWSCLISubprocess(t, c)
		if got != want {
			t.Errorf("%s: aws %s\ndriver:     exit %d stdout %q stderr %q\nsubprocess: exit %d stdout %q stderr %q",
				tc.name, strings.Join(tc.args, " "), got.Code, got.Stdout, got.Stderr, want.Code, want.Stdout, want.Stderr)
			continue
		}
		text := want.Stderr
		if c.Combined {
			text = want.Stdout
		}
		if want.Code != tc.code || !strings.Contains(text, tc.stderr) {
			t.Errorf("%s: aws %s: exit %d, output %q; want exit %d and %q", tc.name, strings.Join(tc.args, " "),
				want.Code, want.Stdout+want.Stderr, tc.code, tc.stderr)
		}
		if tc.code == 0 && (want.Stdout == "" || want.Stderr != "") {
			t.Errorf("%s: want JSON on stdout and nothing on stderr, got %q / %q", tc.name, want.Stdout, want.Stderr)
		}
	}
}
