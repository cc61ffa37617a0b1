package steps

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// `jitpwiz script`: the session as a commented bash script of the walkthrough's commands —
// each step's own Commands(), with the user's values and file names — that does the whole
// procedure again by hand in an empty directory: openssl, aws iot/iam (with --region and,
// for local, --endpoint-url) and mosquitto_pub. What differs per account or per run (the
// account ID, the registration code, the CA and certificate IDs, the endpoint) is read by
// the script itself into shell variables; the thing name and the endpoints can be given in
// the environment. It is safe to run again: files that exist are kept, and what the AWS CLI
// would refuse to create twice is looked up first.

// ScriptOptions choose what WriteScript writes.
type ScriptOptions struct {
	// Dir is the workspace (RunScript); "" is DefaultDir.
	Dir string
	// Out is the file RunScript writes ("" or "-": its writer).
	Out string
	// Thing is the device whose commands the script has (default: the session's current one).
	Thing string
	// Version is jitpwiz's version, for the header.
	Version string
}

// The tokens the commands are rendered with, and the shell variables they become.
var scriptVars = []struct{ token, name string }{
	{"@@ACCOUNT_ID@@", "ACCOUNT_ID"},
	{"@@REG_CODE@@", "REG_CODE"},
	{"@@CA_ID@@", "CA_ID"},
	{"@@CERT_ID@@", "CERT_ID"},
	{"@@CERT_ARN@@", "CERT_ARN"},
	{"@@THING@@", "THING"},
	{"@@MQTT_HOST@@", "MQTT_HOST"},
	{"@@ENDPOINT_URL@@", "ENDPOINT_URL"},
	{"@@SERVER_CA@@", "SERVER_CA"},
}

func scriptToken(name string) string { return "@@" + name + "@@" }

// RunScript writes the script of the workspace o.Dir as `jitpwiz script` does: to o.Out
// (made executable, written atomically) or to w. newPlan is NewPlan.
func RunScript(o ScriptOptions, w io.Writer, newPlan func(*Session) *Plan) error {
	s, err := OpenExisting(Options{Dir: cmp.Or(o.Dir, DefaultDir)})
	if err != nil {
		return err
	}
	if o.Out == "" || o.Out == "-" {
		return WriteScript(w, s, newPlan, o)
	}
	var b strings.Builder
	if err := WriteScript(&b, s, newPlan, o); err != nil {
		return err
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return fmt.Errorf("-o %s: %w", o.Out, err)
	}
	if err := pki.WriteFile(out, []byte(b.String()), 0o755, true); err != nil {
		return fmt.Errorf("-o %s: %w", o.Out, err)
	}
	fmt.Fprintln(w, i18n.T("script.wrote", i18n.Args{"File": o.Out, "Thing": cmp.Or(o.Thing, s.Options.Thing)}))
	return nil
}

// WriteScript writes the session's procedure as a bash script to w. newPlan makes the plan
// of a session (NewPlan): the script is made of its steps' commands, rendered over a copy
// of the session whose run-specific values are the script's variables.
func WriteScript(w io.Writer, s *Session, newPlan func(*Session) *Plan, o ScriptOptions) error {
	thing := cmp.Or(o.Thing, s.Options.Thing)
	d := s.DeviceFor(thing)
	if d == nil {
		if thing == "" || len(s.Devices) == 0 {
			d = s.device(thing)
		} else {
			return i18n.NewError("script.no-device", i18n.Args{"Thing": thing, "Things": strings.Join(s.Things(), ", ")})
		}
	}
	rs := scriptSession(s, d)
	plan := newPlan(rs)
	var b strings.Builder
	writeScriptHead(&b, s, d, o)
	written := map[string]bool{}
	sw := &scriptWriter{b: &b, s: s, rs: rs, written: written}
	for _, st := range plan.Steps() {
		sw.step(st)
	}
	fmt.Fprintf(&b, "\necho \"%s\"\n", i18n.T("script.done"))
	_, err := io.WriteString(w, b.String())
	return err
}

