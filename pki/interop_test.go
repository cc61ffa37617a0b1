package pki

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

func randomCode(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// opensslFingerprintID is the walkthrough's way to get a cert ID: openssl's SHA-256
// fingerprint without colons, lowercased.
func opensslFingerprintID(t *testing.T, dir, certFile string) string {
	out := openssl(t, dir, "x509", "-in", certFile, "-noout", "-fingerprint", "-sha256")
	_, fp, ok := strings.Cut(strings.TrimSpace(out), "=")
	if !ok {
		t.Fatalf("unexpected fingerprint output %q", out)
	}
	return strings.ToLower(strings.ReplaceAll(fp, ":", ""))
}

// TestPKIFilesAcceptedByOpenSSL: files written by pki's flows pass openssl's checks.
func TestPKIFilesAcceptedByOpenSSL(t *testing.T) {
	testtool.Need(t, "openssl")
	t.Parallel()
	for _, kt := range []KeyType{RSA2048, EC256} {
		t.Run(string(kt), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "ws")
			ca, caRes, err := CreateRootCA(dir, RootCAOptions{KeyType: kt})
			if err != nil {
				t.Fatal(err)
			}
			code := randomCode(t)
			vr, err := IssueVerificationCert(IssueOptions{Dir: dir, CA: ca, KeyType: kt}, code)
			if err != nil {
				t.Fatal(err)
			}
			subj := Subject{Country: "IN", Organization: "Acme Corp", OrganizationalUnit: "R&D", State: "Tamil Nadu",
				CommonName: "DemoThing", DNQualifier: "lot-42", SerialNumber: "SN0001"}
			dr, err := IssueDeviceCert(IssueOptions{Dir: dir, CA: ca, KeyType: kt}, subj)
			if err != nil {
				t.Fatal(err)
			}

			// openssl verify -CAfile deviceRootCA.pem deviceCert.crt (and the verification cert).
			for _, f := range []string{FileDeviceCert, FileVerifCert} {
				out := openssl(t, dir, "verify", "-CAfile", FileCACert, f)
				if strings.TrimSpace(out) != f+": OK" {
					t.Errorf("openssl verify %s: %q", f, out)
				}
			}
			// The bundle's first cert verifies with the CA as untrusted chain too.
			openssl(t, dir, "verify", "-CAfile", FileCACert, "-untrusted", FileDeviceBundle, FileDeviceCert)

			// CA:TRUE on the CA, not on the device or verification cert.
			caText := openssl(t, dir, "x509", "-in", FileCACert, "-noout", "-text")
			mustContain(t, "CA -text", caText, "CA:TRUE", "Certificate Sign", "X509v3 Subject Key Identifier")
			for _, f := range []string{FileDeviceCert, FileVerifCert} {
				txt := openssl(t, dir, "x509", "-in", f, "-noout", "-text")
				if strings.Contains(txt, "CA:TRUE") {
					t.Errorf("%s shows CA:TRUE:\n%s", f, txt)
				}
				mustContain(t, f, txt, "CA:FALSE", "TLS Web Client Authentication", "X509v3 Authority Key Identifier")
			}
			if !strings.Contains(caText, "sha256") && !strings.Contains(caText, "SHA256") {
				t.Errorf("CA not signed with SHA-256:\n%s", caText)
			}

			// Every CSR verifies.
			for _, f := range []string{FileCACSR, FileVerifCSR, FileDeviceCSR} {
				out := openssl(t, dir, "req", "-in", f, "-noout", "-verify")
				mustContain(t, "req -verify "+f, out, "verify OK")
			}
			// The CA CSR carries the v3_ca extension request, as openssl req -config does.
			mustContain(t, "CA CSR", openssl(t, dir, "req", "-in", FileCACSR, "-noout", "-text"), "Requested Extensions", "CA:TRUE")

			// Keys are readable by openssl and match the certificates.
			for _, p := range [][2]string{{FileCAKey, FileCACert}, {FileVerifKey, FileVerifCert}, {FileDeviceKey, FileDeviceCert}} {
				keyPub := openssl(t, dir, "pkey", "-in", p[0], "-pubout")
				certPub := openssl(t, dir, "x509", "-in", p[1], "-noout", "-pubkey")
				if keyPub != certPub {
					t.Errorf("%s does not match %s according to openssl", p[0], p[1])
				}
				if b := readFile(t, filepath.Join(dir, p[0])); !bytes.HasPrefix(b, []byte("-----BEGIN PRIVATE KEY-----\n")) {
					t.Errorf("%s is not PKCS#8 PEM", p[0])
				}
			}

			// Subjects as openssl prints them.
			mustContain(t, "CA subject", openssl(t, dir, "x509", "-in", FileCACert, "-noout", "-subject", "-nameopt", "RFC2253"), "O=AMZ,C=IN")
			mustContain(t, "verif subject", openssl(t, dir, "x509", "-in", FileVerifCert, "-noout", "-subject"), "CN = "+code)
			mustContain(t, "device subject", openssl(t, dir, "x509", "-in", FileDeviceCert, "-noout", "-subject", "-nameopt", "RFC2253"),
				"serialNumber=SN0001,dnQualifier=lot-42,CN=DemoThing,OU=R&D,O=Acme Corp,ST=Tamil Nadu,C=IN")

			// Cert ID == openssl fingerprint, for all three certs; the shown command prints it too.
			for f, c := range map[string]*Result{FileCACert: caRes, FileVerifCert: vr, FileDeviceCert: dr} {
				want := opensslFingerprintID(t, dir, f)
				if c.CertID() != want {
					t.Errorf("%s: CertID %s, openssl %s", f, c.CertID(), want)
				}
				if got := strings.TrimSpace(shell(t, dir, FingerprintCommand(f).Line)); got != want {
					t.Errorf("%s: FingerprintCommand printed %q, want %q", f, got, want)
				}
			}
			// The ID is of the leaf DER, not the bundle or the PEM.
			certs, err := ParseCertsPEM(readFile(t, filepath.Join(dir, FileDeviceBundle)))
			if err != nil || len(certs) != 2 || CertID(certs[0]) != dr.CertID() || CertID(certs[1]) != caRes.CertID() {
				t.Fatalf("bundle: %v %d", err, len(certs))
			}

			// The bundle is byte-identical to cat deviceCert.crt deviceRootCA.pem.
			cat := shell(t, dir, "cat "+FileDeviceCert+" "+FileCACert)
			if cat != string(readFile(t, filepath.Join(dir, FileDeviceBundle))) {
				t.Error("bundle differs from cat deviceCert.crt deviceRootCA.pem")
			}

			// Workspace and file modes.
			checkMode(t, dir, DirMode)
			for _, f := range caRes.Files {
				checkMode(t, f.Path, f.Mode)
			}
			checkMode(t, filepath.Join(dir, FileCAKey), 0o600)
			checkMode(t, filepath.Join(dir, FileDeviceKey), 0o600)
			checkMode(t, filepath.Join(dir, FileVerifKey), 0o600)
			checkMode(t, filepath.Join(dir, FileDeviceCert), 0o644)
			checkMode(t, filepath.Join(dir, FileCACert), 0o644)
			checkNoTempFiles(t, dir)
		})
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
	}
}

func checkNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// TestWalkthroughCommandsInterop runs the openssl commands pki shows (the walkthrough's,
// with the user's values, including values that need shell quoting) and loads the files
// they write with pki; then pki signs a device cert with the openssl-made CA and openssl
// verifies it.
func TestWalkthroughCommandsInterop(t *testing.T) {
	testtool.Need(t, "openssl")
	testtool.Need(t, "bash")
	t.Parallel()
	cases := []struct {
		kt      KeyType
		country string
		org     string
		caCN    string
		subj    Subject
	}{
		{RSA2048, "IN", "AMZ", "", Subject{Country: "IN", CommonName: "DemoThing"}},
		{EC256, "DE", `Müller & Söhne "#1" $HOME \ O'Neil`, "", Subject{Country: "DE", Organization: `R&D / Labs + Co's "best" $PATH`,
			OrganizationalUnit: `Zürich \ East`, State: "Baden-Württemberg", CommonName: "Thing_01:a-b", DNQualifier: "q=1 (x)", SerialNumber: "A/B+C"}},
		{EC384, "US", "Acme, Inc.", "Acme Root CA 1", Subject{CommonName: "only-cn"}},
	}
	for _, tc := range cases {
		t.Run(string(tc.kt), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			caSubj := Subject{Country: tc.country, Organization: tc.org, CommonName: tc.caCN}
			confCmd, err := ConfCommand(FileCAConf, tc.country, tc.org)
			if err != nil {
				t.Fatal(err)
			}
			code := randomCode(t)
			vs := Subject{CommonName: code}
			cmds := []Command{
				GenKeyCommand(tc.kt, FileCAKey),
				confCmd,
				CACSRCommand(FileCAKey, FileCAConf, FileCACSR, caSubj),
				SelfSignCACommand(FileCACSR, FileCAKey, FileCAConf, FileCACert, CADays),
				GenKeyCommand(tc.kt, FileVerifKey),
				CSRCommand(FileVerifKey, FileVerifCSR, vs),
				SignCommand(FileVerifCSR, FileCACert, FileCAKey, FileVerifCert, VerificationDays),
				GenKeyCommand(tc.kt, FileDeviceKey),
				CSRCommand(FileDeviceKey, FileDeviceCSR, tc.subj),
				SignCommand(FileDeviceCSR, FileCACert, FileCAKey, FileDeviceCert, DeviceDays),
				BundleCommand(FileDeviceCert, FileCACert, FileDeviceBundle),
				VerifyCommand(FileCACert, FileDeviceCert),
				VerifyCommand(FileCACert, FileVerifCert),
			}
			for _, c := range cmds {
				shell(t, dir, c.Line)
			}
			if tc.kt == RSA2048 && cmds[0].Line != "openssl genrsa -out deviceRootCA.key 2048" {
				t.Errorf("CA key command %q", cmds[0].Line)
			}
			// The conf written by the here-document is exactly RenderOpenSSLConf.
			want, _ := RenderOpenSSLConf(tc.country, tc.org)
			if got := readFile(t, filepath.Join(dir, FileCAConf)); !bytes.Equal(got, want) {
				t.Errorf("conf via heredoc differs:\n%s\nwant\n%s", got, want)
			}

			ca, err := LoadCAFiles(filepath.Join(dir, FileCACert), filepath.Join(dir, FileCAKey), time.Now())
			if err != nil {
				t.Fatalf("openssl-made CA does not load: %v", err)
			}
			if got := SubjectOf(ca.Cert); got != caSubj {
				t.Errorf("CA subject %+v, want %+v", got, caSubj)
			}
			if kt, err := KeyTypeOf(ca.Key); err != nil || kt != tc.kt {
				t.Errorf("CA key type %v %v", kt, err)
			}
			if d := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore); d != CADays*24*time.Hour {
				t.Errorf("CA validity %v", d)
			}
			for _, f := range []string{FileCACSR, FileVerifCSR, FileDeviceCSR} {
				if _, err := ParseCSRPEM(readFile(t, filepath.Join(dir, f))); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			for _, f := range []string{FileVerifKey, FileDeviceKey} {
				if _, err := LoadKeyFile(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			vc, err := LoadCertFile(filepath.Join(dir, FileVerifCert))
			if err != nil {
				t.Fatal(err)
			}
			if vc.Subject.CommonName != code || vc.CheckSignatureFrom(ca.Cert) != nil {
				t.Errorf("verification cert CN %q or signature wrong", vc.Subject.CommonName)
			}
			dc, err := LoadCertFile(filepath.Join(dir, FileDeviceCert))
			if err != nil {
				t.Fatal(err)
			}
			if got := SubjectOf(dc); got != tc.subj {
				t.Errorf("device subject from openssl -subj %q:\n got %+v\nwant %+v", tc.subj.String(), got, tc.subj)
			}
			if CertID(dc) != opensslFingerprintID(t, dir, FileDeviceCert) {
				t.Error("CertID differs from openssl fingerprint")
			}
			p := JITPParameters(dc)
			if p[ParamCommonName] != tc.subj.CommonName || p[ParamID] != CertID(dc) {
				t.Errorf("JITP parameters %v", p)
			}
			bundle, err := ParseCertsPEM(readFile(t, filepath.Join(dir, FileDeviceBundle)))
			if err != nil || len(bundle) != 2 || !bundle[0].Equal(dc) || !bundle[1].Equal(ca.Cert) {
				t.Errorf("bundle: %v", err)
			}
			// Same subject through pki: byte-identical DN encoding to openssl's.
			csr, err := ParseCSRPEM(readFile(t, filepath.Join(dir, FileDeviceCSR)))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := tc.subj.rawName()
			if err != nil || !bytes.Equal(raw, csr.RawSubject) {
				t.Errorf("pki's DN encoding differs from openssl's for %q", tc.subj.String())
			}

			// Other direction: pki signs with the openssl-made CA, openssl verifies.
			out := filepath.Join(dir, "pki")
			if _, err := IssueDeviceCert(IssueOptions{Dir: out, CA: ca, KeyType: tc.kt}, Subject{CommonName: "PkiThing"}); err != nil {
				t.Fatal(err)
			}
			openssl(t, dir, "verify", "-CAfile", FileCACert, filepath.Join("pki", FileDeviceCert))
		})
	}
}

// TestOpenSSLKeyFormats: PKCS#1, SEC1 (with EC PARAMETERS), PKCS#8 from openssl load;
// encrypted keys, small RSA and Ed25519 keys give clear errors.
func TestOpenSSLKeyFormats(t *testing.T) {
	testtool.Need(t, "openssl")
	t.Parallel()
	dir := t.TempDir()
	good := map[string][]string{
		"pkcs1.key":    {"genrsa", "-traditional", "-out", "pkcs1.key", "2048"},
		"pkcs8.key":    {"genrsa", "-out", "pkcs8.key", "2048"},
		"sec1.key":     {"ecparam", "-name", "prime256v1", "-genkey", "-out", "sec1.key"},
		"sec1-384.key": {"ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "sec1-384.key"},
		"ec8.key":      {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec8.key"},
	}
	for name, args := range good {
		openssl(t, dir, args...)
		k, err := LoadKeyFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		// Re-encoded as PKCS#8, openssl derives the same public key.
		p8, err := EncodeKeyPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".p8"), p8, 0o600); err != nil {
			t.Fatal(err)
		}
		if a, b := openssl(t, dir, "pkey", "-in", name, "-pubout"), openssl(t, dir, "pkey", "-in", name+".p8", "-pubout"); a != b {
			t.Errorf("%s: re-encoded key differs", name)
		}
	}
	bad := []struct {
		name string
		args []string
		want error
		msg  string
	}{
		{"enc8.key", []string{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes256", "-pass", "pass:secret", "-out", "enc8.key"}, ErrEncryptedKey, "encrypted"},
		{"enc1.key", []string{"genrsa", "-traditional", "-aes128", "-passout", "pass:secret", "-out", "enc1.key", "2048"}, ErrEncryptedKey, "passphrase"},
		{"encec.key", []string{"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "encec-plain.key"}, nil, ""},
		{"small.key", []string{"genrsa", "-out", "small.key", "1024"}, ErrUnsupportedKey, "at least 2048"},
		{"ed.key", []string{"genpkey", "-algorithm", "ed25519", "-out", "ed.key"}, ErrUnsupportedKey, "AWS IoT accepts RSA"},
	}
	for _, b := range bad {
		openssl(t, dir, b.args...)
		if b.want == nil {
			// legacy-encrypt a SEC1 EC key
			openssl(t, dir, "ec", "-in", "encec-plain.key", "-aes128", "-passout", "pass:x", "-out", b.name)
			b.want, b.msg = ErrEncryptedKey, "decrypt"
		}
		_, err := LoadKeyFile(filepath.Join(dir, b.name))
		if !errors.Is(err, b.want) || !strings.Contains(err.Error(), b.msg) || !strings.Contains(err.Error(), b.name) {
			t.Errorf("%s: got %v, want %v mentioning %q and the file", b.name, err, b.want, b.msg)
		}
	}
}

// TestOpenSSLNonCACert: a CA certificate self-signed without -extensions v3_ca (a common
// walkthrough mistake) is refused with ErrNotCA.
func TestOpenSSLNonCACert(t *testing.T) {
	testtool.Need(t, "openssl")
	t.Parallel()
	dir := t.TempDir()
	shell(t, dir, GenKeyCommand(EC256, "ca.key").Line)
	openssl(t, dir, "req", "-new", "-key", "ca.key", "-out", "ca.csr", "-subj", "/C=IN/O=AMZ")
	// -extfile /dev/null: no extensions at all, like x509 -req without -extensions v3_ca.
	openssl(t, dir, "x509", "-req", "-days", "30", "-in", "ca.csr", "-signkey", "ca.key", "-out", "ca.pem", "-extfile", "/dev/null")
	_, err := LoadCAFiles(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key"), time.Now())
	if !errors.Is(err, ErrNotCA) || !strings.Contains(err.Error(), "CA:TRUE") {
		t.Errorf("got %v, want ErrNotCA naming CA:TRUE", err)
	}
}
