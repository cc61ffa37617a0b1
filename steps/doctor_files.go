package steps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The doctor's checks of the files it was given — the CA certificate, the device
// certificate and key, a template file, the server CA file — and of what the device sends
// when it connects (the endpoint name as SNI, the certificates of its chain). They need no
// target, except to compare with what it says (the broker's CA, its endpoint name).

// checkCAFile: the CA certificate is a CA (basicConstraints CA:TRUE) and valid now.
func (d *doctorRun) checkCAFile() {
	name := d.name(d.in.caFile)
	c, err := pki.LoadCertFile(d.in.caFile)
	if err != nil {
		d.fail("ca-cert", "CA certificate "+name, err.Error(), CauseInput,
			"doctor needs the CA certificate (PEM) that signed the device certificates — give it with --ca-cert", pki.ShowCertCommand(name).Line)
		return
	}
	d.ca, d.caID = c, firstNonEmpty(d.in.caID, pki.CertID(c))
	ev := name + " " + c.Subject.String() + ", certificate ID " + abbrev(d.caID)
	if err := pki.CheckIsCA(c); err != nil {
		d.fail("ca-cert", "CA certificate is a CA (basicConstraints CA:TRUE)", ev+": "+strings.TrimPrefix(err.Error(), pki.ErrNotCA.Error()+": "), CauseNotCA,
			"AWS IoT registers only CA certificates: register-ca-certificate answers CertificateValidationException (\"does not have the basicConstraints extension as true\"), so nothing this certificate signed can be provisioned. "+
				"Make the CA certificate again from the same key with CA:TRUE (device certificates it signed keep verifying: same key, same name) and register that one",
			d.caReissue(d.name(d.in.caFile)))
	} else {
		d.pass("ca-cert", "CA certificate is a CA (CA:TRUE)", ev)
	}
	if err := pki.CheckValidity(c, d.s.Now()); err != nil {
		d.fail("ca-validity", "CA certificate valid now", validityWords(c), CauseValidity,
			"AWS IoT refuses a CA certificate outside its validity period when it is registered, and devices it signed are not provisioned: make the CA certificate again from the same key with new dates",
			d.caReissue(d.name(d.in.caFile)))
	} else {
		d.pass("ca-validity", "CA certificate valid now", validityWords(c))
	}
}

