package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// The JITR activator (Options.JITRActivator, `jitpwiz local --jitr-activator`): a stand-in
// for what a JITR account sets up on AWS — a topic rule selecting
// $aws/events/certificates/registered/<caCertificateId> whose Lambda activates the
// certificate — so that JITR can be done by hand with the AWS CLI and mosquitto_pub alone.
// It is off by default: as on AWS, nothing activates a JITR certificate by itself.
//
// For every registered event it does what the Lambda jitpwiz writes (steps/jitr_activate.mjs)
// does, in one store transaction: the certificate must be PENDING_ACTIVATION (or ACTIVE) and
// issued by the event's CA (signature checked); the thing named by its CN is created, the
// policy JITRDevicePolicy (scoped to the thing) created once and attached, the certificate
// attached to the thing, and then set ACTIVE. Each activation is logged as JITRActivated
// (or JITRActivationFailed, with why).

// JITRPolicyName is the policy the activator attaches (the same as jitpwiz's activate step).
const JITRPolicyName = "JITRDevicePolicy"

// Event kinds of the activator.
const (
	EventJITRActivated        = "JITRActivated"
	EventJITRActivationFailed = "JITRActivationFailed"
)

// registeredFilter matches the registered events of every CA.
const registeredFilter = "$aws/events/certificates/registered/+"

// activator runs the activations off the publisher's goroutine, one at a time.
type activator struct {
	st   *store.Store
	work chan []byte
	wg   sync.WaitGroup
	stop func()
}

func startActivator(s *Server) error {
	a := &activator{st: s.st, work: make(chan []byte, 1024)}
	cancel, err := s.broker.Subscribe(registeredFilter, func(_ string, payload []byte) {
		select {
		case a.work <- payload:
		default: // a burst beyond the queue: the certificate stays PENDING_ACTIVATION; its next connect sends the event again
		}
	})
	if err != nil {
		return fmt.Errorf("local IoT Core: --jitr-activator: %w", err)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for p := range a.work {
			a.activate(p)
		}
	}()
	a.stop = func() {
		cancel()
		close(a.work)
		a.wg.Wait()
	}
	s.activator = a
	return nil
}

// registered is the part of the registered event the activator reads.
type registered struct {
	CertificateID   string `json:"certificateId"`
	CACertificateID string `json:"caCertificateId"`
}

func (a *activator) activate(payload []byte) {
	var ev registered
	if err := json.Unmarshal(payload, &ev); err != nil || ev.CertificateID == "" {
		return
	}
	var thing string
	err := a.st.Update(func(st *store.State) error {
		var err error
		thing, err = activateCert(st, ev)
		return err
	})
	rec := store.Event{Kind: EventJITRActivated, CertID: ev.CertificateID, CAID: ev.CACertificateID, Thing: thing,
		Message: fmt.Sprintf("activated certificate %s for thing %s: thing created, policy %s attached, certificate attached and ACTIVE", short(ev.CertificateID), thing, JITRPolicyName)}
	if err != nil {
		rec.Kind, rec.Message = EventJITRActivationFailed, "not activated: "+err.Error()
		var se *store.APIError
		if errors.As(err, &se) {
			rec.Error = se.Code
		}
	}
	_ = a.st.AddEvent(rec)
}

// activateCert is the Lambda's work on the state; it returns the thing name.
func activateCert(st *store.State, ev registered) (string, error) {
	cert, err := st.Certificate(ev.CertificateID)
	if err != nil {
		return "", err
	}
	ca, err := st.CA(ev.CACertificateID)
	if err != nil {
		return "", err
	}
	leaf, issuer := cert.Cert(), ca.Cert()
	if cert.CAID != ca.ID || leaf == nil || issuer == nil || !bytes.Equal(leaf.RawIssuer, issuer.RawSubject) || leaf.CheckSignatureFrom(issuer) != nil {
		return "", fmt.Errorf("certificate %s was not issued by CA %s", short(cert.ID), short(ca.ID))
	}
	if cert.Status != store.StatusPendingActivation && cert.Status != store.StatusActive {
		return "", fmt.Errorf("certificate %s is %s", short(cert.ID), cert.Status)
	}
	thing := leaf.Subject.CommonName
	if _, err := st.CreateThing(thing, "", nil); err != nil {
		var se *store.APIError
		if !errors.As(err, &se) || se.Code != store.CodeResourceAlreadyExists {
			return thing, err // e.g. a CN that is no thing name
		}
	}
	if st.LookupPolicy(JITRPolicyName) == nil {
		if _, err := st.CreatePolicy(JITRPolicyName, jitrPolicyDocument(st.Region, st.Account), nil); err != nil {
			return thing, err
		}
	}
	if err := st.AttachPolicy(JITRPolicyName, cert.ARN); err != nil {
		return thing, err
	}
	if err := st.AttachThingPrincipal(thing, cert.ARN, store.NonExclusiveThing); err != nil {
		return thing, err
	}
	return thing, st.UpdateCertificate(cert.ID, store.StatusActive)
}

// jitrPolicyDocument is the scoped walkthrough policy: the device connects as its own thing
// and uses the topics below <thing>/.
func jitrPolicyDocument(region, account string) string {
	arn := func(kind, rest string) string {
		return "arn:" + policy.Partition(region) + ":iot:" + region + ":" + account + ":" + kind + "/" + rest
	}
	const thing = "${iot:Connection.Thing.ThingName}"
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{
			{"Effect": "Allow", "Action": []string{"iot:Connect"}, "Resource": []string{arn("client", thing)}},
			{"Effect": "Allow", "Action": []string{"iot:Publish", "iot:Receive"}, "Resource": []string{arn("topic", thing+"/*")}},
			{"Effect": "Allow", "Action": []string{"iot:Subscribe"}, "Resource": []string{arn("topicfilter", thing+"/*")}},
		},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}
