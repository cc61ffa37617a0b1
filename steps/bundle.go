package steps

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The support bundle (`jitpwiz doctor --bundle FILE.tar.gz`): what a support engineer needs
// to look at a setup without the machine — the doctor's report, the session without
// secrets, the local IoT Core's event log, the public certificates, the versions of the
// tools, and every answer of the target doctor got. No private key goes in: certificates
// are written from their parsed form (nothing but CERTIFICATE blocks), and any other file
// is left out if it holds a PEM private key.

// recordingClient is the target as doctor asks it, keeping each answer for the bundle.
type recordingClient struct {
	aws.Client
	answers []TargetAnswer
}

func answered[T any](r *recordingClient, op, input string, out T, err error) (T, error) {
	a := TargetAnswer{Op: op, Input: input}
	if err != nil {
		a.Error = err.Error()
	} else {
		a.Output = out
	}
	r.answers = append(r.answers, a)
	return out, err
}

func (r *recordingClient) DataEndpoint(ctx context.Context) (string, error) {
	out, err := r.Client.DataEndpoint(ctx)
	return answered(r, "DescribeEndpoint", "iot:Data-ATS", out, err)
}

func (r *recordingClient) GetRegistrationCode(ctx context.Context) (string, error) {
	out, err := r.Client.GetRegistrationCode(ctx)
	return answered(r, "GetRegistrationCode", "", out, err)
}

func (r *recordingClient) FindCA(ctx context.Context, id string) (*aws.CADescription, error) {
	out, err := r.Client.FindCA(ctx, id)
	return answered(r, "DescribeCACertificate", id, out, err)
}

func (r *recordingClient) DescribeCertificate(ctx context.Context, id string) (aws.CertDescription, error) {
	out, err := r.Client.DescribeCertificate(ctx, id)
	return answered(r, "DescribeCertificate", id, out, err)
}

func (r *recordingClient) DescribeThing(ctx context.Context, name string) (aws.Thing, error) {
	out, err := r.Client.DescribeThing(ctx, name)
	return answered(r, "DescribeThing", name, out, err)
}

func (r *recordingClient) ListThingPrincipals(ctx context.Context, name string) ([]string, error) {
	out, err := r.Client.ListThingPrincipals(ctx, name)
	return answered(r, "ListThingPrincipals", name, out, err)
}

func (r *recordingClient) GetPolicy(ctx context.Context, name string) (aws.Policy, error) {
	out, err := r.Client.GetPolicy(ctx, name)
	return answered(r, "GetPolicy", name, out, err)
}

func (r *recordingClient) ListAttachedPolicies(ctx context.Context, target string) ([]aws.PolicyRef, error) {
	out, err := r.Client.ListAttachedPolicies(ctx, target)
	return answered(r, "ListAttachedPolicies", target, out, err)
}

func (r *recordingClient) DescribeRole(ctx context.Context, role string) (aws.RoleDescription, error) {
	out, err := r.Client.DescribeRole(ctx, role)
	return answered(r, "GetRole", role, out, err)
}

func (r *recordingClient) DescribeProvisioningTemplate(ctx context.Context, name string) (aws.ProvisioningTemplate, error) {
	out, err := r.Client.DescribeProvisioningTemplate(ctx, name)
	return answered(r, "DescribeProvisioningTemplate", name, out, err)
}

func (r *recordingClient) DescribeThingType(ctx context.Context, name string) (aws.ThingType, error) {
	out, err := r.Client.DescribeThingType(ctx, name)
	return answered(r, "DescribeThingType", name, out, err)
}

func (r *recordingClient) DescribeThingGroup(ctx context.Context, name string) (aws.ThingGroup, error) {
	out, err := r.Client.DescribeThingGroup(ctx, name)
	return answered(r, "DescribeThingGroup", name, out, err)
}

func (r *recordingClient) DescribeBillingGroup(ctx context.Context, name string) (aws.BillingGroup, error) {
	out, err := r.Client.DescribeBillingGroup(ctx, name)
	return answered(r, "DescribeBillingGroup", name, out, err)
}

func (r *recordingClient) ListPrincipalThings(ctx context.Context, principal string) ([]string, error) {
	out, err := r.Client.ListPrincipalThings(ctx, principal)
	return answered(r, "ListPrincipalThings", principal, out, err)
}

// privateKeyMarker ends the first line of every PEM private key block (RSA, EC, PKCS#8,
// encrypted or not).
var privateKeyMarker = []byte("PRIVATE KEY-----")

// bundleFiles collects the bundle's files by name.
type bundleFiles struct {
	files map[string][]byte
	left  []string // what was left out, and why
}

func (b *bundleFiles) add(name string, data []byte) {
	if bytes.Contains(data, privateKeyMarker) {
		b.left = append(b.left, name+": it holds a private key")
		return
	}
	b.files[name] = data
}

