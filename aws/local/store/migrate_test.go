package store

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
)

// releaseWorkspace copies testdata/release-workspace (made by the release that kept
// state.json, see testdata/README.md) to a temporary directory with the modes jitpwiz
// gives a workspace, and returns the copy.
func releaseWorkspace(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "ws")
	src := filepath.Join("testdata", "release-workspace")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".key") || strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".jsonl") {
			mode = 0o600
		}
		return os.WriteFile(out, b, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestMigrateReleaseWorkspace opens a workspace made by the release before the database:
// every object of state.json is in the database with the same fields, the lookups and
// indexes find them, the event log carries on, the old files are kept under another
// name, and the migration is reported once.
func TestMigrateReleaseWorkspace(t *testing.T) {
	t.Parallel()
	ws := releaseWorkspace(t)
	dir := Dir(ws)
	raw, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	var old legacyState
	if err := json.Unmarshal(raw, &old); err != nil {
		t.Fatal(err)
	}
	// A crash mid-append left a torn last line in the old log: it is not migrated.
	f, err := os.OpenFile(filepath.Join(dir, EventsFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":99999,"kind":"tor`)
	f.Close()

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	msg := s.Migrated()
	for _, want := range []string{"migrated the local IoT Core state from state.json", "state.db", "1 CA certificate,", "1 device certificate,",
		"4 things,", "2 policies,", "1 role,", "4 attachments,", "8 events", "state.json.migrated"} {
		if !strings.Contains(msg, want) {
			t.Errorf("migration message lacks %q: %s", want, msg)
		}
	}
	if s.Account() != old.Account || s.Region() != old.Region {
		t.Errorf("account/region %s/%s, want %s/%s", s.Account(), s.Region(), old.Account, old.Region)
	}
	same := func(what string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s after migration:\n got %s\nwant %s", what, g, w)
		}
	}
	var certARN string
	err = s.View(func(st *State) error {
		if st.RegistrationCode != old.RegistrationCode || st.EndpointPrefix != old.EndpointPrefix {
			t.Errorf("registration code %q / endpoint prefix %q not kept", st.RegistrationCode, st.EndpointPrefix)
		}
		if st.CountCAs() != len(old.CAs) || st.CountCertificates() != len(old.Certificates) || st.CountThings() != len(old.Things) || st.CountPolicies() != len(old.Policies) {
			t.Errorf("counts: %d CAs, %d certs, %d things, %d policies", st.CountCAs(), st.CountCertificates(), st.CountThings(), st.CountPolicies())
		}
		for id, want := range old.CAs {
			got, err := st.CA(id)
			if err != nil {
				t.Fatal(err)
			}
			same("CA "+id, got, want)
		}
		for id, want := range old.Certificates {
			got, err := st.Certificate(id)
			if err != nil {
				t.Fatal(err)
			}
			same("certificate "+id, got, want)
			certARN = got.ARN
			// The by-CA and by-issuer indexes were built from the records.
			if ca := st.FindIssuingCA(got.Cert()); ca == nil || ca.ID != want.CAID {
				t.Errorf("FindIssuingCA(%s) = %v, want %s", id, ca, want.CAID)
			}
			byCA, _, err := st.ListCertificatesByCA(want.CAID, Page{Limit: 10})
			if err != nil || len(byCA) != 1 || byCA[0].ID != id {
				t.Errorf("ListCertificatesByCA: %v %v", byCA, err)
			}
		}
		for name, want := range old.Things {
			got, err := st.Thing(name)
			if err != nil {
				t.Fatal(err)
			}
			same("thing "+name, got, want)
		}
		for name, want := range old.Policies {
			got, err := st.Policy(name)
			if err != nil {
				t.Fatal(err)
			}
			same("policy "+name, got, want)
		}
		for name, want := range old.Roles {
			got, err := st.RoleByARN(want.ARN)
			if err != nil {
				t.Fatal(err)
			}
			same("role "+name, got, want)
		}
		for _, tp := range old.ThingPrincipals {
			if !st.IsThingAttached(tp.Thing, tp.Principal) || !slices.Contains(st.ThingsForPrincipal(tp.Principal), tp.Thing) {
				t.Errorf("thing principal %+v lost", tp)
			}
		}
		for _, pt := range old.PolicyTargets {
			if !slices.Contains(st.PolicyNamesForTarget(pt.Target), pt.Policy) || !slices.Contains(st.TargetsForPolicy(pt.Policy), pt.Target) {
				t.Errorf("policy attachment %+v lost", pt)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if th := thingsOf(t, s, certARN); !slices.Equal(th, []string{"DemoThing", "Sensor-001"}) {
		t.Errorf("things of the device certificate: %v", th)
	}
	evs := s.Events(0)
	if len(evs) != 9 || evs[0].Seq != 1 || evs[7].Seq != 8 || evs[8].Kind != EventStateMigrated || evs[8].Seq != 9 || evs[8].Message != msg {
		t.Fatalf("event log after migration: %+v", evs)
	}
	for _, f := range []string{StateFile, EventsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s is still in place after the migration (%v)", f, err)
		}
		if _, err := os.Stat(filepath.Join(dir, f+MigratedSuffix)); err != nil {
			t.Errorf("%s was not kept: %v", f+MigratedSuffix, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, DBFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v %v", DBFile, fi, err)
	}
	s.Close()

	// Once: the next open migrates nothing, even if the old file is back (a crash between
	// the commit and the rename leaves it in place).
	if err := os.Rename(filepath.Join(dir, StateFile+MigratedSuffix), filepath.Join(dir, StateFile)); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if m := s2.Migrated(); m != "" {
		t.Errorf("second open migrated again: %s", m)
	}
	if n := len(s2.Events(0)); n != 9 {
		t.Errorf("second open changed the log: %d events", n)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile)); !os.IsNotExist(err) {
		t.Error("a state.json left by a crash is not moved aside on the next open")
	}
	// The migrated state works as any other: the device's certificate still authorizes.
	dev, err := os.ReadFile(filepath.Join(ws, pki.FileDeviceCert))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := pki.ParseCertPEM(dev)
	if err != nil {
		t.Fatal(err)
	}
	_ = s2.View(func(st *State) error {
		c, err := st.Certificate(pki.CertID(leaf))
		if err != nil || c.Status != StatusActive || len(st.PoliciesForCert(c.ID)) != 1 {
			t.Errorf("device certificate after migration: %+v %v", c, err)
		}
		return nil
	})
}

func thingsOf(t *testing.T, s *Store, principal string) []string {
	t.Helper()
	var out []string
	_ = s.View(func(st *State) error { out = st.ThingsForPrincipal(principal); return nil })
	return out
}

// TestMigrateRefusesDamagedState: a state.json that does not decode is reported with its
// path and the way out, and nothing is migrated (a later open with a good file migrates).
func TestMigrateRefusesDamagedState(t *testing.T) {
	t.Parallel()
	ws := releaseWorkspace(t)
	dir := Dir(ws)
	good, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile), good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, StateFile)) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged state.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile), good, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Migrated() == "" || countOf(t, s, (*State).CountThings) != 4 {
		t.Errorf("migration after the file was repaired: %q", s.Migrated())
	}
	// A region other than the migrated state's is refused as for any state.
	s.Close()
	if _, err := Open(dir, Options{Region: "eu-west-1"}); err == nil || !strings.Contains(err.Error(), "us-east-2") {
		t.Errorf("other region: %v", err)
	}
}
