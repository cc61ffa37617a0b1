package pki

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// TestShellQuoteRoundTrip: bash reads every quoted value back unchanged.
func TestShellQuoteRoundTrip(t *testing.T) {
	testtool.Need(t, "bash")
	t.Parallel()
	vals := []string{"", "plain", "two words", `it's`, `say "hi"`, `$HOME`, "`id`", `back\slash`, "a!b", "tab\there",
		"semi;colon", "amp&er", "pipe|x", "glob*?[x]", "~user", "#hash", "new\nline", "ünï", `/C=IN/O=a\/b`, "-subj"}
	var script strings.Builder
	for _, v := range vals {
		script.WriteString("printf '%s\\0' " + ShellQuote(v) + "\n")
	}
	out, err := exec.Command("bash", "-c", script.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(vals) {
		t.Fatalf("got %d values, want %d: %q", len(got), len(vals), got)
	}
	for i := range vals {
		if got[i] != vals[i] {
			t.Errorf("ShellQuote(%q) = %s read back as %q", vals[i], ShellQuote(vals[i]), got[i])
		}
	}
	if ShellQuote("deviceRootCA.key") != "deviceRootCA.key" {
		t.Error("safe word quoted")
	}
}

func TestCommandsMatchWalkthrough(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		GenKeyCommand(RSA2048, FileCAKey).Line:                                                           "openssl genrsa -out deviceRootCA.key 2048",
		GenKeyCommand(EC256, FileDeviceKey).Line:                                                         "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out deviceCert.key",
		CACSRCommand(FileCAKey, FileCAConf, FileCACSR, Subject{Country: "IN", Organization: "AMZ"}).Line: "openssl req -new -sha256 -key deviceRootCA.key -nodes -out deviceRootCA.csr -config deviceRootCA_openssl.conf -batch",
		SelfSignCACommand(FileCACSR, FileCAKey, FileCAConf, FileCACert, 3650).Line:                       "openssl x509 -req -days 3650 -extfile deviceRootCA_openssl.conf -extensions v3_ca -in deviceRootCA.csr -signkey deviceRootCA.key -out deviceRootCA.pem",
		SignCommand(FileVerifCSR, FileCACert, FileCAKey, FileVerifCert, 500).Line:                        "openssl x509 -req -in verificationCert.csr -CA deviceRootCA.pem -CAkey deviceRootCA.key -CAcreateserial -out verificationCert.crt -days 500 -sha256",
		CSRCommand(FileDeviceKey, FileDeviceCSR, Subject{Country: "IN", CommonName: "DemoThing"}).Line:   `openssl req -new -sha256 -key deviceCert.key -out deviceCert.csr -subj "/C=IN/CN=DemoThing"`,
		BundleCommand(FileDeviceCert, FileCACert, FileDeviceBundle).Line:                                 "cat deviceCert.crt deviceRootCA.pem > deviceCertAndCACert.crt",
		VerifyCommand(FileCACert, FileDeviceCert).Line:                                                   "openssl verify -CAfile deviceRootCA.pem deviceCert.crt",
		VerifyIntermediateCommand("inter.pem", FileDeviceCert).Line:                                      "openssl verify -partial_chain -CAfile inter.pem deviceCert.crt",
	}
	for got, w := range want {
		if got != w {
			t.Errorf("got  %s\nwant %s", got, w)
		}
	}
	// Non-ASCII values need -utf8 so openssl does not double-encode them.
	if l := CSRCommand("k", "c", Subject{CommonName: "T", Organization: "Zürich"}).Line; !strings.Contains(l, " -utf8 ") {
		t.Errorf("missing -utf8: %s", l)
	}
	// A CA subject beyond the conf's C/O defaults is passed with -subj.
	if l := CACSRCommand(FileCAKey, FileCAConf, FileCACSR, Subject{Country: "IN", Organization: "AMZ", CommonName: "Root"}).Line; !strings.HasSuffix(l, `-subj "/C=IN/O=AMZ/CN=Root"`) {
		t.Errorf("CA subj: %s", l)
	}
}