// addCerts adds the certificates of a PEM file, re-encoded (nothing else of the file).
func (b *bundleFiles) addCerts(name, path string) {
	if path == "" {
		return
	}
	certs, err := pki.LoadCertsFile(path)
	if err != nil {
		b.left = append(b.left, name+": "+err.Error())
		return
	}
	b.add("certificates/"+name, pki.Bundle(certs...))
}

// writeBundle writes the support bundle of a doctor run to path (atomically, 0600).
func writeBundle(ctx context.Context, path string, s *Session, d *doctorRun, rep *DoctorReport) error {
	b := &bundleFiles{files: map[string][]byte{}}
	var js, text bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		return err
	}
	rep.WriteText(&text)
	b.add("doctor.json", js.Bytes())
	b.add("doctor.txt", text.Bytes())
	b.add("versions.json", indentJSON(toolVersions(ctx, rep.Version)))
	if rc, ok := d.c.(*recordingClient); ok {
		b.add("target-answers.json", indentJSON(rc.answers))
	}
	d.loadEvents(ctx)
	if len(d.events) > 0 {
		var ev bytes.Buffer
		for _, e := range d.events {
			line, _ := json.Marshal(e)
			ev.Write(append(line, '\n'))
		}
		b.add("events.jsonl", ev.Bytes())
	}
	if d.in.workspace {
		if raw, err := os.ReadFile(s.Path(SessionFile)); err == nil {
			b.add("session.json", redactSession(raw))
		}
		b.addCerts(pki.FileCACert, d.in.caFile)
		b.addCerts(pki.FileVerifCert, s.Path(pki.FileVerifCert))
		b.addCerts(pki.FileServerRootCA, s.Path(pki.FileServerRootCA))
		for _, t := range s.Things() {
			dev := s.DeviceFor(t)
			b.addCerts(filepath.ToSlash(filepath.Join("devices", t, filepath.Base(dev.CertFile))), s.Path(dev.CertFile))
		}
	} else {
		b.addCerts("ca-"+filepath.Base(d.in.caFile), d.in.caFile)
		b.addCerts("device-"+filepath.Base(d.in.devFile), d.in.devFile)
		b.addCerts("verification-"+filepath.Base(d.in.verifFile), d.in.verifFile)
		b.addCerts("server-ca-"+filepath.Base(d.in.serverCAFile), d.in.serverCAFile)
	}
	if d.in.templateFile != "" {
		if raw, err := os.ReadFile(d.in.templateFile); err == nil {
			b.add("template/"+filepath.Base(d.in.templateFile), raw)
		}
	}
	b.add("README.txt", bundleReadme(b))
	data, err := b.targz(s.Now())
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	return pki.WriteFile(abs, data, pki.KeyMode, true)
}

// redactSession is jitpwiz.json without the registration code (the one value in it that
// belongs to the account rather than to the setup); the session never holds key material.
func redactSession(raw []byte) []byte {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	if _, ok := m["registrationCode"]; ok {
		m["registrationCode"] = "(left out)"
	}
	return indentJSON(m)
}

func indentJSON(v any) []byte {
	b, _ := json.MarshalIndent(v, "", "  ")
	return append(b, '\n')
}

// toolVersions are jitpwiz's version and those of the tools the walkthrough uses.
func toolVersions(ctx context.Context, version string) map[string]string {
	m := map[string]string{"jitpwiz": cmp.Or(version, "dev"), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH}
	for name, args := range map[string][]string{"openssl": {"version"}, "aws": {"--version"}, "mosquitto_pub": {"--help"}} {
		p, err := exec.LookPath(name)
		if err != nil {
			m[name] = "not found"
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, _ := exec.CommandContext(cctx, p, args...).CombinedOutput()
		cancel()
		m[name], _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	}
	return m
}

func bundleReadme(b *bundleFiles) []byte {
	var names []string
	for n := range b.files {
		names = append(names, n)
	}
	sort.Strings(names)
	var w strings.Builder
	w.WriteString("jitpwiz support bundle — written by `jitpwiz doctor --bundle`; it holds no private key.\n\n")
	w.WriteString("doctor.json / doctor.txt   the doctor's report (docs/doctor.md has the JSON's fields)\n")
	w.WriteString("target-answers.json        every answer of the target doctor got (IoT, IAM)\n")
	w.WriteString("events.jsonl               the local IoT Core's event log (local target only)\n")
	w.WriteString("session.json               the workspace's jitpwiz.json, registration code left out\n")
	w.WriteString("certificates/              the public certificates (CA, device, verification, server CA)\n")
	w.WriteString("versions.json              jitpwiz, Go, openssl, aws and mosquitto_pub versions\n\n")
	w.WriteString("Files:\n")
	for _, n := range names {
		w.WriteString("  " + n + "\n")
	}
	for _, l := range b.left {
		w.WriteString("Left out: " + l + "\n")
	}
	return []byte(w.String())
}

// targz writes the files as a gzipped tar, in name order, dated now.
func (b *bundleFiles) targz(now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	var names []string
	for n := range b.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data := b.files[n]
		if err := tw.WriteHeader(&tar.Header{Name: "jitpwiz-bundle/" + n, Mode: 0o644, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
