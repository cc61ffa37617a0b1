package mqttprobe

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
)

// StatusNotRegistered is reported while DescribeCertificate says the certificate does not exist.
const StatusNotRegistered = "NOT_REGISTERED"

// PollOptions control how the control plane is polled after the first connect.
type PollOptions struct {
	Timeout  time.Duration // 0: 30 s (AWS usually needs 1–3 s)
	Initial  time.Duration // first wait, 0: 250 ms
	Max      time.Duration // longest wait between polls, 0: 2 s
	OnStatus func(Observation)
	// Failed, when set, is asked after each status that is not ACTIVE whether the
	// provisioning of the certificate has already failed (what the provisioning service
	// recorded); when it returns something, polling stops at once with a
	// *ProvisioningFailedError instead of waiting for the timeout. It should be cheap.
	Failed func() []string
}

// ProvisioningFailedError ends WaitActive when PollOptions.Failed reports that the
// provisioning of the certificate failed: JITP will not activate it.
type ProvisioningFailedError struct {
	CertID string
	Status string   // the last status seen
	Log    []string // what Failed returned
}

func (e *ProvisioningFailedError) Error() string {
	return say("first.provisioning-failed", "Cert", short(e.CertID), "Status", e.Status, "Log", strings.Join(e.Log, "; "))
}

// Observation is one DescribeCertificate result.
type Observation struct {
	Elapsed time.Duration
	Status  string // ACTIVE, PENDING_ACTIVATION, …, or StatusNotRegistered
	Err     error  // a failure other than not-found
}

// WaitActive polls DescribeCertificate(certID) with backoff until the certificate is
// ACTIVE, ends in a state JITP will not change (INACTIVE, REVOKED), or the timeout passes.
// Each observation goes to p.OnStatus. It returns the last description seen.
func WaitActive(ctx context.Context, cloud aws.Client, certID string, p PollOptions) (*aws.CertDescription, []Observation, error) {
	if p.Timeout <= 0 {
		p.Timeout = 30 * time.Second
	}
	if p.Initial <= 0 {
		p.Initial = 250 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 2 * time.Second
	}
	start := time.Now()
	deadline := start.Add(p.Timeout)
	wait := p.Initial
	var obs []Observation
	var last *aws.CertDescription
	for {
		// Each call is bounded by the time left: the SDK's own retries of a throttled call
		// (about 17 s with the default retryer) must not carry the wait past the deadline.
		callCtx, cancel := context.WithDeadline(ctx, deadline)
		d, err := cloud.DescribeCertificate(callCtx, certID)
		cancel()
		if ctx.Err() != nil {
			return last, obs, ctx.Err()
		}
		o := Observation{Elapsed: time.Since(start)}
		switch {
		case err == nil:
			o.Status = d.Status
			last = &d
		case aws.IsKind(err, aws.KindNotFound):
			o.Status = StatusNotRegistered
		default:
			o.Err = err
		}
		obs = append(obs, o)
		if p.OnStatus != nil {
			p.OnStatus(o)
		}
		if o.Err != nil && !aws.IsKind(o.Err, aws.KindThrottled) && !aws.IsKind(o.Err, aws.KindUnavailable) && !errors.Is(o.Err, context.DeadlineExceeded) {
			return last, obs, o.Err
		}
		switch o.Status {
		case aws.StatusActive:
			return last, obs, nil
		case aws.StatusInactive, aws.StatusRevoked:
			return last, obs, errors.New(say("first.not-activating", "Cert", short(certID), "Status", o.Status))
		}
		if p.Failed != nil {
			if why := p.Failed(); len(why) > 0 {
				return last, obs, &ProvisioningFailedError{CertID: certID, Status: o.Status, Log: why}
			}
		}
		if time.Now().Add(wait).After(deadline) {
			if o.Status == "" && o.Err != nil {
				return last, obs, errors.New(say("first.poll-no-answer", "Cert", short(certID), "Timeout", p.Timeout.String(), "Err", o.Err.Error()))
			}
			return last, obs, errors.New(say("first.poll-timeout", "Cert", short(certID), "Timeout", p.Timeout.String(), "Status", o.Status))
		}
		select {
		case <-ctx.Done():
			return last, obs, ctx.Err()
		case <-time.After(wait):
		}
		wait = wait * 3 / 2
		if wait > p.Max {
			wait = p.Max
		}
	}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}

// FirstConnectOptions tune FirstConnect.
type FirstConnectOptions struct {
	Poll PollOptions
	// ThingName is the thing the template should create (the device cert's CN for
	// the walkthrough templates); used to report what changed. Optional.
	ThingName string
	// ProvisioningLog, when set, returns what the provisioning service recorded about a
	// failed provisioning of certID (CloudTrail on AWS, the local IoT Core's event log) —
	// for this connect only, not an earlier attempt. Unless Poll.Failed is set, it is also
	// asked after each status poll that is not ACTIVE: once it records the failure, the
	// polling stops at once (so it should be cheap, like the local event log).
	ProvisioningLog func(ctx context.Context, certID string) []string
	// OnOutcome, when set, is called with the connect's outcome as soon as it is known,
	// before the control plane is polled (and before any Poll.OnStatus), so progress
	// reads in the order things happen: connect, dropped, status.
	OnOutcome func(Outcome)
}

