package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 11: the first connect, which JITP drops while it provisions.

// FirstConnectClientID is the client ID of the first connect (any ID works: the
// certificate has no thing or policy yet).
const FirstConnectClientID = "anyclientID"

// How long the first connect waits for JITP to activate the certificate: AWS usually needs
// 1–3 s; the embedded IoT Core provisions before it drops the connection.
const (
	ProvisionTimeoutAWS   = 30 * time.Second
	ProvisionTimeoutLocal = 5 * time.Second
)

func (s *Session) provisionTimeout() time.Duration {
	if s.Options.Target == TargetLocal {
		return ProvisionTimeoutLocal
	}
	return ProvisionTimeoutAWS
}

// probeOptions are the mqttprobe options for the current device with certFile presented.
func (s *Session) probeOptions(certFile, clientID string) mqttprobe.Options {
	d := s.Device()
	return mqttprobe.Options{
		Host:     s.Endpoint.Host,
		Port:     s.Endpoint.Port,
		Addr:     s.Endpoint.Addr,
		CertFile: s.Path(certFile),
		KeyFile:  s.Path(d.KeyFile),
		CAFile:   s.Path(pki.FileServerRootCA),
		ClientID: clientID,
	}
}

// mosquittoPub is the walkthrough's mosquitto_pub command for this endpoint.
func (s *Session) mosquittoPub(cert, key, topic, clientID, msg string) string {
	host := firstNonEmpty(s.Endpoint.Host, "<endpoint>")
	port := s.Endpoint.Port
	if port == 0 {
		port = AWSDataPort
	}
	return joinShell([]string{"mosquitto_pub", "--cafile", pki.FileServerRootCA, "--cert", cert, "--key", key,
		"-h", host, "-p", fmt.Sprint(port), "-q", "1", "-t", topic, "-i", clientID, "--tls-version", "tlsv1.2", "-m", msg, "-d"})
}

func stepFirstConnect() *step {
	return &step{
		id:        IDFirstConnect,
		title:     "First connect",
		perDevice: true,
		explain: "Connect once as a brand-new device with the bundle (device cert + CA cert). AWS IoT sees an unknown certificate\n" +
			"signed by your registered CA, registers it and runs your template — and drops this first connection while it does.\n" +
			"The drop is the expected outcome: the certificate then turns ACTIVE.",
		after: []ID{IDDeviceCert, IDRegisterCA, IDServerTrust},
		inputs: func(s *Session) map[string]string {
			return map[string]string{
				"device certificate": s.Device().CertID,
				"registered CA":      s.CA.RegisteredID,
				"target":             s.targetID(),
			}
		},
		cmds: func(s *Session) []string {
			_, key, _, bundle := s.deviceFileNames()
			return []string{s.mosquittoPub(bundle, key, "foo/bar", FirstConnectClientID, "Hello")}
		},
		run: runFirstConnect,
		result: func(s *Session) []ResultLine {
			fc := s.Device().FirstConnect
			if fc == nil {
				return nil
			}
			return []ResultLine{
				checkLine("first connect", fc.Outcome, true),
				valueLine("certificate status", fc.Status),
				valueLine("time to ACTIVE", fc.Duration.Round(time.Millisecond).String()),
			}
		},
	}
}

// deviceFileNames are the current device's file names relative to the workspace.
func (s *Session) deviceFileNames() (cert, key, csr, bundle string) {
	d := s.Device()
	return s.relName(d.CertFile), s.relName(d.KeyFile), s.relName(d.CSRFile), s.relName(d.BundleFile)
}

func runFirstConnect(ctx context.Context, s *Session) (bool, error) {
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	d := s.Device()
	d.Cleaned = false // this connect may register the certificate again: clean must consider it
	// A certificate that is ACTIVE already was provisioned earlier (a previous run, or the
	// walkthrough's mosquitto_pub by hand): the connect below is then only a check.
	already := false
	if desc, err := c.DescribeCertificate(ctx, d.CertID); err == nil && desc.Status == aws.StatusActive {
		already = true
		s.reportf(IDFirstConnect, "certificate %s is already ACTIVE: it was provisioned before", short(d.CertID))
	}
	o := s.probeOptions(d.BundleFile, FirstConnectClientID)
	s.reportf(IDFirstConnect, "connecting to %s:%d as %s with %s", o.Host, o.Port, FirstConnectClientID, s.relName(d.BundleFile))
	start := time.Now()
	// The outcome is reported as soon as the connect ends, before the status polls, so
	// the progress tells the story in order: connect → dropped (expected) → ACTIVE.
	outcomeReported := false
	rep := mqttprobe.FirstConnect(ctx, o, c, mqttprobe.FirstConnectOptions{
		ThingName:       s.provisionedThing(d),
		ProvisioningLog: s.provisioningLog(),
		Poll: mqttprobe.PollOptions{Timeout: s.provisionTimeout(), OnStatus: func(ob mqttprobe.Observation) {
			s.reportf(IDFirstConnect, "certificate status after %s: %s", fmtDur(ob.Elapsed), ob.Status)
		}},
		OnOutcome: func(out mqttprobe.Outcome) {
			outcomeReported = true
			s.report(Event{Step: IDFirstConnect, Message: firstConnectOutcome(already, out)})
		},
	})
	if err := checkContext(ctx); err != nil {
		return false, err
	}
	fc := &FirstConnectResult{Duration: time.Since(start), Outcome: firstConnectOutcome(already, rep.Outcome)}
	fc.Dropped = !already && rep.Outcome.Class == mqttprobe.ClassDropped
	if rep.Cert != nil {
		fc.Status = rep.Cert.Status
	}
	if !outcomeReported { // the connect never started (e.g. the files did not load)
		s.report(Event{Step: IDFirstConnect, Message: fc.Outcome})
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
				s.requestRedo(lookup(IDRegisterCA), "the CA's registration changed since it was registered ("+string(rep.Diagnosis.Class)+")")
				msg += " (run again: step 8 registers or re-activates the CA)"
			}
		} else if rep.PollErr != nil {
			msg = rep.PollErr.Error()
		}
		return false, fmt.Errorf("first connect: %s", msg)
	}
	for _, ch := range rep.Changes {
		s.report(Event{Step: IDFirstConnect, Message: ch})
	}
	return already || rep.Outcome.Class == mqttprobe.ClassConnected, nil
}

// provisioningLog returns what the in-process local IoT Core's event log records, from
// now on, about a failed provisioning of a certificate (AWS's error code and message, e.g.
// a template parameter the certificate cannot resolve), or nil without one (AWS; a
// `jitpwiz local` in another process, whose log this process does not read). The first
// connect stops polling the certificate's status as soon as the log has the failure.
func (s *Session) provisioningLog() func(context.Context, string) []string {
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

// firstConnectOutcome says in words what the first connect's outcome means for JITP.
func firstConnectOutcome(already bool, out mqttprobe.Outcome) string {
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
