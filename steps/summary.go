package steps

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The closing summary of a finished workspace, in the wizard (under "All steps done") and at
// the end of `jitpwiz run`: what was made (IDs, ARNs, files) and what to do next by hand.

// Closing is the summary: the values and files made, and the next commands in order (they
// run from the workspace directory, which the first of them enters).
type Closing struct {
	Values []ResultLine
	Files  []ResultLine
	// Serve is the `jitpwiz local` line that brings back the embedded IoT Core this process
	// ran, for the commands once it has ended ("" when there is none to bring back).
	Serve    string
	Commands []string
}

// closing builds the summary of the session's current device.
func (s *Session) closing() Closing {
	d := s.Device()
	thing := provisionedThing(s, d)
	var c Closing
	val := func(label, v string) {
		if v != "" {
			c.Values = append(c.Values, valueLine(label, v))
		}
	}
	if u := d.Use; u != nil {
		c.Values = append(c.Values, checkLine("published and received as "+thing, "round trip on "+u.Topic+" in "+fmtDur(u.RoundTrip), true))
	}
	val("thing", thing)
	if s.Account != "" && s.Region != "" {
		val("thing ARN", aws.IoTARN(s.Region, s.Account, "thing/"+thing))
	}
	val("device certificate ID", d.CertID)
	val("device certificate ARN", firstNonEmpty(d.CertARN, certARN(s, d.CertID)))
	val("policy", strings.Join(d.Policies, ", "))
	val("CA certificate ID", s.CA.RegisteredID)
	val("CA certificate ARN", s.CA.RegisteredARN)
	val("provisioning role", s.Role.ARN)
	if s.Endpoint.Host != "" {
		val("MQTT endpoint", fmt.Sprintf("%s:%d%s", s.Endpoint.Host, s.Endpoint.Port, alpnWords(s)))
	}
	file := func(label, name string) {
		if name != "" {
			c.Files = append(c.Files, fileLine(label, s.Path(name)))
		}
	}
	file("device certificate", d.CertFile)
	file("device private key (0600)", d.KeyFile)
	file("device + CA bundle (first connect)", d.BundleFile)
	file("server CA (--cafile)", pki.FileServerRootCA)
	file("CA certificate", firstNonEmpty(s.CA.CertFile, pki.FileCACert))
	if !s.CA.Supplied {
		file("CA private key (0600)", firstNonEmpty(s.CA.KeyFile, pki.FileCAKey))
	}
	if !s.Options.jitr() {
		file("registration config", FileTemplate)
	}

	dir := pki.ShellQuote(s.dir)
	c.Serve = s.localServeCommand()
	cert, key, _, _ := deviceFiles(s)
	c.Commands = append(c.Commands,
		"cd "+dir,
		mosquittoRR(s, cert, key, thing+"/test", thing, "Hello from "+thing)+"   # subscribe to "+thing+"/test and publish there, as the thing",
		mosquittoPub(s, cert, key, thing+"/test", thing, "Hello again from "+thing)+"   # publish as the thing",
		"jitpwiz doctor --dir "+dir+"   # check the setup against the known JITP failure modes",
		"jitpwiz clean --dir "+dir+"   # remove what this workspace registered (asks first)",
	)
	return c
}

// localServeCommand is the `jitpwiz local` line that serves the workspace's IoT Core on the
// ports this process used, so that the commands it showed work once it has ended ("" when
// another process serves it already, or the target is not the embedded IoT Core).
func (s *Session) localServeCommand() string {
	if s.localURL == "" || s.sharedLocalPID != 0 {
		return ""
	}
	apiPort := ""
	if u, err := url.Parse(s.localURL); err == nil {
		apiPort = u.Port()
	}
	portFlag := "--mqtt-port"
	if s.Options.alpn443() {
		portFlag = "--alpn-port" // the devices' port is the ALPN listener's
	}
	return fmt.Sprintf("jitpwiz local --dir %s --api-port %s %s %d", pki.ShellQuote(s.dir), apiPort, portFlag, s.Endpoint.Port)
}

// closing prints the summary after a run that finished (or found everything done).
func (r *runner) closing() {
	s := r.s
	c := s.closing()
	if r.cfg.JSON {
		cmds := c.Commands
		if c.Serve != "" {
			cmds = append([]string{c.Serve}, cmds...)
		}
		r.emit(RunEvent{Event: "summary", Thing: s.Options.Thing, Dir: s.dir, Result: append(append([]ResultLine(nil), c.Values...), c.Files...), Commands: cmds}, "")
		return
	}
	var b strings.Builder
	b.WriteString("\nWhat you have:\n")
	for _, l := range c.Values {
		if l.Kind == ResultCheck {
			fmt.Fprintf(&b, "  ✓ %s — %s\n", l.Label, l.Value)
			continue
		}
		fmt.Fprintf(&b, "  %-24s %s\n", l.Label, l.Value)
	}
	b.WriteString("Files:\n")
	for _, l := range c.Files {
		fmt.Fprintf(&b, "  %-36s %s\n", l.Label, l.Value)
	}
	if c.Serve != "" {
		b.WriteString("Next, by hand — first, in another shell, serve the workspace's IoT Core on the ports the commands name\n" +
			"(the one this run started stopped with it):\n  $ " + c.Serve + "\nthen:\n")
	} else {
		b.WriteString("Next, by hand:\n")
	}
	for _, cmd := range c.Commands {
		b.WriteString("  $ " + cmd + "\n")
	}
	r.emit(RunEvent{}, strings.TrimRight(b.String(), "\n"))
}

// ClosingView is the summary as the wizard shows it under its closing banner ("" for a plan
// without a workspace, or before the wizard attached it).
func (p *Plan) ClosingView(width int) string {
	if p.s == nil || len(p.all) == 0 {
		return ""
	}
	b := p.all[len(p.all)-1].base()
	if b.c == nil {
		return ""
	}
	st := b.c.Styles
	c := p.s.closing()
	var parts []string
	var lines []string
	for _, l := range c.Values {
		lines = append(lines, b.resultLine(l, width))
	}
	parts = append(parts, st.Section.Render("What you have")+"\n"+strings.Join(lines, "\n"))
	lines = nil
	for _, l := range c.Files {
		lines = append(lines, b.resultLine(l, width))
	}
	parts = append(parts, st.Section.Render("Files")+"\n"+strings.Join(lines, "\n"))
	box := st.Command.Width(width - st.Command.GetHorizontalBorderSize())
	inner := width - st.Command.GetHorizontalFrameSize()
	lines = nil
	for _, cmd := range c.Commands {
		lines = append(lines, wrapCommand(b.c.display(cmd), inner)...)
	}
	next := st.Section.Render("Next, by hand")
	if c.Serve != "" {
		next += "\n" + st.Help.Width(width).Render("Once jitpwiz has ended, serve this workspace's IoT Core again on the same ports in another shell first: "+b.c.display(c.Serve))
	}
	parts = append(parts, next+"\n"+box.Render(st.CommandText.Render(strings.Join(lines, "\n"))))
	return strings.Join(parts, "\n\n")
}

// ClosingText is the summary as plain text, for the terminal once the wizard has closed.
func (p *Plan) ClosingText() string {
	if p.s == nil {
		return ""
	}
	var b strings.Builder
	r := &runner{p: p, s: p.s, cfg: RunConfig{Out: &b}}
	r.closing()
	return strings.TrimRight(b.String(), "\n")
}
