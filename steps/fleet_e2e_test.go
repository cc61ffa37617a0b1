package steps_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps"
)

// `jitpwiz fleet -n 20 --json` on the local target, as a user runs it: the report on stdout
// (its schema: every field, with its JSON type), the progress on stderr, the CSV beside the
// report, every device provisioned as the control plane shows; `clean --fleet` removes it
// and keeps the workspace's own device.
func TestE2EFleetJSONAndCSV(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	r := mustRun(t, "fleet", "--dir", dir, "-n", "20", "--json", "--concurrency", "8")
	if !strings.Contains(r.errOut, "fleet: 20 devices (Fleet-00001 … Fleet-00020), 8 at a time, no rate limit") || !strings.Contains(r.errOut, "✓ 20/20 provisioned") {
		t.Fatalf("progress on stderr:\n%s", r)
	}
	// The schema: exactly these fields, of these JSON types.
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, r.out)
	}
	schema := map[string]string{
		"schema": "string", "fleet": "string", "dir": "string", "report": "string", "csv": "string", "keys": "string",
		"target": "string", "region": "string", "endpoint": "string", "caCertificateId": "string",
		"names": "string", "keyType": "string", "devices": "number", "concurrency": "number",
		"rateLimitPerSecond": "number", "rateLimitedDevices": "number",
		"started": "string", "finished": "string", "durationSeconds": "number", "interrupted": "bool",
		"provisioned": "number", "failed": "number", "notRun": "number", "ratePerSecond": "number",
		"latencyMs": "object", "failures": "array", "policies": "array", "warnings": "array",
	}
	var keys []string
	for k, v := range doc {
		keys = append(keys, k)
		want, ok := schema[k]
		if !ok {
			t.Errorf("unexpected field %q", k)
			continue
		}
		if got := jsonType(v); got != want {
			t.Errorf("field %s is a %s, want %s", k, got, want)
		}
	}
	if len(keys) != len(schema) {
		sort.Strings(keys)
		t.Errorf("fields %v, want %d of them", keys, len(schema))
	}
	for _, k := range []string{"p50", "p90", "p99", "max"} {
		if jsonType(doc["latencyMs"].(map[string]any)[k]) != "number" {
			t.Errorf("latencyMs.%s: %v", k, doc["latencyMs"])
		}
	}
	var rep steps.FleetReport
	dec := json.NewDecoder(strings.NewReader(r.out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Schema != steps.FleetReportSchema || rep.Provisioned != 20 || rep.Failed != 0 || rep.Devices != 20 || rep.Keys != "memory" ||
		rep.Target != "local" || rep.Names != steps.DefaultFleetNames || rep.KeyType != "ec256" || len(rep.Policies) != 1 || rep.RateLimit != 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Report != filepath.Join(dir, steps.FleetDir, rep.Fleet, "report.json") || rep.CSV != filepath.Join(dir, steps.FleetDir, rep.Fleet, "devices.csv") {
		t.Fatalf("where the files are: %s %s", rep.Report, rep.CSV)
	}
	onDisk, err := os.ReadFile(rep.Report)
	if err != nil || !bytes.Equal(bytes.TrimSpace(onDisk), bytes.TrimSpace([]byte(r.out))) {
		t.Fatalf("report.json differs from the printed report: %v", err)
	}

	// The CSV: the documented header, a row per device, certificate IDs that are the
	// control plane's ACTIVE certificates of the things.
	b, err := os.ReadFile(rep.CSV)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "device,thing,certificate_id,outcome,phase,cause,start_ms,first_connect_ms,reconnect_ms,publish_ms,total_ms,reconnect_attempts"
	if strings.Join(rows[0], ",") != want || len(rows) != 21 {
		t.Fatalf("CSV header %q, %d rows", strings.Join(rows[0], ","), len(rows))
	}
	s := session(t, dir)
	ctx := context.Background()
	for _, row := range rows[1:] {
		if row[3] != "provisioned" || row[0] != row[1] {
			t.Fatalf("row %v", row)
		}
		desc, err := s.Client().DescribeCertificate(ctx, row[2])
		if err != nil || desc.Status != aws.StatusActive {
			t.Fatalf("%s: certificate %v %+v", row[0], err, desc)
		}
		principals, err := s.Client().ListThingPrincipals(ctx, row[1])
		if err != nil || len(principals) != 1 || principals[0] != desc.ARN {
			t.Fatalf("%s: principals %v %v", row[0], principals, err)
		}
		pols, err := s.Client().ListAttachedPolicies(ctx, desc.ARN)
		if err != nil || len(pols) != 1 || pols[0].Name != rep.Policies[0] {
			t.Fatalf("%s: policies %v %v", row[0], pols, err)
		}
	}
	s.Close()

	// clean --fleet lists the fleet, asks (refuses without a terminal and --yes), removes it.
	if r := jitpwiz(t, "clean", "--dir", dir, "--fleet", "all"); r.err == nil || !strings.Contains(r.out, "remove fleet "+rep.Fleet) || !strings.Contains(r.errOut, "--yes") {
		t.Fatalf("clean --fleet without --yes:\n%s", r)
	}
	r = mustRun(t, "clean", "--dir", dir, "--fleet", rep.Fleet, "--yes")
	if !strings.Contains(r.out, "✓ remove fleet "+rep.Fleet) || strings.Contains(r.out, "delete CA") {
		t.Fatalf("clean --fleet:\n%s", r)
	}
	s = session(t, dir)
	for _, row := range rows[1:] {
		if _, err := s.Client().DescribeThing(ctx, row[1]); !aws.IsKind(err, aws.KindNotFound) {
			t.Fatalf("thing %s after clean --fleet: %v", row[1], err)
		}
	}
	checkProvisioned(t, s, steps.DefaultThing, map[string]string{"country": "IN"})
	s.Close()
	if r := mustRun(t, "clean", "--dir", dir, "--fleet", "all", "--yes"); !strings.Contains(r.out, "nothing to clean") {
		t.Fatalf("a second clean --fleet:\n%s", r)
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return "?"
}

// Bad input is refused before anything is issued, naming the flag and the fix; a workspace
// that did not register its CA says what to run; a fleet whose devices fail exits non-zero
// with the cause shown once.
func TestE2EFleetBadInputAndFailure(t *testing.T) {
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "empty")
	r := mustFail(t, "a fleet without a workspace", "fleet", "--dir", empty, "-n", "3")
	if !strings.Contains(r.errOut, "jitpwiz run --dir") || !strings.Contains(r.errOut, "steps 1–8") {
		t.Fatalf("no workspace:\n%s", r)
	}
	dir := completedWorkspace(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n 0"},
		{[]string{"-n", "5", "--names", "Fleet"}, "--names"},
		{[]string{"-n", "5", "--names", "Fleet #%d"}, "not a valid thing name"},
		{[]string{"-n", "5", "--concurrency", "0"}, ""},
		{[]string{"-n", "5", "--rate", "-2"}, "--rate"},
		{[]string{"-n", "5", "--key", "dsa1024"}, "--key"},
	} {
		r := jitpwiz(t, append([]string{"fleet", "--dir", dir}, c.args...)...)
		if c.want == "" { // --concurrency 0: the default
			if r.err != nil {
				t.Errorf("%v: %v\n%s", c.args, r.err, r)
			}
			continue
		}
		if r.err == nil || !strings.Contains(r.errOut, c.want) || strings.Contains(r.errOut, "goroutine") {
			t.Errorf("%v: want an error naming %s:\n%s", c.args, c.want, r)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, steps.FleetDir)); len(entries) != 1 {
		t.Errorf("bad input made fleets: %v", entries) // only the --concurrency 0 one ran
	}

	s := session(t, dir)
	rc := templateNeedingO(t, dir)
	if err := s.Client().UpdateCA(context.Background(), s.CA.RegisteredID, aws.UpdateCAInput{RegistrationConfig: &rc}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	r = mustFail(t, "a fleet whose template cannot be applied", "fleet", "--dir", dir, "-n", "4", "--names", "Broken-%d")
	if !strings.Contains(r.out, "✗ 0/4 provisioned") || !strings.Contains(r.out, "4 failed — reconnect as the thing") || !strings.Contains(r.out, "Organization") {
		t.Fatalf("failure summary:\n%s", r)
	}
	if strings.Count(r.all(), "Cannot resolve reference value") != 2 { // the warning before, the cause after; not again on exit
		t.Errorf("the cause should be shown once (and warned about once):\n%s", r)
	}
}

// A fleet whose devices cannot be provisioned counts them with the cause in plain words:
// a template that needs the certificate's Organization, which the fleet's subject lacks;
// and auto-registration switched off on the CA. Both are also warned about before the start.
func TestFleetFailuresCountedWithCause(t *testing.T) {
	t.Parallel()
	dir := completedWorkspace(t)
	s := session(t, dir)
	ctx := context.Background()
	rc := templateNeedingO(t, dir)
	if err := s.Client().UpdateCA(ctx, s.CA.RegisteredID, aws.UpdateCAInput{RegistrationConfig: &rc}); err != nil {
		t.Fatal(err)
	}
	f, err := steps.NewFleet(ctx, s, steps.FleetOptions{Devices: 5, Names: "NoOrg-%d"})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(f.Warnings(), "\n"); !strings.Contains(w, "Organization") {
		t.Errorf("no warning about the template: %q", w)
	}
	rep, err := f.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Provisioned != 0 || rep.Failed != 5 || len(rep.Failures) != 1 || rep.Failures[0].Count != 5 {
		t.Fatalf("report %+v", rep)
	}
	cause := rep.Failures[0].Cause
	for _, want := range []string{steps.PhaseReconnect, "PENDING_ACTIVATION", "Cannot resolve reference value", "Organization"} {
		if !strings.Contains(cause, want) {
			t.Errorf("cause %q lacks %q", cause, want)
		}
	}
	if rep.Failures[0].Fix == "" || rep.Err() == nil || !steps.Reported(rep.Err()) {
		t.Errorf("fix %q, Err %v", rep.Failures[0].Fix, rep.Err())
	}

	// Auto-registration off: the broker registers nothing.
	if err := s.Client().UpdateCA(ctx, s.CA.RegisteredID, aws.UpdateCAInput{NewAutoRegistrationStatus: aws.AutoRegDisable}); err != nil {
		t.Fatal(err)
	}
	f, err = steps.NewFleet(ctx, s, steps.FleetOptions{Devices: 4, Names: "NoAuto-%d"})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(f.Warnings(), "\n"); !strings.Contains(w, "auto-registration is DISABLE") {
		t.Errorf("no warning about auto-registration: %q", w)
	}
	rep, err = f.Run(ctx)
	if err != nil || rep.Failed != 4 || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0].Cause, "auto-registration is DISABLE") {
		t.Fatalf("auto-registration off: %v %+v", err, rep.Failures)
	}
}