// scriptSession is the copy of the session the commands are rendered over: the device d as
// the primary thing with the walkthrough's file names, and tokens for every value the script
// reads at run time. Its directory holds none of the workspace's files, so what the commands
// name comes from the session, never from the workspace's certificates.
func scriptSession(s *Session, d *Device) *Session {
	rs := *s
	rs.dir = filepath.Join(s.dir, ".jitpwiz-script")
	rs.Options.Thing = scriptToken("THING")
	if so := d.SubjectOptions; so != nil {
		rs.Options.Country, rs.Options.Org, rs.Options.OrgUnit, rs.Options.State = so.Country, so.Org, so.OrgUnit, so.State
	}
	rs.Account = scriptToken("ACCOUNT_ID")
	rs.RegistrationCode = scriptToken("REG_CODE")
	rs.CA.RegisteredID = scriptToken("CA_ID")
	rs.Endpoint = Endpoint{Host: scriptToken("MQTT_HOST"), Port: AWSDataPort}
	if rs.Options.Target == TargetLocal || rs.Options.EndpointURL != "" {
		rs.Options.EndpointURL = scriptToken("ENDPOINT_URL")
	}
	rs.localURL = ""
	if rs.Options.Target == TargetLocal {
		rs.serverRootPath = scriptToken("SERVER_CA")
	}
	dev := *d
	dev.Thing, dev.Dir = rs.Options.Thing, ""
	if !dev.Supplied {
		dev.KeyFile, dev.CSRFile, dev.CertFile = pki.FileDeviceKey, pki.FileDeviceCSR, pki.FileDeviceCert
	}
	dev.BundleFile = pki.FileDeviceBundle
	dev.CertID, dev.CertARN, dev.ProvisionedThing = scriptToken("CERT_ID"), scriptToken("CERT_ARN"), rs.Options.Thing
	rs.PrimaryThing = dev.Thing
	rs.Devices = map[string]*Device{dev.Thing: &dev}
	rs.Finished, rs.Failures, rs.Redo = nil, nil, nil
	rs.client, rs.backend, rs.ca = nil, nil, nil
	return &rs
}

func writeScriptHead(b *strings.Builder, s *Session, d *Device, o ScriptOptions) {
	q := pki.ShellQuote
	fmt.Fprintf(b, "#!/usr/bin/env bash\n")
	comment := func(text string) {
		for _, l := range strings.Split(text, "\n") {
			b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
		}
	}
	version := ""
	if o.Version != "" {
		version = " " + o.Version
	}
	comment(i18n.T("script.head.title", i18n.Args{"Dir": s.dir, "Version": version}))
	comment(i18n.T("script.head.target", i18n.Args{"Target": s.Options.Target, "Region": cmp.Or(s.Region, s.Options.Region),
		"Mode": s.Options.Mode, "CAMode": s.Options.CAMode, "Port": s.Options.Port, "Thing": d.Thing}))
	comment("\n" + i18n.T("script.head.run"))
	if s.Options.jitr() {
		comment("\n" + i18n.T("script.head.jitr"))
	}
	if s.Options.sniOnly() {
		comment("\n" + i18n.T("script.head.sni-only"))
	}
	if s.Options.alpn443() {
		comment("\n" + i18n.T("script.head.port443"))
	}
	comment("\n" + i18n.T("script.head.env"))
	env := func(name string, text string) { comment(fmt.Sprintf("  %-14s %s", name, text)) }
	env("THING", i18n.T("script.env.thing"))
	if s.Options.Target == TargetLocal {
		env("ENDPOINT_URL", i18n.T("script.env.local-endpoint-url"))
		if s.Options.alpn443() {
			env("MQTT_PORT", i18n.T("script.env.local-mqtt-port-alpn"))
		} else {
			env("MQTT_PORT", i18n.T("script.env.local-mqtt-port"))
		}
		env("SERVER_CA", i18n.T("script.env.local-server-ca"))
	} else {
		env("MQTT_PORT", i18n.T("script.env.mqtt-port"))
		if s.Options.EndpointURL != "" {
			env("ENDPOINT_URL", i18n.T("script.env.endpoint-url"))
		}
	}
	b.WriteString("\nset -euo pipefail\n")
	fmt.Fprintf(b, "THING=\"${THING:-%s}\"\n", d.Thing)
	port := AWSDataPort
	if s.Options.alpn443() {
		port = 443
	}
	if s.Options.Target == TargetLocal {
		fmt.Fprintf(b, "ENDPOINT_URL=\"${ENDPOINT_URL:-http://%s}\"\n", local.DefaultAPIAddr)
		if s.Endpoint.Port != 0 {
			port = s.Endpoint.Port
		}
		fmt.Fprintf(b, "SERVER_CA=\"${SERVER_CA:-%s}\"\n", filepath.Join(s.dir, ".local-iot", pki.FileServerRootCA))
		b.WriteString("# " + i18n.T("script.local-credentials") + "\n" +
			"export AWS_ACCESS_KEY_ID=\"${AWS_ACCESS_KEY_ID:-local}\" AWS_SECRET_ACCESS_KEY=\"${AWS_SECRET_ACCESS_KEY:-local}\"\n")
	} else if s.Options.EndpointURL != "" {
		fmt.Fprintf(b, "ENDPOINT_URL=\"${ENDPOINT_URL:-%s}\"\n", s.Options.EndpointURL)
	}
	fmt.Fprintf(b, "MQTT_PORT=\"${MQTT_PORT:-%d}\"\n", port)
	b.WriteString("export AWS_PAGER=\"\"\n\n")
	rs := scriptSession(s, d)
	b.WriteString("# " + i18n.T("script.who-and-where") + "\n")
	fmt.Fprintf(b, "ACCOUNT_ID=$(%s)\n", bindScriptVars(awsCmd(rs, "sts", "get-caller-identity", "--query", "Account", "--output", "text")))
	fmt.Fprintf(b, "MQTT_HOST=$(%s)\n", bindScriptVars(awsCmd(rs, "iot", "describe-endpoint", "--endpoint-type", "iot:Data-ATS", "--query", "endpointAddress", "--output", "text")))
	b.WriteString("echo \"" + i18n.T("script.echo-account") + "\"\n")
	_ = q
}

