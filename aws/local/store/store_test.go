package store

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/pki/pkitest"
)

func pemOf(c *x509.Certificate) string { return string(pki.EncodeCertPEM(c)) }

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), DirName), Options{Region: "ap-south-1"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantCode(t *testing.T, err error, code string) *APIError {
	t.Helper()
	ae := AsAPIError(err)
	if ae == nil {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.Code != code {
		t.Fatalf("want %s, got %s: %s", code, ae.Code, ae.Message)
	}
	if ae.Status != StatusFor(code) || ae.Status == 0 {
		t.Fatalf("%s: status %d", code, ae.Status)
	}
	return ae
}

// registerCA registers ca in DEFAULT mode with a verification cert for the current code.
func registerCA(t *testing.T, s *Store, ca *pkitest.CA, active, auto bool) *CA {
	t.Helper()
	var out CA
	err := s.Update(func(st *State) error {
		code := st.EnsureRegistrationCode()
		v := ca.Issue(t, pki.Subject{CommonName: code}).Cert
		c, err := st.RegisterCA(RegisterCAInput{CACertificatePEM: pemOf(ca.Cert), VerificationCertificate: pemOf(v),
			SetAsActive: active, AllowAutoRegistration: auto})
		if err != nil {
			return err
		}
		out = *c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestRegisterCAValidations(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Acme"})
	other := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Other"})
	var code string
	_ = s.Update(func(st *State) error { code = st.EnsureRegistrationCode(); return nil })
	if len(code) != 64 {
		t.Fatalf("registration code %q is not 64 hex chars", code)
	}
	reg := func(in RegisterCAInput) error {
		return s.Update(func(st *State) error { _, err := st.RegisterCA(in); return err })
	}
	// Wrong code.
	bad := ca.Issue(t, pki.Subject{CommonName: "0000000000000000000000000000000000000000000000000000000000000000"}).Cert
	wantCode(t, reg(RegisterCAInput{CACertificatePEM: pemOf(ca.Cert), VerificationCertificate: pemOf(bad)}), CodeRegistrationCode)
	// Verification signed by another CA.
	foreign := other.Issue(t, pki.Subject{CommonName: code}).Cert
	wantCode(t, reg(RegisterCAInput{CACertificatePEM: pemOf(ca.Cert), VerificationCertificate: pemOf(foreign)}), CodeCertificateValidation)
	// Not a CA.
	leaf := ca.Issue(t, pki.Subject{CommonName: "leaf"}).Cert
	wantCode(t, reg(RegisterCAInput{CACertificatePEM: pemOf(leaf), VerificationCertificate: pemOf(foreign)}), CodeCertificateValidation)
	// Garbage.
	wantCode(t, reg(RegisterCAInput{CACertificatePEM: "not a cert"}), CodeCertificateValidation)
	// Missing verification in DEFAULT mode; present in SNI_ONLY mode.
	wantCode(t, reg(RegisterCAInput{CACertificatePEM: pemOf(ca.Cert)}), CodeInvalidRequest)
	good := ca.Issue(t, pki.Subject{CommonName: code}).Cert
	wantCode(t, reg(RegisterCAInput{CACertificatePEM: pemOf(ca.Cert), VerificationCertificate: pemOf(good), CertificateMode: ModeSNIOnly}), CodeInvalidRequest)
	wantCode(t, reg(RegisterCAInput{CACertificatePEM: pemOf(ca.Cert), VerificationCertificate: pemOf(good), CertificateMode: "BOGUS"}), CodeInvalidRequest)
	if n := countOf(t, s, (*State).CountCAs); n != 0 {
		t.Fatalf("failed registrations left %d CAs", n)
	}
	// Success, defaults INACTIVE/DISABLE.
	if err := reg(RegisterCAInput{CACertificatePEM: pemOf(ca.Cert), VerificationCertificate: pemOf(good)}); err != nil {
		t.Fatal(err)
	}
	id := pki.CertID(ca.Cert)
	_ = s.View(func(st *State) error {
		c, err := st.CA(id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != StatusInactive || c.AutoRegistrationStatus != AutoRegDisable || c.Mode != ModeDefault {
			t.Errorf("defaults: %s %s %s", c.Status, c.AutoRegistrationStatus, c.Mode)
		}
		if c.ARN != "arn:aws:iot:ap-south-1:123456789012:cacert/"+id {
			t.Errorf("ARN %s", c.ARN)
		}
		return nil
	})
	// Duplicate: 409 naming the existing CA.
	ae := wantCode(t, reg(RegisterCAInput{CACertificatePEM: pemOf(ca.Cert), VerificationCertificate: pemOf(good)}), CodeResourceAlreadyExists)
	if ae.ResourceID != id || ae.ResourceARN == "" {
		t.Errorf("duplicate error names %q %q, want %s", ae.ResourceID, ae.ResourceARN, id)
	}
	// SNI_ONLY needs no verification cert.
	if err := reg(RegisterCAInput{CACertificatePEM: pemOf(other.Cert), CertificateMode: ModeSNIOnly}); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterCASameSubjectLimit(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	subj := pki.Subject{Country: "IN", Organization: "Same"}
	for i := 0; i < MaxCAsPerSubject; i++ {
		registerCA(t, s, pkitest.NewCA(t, pki.EC256, subj), false, false)
	}
	ca := pkitest.NewCA(t, pki.EC256, subj)
	err := s.Update(func(st *State) error {
		v := ca.Issue(t, pki.Subject{CommonName: st.EnsureRegistrationCode()}).Cert
		_, err := st.RegisterCA(RegisterCAInput{CACertificatePEM: pemOf(ca.Cert), VerificationCertificate: pemOf(v)})
		return err
	})
	if ae := wantCode(t, err, CodeLimitExceeded); ae.Status != 410 {
		t.Fatalf("status %d", ae.Status)
	}
}

func TestUpdateRollsBackOnError(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	boom := errors.New("boom")
	err := s.Update(func(st *State) error {
		if _, err := st.CreatePolicy("p1", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`, nil); err != nil {
			return err
		}
		st.AddEvent(Event{Kind: "x", Message: "should vanish"})
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if np, ne := countOf(t, s, (*State).CountPolicies), len(s.Events(0)); np != 0 || ne != 0 {
		t.Errorf("rolled-back transaction left %d policies, %d events", np, ne)
	}
	// And nothing on disk either.
	s2, err := Open(s.Dir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if countOf(t, s2, (*State).CountPolicies) != 0 {
		t.Error("rolled-back policy persisted")
	}
}

func TestPersistenceAcrossReopen(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ws", DirName)
	s, err := Open(dir, Options{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Acme"})
	rec := registerCA(t, s, ca, true, true)
	dev := ca.Issue(t, pki.Subject{Country: "IN", CommonName: "DemoThing"}).Cert
	var code, certARN string
	err = s.Update(func(st *State) error {
		code = st.RegistrationCode
		c, err := st.RegisterDeviceCert(dev, rec.ID, StatusPendingActivation)
		if err != nil {
			return err
		}
		certARN = c.ARN
		if _, err := st.CreateThing("DemoThing", "", map[string]string{"version": "v1"}); err != nil {
			return err
		}
		if _, err := st.CreatePolicy("pol", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`, nil); err != nil {
			return err
		}
		if err := st.AttachPolicy("pol", c.ARN); err != nil {
			return err
		}
		if err := st.AttachThingPrincipal("DemoThing", c.ARN, ""); err != nil {
			return err
		}
		if err := st.SetCertificateStatus(c.ID, StatusActive); err != nil {
			return err
		}
		if _, err := st.CreateRole(CreateRoleInput{Name: "JITPRole", TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}); err != nil {
			return err
		}
		st.AddEvent(Event{Kind: EventProvisioned, CertID: c.ID, Message: "ok"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode: %v %v", fi.Mode(), err)
	}
	fi, err = os.Stat(filepath.Join(dir, DBFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode: %v %v", fi.Mode(), err)
	}

	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Region() != "eu-west-1" || s2.Account() != DefaultAccount {
		t.Errorf("reopened as %s/%s", s2.Account(), s2.Region())
	}
	evs := s2.Events(0)
	_ = s2.View(func(st *State) error {
		if st.RegistrationCode != code {
			t.Error("registration code changed across restart")
		}
		c, err := st.CertificateByARN(certARN)
		if err != nil || c.Status != StatusActive || c.CAID != rec.ID || c.Cert() == nil {
			t.Fatalf("cert after reopen: %+v %v", c, err)
		}
		if got := st.FindIssuingCA(c.Cert()); got == nil || got.ID != rec.ID {
			t.Errorf("FindIssuingCA after reopen: %v", got)
		}
		if ps := st.PoliciesForCert(c.ID); len(ps) != 1 || ps[0].Name != "pol" {
			t.Errorf("policies: %v", ps)
		}
		if th := st.ThingsForPrincipal(certARN); len(th) != 1 || th[0] != "DemoThing" {
			t.Errorf("things: %v", th)
		}
		r, err := st.RoleByARN("arn:aws:iam::123456789012:role/JITPRole")
		if err != nil || !r.TrustsService("iot.amazonaws.com") || r.TrustsService("ec2.amazonaws.com") {
			t.Errorf("role: %+v %v", r, err)
		}
		if len(evs) != 1 || evs[0].Kind != EventProvisioned || evs[0].Seq != 1 {
			t.Errorf("events: %+v", evs)
		}
		return nil
	})
	// A different region for the same state is refused with a clear message.
	if _, err := Open(dir, Options{Region: "us-west-2"}); err == nil {
		t.Error("opening a eu-west-1 state as us-west-2 succeeded")
	}
	// A damaged file is reported, not silently replaced.
	s.Close()
	s2.Close()
	if err := os.WriteFile(filepath.Join(dir, DBFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); err == nil {
		t.Error("damaged state opened")
	}
}

func TestDeleteGuards(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Acme"})
	rec := registerCA(t, s, ca, true, true)
	dev := ca.Issue(t, pki.Subject{CommonName: "T1"}).Cert
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`
	var c Certificate
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Update(func(st *State) error {
		cc, err := st.RegisterDeviceCert(dev, rec.ID, StatusActive)
		if err != nil {
			return err
		}
		c = *cc
		if _, err := st.CreateThing("T1", "", nil); err != nil {
			return err
		}
		if _, err := st.CreatePolicy("P1", doc, nil); err != nil {
			return err
		}
		if err := st.AttachPolicy("P1", cc.ARN); err != nil {
			return err
		}
		return st.AttachThingPrincipal("T1", cc.ARN, "")
	}))
	do := func(fn func(st *State) error) error { return s.Update(fn) }
	wantCode(t, do(func(st *State) error { return st.DeleteCA(rec.ID) }), CodeCertificateState)
	wantCode(t, do(func(st *State) error { return st.DeleteCertificate(c.ID, false) }), CodeCertificateState)
	wantCode(t, do(func(st *State) error { return st.DeletePolicy("P1") }), CodeDeleteConflict)
	wantCode(t, do(func(st *State) error { return st.DeleteThing("T1", nil) }), CodeInvalidRequest)
	wantCode(t, do(func(st *State) error { return st.UpdateCertificate(c.ID, StatusPendingActivation) }), CodeInvalidRequest)
	must(do(func(st *State) error { return st.UpdateCertificate(c.ID, StatusInactive) }))
	wantCode(t, do(func(st *State) error { return st.DeleteCertificate(c.ID, false) }), CodeDeleteConflict) // thing attached
	must(do(func(st *State) error { return st.DetachThingPrincipal("T1", c.ARN) }))
	wantCode(t, do(func(st *State) error { return st.DeleteCertificate(c.ID, false) }), CodeDeleteConflict) // policy attached
	must(do(func(st *State) error { return st.DeleteCertificate(c.ID, true) }))                             // force detaches
	must(do(func(st *State) error { return st.DeletePolicy("P1") }))
	must(do(func(st *State) error { return st.DeleteThing("T1", nil) }))
	must(do(func(st *State) error { return st.DeleteThing("T1", nil) })) // absent: success
	must(do(func(st *State) error { return st.UpdateCA(rec.ID, UpdateCAInput{NewStatus: StatusInactive}) }))
	must(do(func(st *State) error { return st.DeleteCA(rec.ID) }))
	wantCode(t, do(func(st *State) error { _, err := st.CA(rec.ID); return err }), CodeResourceNotFound)

	// Revoked stays revoked.
	dev2 := ca.Issue(t, pki.Subject{CommonName: "T2"}).Cert
	var id2 string
	must(do(func(st *State) error {
		c, err := st.RegisterDeviceCert(dev2, "", StatusActive)
		if err == nil {
			id2 = c.ID
		}
		return err
	}))
	must(do(func(st *State) error { return st.UpdateCertificate(id2, StatusRevoked) }))
	wantCode(t, do(func(st *State) error { return st.UpdateCertificate(id2, StatusActive) }), CodeCertificateState)
	// Re-registering the same device cert names it.
	ae := wantCode(t, do(func(st *State) error { _, err := st.RegisterDeviceCert(dev2, "", StatusActive); return err }), CodeResourceAlreadyExists)
	if ae.ResourceID != id2 {
		t.Errorf("resourceId %s", ae.ResourceID)
	}
}

func TestPolicyAndRoleRules(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	do := func(fn func(st *State) error) error { return s.Update(fn) }
	wantCode(t, do(func(st *State) error { _, err := st.CreatePolicy("bad name!", "{}", nil); return err }), CodeInvalidRequest)
	wantCode(t, do(func(st *State) error { _, err := st.CreatePolicy("p", `{"Statement":[`, nil); return err }), CodeMalformedPolicy)
	wantCode(t, do(func(st *State) error { return st.AttachPolicy("nope", "arn:aws:iot:ap-south-1:123456789012:cert/ab") }), CodeResourceNotFound)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`
	if err := do(func(st *State) error { _, err := st.CreatePolicy("p", doc, nil); return err }); err != nil {
		t.Fatal(err)
	}
	ae := wantCode(t, do(func(st *State) error { _, err := st.CreatePolicy("p", doc, nil); return err }), CodeResourceAlreadyExists)
	if ae.ResourceID != "p" {
		t.Errorf("resourceId %q", ae.ResourceID)
	}
	wantCode(t, do(func(st *State) error { return st.AttachPolicy("p", "arn:aws:iot:ap-south-1:123456789012:cert/ab") }), CodeResourceNotFound)
	// Limit of 10 policies on one target (a thing group ARN, not checked for existence).
	tg := "arn:aws:iot:ap-south-1:123456789012:thinggroup/g"
	if err := do(func(st *State) error {
		for i := 0; i < MaxPoliciesPerCert; i++ {
			n := fmt.Sprintf("q%d", i)
			if _, err := st.CreatePolicy(n, doc, nil); err != nil {
				return err
			}
			if err := st.AttachPolicy(n, tg); err != nil {
				return err
			}
		}
		return st.AttachPolicy("q0", tg) // again: no-op
	}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, do(func(st *State) error { return st.AttachPolicy("p", tg) }), CodeLimitExceeded)

	trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":["iot.amazonaws.com"]},"Action":["sts:AssumeRole"]}}`
	wantCode(t, do(func(st *State) error {
		_, err := st.CreateRole(CreateRoleInput{Name: "R", TrustPolicy: "{"})
		return err
	}), CodeIAMMalformedPolicy)
	if err := do(func(st *State) error {
		_, err := st.CreateRole(CreateRoleInput{Name: "R", TrustPolicy: trust})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, do(func(st *State) error {
		_, err := st.CreateRole(CreateRoleInput{Name: "R", TrustPolicy: trust})
		return err
	}), CodeIAMEntityAlreadyExists)
	wantCode(t, do(func(st *State) error { return st.AttachRolePolicy("R", "not-an-arn") }), CodeIAMInvalidInput)
	wantCode(t, do(func(st *State) error {
		return st.AttachRolePolicy("Nope", "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")
	}), CodeIAMNoSuchEntity)
	if err := do(func(st *State) error {
		return st.AttachRolePolicy("R", "arn:aws:iam::aws:policy/service-role/AWSIoTThingsRegistration")
	}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, do(func(st *State) error { return st.DeleteRole("R") }), CodeIAMDeleteConflict)
	wantCode(t, do(func(st *State) error { return st.DetachRolePolicy("R", "arn:aws:iam::aws:policy/Other") }), CodeIAMNoSuchEntity)
	_ = s.View(func(st *State) error {
		r, _ := st.Role("R")
		if !r.TrustsService("iot.amazonaws.com") {
			t.Error("single-statement trust with list principal not recognised")
		}
		return nil
	})
}

func TestFindIssuingCAPrefersActiveAndVerifiesSignature(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	subj := pki.Subject{Country: "IN", Organization: "Twin"}
	a := pkitest.NewCA(t, pki.EC256, subj)
	b := pkitest.NewCA(t, pki.EC256, subj) // same subject, different key
	registerCA(t, s, a, false, false)
	rb := registerCA(t, s, b, true, true)
	leafB := b.Issue(t, pki.Subject{CommonName: "d"}).Cert
	unknown := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Unknown"}).Issue(t, pki.Subject{CommonName: "d"}).Cert
	_ = s.View(func(st *State) error {
		if got := st.FindIssuingCA(leafB); got == nil || got.ID != rb.ID {
			t.Errorf("FindIssuingCA(leafB) = %v, want %s", got, rb.ID)
		}
		if got := st.FindIssuingCA(unknown); got != nil {
			t.Errorf("unregistered issuer matched %s", got.ID)
		}
		return nil
	})
}

func TestConcurrentUpdatesAndSubscribe(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ch, cancel := s.Subscribe(1000)
	defer cancel()
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				name := fmt.Sprintf("t-%d-%d", w, i)
				err := s.Update(func(st *State) error {
					if _, err := st.CreateThing(name, "", nil); err != nil {
						return err
					}
					st.AddEvent(Event{Kind: "ThingCreated", Thing: name, Message: name})
					return nil
				})
				if err != nil {
					t.Error(err)
				}
				_ = s.View(func(st *State) error { _, _ = st.Thing(name); return nil })
			}
		}(w)
	}
	wg.Wait()
	var last int64
	for i := 0; i < workers*each; i++ {
		e := <-ch
		if e.Seq <= last {
			t.Fatalf("event %d delivered after %d", e.Seq, last)
		}
		last = e.Seq
	}
	if got := len(s.Events(0)); got != workers*each {
		t.Errorf("event log has %d, want %d", got, workers*each)
	}
	s2, err := Open(s.Dir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := countOf(t, s2, (*State).CountThings); n != workers*each {
		t.Errorf("reopened state has %d things, want %d", n, workers*each)
	}
}

func TestEventLogIsBounded(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	_ = s.Update(func(st *State) error {
		for i := 0; i < MaxEvents+5; i++ {
			st.AddEvent(Event{Kind: "k", Message: fmt.Sprint(i)})
		}
		return nil
	})
	evs := s.Events(0)
	if len(evs) != MaxEvents || evs[0].Seq != 6 || evs[len(evs)-1].Seq != MaxEvents+5 {
		t.Fatalf("log: %d entries, first %d", len(evs), evs[0].Seq)
	}
	if got := s.Events(int64(MaxEvents + 3)); len(got) != 2 {
		t.Errorf("Events(after) = %d entries", len(got))
	}
}

// TestEventLogSurvivesReopen: events are appended one transaction each; the log keeps
// the newest MaxEvents across a reopen, and the sequence goes on where it stopped.
func TestEventLogSurvivesReopen(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	const n = MaxEvents + 50
	for i := 1; i <= n; i++ {
		if err := s.AddEvent(Event{Kind: "k", Message: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s2, err := Open(s.Dir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	evs := s2.Events(0)
	if len(evs) != MaxEvents || evs[0].Seq != n-MaxEvents+1 || evs[len(evs)-1].Seq != n || evs[len(evs)-1].Message != fmt.Sprint(n) {
		t.Fatalf("after reopen: %d events, first %+v, last %+v", len(evs), evs[0], evs[len(evs)-1])
	}
	ev := s2.Events(n - 1)
	if err := s2.AddEvent(Event{Kind: "k", Message: "next"}); err != nil {
		t.Fatal(err)
	}
	if got := s2.Events(n); len(got) != 1 || got[0].Seq != n+1 || len(ev) != 1 {
		t.Fatalf("sequence after reopen: %+v", got)
	}
}

// countOf counts records in a read transaction.
func countOf(t *testing.T, s *Store, n func(*State) int) int {
	t.Helper()
	var c int
	if err := s.View(func(st *State) error { c = n(st); return nil }); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestListPagesInOrder pages through things, policies (descending too), a CA's
// certificates and a thing's principals: every item once, in key order, the last page
// without a next key, and a key from another list refused.
func TestListPagesInOrder(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ca := pkitest.NewCA(t, pki.EC256, pki.Subject{Country: "IN", Organization: "Acme"})
	rec := registerCA(t, s, ca, true, true)
	var names, certIDs, arns []string
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`
	if err := s.Update(func(st *State) error {
		for i := 0; i < 11; i++ {
			n := fmt.Sprintf("n%02d", i)
			names = append(names, n)
			if _, err := st.CreateThing(n, "", nil); err != nil {
				return err
			}
			if _, err := st.CreatePolicy(n, doc, nil); err != nil {
				return err
			}
			c, err := st.RegisterDeviceCert(ca.Issue(t, pki.Subject{CommonName: n}).Cert, rec.ID, StatusActive)
			if err != nil {
				return err
			}
			certIDs, arns = append(certIDs, c.ID), append(arns, c.ARN)
			if err := st.AttachThingPrincipal("n00", c.ARN, ""); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(arns)
	all := func(list func(st *State, p Page) ([]string, []byte, error), limit int, desc bool) []string {
		t.Helper()
		var out []string
		p := Page{Limit: limit, Desc: desc}
		for pages := 0; ; pages++ {
			var items []string
			var next []byte
			if err := s.View(func(st *State) error {
				var err error
				items, next, err = list(st, p)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(items) > limit || (next != nil && len(items) != limit) || pages > 20 {
				t.Fatalf("page %d: %d items, next %q", pages, len(items), next)
			}
			out = append(out, items...)
			if next == nil {
				return out
			}
			p.After = next
		}
	}
	things := func(st *State, p Page) ([]string, []byte, error) {
		ts, next, err := st.ListThings(p, nil)
		return mapTo(ts, func(x *Thing) string { return x.Name }), next, err
	}
	policies := func(st *State, p Page) ([]string, []byte, error) {
		ps, next, err := st.ListPolicies(p)
		return mapTo(ps, func(x *Policy) string { return x.Name }), next, err
	}
	byCA := func(st *State, p Page) ([]string, []byte, error) {
		cs, next, err := st.ListCertificatesByCA(rec.ID, p)
		return mapTo(cs, func(x *Certificate) string { return x.ID }), next, err
	}
	principals := func(st *State, p Page) ([]string, []byte, error) { return st.ListPrincipalsOfThing("n00", p) }
	rev := slices.Clone(names)
	slices.Reverse(rev)
	revCerts := slices.Clone(certIDs)
	slices.Reverse(revCerts)
	for _, limit := range []int{1, 4, 11, 50} {
		if got := all(things, limit, false); !slices.Equal(got, names) {
			t.Errorf("things by %d: %v", limit, got)
		}
		if got := all(policies, limit, true); !slices.Equal(got, rev) {
			t.Errorf("policies descending by %d: %v", limit, got)
		}
		if got := all(byCA, limit, false); !slices.Equal(got, certIDs) {
			t.Errorf("certificates by CA, oldest first, by %d: %v", limit, got)
		}
		if got := all(byCA, limit, true); !slices.Equal(got, revCerts) {
			t.Errorf("certificates by CA, newest first, by %d: %v", limit, got)
		}
		if got := all(principals, limit, false); !slices.Equal(got, arns) {
			t.Errorf("principals by %d: %v", limit, got)
		}
	}
	// A filter keeps paging until a page is full.
	_ = s.View(func(st *State) error {
		ts, next, err := st.ListThings(Page{Limit: 2}, func(x *Thing) bool { return x.Name >= "n07" })
		if err != nil || len(ts) != 2 || ts[0].Name != "n07" || next == nil {
			t.Errorf("filtered page: %v %q %v", ts, next, err)
		}
		// A key of the things list is not a key of this CA's certificates.
		if _, _, err := st.ListCertificatesByCA(rec.ID, Page{Limit: 2, After: []byte("n03")}); !errors.Is(err, ErrBadMarker) {
			t.Errorf("foreign key: %v", err)
		}
		return nil
	})
}

// TestGroupCommitKeepsEachResult: Updates racing for one name are committed together
// where they can be, yet each gets the result it would have had alone: one creates the
// thing, every other is told it exists, and nothing a failed one did is kept.
func TestGroupCommitKeepsEachResult(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = s.Update(func(st *State) error {
				if _, err := st.CreateThing(fmt.Sprintf("own-%02d", i), "", nil); err != nil {
					return err
				}
				st.AddEvent(Event{Kind: "k", Message: fmt.Sprint(i)})
				_, err := st.CreateThing("shared", "", map[string]string{"by": fmt.Sprint(i)})
				return err
			})
		}(i)
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("both %d and %d created the thing", winner, i)
			}
			winner = i
			continue
		}
		wantCode(t, err, CodeResourceAlreadyExists)
	}
	if winner < 0 {
		t.Fatal("nobody created the thing")
	}
	_ = s.View(func(st *State) error {
		if st.CountThings() != 2 || st.LookupThing(fmt.Sprintf("own-%02d", winner)) == nil {
			t.Errorf("%d things; the failed calls' own things must be rolled back", st.CountThings())
		}
		if th := st.LookupThing("shared"); th == nil || th.Attributes["by"] != fmt.Sprint(winner) {
			t.Errorf("shared thing %+v, want it made by %d", th, winner)
		}
		return nil
	})
	if evs := s.Events(0); len(evs) != 1 || evs[0].Message != fmt.Sprint(winner) {
		t.Errorf("events: %+v", evs)
	}
}

// TestViewDoesNotWaitForUpdate: while a write transaction is open (its fn blocked), a
// View runs and sees the last committed state, not the one being written.
func TestViewDoesNotWaitForUpdate(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	if err := s.Update(func(st *State) error { _, err := st.CreateThing("before", "", nil); return err }); err != nil {
		t.Fatal(err)
	}
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(func(st *State) error {
			if _, err := st.CreateThing("during", "", nil); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	var names []string
	if err := s.View(func(st *State) error {
		ts, _, err := st.ListThings(Page{Limit: 10}, nil)
		names = mapTo(ts, func(x *Thing) string { return x.Name })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"before"}) {
		t.Errorf("View during an open write saw %v", names)
	}
	if n := countOf(t, s, (*State).CountThings); n != 2 {
		t.Errorf("after the commit: %d things", n)
	}
}
