package pki

import (
	"fmt"
	"strconv"
	"strings"
)

// Command is one shell command line a user could run by hand (bash/sh/zsh syntax), with
// a one-line purpose. Commands refer to files by the names given (normally the bare
// walkthrough names, run inside the workspace directory).
type Command struct {
	Purpose string
	Line    string
}

func (c Command) String() string { return c.Line }

// ShellQuote returns s as a single shell word: unchanged when it only has safe
// characters, in double quotes when that needs no escaping, otherwise in single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !isShellSafe(r) }) < 0 {
		return s
	}
	return shellQuoteAlways(s)
}

func shellQuoteAlways(s string) string {
	if !strings.ContainsAny(s, "$`\\\"!\n") {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func isShellSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r)
}

func join(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = ShellQuote(a)
	}
	return strings.Join(q, " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// GenKeyCommand generates a private key of type t into keyFile: `openssl genrsa -out
// deviceRootCA.key 2048` for RSA (as the walkthrough), `openssl genpkey -algorithm EC
// -pkeyopt ec_paramgen_curve:P-256 -out ...` for EC (PKCS#8, like pki writes).
func GenKeyCommand(t KeyType, keyFile string) Command {
	if t == "" {
		t = DefaultKeyType
	}
	p := fmt.Sprintf("create the %s private key %s", t.Label(), keyFile)
	if t.IsEC() {
		return Command{p, join("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:"+t.Curve(), "-out", keyFile)}
	}
	return Command{p, join("openssl", "genrsa", "-out", keyFile, strconv.Itoa(t.RSABits()))}
}

// ConfCommand writes the OpenSSL config file with a here-document (the same bytes as
// RenderOpenSSLConf).
func ConfCommand(confFile, country, organization string) (Command, error) {
	conf, err := RenderOpenSSLConf(country, organization)
	if err != nil {
		return Command{}, err
	}
	return Command{"write the OpenSSL config " + confFile,
		"cat > " + ShellQuote(confFile) + " <<'EOF'\n" + string(conf) + "EOF"}, nil
}

// caSubjectInConf reports whether openssl req -config conf -batch produces subject s
// (the conf's defaults give exactly C and O).
func caSubjectInConf(s Subject) bool {
	return s.Country != "" && s.Organization != "" && s == Subject{Country: s.Country, Organization: s.Organization}
}

// CACSRCommand creates the root CA's CSR from the config file, as the walkthrough does.
// The walkthrough answers the prompts by hand; -batch takes the conf's defaults (the
// user's country and organization). When s has more than C and O, -subj sets it.
func CACSRCommand(keyFile, confFile, csrFile string, s Subject) Command {
	args := []string{"openssl", "req", "-new", "-sha256", "-key", keyFile, "-nodes", "-out", csrFile, "-config", confFile}
	if !isASCII(s.Organization) || !isASCII(s.String()) {
		args = append(args, "-utf8")
	}
	line := join(args...)
	if caSubjectInConf(s) {
		line += " -batch"
	} else {
		line += " -subj " + shellQuoteAlways(s.String())
	}
	return Command{"create the CA's certificate signing request " + csrFile, line}
}

// SelfSignCACommand self-signs the CA CSR with the v3_ca extensions of the config file.
func SelfSignCACommand(csrFile, keyFile, confFile, certFile string, days int) Command {
	return Command{fmt.Sprintf("self-sign the CA certificate %s (valid %d days, basicConstraints CA:TRUE)", certFile, days),
		join("openssl", "x509", "-req", "-days", strconv.Itoa(days), "-extfile", confFile, "-extensions", "v3_ca",
			"-in", csrFile, "-signkey", keyFile, "-out", certFile)}
}

// CSRCommand creates a CSR for keyFile with subject s (e.g. -subj "/CN=<code>" for the
// verification cert, -subj "/C=IN/CN=DemoThing" for the device cert).
func CSRCommand(keyFile, csrFile string, s Subject) Command {
	args := []string{"openssl", "req", "-new", "-sha256", "-key", keyFile, "-out", csrFile}
	if !isASCII(s.String()) {
		args = append(args, "-utf8")
	}
	return Command{"create the certificate signing request " + csrFile + " with subject " + s.String(),
		join(args...) + " -subj " + shellQuoteAlways(s.String())}
}

// SignCommand signs csrFile with the CA into certFile, as the walkthrough does
// (-CAcreateserial writes deviceRootCA.srl next to the CA certificate).
func SignCommand(csrFile, caCertFile, caKeyFile, certFile string, days int) Command {
	return Command{fmt.Sprintf("sign %s with the CA into %s (valid %d days)", csrFile, certFile, days),
		join("openssl", "x509", "-req", "-in", csrFile, "-CA", caCertFile, "-CAkey", caKeyFile, "-CAcreateserial",
			"-out", certFile, "-days", strconv.Itoa(days), "-sha256")}
}

// BundleCommand concatenates the device certificate and the CA certificate.
func BundleCommand(deviceCertFile, caCertFile, bundleFile string) Command {
	return Command{"bundle the device certificate followed by the CA certificate into " + bundleFile,
		join("cat", deviceCertFile, caCertFile) + " > " + ShellQuote(bundleFile)}
}

// FingerprintCommand prints a certificate's AWS IoT certificate ID: the SHA-256
// fingerprint of the DER, without colons, lower case.
func FingerprintCommand(certFile string) Command {
	return Command{"print the certificate ID of " + certFile + " (SHA-256 of the DER)",
		join("openssl", "x509", "-in", certFile, "-noout", "-fingerprint", "-sha256") + " | cut -d= -f2 | tr -d : | tr A-F a-f"}
}

// VerifyCommand checks that certFile chains to the CA certificate.
func VerifyCommand(caCertFile, certFile string) Command {
	return Command{"check that " + certFile + " was signed by the CA", join("openssl", "verify", "-CAfile", caCertFile, certFile)}
}

// VerifyIntermediateCommand is VerifyCommand for a CA that is not self-signed (an
// intermediate): without its root in -CAfile openssl stops at "unable to get issuer
// certificate" unless -partial_chain lets it trust the intermediate itself.
func VerifyIntermediateCommand(caCertFile, certFile string) Command {
	return Command{"check that " + certFile + " was signed by the (intermediate) CA", join("openssl", "verify", "-partial_chain", "-CAfile", caCertFile, certFile)}
}

// ShowCertCommand prints a certificate in readable form.
func ShowCertCommand(certFile string) Command {
	return Command{"show " + certFile, join("openssl", "x509", "-in", certFile, "-noout", "-text")}
}

// ShowCSRCommand prints and verifies a CSR.
func ShowCSRCommand(csrFile string) Command {
	return Command{"show and verify " + csrFile, join("openssl", "req", "-in", csrFile, "-noout", "-text", "-verify")}
}