// FirstConnectReport is the whole first-connect story.
type FirstConnectReport struct {
	Outcome Outcome
	// Expected is true when the outcome is what a first JITP connect looks like: the
	// broker dropped the connection without CONNACK (or accepted it: already provisioned).
	Expected bool
	CertID   string
	// StatusBefore is the certificate's status just before connecting (StatusNotRegistered
	// for a brand-new device; "" when the control plane could not be asked).
	StatusBefore string
	Observations []Observation
	Cert         *aws.CertDescription
	Activated    bool
	PollErr      error
	Changes      []string // what the control plane shows now: thing, policies, attachments
	Diagnosis    *Diagnosis
}

// FirstConnect connects once like a brand-new device, classifies the outcome, then polls
// the control plane for the certificate (ID = SHA-256 of the leaf DER) until it is
// ACTIVE, and reports what JITP created. When something went wrong it adds a Diagnosis.
func FirstConnect(ctx context.Context, o Options, cloud aws.Client, fo FirstConnectOptions) FirstConnectReport {
	var rep FirstConnectReport
	m, err := o.Load()
	if err != nil {
		rep.Outcome = Outcome{Class: ClassConfig, Err: err, Detail: err.Error()}
		d := Diagnose(Facts{Outcome: &rep.Outcome, Options: o})
		rep.Diagnosis = &d
		return rep
	}
	rep.CertID = m.CertID()
	if cloud != nil {
		if d, err := cloud.DescribeCertificate(ctx, rep.CertID); err == nil {
			rep.StatusBefore = d.Status
		} else if aws.IsKind(err, aws.KindNotFound) {
			rep.StatusBefore = StatusNotRegistered
		}
	}
	c, out := connectWith(ctx, o, m, time.Now())
	if c != nil {
		c.Close()
	}
	rep.Outcome = out
	rep.Expected = out.Class == ClassDropped || out.Class == ClassConnected
	if fo.OnOutcome != nil {
		fo.OnOutcome(out)
	}
	facts := Facts{Outcome: &out, Options: o, Chain: m.Chain, ThingName: fo.ThingName, StatusBefore: rep.StatusBefore}
	if cloud == nil {
		if !rep.Expected {
			d := Diagnose(facts)
			rep.Diagnosis = &d
		}
		return rep
	}
	// Poll only when the broker got as far as seeing the certificate.
	switch out.Class {
	case ClassDropped, ClassConnected, ClassConnackRefused, ClassTLSRejected, ClassNoResponse:
		poll := fo.Poll
		if poll.Failed == nil && fo.ProvisioningLog != nil {
			poll.Failed = func() []string { return fo.ProvisioningLog(ctx, rep.CertID) }
		}
		cert, obs, perr := WaitActive(ctx, cloud, rep.CertID, poll)
		rep.Observations, rep.Cert, rep.PollErr = obs, cert, perr
		rep.Activated = perr == nil && cert != nil && cert.Status == aws.StatusActive
	}
	if rep.Activated {
		rep.Changes = changes(ctx, cloud, rep, fo.ThingName)
	}
	if !rep.Activated || !rep.Expected {
		if rep.Cert != nil { // the last poll is fresh; otherwise Gather asks again
			facts.Cert, facts.CertFound, facts.CertChecked = rep.Cert, true, true
		}
		Gather(ctx, cloud, &facts)
		var failed *ProvisioningFailedError
		switch {
		case errors.As(rep.PollErr, &failed):
			facts.ProvisioningErrors = failed.Log // what stopped the polling: no need to ask again
		case fo.ProvisioningLog != nil && !rep.Activated:
			facts.ProvisioningErrors = fo.ProvisioningLog(ctx, rep.CertID)
		}
		d := Diagnose(facts)
		rep.Diagnosis = &d
	}
	return rep
}

// changes lists what the control plane shows after activation (cheap lookups only).
func changes(ctx context.Context, cloud aws.Client, rep FirstConnectReport, thing string) []string {
	before := rep.StatusBefore
	if before == "" {
		before = say("first.status-unknown")
	}
	out := []string{say("first.change-cert", "Cert", short(rep.CertID), "Before", before, "CA", short(rep.Cert.CAID))}
	if pols, err := cloud.ListAttachedPolicies(ctx, rep.Cert.ARN); err == nil {
		for _, p := range pols {
			out = append(out, say("first.change-policy", "Policy", p.Name))
		}
	}
	if thing != "" {
		if t, err := cloud.DescribeThing(ctx, thing); err == nil {
			keys := slices.Sorted(maps.Keys(t.Attributes))
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = k + "=" + t.Attributes[k]
			}
			out = append(out, say("first.change-thing", "Thing", t.Name, "Attributes", strings.Join(parts, ", ")))
			if ps, err := cloud.ListThingPrincipals(ctx, thing); err == nil {
				for _, p := range ps {
					if p == rep.Cert.ARN {
						out = append(out, say("first.change-attached", "Thing", thing))
					}
				}
			}
		} else if aws.IsKind(err, aws.KindNotFound) {
			out = append(out, say("first.change-no-thing", "Thing", thing))
		}
	}
	return out
}