// scriptWriter writes the steps' commands.
type scriptWriter struct {
	b       *strings.Builder
	s, rs   *Session
	written map[string]bool // files the script writes (heredocs, -out)
}

var (
	outFlagRE   = regexp.MustCompile(`(?:^| )-out ('[^']*'|"[^"]*"|\S+)`)
	fileRefRE   = regexp.MustCompile(`file://([^\s'"]+)`)
	mqttPortRE  = regexp.MustCompile(` -p \d+ `)
	roleNameRE  = regexp.MustCompile(`--role-name (\S+)`)
	policyArgRE = regexp.MustCompile(`--policy-name (\S+)`)
)

// step writes one step: its title and explanation as comments, then its commands, each made
// safe to run again where the CLI allows.
func (sw *scriptWriter) step(st Step) {
	b := sw.b
	label := StepLabel(st.ID())
	head := i18n.T("script.step", i18n.Args{"Label": label, "Title": st.Title()})
	fmt.Fprintf(b, "\n# ── %s ", head)
	// The rule ends at one column whatever the title's script (display width, not bytes).
	b.WriteString(strings.Repeat("─", max(3, 60-ansi.StringWidth(head)+len("Step : "))) + "\n")
	for _, l := range strings.Split(strings.TrimSpace(st.Explain()), "\n") {
		b.WriteString("# " + strings.TrimSpace(l) + "\n")
	}
	if why := st.Skip(); why != "" {
		b.WriteString("# " + i18n.T("script.not-needed", i18n.Args{"Why": why}) + "\n")
		return
	}
	for _, line := range st.Commands() {
		sw.command(st.ID(), line)
	}
	switch st.ID() {
	case IDCACert, IDRole:
	case IDRegCode:
	case IDDeviceCert:
		cert := sw.rs.Device().CertFile
		fmt.Fprintf(b, "CERT_ID=$(%s)\n", pki.FingerprintCommand(sw.rs.relName(cert)).Line)
		fmt.Fprintf(b, "CERT_ARN=%s\n", bindScriptVars(certARN(sw.rs, scriptToken("CERT_ID"))))
	case IDFirstConnect:
		sw.waitStatus()
	}
}

