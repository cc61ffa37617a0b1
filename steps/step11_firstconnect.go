package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/broker"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 11: the first connect, which JITP drops while it provisions.
type firstConnectStep struct{ Base }

// FirstConnectClientID is the client ID of the first connect (any ID works: the
// certificate has no thing or policy yet).
const FirstConnectClientID = "anyclientID"

func (*firstConnectStep) ID() ID        { return IDFirstConnect }
func (*firstConnectStep) Title() string { return i18n.T("step11.title") }
func (st *firstConnectStep) Explain() string {
	if st.s.Options.jitr() {
		return i18n.T("step11.explain-jitr")
	}
	return i18n.T("step11.explain")
}

func (st *firstConnectStep) record() record {
	s := st.s
	in := map[string]string{
		"device certificate": s.Device().CertID,
		"registered CA":      s.CA.RegisteredID,
		"target":             targetID(s),
	}
	if s.Options.alpn443() {
		in["port"] = Port443
	}
	return record{perDevice: true, after: []ID{IDDeviceCert, IDRegisterCA, IDServerTrust}, inputs: in}
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
	if st.s.Options.jitr() {
		lines := []string{
			sty.Section.Render(i18n.T("step11.expected")),
			sty.CheckOK.Render(sty.Icons.Bullet+" "+i18n.T("step11.expect.jitr-drop")) + sty.Help.Render(" — "+i18n.T("step11.expect.jitr-drop-why")),
			sty.CheckOK.Render(sty.Icons.Bullet+" "+i18n.T("step11.expect.pending")) + sty.Help.Render(" — "+i18n.T("step11.expect.pending-why")),
			sty.CheckOK.Render(sty.Icons.Bullet+" "+i18n.T("step11.expect.event", i18n.Args{"Topic": registeredTopic("<CA ID>")})) + sty.Help.Render(" — "+eventWhere(st.s)),
		}
		return sty.Explain.Width(width).Render(strings.Join(lines, "\n"))
	}
	lines := []string{
		sty.Section.Render(i18n.T("step11.expected")),
		sty.CheckOK.Render(sty.Icons.Bullet+" "+i18n.T("step11.expect.drop")) + sty.Help.Render(" — "+i18n.T("step11.expect.drop-why")),
		sty.Help.Render("  " + i18n.T("step11.expect.drop-note")),
		sty.CheckOK.Render(sty.Icons.Bullet+" "+i18n.T("step11.expect.active")) + sty.Help.Render(" — "+i18n.T("step11.expect.active-why")),
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
		st.Report(Event{Message: i18n.T("step11.already-active", i18n.Args{"ID": abbrev(d.CertID)})})
	}
	o := probeOptions(s, d.BundleFile, FirstConnectClientID)
	if s.Options.sniOnly() && !already {
		if err := st.checkSNI(ctx, c, o); err != nil {
			return false, err
		}
	}
	if s.Options.jitr() {
		return st.register(ctx, c, d, o, already)
	}
	st.Report(Event{Message: st.connectingWords(o, d)})
	start := time.Now()
	// The outcome is reported as soon as the connect ends, before the status polls, so
	// the progress tells the story in order: connect → dropped (expected) → ACTIVE.
	outcomeReported := false
	fco := mqttprobe.FirstConnectOptions{
		ThingName:       d.ProvisionedThing,
		ProvisioningLog: provisioningLog(s),
		Poll: mqttprobe.PollOptions{Timeout: provisionTimeout(s), OnStatus: func(ob mqttprobe.Observation) {
			st.Report(Event{Message: i18n.T("step11.status-after", i18n.Args{"After": fmtDur(ob.Elapsed), "Status": ob.Status})})
		}},
		OnOutcome: func(out mqttprobe.Outcome) {
			outcomeReported = true
			st.Report(Event{Message: outcomeWords(already, out)})
		},
	}
	age, fresh := roleAge(s)
	if fresh && !already && fco.ProvisioningLog == nil {
		// JITP normally activates within 1–3 s; a certificate still PENDING after this is
		// worth a reconnect while the new role may not be usable yet.
		fco.Poll.Timeout = min(fco.Poll.Timeout, freshRolePoll)
	}
	rep := mqttprobe.FirstConnect(ctx, o, c, fco)
	if err := checkContext(ctx); err != nil {
		return false, err
	}
	if fresh && !already {
		if rep, err = st.reconnectWhileRolePropagates(ctx, o, c, fco, rep, age); err != nil {
			return false, err
		}
	}
	fc := &FirstConnectResult{Duration: time.Since(start), Outcome: verdictWords(already, rep)}
	fc.Dropped = !already && rep.Outcome.Class == mqttprobe.ClassDropped
	if rep.Cert != nil {
		fc.Status = rep.Cert.Status
	}
	if !outcomeReported { // the connect never started (e.g. the files did not load)
		st.Report(Event{Message: fc.Outcome})
	}
	d.FirstConnect = fc
	if !rep.Activated {
		msg := i18n.T("step11.not-provisioned")
		if rep.Diagnosis != nil {
			msg = rep.Diagnosis.Cause
			if rep.Diagnosis.Fix != "" {
				msg += " — " + rep.Diagnosis.Fix
			}
			switch rep.Diagnosis.Class {
			case mqttprobe.DiagCAInactive, mqttprobe.DiagAutoRegOff, mqttprobe.DiagCANotRegistered:
				// The CA's registration changed since step 8: the next run redoes it.
				st.requestRedo(IDRegisterCA, i18n.T("step11.redo-ca", i18n.Args{"Class": string(rep.Diagnosis.Class)}))
				msg += i18n.T("step11.run-again-ca")
			}
		} else if rep.PollErr != nil {
			msg = rep.PollErr.Error()
		}
		return false, i18n.NewError("step11.err.first-connect", i18n.Args{"Msg": msg})
	}
	if fc.Dropped {
		st.Report(Event{Message: i18n.T("step11.jitp-ran", i18n.Args{"Status": fc.Status, "After": fmtDur(fc.Duration)})})
	}
	for _, ch := range rep.Changes {
		st.Report(Event{Message: ch})
	}
	return already || rep.Outcome.Class == mqttprobe.ClassConnected, nil
}

