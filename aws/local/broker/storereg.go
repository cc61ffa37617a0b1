package broker

import (
	"crypto/x509"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// storeRegistry implements registry over aws/local/store, using the store's
// helpers so the rules AWS applies (limits, attachments) live in one place.
type storeRegistry struct {
	st      *store.Store
	rec     *recorder    // nil: events are written one transaction each
	delayed *delayedJITP // nil: the template runs during the first connect
}

func newStoreRegistry(b *Broker) storeRegistry {
	return storeRegistry{st: b.opts.Store, rec: b.rec, delayed: b.delayed}
}

func (r storeRegistry) Certificate(certID string) (*certRecord, error) {
	var out *certRecord
	err := r.st.View(func(st *store.State) error {
		if c := st.LookupCertificate(certID); c != nil {
			out = &certRecord{Status: c.Status, CACertificateID: c.CAID, Mode: c.Mode}
		}
		return nil
	})
	return out, err
}

// IssuerOf finds the registered CA that signed leaf (an ACTIVE one preferred when
// several CAs share subject and key).
func (r storeRegistry) IssuerOf(leaf *x509.Certificate) (*caRecord, error) {
	var out *caRecord
	err := r.st.View(func(st *store.State) error {
		if ca := st.FindIssuingCA(leaf); ca != nil {
			out = &caRecord{ID: ca.ID, Status: ca.Status, AutoRegistration: ca.AutoRegistrationStatus, Mode: ca.Mode, Cert: ca.Cert()}
		}
		return nil
	})
	return out, err
}

func (r storeRegistry) Authorization(certID string) (authzView, error) {
	var v authzView
	err := r.st.View(func(st *store.State) error {
		c := st.LookupCertificate(certID)
		if c == nil {
			v.Status = "not registered"
			return nil
		}
		v.Status = c.Status
		for _, p := range st.PoliciesForTarget(c.ARN) {
			v.Policies = append(v.Policies, namedPolicy{Name: p.Name, Document: p.Document})
		}
		for _, name := range st.ThingsForPrincipal(c.ARN) {
			if t := st.LookupThing(name); t != nil {
				if v.Things == nil {
					v.Things = map[string]policy.Thing{}
				}
				v.Things[t.Name] = policy.Thing{Name: t.Name, TypeName: t.TypeName, Attributes: maps.Clone(t.Attributes)}
			}
		}
		return nil
	})
	return v, err
}

func (r storeRegistry) RecordEvent(ev brokerEvent) {
	kind := store.EventAuthorizationFailure
	switch ev.Type {
	case evConnectRefused:
		kind = store.EventConnectRefused
	case evConnected:
		kind = store.EventConnected
	case evDisconnected:
		kind = store.EventDisconnected
	}
	msg := ev.Message
	if ev.Topic != "" && !strings.Contains(msg, ev.Topic) {
		msg += " (topic " + ev.Topic + ")"
	}
	params := map[string]string{}
	if ev.SourceIP != "" {
		params["sourceIp"] = ev.SourceIP
	}
	if ev.Topic != "" {
		params["topic"] = ev.Topic
	}
	sev := store.Event{
		Time:    ev.Time,
		Kind:    kind,
		CertID:  ev.CertificateID,
		CAID:    ev.CACertID,
		Client:  ev.ClientID,
		Message: msg,
		Params:  params,
	}
	if r.rec == nil {
		_ = r.st.AddEvent(sev)
		return
	}
	// Connections come and go often: their events are batched and not waited for.
	// Refusals are waited for, so the reason is in the log by the time the client
	// sees its connection close. The recorder keeps them in order either way.
	r.rec.add(sev, kind != store.EventConnected && kind != store.EventDisconnected)
}

// AutoRegister registers a new certificate PENDING_ACTIVATION and, when its CA has a
// registration config, provisions it (provision): in the first connect, or with a
// provisioning delay (delayedJITP) that much later, the first connect being closed at once.
// Without a registration config it is JITR: the certificate waits for an activation.
func (r storeRegistry) AutoRegister(req autoRegRequest) (autoRegResult, error) {
	var res autoRegResult
	jitp := false
	err := r.st.View(func(st *store.State) error {
		if c := st.LookupCertificate(req.CertID); c != nil && c.Status != store.StatusPendingActivation {
			// A concurrent first connect of the same certificate (or an operator)
			// got here first: nothing left to do.
			res.RegisteredAt, res.Status, res.Skipped = c.Created, c.Status, true
			return nil
		}
		ca, _ := st.CA(req.CA.ID)
		jitp = ca != nil && !ca.RegistrationConfig.IsZero()
		return nil
	})
	switch {
	case err != nil || res.Skipped:
		return res, err
	case jitp && r.delayed == nil:
		return r.provision(req) // registers and provisions in one transaction
	}
	err = r.st.Update(func(st *store.State) error {
		cert, err := registerPending(st, req)
		if err != nil {
			return err
		}
		res.RegisteredAt, res.Status = cert.Created, cert.Status
		if !jitp && cert.Status == store.StatusPendingActivation {
			st.AddEvent(store.Event{
				Time:    req.Now,
				Kind:    store.EventJITRPublished,
				CertID:  req.CertID,
				CAID:    req.CA.ID,
				Client:  req.ClientID,
				Message: fmt.Sprintf("CA %s has no registration config (JITR): published the registered event on %s; the certificate stays PENDING_ACTIVATION until it is activated", req.CA.ID, RegisteredTopic(req.CA.ID)),
			})
		}
		return nil
	})
	if err != nil || !jitp {
		return res, err
	}
	res.JITP = true
	at, now := r.delayed.schedule(req.CertID, func() {
		later := req
		later.Now = time.Time{} // its events are dated when provisioning runs
		_, _ = r.provision(later)
	})
	if !now && !at.IsZero() {
		// Provisioning of this certificate is under way: this connect is refused
		// without running it again, as the certificate is still PENDING_ACTIVATION.
		res.Skipped = true
		r.RecordEvent(brokerEvent{Time: req.Now, Type: evConnectRefused, CertificateID: req.CertID, CACertID: req.CA.ID, ClientID: req.ClientID,
			Message: fmt.Sprintf("certificate %s is PENDING_ACTIVATION: JITP is still provisioning it (it takes %s with this latency; done in %s); connect again after that",
				req.CertID, r.delayed.d, time.Until(at).Round(time.Millisecond))})
	}
	return res, nil
}

// registerPending registers the certificate PENDING_ACTIVATION unless it already is
// registered, and returns it.
func registerPending(st *store.State, req autoRegRequest) (*store.Certificate, error) {
	if c := st.LookupCertificate(req.CertID); c != nil {
		return c, nil
	}
	c, err := st.RegisterDeviceCert(req.Leaf, req.CA.ID, store.StatusPendingActivation)
	if err != nil {
		return nil, err
	}
	st.AddEvent(store.Event{
		Time:    req.Now,
		Kind:    store.EventCertRegistered,
		CertID:  req.CertID,
		CAID:    req.CA.ID,
		Client:  req.ClientID,
		Message: fmt.Sprintf("certificate %s issued by CA %s registered PENDING_ACTIVATION on its first connect (client ID %s)", req.CertID, req.CA.ID, req.ClientID),
	})
	return c, nil
}

// recorder writes events to the store in order, many per transaction: an event-only
// transaction is small (it appends a few records), but each commit is an fsync, and one
// per connect/disconnect would still dominate the cost of a short connection.
type recorder struct {
	st   *store.Store
	mu   sync.Mutex
	ch   chan recItem
	done chan struct{}
	shut bool
}

type recItem struct {
	ev      store.Event
	written chan struct{} // closed once written; nil if nobody waits
}

func newRecorder(st *store.Store) *recorder {
	r := &recorder{st: st, ch: make(chan recItem, 1024), done: make(chan struct{})}
	go r.loop()
	return r
}

func (r *recorder) add(ev store.Event, wait bool) {
	it := recItem{ev: ev}
	if wait {
		it.written = make(chan struct{})
	}
	r.mu.Lock()
	if r.shut {
		r.mu.Unlock()
		_ = r.st.AddEvent(ev)
		return
	}
	r.ch <- it // may block when 1024 events are queued: back-pressure, never loss
	r.mu.Unlock()
	if wait {
		<-it.written
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	for it := range r.ch {
		batch := []recItem{it}
	drain:
		for len(batch) < 256 {
			select {
			case more, ok := <-r.ch:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		evs := make([]store.Event, len(batch))
		for i, b := range batch {
			evs[i] = b.ev
		}
		_ = r.st.AppendEvents(evs...)
		for _, b := range batch {
			if b.written != nil {
				close(b.written)
			}
		}
	}
}

// close writes what is queued and stops the recorder; later events are written
// directly.
func (r *recorder) close() {
	r.mu.Lock()
	if r.shut {
		r.mu.Unlock()
		return
	}
	r.shut = true
	close(r.ch)
	r.mu.Unlock()
	<-r.done
}