// command writes one command line of a step.
func (sw *scriptWriter) command(id ID, line string) {
	b := sw.b
	if strings.HasPrefix(line, "#") {
		b.WriteString(bindScriptVars(line) + "\n")
		return
	}
	sw.embedInputs(line)
	bound := bindScriptVars(line)
	if strings.HasPrefix(line, "mosquitto_pub ") || strings.HasPrefix(line, "mosquitto_rr ") {
		bound = mqttPortRE.ReplaceAllLiteralString(bound, ` -p "${MQTT_PORT}" `)
	}
	switch {
	case strings.HasPrefix(line, "aws lambda ") || (strings.HasPrefix(line, "aws iot create-topic-rule") || strings.HasPrefix(line, "zip ")):
		// The rule and the Lambda are AWS's; the script does their work itself (step 11a).
		b.WriteString("# " + bound + "\n")
	case id == IDRegCode && strings.Contains(line, "get-registration-code"):
		fmt.Fprintf(b, "REG_CODE=$(%s --query registrationCode --output text)\n", bound)
	case strings.HasPrefix(line, "openssl ") && outFlagRE.MatchString(line) && !strings.Contains(line, "|"):
		out := unquoteShell(outFlagRE.FindStringSubmatch(line)[1])
		if sw.written[out] {
			b.WriteString(bound + "\n")
		} else {
			fmt.Fprintf(b, "[ -f %s ] || %s\n", pki.ShellQuote(out), bound)
		}
		sw.written[out] = true
	case strings.HasPrefix(line, "cat > "):
		b.WriteString(bound + "\n")
		sw.written[unquoteShell(strings.Fields(line)[2])] = true
	case strings.HasPrefix(line, "aws iam create-role "):
		role := roleNameRE.FindStringSubmatch(line)[1]
		fmt.Fprintf(b, "%s >/dev/null 2>&1 || %s\n", bindScriptVars(awsCmd(sw.rs, "iam", "get-role", "--role-name", unquoteShell(role))), bound)
	case strings.HasPrefix(line, "aws iot create-policy "):
		p := policyArgRE.FindStringSubmatch(line)[1]
		fmt.Fprintf(b, "%s >/dev/null 2>&1 || %s\n", bindScriptVars(awsCmd(sw.rs, "iot", "get-policy", "--policy-name", unquoteShell(p))), bound)
	case strings.HasPrefix(line, "aws iot register-ca-certificate "):
		ca := fileRefRE.FindStringSubmatch(line)[1]
		fmt.Fprintf(b, "CA_ID=$(%s)\n", pki.FingerprintCommand(ca).Line)
		fmt.Fprintf(b, "%s >/dev/null 2>&1 || %s\n", bindScriptVars(awsCmd(sw.rs, "iot", "describe-ca-certificate", "--certificate-id", scriptToken("CA_ID"))), bound)
	case id == IDVerify && strings.HasPrefix(line, "aws iot get-policy "):
		// The policies' names can depend on the account (an inline policy is named after
		// its document): list them instead.
		if !sw.written["#policies"] {
			sw.written["#policies"] = true
			list := bindScriptVars(awsCmd(sw.rs, "iot", "list-attached-policies", "--target", scriptToken("CERT_ARN"), "--query", "policies[].policyName", "--output", "text"))
			get := bindScriptVars(awsCmd(sw.rs, "iot", "get-policy", "--policy-name", "@@P@@"))
			get = strings.ReplaceAll(get, "@@P@@", `"$p"`)
			fmt.Fprintf(b, "for p in $(%s); do %s; done\n", list, get)
		}
	case strings.HasPrefix(line, "mosquitto_pub ") && id == IDFirstConnect:
		b.WriteString(bound + " \\\n  || echo \"" + i18n.T("script.first-connect-dropped") + "\"\n")
	case strings.HasPrefix(line, "mosquitto_pub ") && strings.Contains(line, "# refused"):
		cmd, _, _ := strings.Cut(bound, "   #")
		b.WriteString("if " + cmd + "; then echo \"" + i18n.T("script.topic-allowed") + "\" >&2; exit 1; else echo \"" + i18n.T("script.topic-refused") + "\"; fi\n")
	default:
		b.WriteString(bound + "\n")
	}
}

