package steps

import (
	"strings"
	"testing"
)

func localSession() *Session {
	return &Session{Region: "us-east-2", Options: Options{Target: TargetLocal}, localURL: "http://127.0.0.1:4599"}
}

// TestTargetCommands: an AWS CLI command inside an error's fix gets the workspace's region and
// endpoint, wherever it stands in the prose, and keeps the flags it has.
func TestTargetCommands(t *testing.T) {
	s := localSession()
	const tail = " --region us-east-2 --endpoint-url http://127.0.0.1:4599"
	for _, tc := range []struct{ in, want string }{
		{"aws iot update-ca-certificate --certificate-id abc --new-auto-registration-status ENABLE",
			"aws iot update-ca-certificate --certificate-id abc --new-auto-registration-status ENABLE" + tail},
		{"auto-registration is DISABLE — aws iot update-ca-certificate --certificate-id abc --new-status ACTIVE (run again: step 8 registers it)",
			"auto-registration is DISABLE — aws iot update-ca-certificate --certificate-id abc --new-status ACTIVE" + tail + " (run again: step 8 registers it)"},
		{"activate it (aws iot update-certificate --new-status ACTIVE) or delete it",
			"activate it (aws iot update-certificate --new-status ACTIVE" + tail + ") or delete it"},
		{"run `aws sts get-caller-identity` to test them", "run `aws sts get-caller-identity" + tail + "` to test them"},
		{"aws iot describe-thing --thing-name T --region us-east-2", "aws iot describe-thing --thing-name T --region us-east-2 --endpoint-url http://127.0.0.1:4599"},
		{"run `aws sso login --profile p` and retry", "run `aws sso login --profile p` and retry"},
		{"no command here", "no command here"},
		{"first aws iot list-things; then aws iam get-role --role-name R, done",
			"first aws iot list-things" + tail + "; then aws iam get-role --role-name R" + tail + ", done"},
	} {
		if got := targetCommands(s, tc.in); got != tc.want {
			t.Errorf("targetCommands(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	aws := &Session{Region: "eu-west-1", Options: Options{Target: TargetAWS, Profile: "lab"}}
	if got := targetCommands(aws, "aws iot get-registration-code"); got != "aws iot get-registration-code --region eu-west-1 --profile lab" {
		t.Errorf("aws target: %q", got)
	}
}

// FuzzTargetCommands: whatever the text, targetCommands only adds flags (the text is still
// there, in order, once they are taken out), and a second pass adds nothing.
//
// fuzz: 3000 execs (string work only; TestTargetCommands covers the shapes of real fixes)
func FuzzTargetCommands(f *testing.F) {
	for _, seed := range []string{"aws iot x --a b", "(aws iam get-role --role-name R)", "`aws sts get-caller-identity`", "aws iot ", "aws iot --x"} {
		f.Add(seed)
	}
	s := localSession()
	f.Fuzz(func(t *testing.T, in string) {
		out := targetCommands(s, in)
		if again := targetCommands(s, out); again != out {
			t.Fatalf("second pass changed %q\n to %q", out, again)
		}
		back := strings.ReplaceAll(strings.ReplaceAll(out, " --region us-east-2", ""), " --endpoint-url http://127.0.0.1:4599", "")
		if back != strings.ReplaceAll(strings.ReplaceAll(in, " --region us-east-2", ""), " --endpoint-url http://127.0.0.1:4599", "") {
			t.Fatalf("targetCommands(%q) = %q changed more than the flags", in, out)
		}
	})
}
