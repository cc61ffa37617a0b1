package steps

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// argvCache is bash's reading of the commands checked so far (ShellArgv starts a bash).
var argvCache = map[string]string{}

// pastesAs checks that cmd laid out at width fits it and, pasted into bash line by line as it
// stands, runs the very commands cmd runs: the same argv and standard input for each.
func pastesAs(t *testing.T, cmd string, width int) {
	t.Helper()
	lines := wrapShell(cmd, width)
	for _, l := range lines {
		if ansi.StringWidth(l) > width && !strings.Contains(l, "\n") {
			t.Errorf("width %d: line %q is %d wide", width, l, ansi.StringWidth(l))
		}
	}
	shown := strings.Join(lines, "\n")
	if shown == cmd {
		return // shown as it is: nothing to compare
	}
	want, ok := argvCache[cmd]
	if !ok {
		want = testtool.ShellArgv(t, cmd)
		argvCache[cmd] = want
	}
	got := testtool.ShellArgv(t, shown)
	if (want == "" && !strings.HasPrefix(cmd, "#")) || got != want { // only a comment runs nothing
		t.Errorf("width %d: pasted, the shown command runs\n%q\ninstead of\n%q\nshown:\n%s", width, got, want, shown)
	}
}

// TestWrapShellPastes lays out commands with the shapes the steps show (quoted JSON, quotes
// with spaces, escapes, a here-document, pipes and process substitution, a trailing comment,
// a long ARN) at every width from 24 to 100 and checks each against bash.
func TestWrapShellPastes(t *testing.T) {
	cmds := []string{
		`aws iam create-role --role-name JITPRole --assume-role-policy-document '{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"}}],"Version":"2012-10-17"}' --region us-east-2 --endpoint-url http://127.0.0.1:4599`,
		`aws iot list-attached-policies --target arn:aws:iot:us-east-2:123456789012:cert/4daf7d03ef0e89cdf245330d3d7b5081aa9d00b1c3e7b1f2a1f0e33a8a1e0c55 --region us-east-2`,
		`mosquitto_pub --cafile awsRootCA.pem --cert deviceCert.crt --key deviceCert.key -h localhost -p 8883 -q 1 -t DemoThing/test -i DemoThing --tls-version tlsv1.2 -m "Hello from DemoThing, with \"quotes\" and a long tail of words" -d`,
		`mosquitto_pub -t other/test -i DemoThing --tls-version tlsv1.2 -m refused -d   # refused: outside DemoThing/* because the policy is scoped to the thing`,
		`openssl x509 -in deviceRootCA.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f`,
		`openssl x509 -in 'my CA/ca cert.pem' -noout -pubkey | cmp - <(openssl pkey -in 'my CA/ca.key' -pubout) && echo the key matches`,
		`openssl req -new -key a.key -subj "/C=IN/O=A very long organisation name, Inc./CN=DemoThing" -out x\ y.csr`,
		"cat > deviceRootCA_openssl.conf <<'EOF'\n[ req ]\ndistinguished_name       = req_distinguished_name\norganizationName         = Organization Name (eg, company)\norganizationName_default = AMZ\nEOF",
	}
	for i, c := range cmds {
		for w := 24; w <= 100; w += 6 {
			t.Run(fmt.Sprintf("%d-%d", i, w), func(t *testing.T) { pastesAs(t, c, w) })
		}
	}
}

// TestStepCommandsPaste runs the whole procedure (JITP, then JITR with an SNI_ONLY CA) on the
// embedded IoT Core and checks every command a step shows, before and after it runs, at the
// content widths of an 80- and a 120-column terminal and a few between.
func TestStepCommandsPaste(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole procedure twice")
	}
	for _, o := range []Options{{}, {Mode: ModeJITR, CAMode: CAModeSNIOnly}} {
		o.Dir, o.Thing, o.Country = t.TempDir(), DefaultThing, DefaultCountry
		s, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Connect(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		for _, st := range NewPlan(s).Steps() {
			check := func(when string) {
				for _, c := range st.Commands() {
					for _, w := range []int{48, 60, 74, 88} { // 80 and 120 columns: 48 and 88 inside the box
						t.Run(fmt.Sprintf("%s/%s/%s/%d", o.Mode, st.ID(), when, w), func(t *testing.T) { pastesAs(t, c, w) })
					}
				}
			}
			if st.Skip() != "" {
				continue
			}
			check("before")
			if err := st.Run(context.Background()); err != nil {
				t.Fatalf("step %s: %v", st.ID(), err)
			}
			check("after")
		}
	}
}