// embedInputs writes, before a command that reads them, the workspace's files it names by
// file:// or cat that no earlier command of the script wrote (jitp_template.json, the JITR
// policy): as a here-document, with the account ID the script found.
func (sw *scriptWriter) embedInputs(line string) {
	var names []string
	for _, m := range fileRefRE.FindAllStringSubmatch(line, -1) {
		names = append(names, m[1])
	}
	if f := strings.Fields(line); len(f) == 2 && f[0] == "cat" {
		names = append(names, f[1])
	}
	for _, n := range names {
		if sw.written[n] || filepath.IsAbs(n) || strings.Contains(n, "..") {
			continue
		}
		raw, err := os.ReadFile(sw.s.Path(n))
		if err != nil || strings.Contains(string(raw), string(privateKeyMarker)) || strings.HasSuffix(n, ".pem") || strings.HasSuffix(n, ".crt") {
			continue
		}
		sw.written[n] = true
		text := string(raw)
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		// The workspace's account and CA ID become the ones the script found.
		var seds, what []string
		for _, v := range []struct{ value, name, words string }{{sw.s.Account, "ACCOUNT_ID", i18n.T("script.embed.account-id")}, {sw.s.CA.RegisteredID, "CA_ID", i18n.T("script.embed.ca-id")}} {
			if v.value != "" && strings.Contains(text, v.value) {
				text = strings.ReplaceAll(text, v.value, scriptToken(v.name))
				seds = append(seds, "-e \"s/"+scriptToken(v.name)+"/${"+v.name+"}/g\"")
				what = append(what, v.words)
			}
		}
		q := pki.ShellQuote(n)
		if len(seds) == 0 {
			fmt.Fprintf(sw.b, "cat > %s <<'EOF'\n%sEOF\n", q, text)
			continue
		}
		with := i18n.T("script.embed.with-one", i18n.Args{"File": n, "What": what[0]})
		if len(what) == 2 {
			with = i18n.T("script.embed.with-two", i18n.Args{"File": n, "First": what[0], "Second": what[1]})
		}
		fmt.Fprintf(sw.b, "# %s\n", with)
		fmt.Fprintf(sw.b, "sed %s > %s <<'EOF'\n%sEOF\n", strings.Join(seds, " "), q, text)
	}
}

// waitStatus waits after the first connect until the certificate is provisioned (JITP:
// ACTIVE) or registered (JITR: PENDING_ACTIVATION).
func (sw *scriptWriter) waitStatus() {
	want := "ACTIVE"
	if sw.s.Options.jitr() {
		want = "PENDING_ACTIVATION ACTIVE"
	}
	get := bindScriptVars(awsCmd(sw.rs, "iot", "describe-certificate", "--certificate-id", scriptToken("CERT_ID"), "--query", "certificateDescription.status", "--output", "text"))
	waitKey, notKey := i18n.Key("script.wait.provisioned"), i18n.Key("script.not.provisioned")
	if sw.s.Options.jitr() {
		waitKey, notKey = "script.wait.registered", "script.not.registered"
	}
	fmt.Fprintf(sw.b, "# %s\n", i18n.T(waitKey))
	fmt.Fprintf(sw.b, "status=\nfor _ in $(seq 30); do\n  status=$(%s 2>/dev/null || true)\n", get)
	fmt.Fprintf(sw.b, "  case \" %s \" in *\" $status \"*) break ;; esac\n  sleep 1\ndone\n", want)
	fmt.Fprintf(sw.b, "echo \"%s\"\n", i18n.T("script.echo-status"))
	fmt.Fprintf(sw.b, "case \" %s \" in *\" $status \"*) ;; *) echo \"%s\" >&2; exit 1 ;; esac\n", want, i18n.T(notKey))
}

// bindScriptVars replaces the tokens in a rendered command line by their shell variables,
// quoted for where they stand: "${V}" outside quotes, ${V} inside double quotes, and
// '"${V}"' (closing and reopening the quotes) inside single quotes.
func bindScriptVars(line string) string {
	if !strings.Contains(line, "@@") {
		return line
	}
	var out strings.Builder
	state := byte(0) // 0, '\'' or '"'
	for i := 0; i < len(line); {
		c := line[i]
		if c == '@' && strings.HasPrefix(line[i:], "@@") {
			if name, n := scriptVarAt(line[i:]); n > 0 {
				switch state {
				case '\'':
					out.WriteString(`'"${` + name + `}"'`)
				case '"':
					out.WriteString("${" + name + "}")
				default:
					out.WriteString(`"${` + name + `}"`)
				}
				i += n
				continue
			}
		}
		switch {
		case state == 0 && (c == '\'' || c == '"'):
			state = c
		case state == c:
			state = 0
		case c == '\\' && state != '\'' && i+1 < len(line):
			out.WriteByte(c)
			i++
			c = line[i]
		}
		out.WriteByte(c)
		i++
	}
	return out.String()
}

func scriptVarAt(s string) (string, int) {
	for _, v := range scriptVars {
		if strings.HasPrefix(s, v.token) {
			return v.name, len(v.token)
		}
	}
	return "", 0
}

// unquoteShell undoes pki.ShellQuote for one word.
func unquoteShell(w string) string {
	switch {
	case len(w) >= 2 && w[0] == '\'' && w[len(w)-1] == '\'':
		return strings.ReplaceAll(w[1:len(w)-1], `'\''`, "'")
	case len(w) >= 2 && w[0] == '"' && w[len(w)-1] == '"':
		return w[1 : len(w)-1]
	}
	return w
}