// IAM is eventually consistent: a role created moments ago may not be usable by AWS IoT
// yet, and JITP then leaves the certificate PENDING_ACTIVATION (IAM User Guide,
// troubleshoot_general.html, "Changes that I make are not always immediately visible"). A
// reconnect runs JITP again for a PENDING_ACTIVATION certificate, so while the role step's
// role is this new, the first connect reconnects with backoff within rolePropagationWindow
// before it diagnoses anything.
const (
	roleFreshFor          = 5 * time.Minute  // a role created this recently may still be propagating
	rolePropagationWindow = 60 * time.Second // how long the first connect keeps reconnecting for it
	freshRolePoll         = 6 * time.Second  // how long one attempt waits for ACTIVE meanwhile
)

// roleAge is how long ago step 6 created the provisioning role, and whether that is recent
// enough for IAM to be still propagating it (a reused or given role is not new).
func roleAge(s *Session) (time.Duration, bool) {
	f, ok := s.Finished[string(IDRole)]
	if !ok || !s.Role.Created || s.Options.jitr() {
		return 0, false
	}
	age := s.Now().Sub(f.At)
	return age, age >= 0 && age < roleFreshFor
}

// reconnectWhileRolePropagates connects again, with backoff and within rolePropagationWindow,
// while the certificate stays PENDING_ACTIVATION and the role is new; each wait is shown.
func (st *firstConnectStep) reconnectWhileRolePropagates(ctx context.Context, o mqttprobe.Options, c aws.Client, fco mqttprobe.FirstConnectOptions,
	rep mqttprobe.FirstConnectReport, age time.Duration) (mqttprobe.FirstConnectReport, error) {
	deadline := time.Now().Add(rolePropagationWindow)
	wait := 2 * time.Second
	for attempt := 1; !rep.Activated && rep.Cert != nil && rep.Cert.Status == aws.StatusPendingActivation && roleMayBeTheCause(rep); attempt++ {
		left := time.Until(deadline)
		if left <= 0 {
			st.Report(Event{Message: i18n.T("step11.still-pending", i18n.Args{"N": attempt - 1, "Window": rolePropagationWindow.String()})})
			break
		}
		wait = min(wait, left)
		age, _ = roleAge(st.s)
		st.Report(Event{Message: i18n.T("step11.role-wait", i18n.Args{"Role": st.s.Role.Name, "Age": fmtDur(age.Round(100 * time.Millisecond)),
			"Wait": fmtDur(wait), "Left": fmtDur(left.Round(time.Second)), "Window": fmtDur(rolePropagationWindow)})})
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(wait):
		}
		rep = mqttprobe.FirstConnect(ctx, o, c, fco)
		if err := checkContext(ctx); err != nil {
			return rep, err
		}
		if rep.Activated {
			st.Report(Event{Message: i18n.T("step11.reconnected", i18n.Args{"N": attempt})})
		}
		wait *= 2
	}
	return rep, nil
}

