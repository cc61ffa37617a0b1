package steps_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/pki/testtool"
	"github.com/jitpwiz/jitpwiz/steps"
)

// readBundle returns the files of a support bundle by name (without the top directory).
func readBundle(t *testing.T, path string) (map[string][]byte, []byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "jitpwiz-bundle/")] = b
	}
	return files, raw
}

var privateKeyBlock = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----`)

// keyMaterial is every private key under dir, as what could leak of it: the file's bytes,
// the DER of each PEM block, and each base64 line of its body.
func keyMaterial(t *testing.T, dir string) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil || !privateKeyBlock.Match(b) {
			return nil
		}
		parts := [][]byte{b}
		for rest := b; ; {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			parts = append(parts, blk.Bytes)
			for _, line := range strings.Split(base64.StdEncoding.EncodeToString(blk.Bytes), "\n") {
				for i := 0; i+64 <= len(line); i += 64 {
					parts = append(parts, []byte(line[i:i+64]))
				}
			}
		}
		out[p] = parts
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// noKeys fails for a PEM private key block, or any of the keys' bytes, in the bundle.
func noKeys(t *testing.T, files map[string][]byte, raw []byte, keys map[string][][]byte) {
	t.Helper()
	if len(keys) == 0 {
		t.Fatal("no private key found to look for")
	}
	for name, b := range files {
		if privateKeyBlock.Match(b) {
			t.Errorf("bundle file %s holds a PEM private key block", name)
		}
	}
	for path, parts := range keys {
		for _, p := range parts {
			if bytes.Contains(raw, p) {
				t.Errorf("the bundle holds bytes of the private key %s", path)
				break
			}
		}
	}
}

// TestDoctorBundleHasNoKeys: the support bundle of a workspace with two devices, and of a
// customer's files (one of which holds a certificate and its key in one file), has the
// report, the session, the event log, the public certificates, the versions and the
// target's answers — and no private key: no PEM private key block, none of the bytes of
// any key of the workspace.
func TestDoctorBundleHasNoKeys(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	mustRun(t, "run", "--dir", dir, "--thing", "Second")
	bundle := filepath.Join(t.TempDir(), "support.tar.gz")
	r := mustRun(t, "doctor", "--dir", dir, "--bundle", bundle)
	if !strings.Contains(r.out, "support bundle: "+bundle+" (no private keys)") {
		t.Errorf("doctor --bundle:\n%s", r.out)
	}
	if fi, err := os.Stat(bundle); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bundle: %v %v", err, fi)
	}
	files, raw := readBundle(t, bundle)
	for _, want := range []string{"doctor.json", "doctor.txt", "session.json", "events.jsonl", "target-answers.json", "versions.json", "README.txt",
		"certificates/deviceRootCA.pem", "certificates/verificationCert.crt", "certificates/awsRootCA.pem",
		"certificates/devices/DemoThing/deviceCert.crt", "certificates/devices/Second/deviceCert.crt", "template/jitp_template.json"} {
		if len(files[want]) == 0 {
			t.Errorf("the bundle has no %s (it has %v)", want, keysOf(files))
		}
	}
	var rep steps.DoctorReport
	if err := json.Unmarshal(files["doctor.json"], &rep); err != nil || rep.Schema != steps.DoctorSchema || rep.Mode != "workspace" {
		t.Errorf("doctor.json: %v %+v", err, rep.Summary)
	}
	if strings.Contains(string(files["session.json"]), rep.Target.Account) == false || regexp.MustCompile(`"registrationCode": "[0-9a-f]{64}"`).Match(files["session.json"]) {
		t.Errorf("session.json keeps the registration code or lost the session:\n%s", files["session.json"])
	}
	if !strings.Contains(string(files["target-answers.json"]), `"op": "DescribeCACertificate"`) || !strings.Contains(string(files["target-answers.json"]), `"op": "GetRole"`) {
		t.Errorf("target-answers.json: %s", files["target-answers.json"])
	}
	if !strings.Contains(string(files["events.jsonl"]), `"kind":"RegisterThing"`) {
		t.Errorf("events.jsonl lacks the provisioning: %s", files["events.jsonl"])
	}
	var versions map[string]string
	if err := json.Unmarshal(files["versions.json"], &versions); err != nil || versions["jitpwiz"] == "" || !strings.HasPrefix(versions["openssl"], "OpenSSL") {
		t.Errorf("versions.json: %v %v", err, versions)
	}
	noKeys(t, files, raw, keyMaterial(t, dir))

	// A customer's files, against `jitpwiz local` serving the workspace; their "device
	// certificate" file holds the key too.
	l := startJitpwizLocal(t, "--dir", dir)
	cust := t.TempDir()
	cert, _ := os.ReadFile(filepath.Join(dir, "deviceCert.crt"))
	key, _ := os.ReadFile(filepath.Join(dir, "deviceCert.key"))
	if err := os.WriteFile(filepath.Join(cust, "device-with-key.pem"), append(cert, key...), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle2 := filepath.Join(cust, "files.tar.gz")
	r = mustRun(t, "doctor", "--ca-cert", filepath.Join(dir, "deviceRootCA.pem"), "--device-cert", filepath.Join(cust, "device-with-key.pem"),
		"--device-key", filepath.Join(dir, "deviceCert.key"), "--template", filepath.Join(dir, "jitp_template.json"), "--endpoint-url", l.url, "--connect", "--bundle", bundle2)
	files, raw = readBundle(t, bundle2)
	if len(files["certificates/device-device-with-key.pem"]) == 0 || len(files["certificates/ca-deviceRootCA.pem"]) == 0 || len(files["events.jsonl"]) == 0 {
		t.Errorf("files bundle: %v", keysOf(files))
	}
	noKeys(t, files, raw, keyMaterial(t, dir))
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// scriptRun runs an exported script as a user would: bash, in a fresh directory, with the
// real openssl, Debian's AWS CLI and mosquitto_pub, against l.
func scriptRun(t *testing.T, script, dir, thing string, l *localServer) string {
	t.Helper()
	awsCLI := testtool.Need(t, "aws")
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		awsCLI = "/usr/bin/aws"
	}
	testtool.Need(t, "openssl")
	testtool.Need(t, "mosquitto_pub")
	bin := t.TempDir()
	if err := os.Symlink(awsCLI, filepath.Join(bin, "aws")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "THING="+thing, "ENDPOINT_URL="+l.url, "MQTT_PORT="+l.mqttPort, "SERVER_CA="+l.rootCA,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash %s: %v\n%s", script, err, out)
	}
	return string(out)
}

// localClient is an SDK client of a `jitpwiz local`.
func localClient(t *testing.T, l *localServer) aws.Client {
	t.Helper()
	c, err := aws.New(context.Background(), aws.Config{EndpointURL: l.url, Region: "us-east-2", StaticAccessKeyID: local.AccessKeyID, StaticSecretKey: local.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestScriptRunsByHand: `jitpwiz script` of a finished workspace, run with the real tools in
// a fresh directory against a new `jitpwiz local` with a new thing name, provisions the
// device and publishes as it; run again it does so without making anything twice.
func TestScriptRunsByHand(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	script := filepath.Join(t.TempDir(), "setup.sh")
	r := mustRun(t, "script", "--dir", dir, "-o", script)
	if !strings.Contains(r.out, "wrote "+script) {
		t.Errorf("script -o:\n%s", r.out)
	}
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"#!/usr/bin/env bash", "set -euo pipefail", "# ── Step 1: CA key", "# ── Step 13: Use it",
		"openssl genrsa -out deviceRootCA.key 2048", "aws iot register-ca-certificate --ca-certificate file://deviceRootCA.pem",
		`--endpoint-url "${ENDPOINT_URL}"`, "--region us-east-2", `-subj "/C=IN/CN=${THING}"`, "mosquitto_pub --cafile awsRootCA.pem"} {
		if !strings.Contains(text, want) {
			t.Errorf("the script lacks %q", want)
		}
	}
	l := startJitpwizLocal(t, "--dir", t.TempDir())
	run := t.TempDir()
	out := scriptRun(t, script, run, "ScriptThing", l)
	if !strings.Contains(out, "done: ScriptThing is provisioned and has published as itself") || !strings.Contains(out, "received PUBACK") ||
		!strings.Contains(out, "refused as expected") {
		t.Fatalf("the script's run:\n%s", out)
	}
	c := localClient(t, l)
	ctx := context.Background()
	th, err := c.DescribeThing(ctx, "ScriptThing")
	if err != nil || th.Attributes["country"] != "IN" {
		t.Fatalf("thing ScriptThing: %v %+v", err, th)
	}
	principals, err := c.ListThingPrincipals(ctx, "ScriptThing")
	if err != nil || len(principals) != 1 {
		t.Fatalf("principals of ScriptThing: %v %v", principals, err)
	}
	// Again, in the same directory: the same CA, the same certificate, still publishing.
	out = scriptRun(t, script, run, "ScriptThing", l)
	if !strings.Contains(out, "done: ScriptThing") {
		t.Fatalf("the second run:\n%s", out)
	}
	if cas, err := c.ListCAs(ctx); err != nil || len(cas) != 1 {
		t.Errorf("CAs after two runs: %v %v", cas, err)
	}
	if p, _ := c.ListThingPrincipals(ctx, "ScriptThing"); len(p) != 1 || p[0] != principals[0] {
		t.Errorf("principals after two runs: %v, want %v", p, principals)
	}
}

// TestScriptJITR: the script of a JITR workspace registers the CA without a template,
// waits for the certificate to be registered PENDING_ACTIVATION, and activates it by hand
// with the activate step's commands, as the JITR guide's Lambda would (the rule and the
// Lambda as comments, for AWS). (The commands themselves are run by hand in
// TestDoctorCauses/jitr-not-activated, as doctor's fix.)
func TestScriptJITR(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t, "--mode", "jitr")
	r := mustRun(t, "script", "--dir", dir)
	text := r.out
	for _, want := range []string{"Mode jitr (Just-in-Time Registration)", "# ── Step 11a: Activate", `case " PENDING_ACTIVATION ACTIVE " in`,
		`aws iot create-thing --thing-name "${THING}"`, `aws iot attach-policy --policy-name JITRDevicePolicy --target "${CERT_ARN}"`,
		`aws iot update-certificate --certificate-id "${CERT_ID}" --new-status ACTIVE`,
		"# aws iot create-topic-rule", "# aws lambda create-function", "> jitr_policy.json <<'EOF'", `-e "s/@@CA_ID@@/${CA_ID}/g" > jitr_rule.json`} {
		if !strings.Contains(text, want) {
			t.Errorf("the JITR script lacks %q", want)
		}
	}
	if strings.Contains(text, "--registration-config") || strings.Contains(text, "# ── Step 7:") || regexp.MustCompile(`\n(zip|aws lambda|aws iot create-topic-rule) `).MatchString(text) {
		t.Errorf("a JITR script registers no template and leaves the rule and Lambda to AWS:\n%s", text)
	}
	script := filepath.Join(t.TempDir(), "jitr.sh")
	if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v\n%s", err, out)
	}
}

// TestScriptModes: --ca-mode sni-only and --port 443 are in the script: no registration code
// or verification certificate, SNI_ONLY registration, ALPN on the device's connections; and
// every script is valid bash.
func TestScriptModes(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t, "--ca-mode", "sni-only", "--port", "443")
	r := mustRun(t, "script", "--dir", dir)
	for _, want := range []string{"--certificate-mode SNI_ONLY", "CA mode sni-only", "(not needed here: --ca-mode sni-only registers the CA without a registration code)", "--tls-alpn x-amzn-mqtt-ca", "Port 443"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the script lacks %q", want)
		}
	}
	if strings.Contains(r.out, "get-registration-code") || strings.Contains(r.out, "--verification-cert") {
		t.Errorf("an SNI_ONLY script has no registration code or verification certificate")
	}
	script := filepath.Join(t.TempDir(), "s.sh")
	if err := os.WriteFile(script, []byte(r.out), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v\n%s", err, out)
	}
	if r := jitpwiz(t, "script", "--dir", dir, "--thing", "Nope"); r.err == nil || !strings.Contains(r.errOut, "no device Nope (it has DemoThing)") {
		t.Errorf("script --thing Nope:\n%s", r)
	}
}

// TestDoctorUnreachableTarget (issue 11, item 6): doctor does not exit 0 when it cannot
// reach the target — a workspace whose target is AWS without credentials, and a customer's
// files with no `jitpwiz local` at the endpoint URL: exit 3, the reason as a failed check.
func TestDoctorUnreachableTarget(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws")
	mustFail(t, "--stop-after kills the run", "run", "--dir", dir, "--yes", "--stop-after", "ca-cert")
	b, err := os.ReadFile(filepath.Join(dir, steps.SessionFile))
	if err != nil {
		t.Fatal(err)
	}
	var sess map[string]any
	if err := json.Unmarshal(b, &sess); err != nil {
		t.Fatal(err)
	}
	opts := sess["options"].(map[string]any)
	opts["target"], opts["region"] = "aws", "eu-west-1" // as the customer's workspace was made
	b, _ = json.Marshal(sess)
	if err := os.WriteFile(filepath.Join(dir, steps.SessionFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AWS_") {
			env = append(env, e)
		}
	}
	env = append(env, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true", "NO_COLOR=1")
	run := func(args ...string) (string, int) {
		cmd := exec.Command(binary, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	out, code := run("doctor", "--dir", dir)
	if code != steps.DoctorExitUnreachable || !strings.Contains(out, "✗ target reachable") || !strings.Contains(out, "no AWS credentials") ||
		!strings.Contains(out, "the target could not be reached") {
		t.Errorf("doctor on a workspace whose target it cannot reach: exit %d\n%s", code, out)
	}
	// The checks that need no target still ran.
	if !strings.Contains(out, "✓ CA certificate is a CA (CA:TRUE)") {
		t.Errorf("the local checks are missing:\n%s", out)
	}
	out, code = run("doctor", "--ca-cert", filepath.Join(dir, "deviceRootCA.pem"), "--endpoint-url", "http://127.0.0.1:1", "--json")
	var rep steps.DoctorReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != steps.DoctorExitUnreachable || rep.Target.Reachable || rep.Summary.Causes[0] != steps.CauseUnreachable {
		t.Errorf("doctor --ca-cert with nothing at the endpoint: exit %d, %v\n%s", code, err, out)
	}
}
