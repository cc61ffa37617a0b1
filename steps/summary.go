package steps

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
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
		c.Values = append(c.Values, roundTripLine(thing, u))
	}
	val(i18n.T("summary.thing"), thing)
	if s.Account != "" && s.Region != "" {
		val(i18n.T("summary.thing-arn"), aws.IoTARN(s.Region, s.Account, "thing/"+thing))
	}
	val(i18n.T("summary.cert-id"), d.CertID)
	val(i18n.T("summary.cert-arn"), cmp.Or(d.CertARN, certARN(s, d.CertID)))
	val(i18n.T("step07.result.policy"), strings.Join(d.Policies, ", "))
	val(i18n.T("step08.result.ca-id"), s.CA.RegisteredID)
	val(i18n.T("step08.result.ca-arn"), s.CA.RegisteredARN)
	val(i18n.T("summary.role"), s.Role.ARN)
	if s.Endpoint.Host != "" {
		val(i18n.T("summary.endpoint"), fmt.Sprintf("%s:%d%s", s.Endpoint.Host, s.Endpoint.Port, alpnWords(s)))
	}
	file := func(label, name string) {
		if name != "" {
			c.Files = append(c.Files, fileLine(label, s.Path(name)))
		}
	}
	file(i18n.T("step09.result.cert"), d.CertFile)
	file(i18n.T("step09.result.key"), d.KeyFile)
	file(i18n.T("summary.file.bundle"), d.BundleFile)
	file(i18n.T("summary.file.server-ca"), pki.FileServerRootCA)
	file(i18n.T("summary.file.ca-cert"), cmp.Or(s.CA.CertFile, pki.FileCACert))
	if !s.CA.Supplied {
		file(i18n.T("summary.file.ca-key"), cmp.Or(s.CA.KeyFile, pki.FileCAKey))
	}
	if !s.Options.jitr() {
		file(i18n.T("step07.result.config"), FileTemplate)
	}

	dir := pki.ShellQuote(s.dir)
	c.Serve = s.localServeCommand()
	cert, key, _, _ := deviceFiles(s)
	c.Commands = append(c.Commands,
		"cd "+dir,
		mosquittoRR(s, cert, key, thing+"/test", thing, "Hello from "+thing)+"   # "+i18n.T("summary.cmd.rr", i18n.Args{"Topic": thing + "/test"}),
		mosquittoPub(s, cert, key, thing+"/test", thing, "Hello again from "+thing)+"   # "+i18n.T("summary.cmd.pub"),
		"jitpwiz doctor --dir "+dir+"   # "+i18n.T("summary.cmd.doctor"),
		"jitpwiz clean --dir "+dir+"   # "+i18n.T("summary.cmd.clean"),
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
	parts = append(parts, st.Section.Render(i18n.T("summary.have"))+"\n"+strings.Join(lines, "\n"))
	lines = nil
	for _, l := range c.Files {
		lines = append(lines, b.resultLine(l, width))
	}
	parts = append(parts, st.Section.Render(i18n.T("summary.files"))+"\n"+strings.Join(lines, "\n"))
	box := st.Command.Width(width - st.Command.GetHorizontalBorderSize())
	inner := width - st.Command.GetHorizontalFrameSize()
	lines = nil
	for _, cmd := range c.Commands {
		lines = append(lines, wrapCommand(b.c.display(cmd), inner)...)
	}
	next := st.Section.Render(i18n.T("summary.next"))
	if c.Serve != "" {
		next += "\n" + st.Help.Width(width).Render(i18n.T("summary.serve-again", i18n.Args{"Serve": b.c.display(c.Serve)}))
	}
	parts = append(parts, next+"\n"+box.Render(st.CommandText.Render(strings.Join(lines, "\n"))))
	return strings.Join(parts, "\n\n")
}
