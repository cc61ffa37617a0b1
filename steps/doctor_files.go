package steps

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
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
		d.fail("ca-cert", i18n.T("doctor.ca-cert.label", i18n.Args{"Name": name}), err.Error(), CauseInput,
			i18n.T("doctor.ca-cert.why-input"), pki.ShowCertCommand(name).Line)
		return
	}
	d.ca, d.caID = c, cmp.Or(d.in.caID, pki.CertID(c))
	ev := i18n.T("doctor.ca-cert.evidence", i18n.Args{"Name": name, "Subject": c.Subject.String(), "ID": abbrev(d.caID)})
	if err := pki.CheckIsCA(c); err != nil {
		d.fail("ca-cert", i18n.T("doctor.ca-cert.is-ca-label"), ev+": "+strings.TrimPrefix(err.Error(), pki.ErrNotCA.Error()+": "), CauseNotCA,
			i18n.T("doctor.ca-cert.not-ca-why"), d.caReissue(d.name(d.in.caFile)))
	} else {
		d.pass("ca-cert", i18n.T("doctor.ca-cert.is-ca"), ev)
	}
	if err := pki.CheckValidity(c, d.s.Now()); err != nil {
		d.fail("ca-validity", i18n.T("doctor.ca-validity.label"), validityWords(c), CauseValidity,
			i18n.T("doctor.ca-validity.why"), d.caReissue(d.name(d.in.caFile)))
	} else {
		d.pass("ca-validity", i18n.T("doctor.ca-validity.label"), validityWords(c))
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
		d.fail("ca-key", i18n.T("doctor.ca-key.label"), err.Error(), CauseInput,
			i18n.T("doctor.ca-key.why", i18n.Args{"Dir": pki.ShellQuote(d.s.dir)}))
		return
	}
	d.pass("ca-key", i18n.T("doctor.ca-key.matches"), d.s.relName(d.s.CA.KeyFile))
}

