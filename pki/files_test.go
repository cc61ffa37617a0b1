package pki

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestEnsureWorkspace(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir := filepath.Join(base, "a", "ws")
	if err := EnsureWorkspace(dir); err != nil {
		t.Fatal(err)
	}
	checkMode(t, dir, 0o700)
	// An existing, looser directory is tightened.
	loose := filepath.Join(base, "loose")
	if err := os.Mkdir(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o775); err != nil {
		t.Fatal(err)
	}
	if err := EnsureWorkspace(loose); err != nil {
		t.Fatal(err)
	}
	checkMode(t, loose, 0o700)
	// A file in the way is a clear error.
	f := filepath.Join(base, "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := EnsureWorkspace(f); err == nil || !strings.Contains(err.Error(), "workspace "+f) {
		t.Errorf("file as workspace: %v", err)
	}
	var fe *FieldError
	if err := EnsureWorkspace(""); !errors.As(err, &fe) || fe.Field != "workspace" {
		t.Errorf("empty: %v", err)
	}
}

func TestWriteFileSafety(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, FileCAKey)
	cert := filepath.Join(dir, FileCACert)
	if err := WriteFile(key, []byte("k1"), KeyMode, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(cert, []byte("c1"), CertMode, false); err != nil {
		t.Fatal(err)
	}
	checkMode(t, key, 0o600)
	checkMode(t, cert, 0o644)

	// Refuse to overwrite: typed error, content untouched, no temp file left.
	err := WriteFile(key, []byte("k2"), KeyMode, false)
	var ee *ExistsError
	if !errors.Is(err, ErrExists) || !errors.As(err, &ee) || ee.Path != key {
		t.Fatalf("got %v, want *ExistsError for %s", err, key)
	}
	mustContain(t, "exists", err.Error(), key, "overwrit")
	if b := readFile(t, key); string(b) != "k1" {
		t.Errorf("key was changed: %q", b)
	}
	checkNoTempFiles(t, dir)

	// Explicit overwrite replaces content and applies the new mode.
	if err := WriteFile(cert, []byte("c2"), KeyMode, true); err != nil {
		t.Fatal(err)
	}
	if b := readFile(t, cert); string(b) != "c2" {
		t.Errorf("cert not replaced: %q", b)
	}
	checkMode(t, cert, 0o600)

	// Errors leave nothing behind: missing directory, directory in the way.
	if err := WriteFile(filepath.Join(dir, "nope", "x"), []byte("x"), CertMode, false); err == nil {
		t.Error("write into missing dir succeeded")
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "sub"), []byte("x"), CertMode, true); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("dir in the way: %v", err)
	}
	checkNoTempFiles(t, dir)
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("unexpected files: %v", ents)
	}
}

// TestWriteFileConcurrentNoOverwrite: of many writers racing for a new file without
// overwrite, exactly one wins and the file holds its complete content.
func TestWriteFileConcurrentNoOverwrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "race.key")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = WriteFile(p, bytes.Repeat([]byte(fmt.Sprintf("%02d", i)), 4096), KeyMode, false)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatalf("writers %d and %d both succeeded", won, i)
			}
			won = i
		case !errors.Is(err, ErrExists):
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no writer succeeded")
	}
	if got := readFile(t, p); !bytes.Equal(got, bytes.Repeat([]byte(fmt.Sprintf("%02d", won)), 4096)) {
		t.Error("file content is not the winner's complete data")
	}
	checkNoTempFiles(t, dir)
}

// TestFlowsRefuseToOverwrite: an existing key or cert stops a flow before it writes anything.
func TestFlowsRefuseToOverwrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, _, err := CreateRootCA(dir, RootCAOptions{KeyType: EC256, Country: "US", Organization: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	keyBefore := readFile(t, filepath.Join(dir, FileCAKey))
	if _, _, err := CreateRootCA(dir, RootCAOptions{KeyType: EC256}); !errors.Is(err, ErrExists) {
		t.Fatalf("second CreateRootCA: %v", err)
	}
	if !bytes.Equal(keyBefore, readFile(t, filepath.Join(dir, FileCAKey))) {
		t.Fatal("CA key changed without consent")
	}

	// Only the bundle exists: IssueDeviceCert writes nothing at all.
	if err := os.WriteFile(filepath.Join(dir, FileDeviceBundle), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = IssueDeviceCert(IssueOptions{Dir: dir, CA: ca, KeyType: EC256}, Subject{CommonName: "DemoThing"})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), FileDeviceBundle) {
		t.Fatalf("got %v", err)
	}
	for _, f := range []string{FileDeviceKey, FileDeviceCSR, FileDeviceCert} {
		if FileExists(filepath.Join(dir, f)) {
			t.Errorf("%s written despite refusal", f)
		}
	}
	// With consent it replaces everything, including the old bundle.
	r, err := IssueDeviceCert(IssueOptions{Dir: dir, CA: ca, KeyType: EC256, Overwrite: true}, Subject{CommonName: "DemoThing"})
	if err != nil {
		t.Fatal(err)
	}
	if b := readFile(t, filepath.Join(dir, FileDeviceBundle)); !bytes.Equal(b, Bundle(r.Cert, ca.Cert)) {
		t.Error("bundle not replaced")
	}
	if len(r.Files) != 4 {
		t.Errorf("files: %+v", r.Files)
	}

	// Reusing an existing key: the key file is not rewritten, the cert is for that key.
	keyFile := filepath.Join(dir, FileDeviceKey)
	oldKey, err := LoadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	oldKeyPEM := readFile(t, keyFile)
	r, err = IssueDeviceCert(IssueOptions{Dir: dir, CA: ca, Key: oldKey, Overwrite: true}, Subject{CommonName: "DemoThing"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(oldKeyPEM, readFile(t, keyFile)) || !publicKeysEqual(r.Cert.PublicKey, oldKey.Public()) {
		t.Error("existing key not reused")
	}
	for _, f := range r.Files {
		if f.Path == keyFile {
			t.Error("reused key reported as written")
		}
	}
	for _, c := range r.Commands {
		if strings.Contains(c.Line, "genrsa") || strings.Contains(c.Line, "genpkey") {
			t.Errorf("key generation command shown for a reused key: %s", c.Line)
		}
	}
	checkNoTempFiles(t, dir)
}

func TestFlowInputErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, _, err := CreateRootCA(dir, RootCAOptions{Country: "IND"})
	wantFieldError(t, err, "country")
	_, _, err = CreateRootCA(dir, RootCAOptions{KeyType: "dsa"})
	wantFieldError(t, err, "key type")
	_, _, err = CreateRootCA(dir, RootCAOptions{Days: -1})
	wantFieldError(t, err, "days")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files written on bad input: %v", ents)
	}
	ca := testCA(t, EC256)
	_, err = IssueVerificationCert(IssueOptions{Dir: dir, CA: ca}, "not-a-code")
	wantFieldError(t, err, "registration code")
	_, err = IssueDeviceCert(IssueOptions{Dir: dir, CA: ca}, Subject{CommonName: "Demo Thing"})
	wantFieldError(t, err, "thing name")
	_, err = IssueDeviceCert(IssueOptions{Dir: dir}, Subject{CommonName: "DemoThing"})
	if err == nil || !strings.Contains(err.Error(), "no CA") {
		t.Errorf("missing CA: %v", err)
	}
}
