package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
)

// Step 11: the first connect, which JITP drops while it provisions.
type firstConnectStep struct{ Base }

// FirstConnectClientID is the client ID of the first connect (any ID works: the
// certificate has no thing or policy yet).
const FirstConnectClientID = "anyclientID"

func (*firstConnectStep) ID() ID        { return IDFirstConnect }
func (*firstConnectStep) Title() string { return "First connect" }
func (*firstConnectStep) Explain() string {
	return "Connect once as a brand-new device with the bundle (device cert + CA cert). AWS IoT sees an unknown certificate\n" +
		"signed by your registered CA, registers it and runs your template — and drops this first connection while it does.\n" +
		"The drop is the expected outcome: the certificate then turns ACTIVE."
}

func (st *firstConnectStep) record() record {
	s := st.s
	return record{
		perDevice: true,
		after:     []ID{IDDeviceCert, IDRegisterCA, IDServerTrust},
		inputs: map[string]string{
			"device certificate": s.Device().CertID,
			"registered CA":      s.CA.RegisteredID,
			"target":             targetID(s),
		},
	}
}

func (st *firstConnectStep) Commands() []string {
	_, key, _, bundle := deviceFiles(st.s)
	return []string{mosquittoPub(st.s, bundle, key, "foo/bar", FirstConnectClientID, "Hello")}
}

// preview says up front what will happen — the broker drops the first connection while it
// provisions the device — so the drop reads as the expected outcome, not a failure. While
// the step runs, its progress (connect, drop, each poll of the certificate status) streams
// in under the spinner.
func (st *firstConnectStep) preview(width int) string {
	sty := st.c.Styles
	lines := []string{
		sty.Section.Render("Expected outcome"),
		sty.CheckOK.Render(sty.Icons.Bullet+" the broker accepts the TLS handshake, then drops the connection") + sty.Help.Render(" — it is provisioning the device;"),
		sty.Help.Render("  this drop is what AWS IoT does on a certificate's first connection, not an error"),
		sty.CheckOK.Render(sty.Icons.Bullet+" the certificate then turns ACTIVE") + sty.Help.Render(" — the step polls its status live until it does"),
	}
	return sty.Explain.Width(width).Render(strings.Join(lines, "\n"))
}

func (st *firstConnectStep) act(ctx context.Context) (bool, error) {
	s := st.s
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	d := s.Device()
	d.Cleaned = false // this connect may register the certificate again: clean must consider it
	d.ProvisionedThing = templateThing(s, d)
	// A certificate that is ACTIVE already was provisioned earlier (a previous run, or the
	// walkthrough's mosquitto_pub by hand): the connect below is then only a check.
	already := false
	if desc, err := c.DescribeCertificate(ctx, d.CertID); err == nil && desc.Status == aws.StatusActive {
		already = true
		st.reportf("certificate %s is already ACTIVE: it was provisioned before", abbrev(d.CertID))
	}
	o := probeOptions(s, d.BundleFile, FirstConnectClientID)
	st.reportf("connecting to %s:%d as %s with %s", o.Host, o.Port, FirstConnectClientID, s.relName(d.BundleFile))
	start := time.Now()
	// The outcome is reported as soon as the connect ends, before the status polls, so
	// the progress tells the story in order: connect → dropped (expected) → ACTIVE.
	outcomeReported := false
	rep := mqttprobe.FirstConnect(ctx, o, c, mqttprobe.FirstConnectOptions{
		ThingName:       d.ProvisionedThing,
		ProvisioningLog: provisioningLog(s),
		Poll: mqttprobe.PollOptions{Timeout: provisionTimeout(s), OnStatus: func(ob mqttprobe.Observation) {
			st.reportf("certificate status after %s: %s", fmtDur(ob.Elapsed), ob.Status)
		}},
		OnOutcome: func(out mqttprobe.Outcome) {
			outcomeReported = true
			st.Report(Event{Message: outcomeWords(already, out)})
		},
	})
	if err := checkContext(ctx); err != nil {
		return false, err
	}
	fc := &FirstConnectResult{Duration: time.Since(start), Outcome: outcomeWords(already, rep.Outcome)}
	fc.Dropped = !already && rep.Outcome.Class == mqttprobe.ClassDropped
	if rep.Cert != nil {
		fc.Status = rep.Cert.Status
	}
	if !outcomeReported { // the connect never started (e.g. the files did not load)
		st.Report(Event{Message: fc.Outcome})
	}
	d.FirstConnect = fc
	if !rep.Activated {
		msg := "the device certificate was not provisioned"
		if rep.Diagnosis != nil {
			msg = rep.Diagnosis.Cause
			if rep.Diagnosis.Fix != "" {
				msg += " — " + rep.Diagnosis.Fix
			}
			switch rep.Diagnosis.Class {
			case mqttprobe.DiagCAInactive, mqttprobe.DiagAutoRegOff, mqttprobe.DiagCANotRegistered:
				// The CA's registration changed since step 8: the next run redoes it.
				st.requestRedo(IDRegisterCA, "the CA's registration changed since it was registered ("+string(rep.Diagnosis.Class)+")")
				msg += " (run again: step 8 registers or re-activates the CA)"
			}
		} else if rep.PollErr != nil {
			msg = rep.PollErr.Error()
		}
		return false, fmt.Errorf("first connect: %s", msg)
	}
	for _, ch := range rep.Changes {
		st.Report(Event{Message: ch})
	}
	return already || rep.Outcome.Class == mqttprobe.ClassConnected, nil
}

// provisioningLog returns what the in-process local IoT Core's event log records, from
// now on, about a failed provisioning of a certificate (AWS's error code and message, e.g.
// a template parameter the certificate cannot resolve), or nil without one (AWS; a
// `jitpwiz local` in another process, whose log this process does not read). The first
// connect stops polling the certificate's status as soon as the log has the failure.
func provisioningLog(s *Session) func(context.Context, string) []string {
	srv, ok := s.backend.(interface {
		EventLog(after int64) []store.Event
	})
	if !ok {
		return nil
	}
	var since int64 // an earlier attempt's failure of the same certificate is not this one's
	for _, ev := range srv.EventLog(0) {
		since = max(since, ev.Seq)
	}
	return func(_ context.Context, certID string) []string {
		var out []string
		for _, ev := range srv.EventLog(since) {
			if ev.CertID == certID && ev.Error != "" {
				out = append(out, ev.Error+": "+ev.Message)
			}
		}
		return out
	}
}

// outcomeWords says in words what the first connect's outcome means for JITP.
func outcomeWords(already bool, out mqttprobe.Outcome) string {
	switch {
	case already:
		return "the certificate was already provisioned (ACTIVE before this connect); " + out.String()
	case out.Class == mqttprobe.ClassDropped:
		return "the broker dropped the connection without CONNACK while it provisioned the device — this is the expected JITP behaviour"
	case out.Class == mqttprobe.ClassConnected:
		return "the broker accepted the connection: the certificate was already provisioned"
	}
	return out.String()
}

func (st *firstConnectStep) Result() []ResultLine {
	fc := st.s.Device().FirstConnect
	if fc == nil {
		return nil
	}
	return []ResultLine{
		checkLine("first connect", fc.Outcome, true),
		valueLine("certificate status", fc.Status),
		valueLine("time to ACTIVE", fc.Duration.Round(time.Millisecond).String()),
	}
}

func (st *firstConnectStep) Summary() string {
	fc := st.s.Device().FirstConnect
	switch {
	case fc == nil:
		return ""
	case fc.Dropped:
		return "dropped by the broker while provisioning (expected); certificate " + fc.Status
	}
	return fc.Outcome
}