// roleMayBeTheCause: reconnecting helps only if the role is why the certificate is pending.
// What the provisioning service recorded (the local IoT Core's event log) or a template the
// certificate cannot satisfy names another cause, and a reconnect would fail the same way.
func roleMayBeTheCause(rep mqttprobe.FirstConnectReport) bool {
	var failed *mqttprobe.ProvisioningFailedError
	if errors.As(rep.PollErr, &failed) {
		return strings.Contains(strings.ToLower(strings.Join(failed.Log, " ")), "role")
	}
	return rep.Diagnosis == nil || len(rep.Diagnosis.Unprovided) == 0
}

// checkSNI shows what SNI_ONLY means before the real first connect: the same device without
// SNI is refused, and nothing is registered for it. An SNI_ONLY CA's devices must send the
// endpoint name as SNI (mosquitto_pub and the AWS SDKs send the -h / endpoint host).
func (st *firstConnectStep) checkSNI(ctx context.Context, c aws.Client, o mqttprobe.Options) error {
	no := o
	no.NoSNI = true
	st.Report(Event{Message: i18n.T("step11.sni.trying")})
	out := mqttprobe.Probe(ctx, no)
	if err := checkContext(ctx); err != nil {
		return err
	}
	_, derr := c.DescribeCertificate(ctx, st.s.Device().CertID)
	registered := derr == nil
	if out.OK() || registered {
		how := i18n.T("step11.sni.not-refused")
		if out.OK() {
			how = i18n.T("step11.sni.accepted")
		}
		return i18n.NewError("step11.err.sni", i18n.Args{"How": how})
	}
	st.Report(Event{Message: i18n.T("step11.sni.refused", i18n.Args{"Class": string(out.Class), "Host": o.Host})})
	return nil
}

// eventWhere says where the registered event can be seen: here, through an admin
// subscription to the in-process IoT Core; else only through a topic rule.
func eventWhere(s *Session) string {
	if _, ok := s.backend.(brokerOwner); ok {
		return i18n.T("step11.event.here")
	}
	return i18n.T("step11.event.rule")
}

// brokerOwner is the in-process local IoT Core, whose broker takes an admin subscription.
type brokerOwner interface{ Broker() *broker.Broker }

// register is JITR's first connect: subscribe to the registered event where possible,
// connect once, see the certificate registered PENDING_ACTIVATION (or already activated by
// a rule + Lambda, or by jitpwiz local --jitr-activator) and show the event.
func (st *firstConnectStep) register(ctx context.Context, c aws.Client, d *Device, o mqttprobe.Options, already bool) (bool, error) {
	s := st.s
	events := make(chan string, 4)
	topic := registeredTopic(s.CA.RegisteredID)
	if b, ok := s.backend.(brokerOwner); ok {
		if cancel, err := b.Broker().Subscribe(topic, func(_ string, payload []byte) {
			select {
			case events <- string(payload):
			default:
			}
		}); err == nil {
			defer cancel()
			st.Report(Event{Message: i18n.T("step11.subscribed", i18n.Args{"Topic": topic})})
		}
	}
	st.Report(Event{Message: st.connectingWords(o, d)})
	start := time.Now()
	out := mqttprobe.Probe(ctx, o)
	if err := checkContext(ctx); err != nil {
		return false, err
	}
	fc := &FirstConnectResult{Outcome: jitrOutcomeWords(already, out), Dropped: !already && out.Class == mqttprobe.ClassDropped}
	st.Report(Event{Message: fc.Outcome})
	d.FirstConnect = fc
	status, err := st.waitRegistered(ctx, c, d.CertID, provisionTimeout(s))
	if err != nil {
		return false, err
	}
	fc.Status = status
	if status == "" {
		f := mqttprobe.Facts{Outcome: &out, Options: o, ThingName: d.ProvisionedThing, Region: s.Region, StatusBefore: mqttprobe.StatusNotRegistered}
		mqttprobe.Gather(ctx, c, &f)
		dg := mqttprobe.Diagnose(f)
		switch dg.Class {
		case mqttprobe.DiagCAInactive, mqttprobe.DiagAutoRegOff, mqttprobe.DiagCANotRegistered:
			st.requestRedo(IDRegisterCA, i18n.T("step11.redo-ca", i18n.Args{"Class": string(dg.Class)}))
		}
		return false, i18n.NewError("step11.err.not-registered", i18n.Args{"Diagnosis": dg.String()})
	}
	st.Report(Event{Message: i18n.T("step11.status", i18n.Args{"Status": status})})
	if _, ok := s.backend.(brokerOwner); ok && !already {
		select {
		case ev := <-events:
			fc.RegisteredEvent = ev
			st.Report(Event{Message: i18n.T("step11.event", i18n.Args{"Topic": topic, "Event": ev})})
		case <-time.After(provisionTimeout(s)):
			return false, i18n.NewError("step11.err.no-event", i18n.Args{"Status": status, "Topic": topic})
		case <-ctx.Done():
			return false, ctx.Err()
		}
	} else if !already {
		st.Report(Event{Message: i18n.T("step11.event-published", i18n.Args{"Topic": topic})})
	}
	fc.Duration = time.Since(start)
	return already, nil
}