// caReissue is the openssl command that makes the CA certificate again from its key, as a
// CA (CA:TRUE, keyCertSign) with the same subject, into a new file next to old.
func (d *doctorRun) caReissue(old string) string {
	out := strings.TrimSuffix(old, filepath.Ext(old)) + "-v3.pem"
	sub := "/"
	if d.ca != nil {
		sub = pki.SubjectOf(d.ca).String()
	}
	return joinShell([]string{"openssl", "req", "-x509", "-new", "-sha256", "-key", d.caKeyFile(), "-days", strconv.Itoa(pki.CADays),
		"-subj", sub, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", out})
}

// checkCAKey (a workspace): the CA certificate and the workspace's key belong together.
func (d *doctorRun) checkCAKey() {
	if _, err := signingCA(d.s); err != nil {
		d.fail("ca-key", "CA certificate and key", err.Error(), CauseInput,
			"the workspace signs device and verification certificates with this key — fix or restore the pair, or run: jitpwiz run --dir "+pki.ShellQuote(d.s.dir)+" (steps 1–3)")
		return
	}
	d.pass("ca-key", "CA key matches the certificate", d.s.relName(d.s.CA.KeyFile))
}

// checkDeviceFiles: the device certificate (and the chain in its file), its key, that the
// CA signed it and that it is valid now.
func (d *doctorRun) checkDeviceFiles() {
	if d.in.devFile == "" {
		d.skip("device-cert", "device certificate", "not given — add --device-cert (and --device-key) to check a device")
		return
	}
	name := d.name(d.in.devFile)
	chain, err := pki.LoadCertsFile(d.in.devFile)
	if err != nil {
		d.fail("device-cert", "device certificate "+name, err.Error(), CauseInput, "give the device certificate (PEM), alone or followed by its CA as the device sends it",
			pki.ShowCertCommand(name).Line)
		return
	}
	d.chain, d.dev = chain, chain[0]
	id := pki.CertID(d.dev)
	ev := name + " " + d.dev.Subject.String() + ", issuer " + d.dev.Issuer.String()
	if len(chain) > 1 {
		ev += fmt.Sprintf(", followed by %d more certificate(s): the chain the device sends", len(chain)-1)
	}
	d.pass("device-cert", "device certificate", ev)
	d.pass("device-cert-id", "certificate ID = SHA-256 of the leaf DER", id)
	d.note(pki.FingerprintCommand(name).Line)
	if d.in.devKeyFile != "" {
		k, err := pki.LoadKeyFile(d.in.devKeyFile)
		switch {
		case err != nil:
			d.fail("device-key", "device key "+d.name(d.in.devKeyFile), err.Error(), CauseInput, "give the device's private key (PEM)",
				"openssl pkey -in "+pki.ShellQuote(d.name(d.in.devKeyFile))+" -noout")
		case !pki.KeyMatchesCert(k, d.dev):
			d.fail("device-key", "device key belongs to the device certificate", d.name(d.in.devKeyFile)+" is not the key "+name+" was issued for", CauseInput,
				"TLS fails with a key that does not match the certificate — give the key the certificate was made from (compare the two commands' output)",
				"openssl x509 -in "+pki.ShellQuote(name)+" -noout -pubkey", "openssl pkey -in "+pki.ShellQuote(d.name(d.in.devKeyFile))+" -pubout")
		default:
			d.devKey = k
			d.pass("device-key", "device key belongs to the device certificate", d.name(d.in.devKeyFile))
		}
	}
	if d.ca != nil {
		if err := d.dev.CheckSignatureFrom(d.ca); err != nil || !bytes.Equal(d.dev.RawIssuer, d.ca.RawSubject) {
			why := "AWS IoT provisions a certificate only when its issuer is a CA registered (ACTIVE, auto-registration on) in the account and region: this one was issued by " + d.dev.Issuer.String() +
				", not by " + d.ca.Subject.String() + " — register the CA that issued it, or issue the device certificate with this CA (with the CA's private key)"
			if err == nil {
				why = "the CA's key signed it, but its issuer name " + d.dev.Issuer.String() + " is not the CA's " + d.ca.Subject.String() + " (the CA certificate was made again with another name): issue the device certificate again with this CA certificate"
			}
			d.fail("device-signed-by-ca", "device certificate signed by the CA", "issuer "+d.dev.Issuer.String()+"; the CA is "+d.ca.Subject.String(), CauseOtherCA, why,
				d.deviceReissue(name)...)
		} else {
			d.pass("device-signed-by-ca", "device certificate signed by the CA", verifyCommand(d.s, name).Line+": OK")
		}
	}
	if err := pki.CheckValidity(d.dev, d.s.Now()); err != nil {
		d.fail("device-validity", "device certificate valid now", validityWords(d.dev), CauseValidity,
			"AWS IoT refuses a device certificate outside its validity period during the TLS handshake: nothing is registered or provisioned — issue it again (the system clock of the device must be right too)",
			d.deviceReissue(name)...)
	} else {
		d.pass("device-validity", "device certificate valid now", validityWords(d.dev))
	}
}

// deviceReissue are the openssl commands that issue the device certificate again with the
// CA, with the same key and subject, into a new file next to old.
func (d *doctorRun) deviceReissue(old string) []string {
	key := d.name(d.in.devKeyFile)
	if d.in.devKeyFile == "" {
		key = strings.TrimSuffix(old, filepath.Ext(old)) + ".key"
	}
	base := strings.TrimSuffix(old, filepath.Ext(old))
	sub := pki.Subject{}
	if d.dev != nil {
		sub = pki.SubjectOf(d.dev)
	}
	return cmdLines(
		pki.CSRCommand(key, base+"-new.csr", sub),
		pki.SignCommand(base+"-new.csr", d.name(d.in.caFile), d.caKeyFile(), base+"-new.crt", pki.DeviceDays),
	)
}

// checkTemplateFile: the template meant to run (--template, or the workspace's
// jitp_template.json) parses — the registration config and the template body in it.
func (d *doctorRun) checkTemplateFile() {
	if d.in.templateFile == "" {
		return
	}
	name := d.name(d.in.templateFile)
	b, err := os.ReadFile(d.in.templateFile)
	if err != nil {
		why := "give the registration config (jitp_template.json) or the template"
		if d.in.workspace {
			why = "make it with: jitpwiz run --dir " + pki.ShellQuote(d.s.dir) + " (step 7)"
		}
		d.fail("template-file", "template "+name, err.Error(), CauseInput, why, "ls -l "+pki.ShellQuote(name))
		return
	}
	var probe map[string]json.RawMessage
	jsonErr := json.Unmarshal(b, &probe)
	rc := &template.RegistrationConfig{TemplateBody: string(b)}
	if _, bare := probe["Resources"]; jsonErr != nil || !bare {
		rc, err = template.ParseRegistrationConfig(b)
		if err != nil {
			cause := CauseTemplateFailed
			if isEscaping(err) {
				cause = CauseTemplateEscaping
			}
			fix := escapeFix(name, b)
			if fix == nil {
				fix = []string{jsonCheck(name, false)}
			}
			d.fail("template-file", "template "+name+" is a valid registration config (escaping)", err.Error(), cause, escapingWhy(err), fix...)
			return
		}
	}
	if _, err := template.Parse(rc.TemplateBody); err != nil {
		cause := CauseTemplateFailed
		if isEscaping(err) {
			cause = CauseTemplateEscaping
		}
		check := jsonCheck(name, true)
		if _, bare := probe["Resources"]; bare {
			check = jsonCheck(name, false)
		}
		d.fail("template-parse", "template body parses (escaping)", name+": "+err.Error(), cause, escapingWhy(err), check)
		return
	}
	d.fileRC = rc
	d.pass("template-file", "template "+name+" parses", "registration config with role "+firstNonEmpty(rc.RoleArn, "(none)"))
}

// escapeFix rewrites a registration config whose templateBody (or a PolicyDocument in it) is
// a JSON object instead of a string — the usual escaping mistake — into a correct one.
func escapeFix(name string, b []byte) []string {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil || len(raw["templateBody"]) == 0 || raw["templateBody"][0] != '{' {
		return nil
	}
	fixed := strings.TrimSuffix(name, filepath.Ext(name)) + "-escaped.json"
	script := `import json,sys; c=json.load(open(sys.argv[1])); t=c["templateBody"]
for r in t.get("Resources",{}).values():
    p=r.get("Properties",{})
    if isinstance(p.get("PolicyDocument"),dict): p["PolicyDocument"]=json.dumps(p["PolicyDocument"])
c["templateBody"]=json.dumps(t); json.dump(c,open(sys.argv[2],"w"),indent=1)`
	return []string{"python3 -c " + pki.ShellQuote(script) + " " + pki.ShellQuote(name) + " " + pki.ShellQuote(fixed)}
}

// jsonCheck is a command that shows where a JSON file (or, inner, the template body in a
// registration config) stops being JSON.
func jsonCheck(name string, inner bool) string {
	if !inner {
		return "python3 -m json.tool " + pki.ShellQuote(name) + " >/dev/null"
	}
	return "python3 -c " + pki.ShellQuote(`import json,sys; json.loads(json.load(open(sys.argv[1]))["templateBody"])`) + " " + pki.ShellQuote(name)
}

// amazonRoots are the subjects of the roots the AWS IoT ATS endpoints chain to (Amazon
// Root CA 1–4, and Starfield's, which cross-signs them).
var amazonRoots = map[string]bool{
	"CN=Amazon Root CA 1,O=Amazon,C=US": true, "CN=Amazon Root CA 2,O=Amazon,C=US": true,
	"CN=Amazon Root CA 3,O=Amazon,C=US": true, "CN=Amazon Root CA 4,O=Amazon,C=US": true,
	"CN=Starfield Services Root Certificate Authority - G2,O=Starfield Technologies\\, Inc.,L=Scottsdale,ST=Arizona,C=US": true,
}

// checkServerCA: the CA file the device verifies the broker with holds the CA that signs
// the broker's certificate (Amazon Root CA 1 on AWS; the local IoT Core's own root).
func (d *doctorRun) checkServerCA() {
	const label = "server CA file verifies the broker"
	if d.in.serverCAFile == "" {
		d.skip("server-ca", label, "not given — add --server-ca FILE (the --cafile of mosquitto_pub) to check it")
		return
	}
	name := d.name(d.in.serverCAFile)
	got, err := pki.LoadCertsFile(d.in.serverCAFile)
	if err != nil {
		d.fail("server-ca", label, name+": "+err.Error(), CauseServerCA, "the device needs the broker's root CA as a PEM file to verify the endpoint", d.serverCAFix(name)...)
		return
	}
	want, _ := pki.ParseCertsPEM(d.s.serverRoot)
	if len(want) == 0 {
		d.skip("server-ca", label, "the broker's root CA is not known (the target was not reached)")
		return
	}
	var subjects []string
	for _, c := range got {
		subjects = append(subjects, c.Subject.String())
		for _, w := range want {
			if bytes.Equal(c.Raw, w.Raw) || (d.s.Options.Target == TargetAWS && amazonRoots[c.Subject.String()]) {
				d.pass("server-ca", label, name+" holds "+c.Subject.String())
				return
			}
		}
	}
	why := "the broker's certificate chains to " + want[0].Subject.String() + ", which " + name + " does not hold (it has " + strings.Join(subjects, "; ") +
		"): the device's TLS client rejects the broker before AWS IoT ever sees the device certificate"
	if d.ca != nil && len(got) > 0 && bytes.Equal(got[0].Raw, d.ca.Raw) {
		why += " — it is your own CA, which signs devices, not the broker"
	}
	d.fail("server-ca", label, name+" holds "+strings.Join(subjects, "; "), CauseServerCA, why, d.serverCAFix(name)...)
}

// serverCAFix writes the broker's root CA into the file the device uses.
func (d *doctorRun) serverCAFix(name string) []string {
	if d.s.Options.Target == TargetAWS {
		return []string{"curl -o " + pki.ShellQuote(name) + " https://www.amazontrust.com/repository/AmazonRootCA1.pem"}
	}
	if d.s.serverRootPath != "" {
		return []string{joinShell([]string{"cp", d.s.serverRootPath, name})}
	}
	return nil
}

// describeWorkspaceDevice (a workspace): the device the doctor checks is one the
// workspace has, and its certificate file is there.
func (d *doctorRun) checkWorkspaceDevice() bool {
	s := d.s
	if s.DeviceFor(s.Options.Thing) == nil && len(s.Devices) > 0 && s.Options.DeviceCertFile == "" {
		d.fail("workspace-device", "device "+s.Options.Thing, fmt.Sprintf("this workspace has no device %s (it has %s)", s.Options.Thing, strings.Join(s.Things(), ", ")), CauseWorkspace,
			"check --thing, or make it with: jitpwiz run --dir "+pki.ShellQuote(s.dir)+" --thing "+pki.ShellQuote(s.Options.Thing),
			"jitpwiz run --dir "+pki.ShellQuote(s.dir)+" --thing "+pki.ShellQuote(s.Options.Thing))
		return false
	}
	if _, err := os.Stat(d.in.devFile); err != nil {
		why := err.Error()
		if u := errors.Unwrap(err); u != nil {
			why = u.Error()
		}
		d.fail("workspace-device", "device certificate", d.name(d.in.devFile)+": "+why, CauseWorkspace,
			"make it with: jitpwiz run --dir "+pki.ShellQuote(s.dir)+" (step 9)", "jitpwiz run --dir "+pki.ShellQuote(s.dir))
		return false
	}
	return true
}