// checkDeviceFiles: the device certificate (and the chain in its file), its key, that the
// CA signed it and that it is valid now.
func (d *doctorRun) checkDeviceFiles() {
	if d.in.devFile == "" {
		d.skip("device-cert", i18n.T("doctor.device-cert.label"), i18n.T("doctor.device-cert.not-given"))
		return
	}
	name := d.name(d.in.devFile)
	chain, err := pki.LoadCertsFile(d.in.devFile)
	if err != nil {
		d.fail("device-cert", i18n.T("doctor.device-cert.label-named", i18n.Args{"Name": name}), err.Error(), CauseInput, i18n.T("doctor.device-cert.why-input"),
			pki.ShowCertCommand(name).Line)
		return
	}
	d.chain, d.dev = chain, chain[0]
	id := pki.CertID(d.dev)
	ev := i18n.T("doctor.device-cert.evidence", i18n.Args{"Name": name, "Subject": d.dev.Subject.String(), "Issuer": d.dev.Issuer.String()})
	if len(chain) > 1 {
		ev += i18n.N("doctor.device-cert.chain", len(chain)-1)
	}
	d.pass("device-cert", i18n.T("doctor.device-cert.label"), ev)
	d.pass("device-cert-id", i18n.T("doctor.device-cert-id.label"), id)
	d.note(pki.FingerprintCommand(name).Line)
	if d.in.devKeyFile != "" {
		k, err := pki.LoadKeyFile(d.in.devKeyFile)
		switch {
		case err != nil:
			d.fail("device-key", i18n.T("doctor.device-key.label-named", i18n.Args{"Name": d.name(d.in.devKeyFile)}), err.Error(), CauseInput, i18n.T("doctor.device-key.why-input"),
				"openssl pkey -in "+pki.ShellQuote(d.name(d.in.devKeyFile))+" -noout")
		case !pki.KeyMatchesCert(k, d.dev):
			d.fail("device-key", i18n.T("doctor.device-key.label"), i18n.T("doctor.device-key.mismatch", i18n.Args{"Key": d.name(d.in.devKeyFile), "Cert": name}), CauseInput,
				i18n.T("doctor.device-key.mismatch-why"),
				"openssl x509 -in "+pki.ShellQuote(name)+" -noout -pubkey", "openssl pkey -in "+pki.ShellQuote(d.name(d.in.devKeyFile))+" -pubout")
		default:
			d.devKey = k
			d.pass("device-key", i18n.T("doctor.device-key.label"), d.name(d.in.devKeyFile))
		}
	}
	if d.ca != nil {
		if err := d.dev.CheckSignatureFrom(d.ca); err != nil || !bytes.Equal(d.dev.RawIssuer, d.ca.RawSubject) {
			names := i18n.Args{"Issuer": d.dev.Issuer.String(), "CA": d.ca.Subject.String()}
			why := i18n.T("doctor.signed-by-ca.why-other", names)
			if err == nil {
				why = i18n.T("doctor.signed-by-ca.why-name", names)
			}
			d.fail("device-signed-by-ca", i18n.T("doctor.signed-by-ca.label"), i18n.T("doctor.signed-by-ca.evidence", names), CauseOtherCA, why,
				d.deviceReissue(name)...)
		} else {
			d.pass("device-signed-by-ca", i18n.T("doctor.signed-by-ca.label"), verifyCommand(d.s, name).Line+": OK")
		}
	}
	if err := pki.CheckValidity(d.dev, d.s.Now()); err != nil {
		d.fail("device-validity", i18n.T("doctor.device-validity.label"), validityWords(d.dev), CauseValidity,
			i18n.T("doctor.device-validity.why"), d.deviceReissue(name)...)
	} else {
		d.pass("device-validity", i18n.T("doctor.device-validity.label"), validityWords(d.dev))
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
		why := i18n.T("doctor.template-file.why-give")
		if d.in.workspace {
			why = i18n.T("doctor.template-file.why-make", i18n.Args{"Dir": pki.ShellQuote(d.s.dir)})
		}
		d.fail("template-file", i18n.T("doctor.template-file.label", i18n.Args{"Name": name}), err.Error(), CauseInput, why, "ls -l "+pki.ShellQuote(name))
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
			d.fail("template-file", i18n.T("doctor.template-file.label-config", i18n.Args{"Name": name}), err.Error(), cause, escapingWhy(err), fix...)
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
		d.fail("template-parse", i18n.T("doctor.template-parse.label"), name+": "+err.Error(), cause, escapingWhy(err), check)
		return
	}
	d.fileRC = rc
	d.pass("template-file", i18n.T("doctor.template-file.parses", i18n.Args{"Name": name}),
		i18n.T("doctor.template-file.role", i18n.Args{"Role": cmp.Or(rc.RoleArn, i18n.T("doctor.none"))}))
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
	label := i18n.T("doctor.server-ca.label")
	if d.in.serverCAFile == "" {
		d.skip("server-ca", label, i18n.T("doctor.server-ca.not-given"))
		return
	}
	name := d.name(d.in.serverCAFile)
	got, err := pki.LoadCertsFile(d.in.serverCAFile)
	if err != nil {
		d.fail("server-ca", label, name+": "+err.Error(), CauseServerCA, i18n.T("doctor.server-ca.why-input"), d.serverCAFix(name)...)
		return
	}
	want, _ := pki.ParseCertsPEM(d.s.serverRoot)
	if len(want) == 0 {
		d.skip("server-ca", label, i18n.T("doctor.server-ca.unknown"))
		return
	}
	var subjects []string
	for _, c := range got {
		subjects = append(subjects, c.Subject.String())
		for _, w := range want {
			if bytes.Equal(c.Raw, w.Raw) || (d.s.Options.Target == TargetAWS && amazonRoots[c.Subject.String()]) {
				d.pass("server-ca", label, i18n.T("doctor.server-ca.holds", i18n.Args{"Name": name, "Subjects": c.Subject.String()}))
				return
			}
		}
	}
	why := i18n.T("doctor.server-ca.why", i18n.Args{"Root": want[0].Subject.String(), "Name": name, "Subjects": strings.Join(subjects, "; ")})
	if d.ca != nil && len(got) > 0 && bytes.Equal(got[0].Raw, d.ca.Raw) {
		why += i18n.T("doctor.server-ca.why-own")
	}
	d.fail("server-ca", label, i18n.T("doctor.server-ca.holds", i18n.Args{"Name": name, "Subjects": strings.Join(subjects, "; ")}), CauseServerCA, why, d.serverCAFix(name)...)
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
		d.fail("workspace-device", i18n.T("doctor.workspace-device.label", i18n.Args{"Thing": s.Options.Thing}),
			i18n.T("doctor.workspace-device.none", i18n.Args{"Thing": s.Options.Thing, "Things": strings.Join(s.Things(), ", ")}), CauseWorkspace,
			i18n.T("doctor.workspace-device.why", i18n.Args{"Dir": pki.ShellQuote(s.dir), "Thing": pki.ShellQuote(s.Options.Thing)}),
			"jitpwiz run --dir "+pki.ShellQuote(s.dir)+" --thing "+pki.ShellQuote(s.Options.Thing))
		return false
	}
	if _, err := os.Stat(d.in.devFile); err != nil {
		why := err.Error()
		if u := errors.Unwrap(err); u != nil {
			why = u.Error()
		}
		d.fail("workspace-device", i18n.T("doctor.workspace-device.cert-label"), d.name(d.in.devFile)+": "+why, CauseWorkspace,
			i18n.T("doctor.workspace-device.why-make", i18n.Args{"Dir": pki.ShellQuote(s.dir)}), "jitpwiz run --dir "+pki.ShellQuote(s.dir))
		return false
	}
	return true
}