// waitRegistered polls the certificate until it is registered and returns its status ("" if
// it never was within timeout).
func (st *firstConnectStep) waitRegistered(ctx context.Context, c aws.Client, certID string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	wait := 50 * time.Millisecond
	for {
		callCtx, cancel := context.WithDeadline(ctx, deadline) // a throttled call's retries stay within the wait
		desc, err := c.DescribeCertificate(callCtx, certID)
		cancel()
		switch {
		case err == nil:
			return desc.Status, nil
		case !aws.IsKind(err, aws.KindNotFound):
			return "", err
		case time.Now().Add(wait).After(deadline):
			return "", nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

// jitrOutcomeWords says in words what the first connect's outcome means for JITR.
func jitrOutcomeWords(already bool, out mqttprobe.Outcome) string {
	switch {
	case already:
		return i18n.T("step11.jitr.already", i18n.Args{"Outcome": out.String()})
	case out.Class == mqttprobe.ClassDropped:
		return i18n.T("step11.jitr.dropped")
	}
	return out.String()
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

// outcomeWords says in words what the first connect's outcome means for JITP, as soon as the
// connect ends: a drop is what JITP does, but only the certificate's status says whether it
// ran, so the words wait for that verdict.
func outcomeWords(already bool, out mqttprobe.Outcome) string {
	switch {
	case already:
		return i18n.T("step11.outcome.already", i18n.Args{"Outcome": out.String()})
	case out.Class == mqttprobe.ClassDropped:
		return i18n.T("step11.outcome.dropped")
	case out.Class == mqttprobe.ClassConnected:
		return i18n.T("step11.outcome.connected")
	}
	return out.String()
}

// verdictWords is the first connect's outcome once the certificate's status is known.
func verdictWords(already bool, rep mqttprobe.FirstConnectReport) string {
	if !already && rep.Outcome.Class == mqttprobe.ClassDropped {
		if rep.Activated {
			return i18n.T("step11.verdict.provisioned")
		}
		return i18n.T("step11.verdict.not-provisioned")
	}
	return outcomeWords(already, rep.Outcome)
}

func (st *firstConnectStep) Result() []ResultLine {
	fc := st.s.Device().FirstConnect
	if fc == nil {
		return nil
	}
	if st.s.Options.jitr() {
		out := []ResultLine{
			checkLine(i18n.T("step11.result.first-connect"), fc.Outcome, true),
			valueLine(i18n.T("step11.result.status"), fc.Status),
		}
		if fc.RegisteredEvent != "" {
			out = append(out, ResultLine{Kind: ResultDocument, Label: i18n.T("step11.result.event"), Value: prettyJSON(fc.RegisteredEvent), OK: true})
		} else if fc.Status == aws.StatusPendingActivation {
			out = append(out, noteLine(i18n.T("step11.result.event-went", i18n.Args{"Topic": registeredTopic(st.s.CA.RegisteredID)})))
		}
		return out
	}
	return []ResultLine{
		checkLine(i18n.T("step11.result.first-connect"), fc.Outcome, true),
		valueLine(i18n.T("step11.result.status"), fc.Status),
		valueLine(i18n.T("step11.result.time"), fc.Duration.Round(time.Millisecond).String()),
	}
}

func (st *firstConnectStep) Summary() string {
	fc := st.s.Device().FirstConnect
	switch {
	case fc == nil:
		return ""
	case fc.Dropped && st.s.Options.jitr():
		return i18n.T("step11.summary.jitr", i18n.Args{"Status": fc.Status})
	case fc.Dropped:
		return i18n.T("step11.summary.jitp", i18n.Args{"Status": fc.Status})
	}
	return fc.Outcome
}

// connectingWords is the progress line of a device's connect with its bundle.
func (st *firstConnectStep) connectingWords(o mqttprobe.Options, d *Device) string {
	return i18n.T("step11.connecting", i18n.Args{"Addr": fmt.Sprintf("%s:%d%s", o.Host, o.Port, alpnWords(st.s)), "Client": FirstConnectClientID, "Bundle": st.s.relName(d.BundleFile)})
}
