package broker

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// refusal is why a connection or a packet was refused. Its text is recorded in the
// event log; the client only sees the connection close.
type refusal struct {
	reason string
	auth   bool // an authorization failure (lifecycle reason AUTH_ERROR), not a client error
}

func (r *refusal) Error() string { return r.reason }

// Unwrap makes mochi treat a refusal from OnPacketRead as fatal: only
// packets.ErrRejectPacket ends the read loop (other hook errors are ignored).
func (r *refusal) Unwrap() error { return packets.ErrRejectPacket }

func refuse(format string, args ...any) error {
	return &refusal{reason: fmt.Sprintf(format, args...)}
}

// errProvisioned ends the first connect after JITP/JITR, as AWS does.
var errProvisioned = errors.New("certificate registered on first connect; connection closed (reconnect to use it)")

// authorizer takes the broker's decisions.
type authorizer struct {
	b   *Broker
	reg registry

	// provisioning serialises auto-registration per certificate, so two
	// simultaneous first connects with one certificate run the template once.
	provMu   sync.Mutex
	provBusy map[string]*certLock

	docMu sync.Mutex
	docs  map[string]*policy.Document // parsed policy documents by text
}

func newAuthorizer(b *Broker) *authorizer {
	return &authorizer{b: b, reg: newStoreRegistry(b), provBusy: map[string]*certLock{}, docs: map[string]*policy.Document{}}
}

func certIDOf(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func remoteIP(cl *mqtt.Client) string {
	host, _, err := net.SplitHostPort(cl.Net.Remote)
	if err != nil {
		return cl.Net.Remote
	}
	return host
}

// connect decides a CONNECT. nil lets mochi send CONNACK 0.
func (a *authorizer) connect(cl *mqtt.Client, pk packets.Packet) error {
	start := a.b.opts.Now()
	cs, err := tlsState(cl)
	if err != nil || len(cs.PeerCertificates) == 0 {
		return a.refused(cl, "", "", "no client certificate")
	}
	leaf := cs.PeerCertificates[0]
	certID := certIDOf(leaf)
	clientID := cl.ID
	if err := checkClientID(pk.Connect.ClientIdentifier); err != nil {
		return a.refused(cl, certID, clientID, err.Error())
	}
	if pk.ProtocolVersion != 4 && pk.ProtocolVersion != 5 {
		return a.refused(cl, certID, clientID, fmt.Sprintf("MQTT protocol level %d is not supported; AWS IoT speaks MQTT 3.1.1 (level 4) and MQTT 5", pk.ProtocolVersion))
	}
	// SNI first: without the endpoint's name AWS refuses the connection whatever
	// the certificate (nothing is registered or provisioned).
	if why := a.sniProblem(cs.ServerName, leaf, certID); why != "" {
		return a.refused(cl, certID, clientID, why)
	}

	cert, err := a.reg.Certificate(certID)
	if err != nil {
		return a.failed(cl, certID, clientID, err)
	}
	if cert == nil {
		return a.firstConnect(cl, cs.PeerCertificates, certID, start, "is not registered")
	}
	now := a.b.opts.Now()
	switch cert.Status {
	case store.StatusActive:
	case store.StatusPendingActivation:
		// Provisioning failed before (or JITR is waiting for an activation):
		// AWS tries again on every connect with the certificate.
		return a.firstConnect(cl, cs.PeerCertificates, certID, start, "is PENDING_ACTIVATION")
	default:
		return a.refused(cl, certID, clientID, fmt.Sprintf("certificate %s is %s; only ACTIVE certificates may connect", certID, cert.Status))
	}
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return a.refused(cl, certID, clientID, fmt.Sprintf("certificate %s is outside its validity period (%s to %s)", certID, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339)))
	}
	d, err := a.evaluate(cl, certID, leaf, "iot:Connect", policy.ClientARN(a.b.opts.Region, a.b.opts.Account, clientID))
	if err != nil {
		return a.failed(cl, certID, clientID, err)
	}
	if !d.Allowed {
		return a.refused(cl, certID, clientID, "iot:Connect denied: "+d.Explain)
	}
	// A last-will message is published on the client's behalf later, so its topic
	// must pass the same checks as a PUBLISH, now.
	if pk.Connect.WillFlag {
		will := pk.Connect.WillTopic
		if err := checkTopic(will, false); err != nil {
			return a.refused(cl, certID, clientID, "last-will "+err.Error())
		}
		if !reservedTopicAllowed(will, true) {
			return a.refused(cl, certID, clientID, fmt.Sprintf("last-will topic %q is reserved by AWS IoT", will))
		}
		if len(pk.Connect.WillPayload) > MaxPayloadBytes {
			return a.refused(cl, certID, clientID, fmt.Sprintf("last-will payload of %d bytes; AWS IoT allows at most %d", len(pk.Connect.WillPayload), MaxPayloadBytes))
		}
		d, err := a.evaluate(cl, certID, leaf, "iot:Publish", policy.TopicARN(a.b.opts.Region, a.b.opts.Account, will))
		if err != nil {
			return a.failed(cl, certID, clientID, err)
		}
		if !d.Allowed {
			return a.refused(cl, certID, clientID, "iot:Publish denied for the last-will topic: "+d.Explain)
		}
	}
	cl.State.Keepalive = clampKeepalive(cl.State.Keepalive)
	a.reg.RecordEvent(brokerEvent{Time: a.b.opts.Now(), Type: evConnected, CertificateID: certID, ClientID: clientID, SourceIP: remoteIP(cl),
		Message: fmt.Sprintf("client %s connected with certificate %s", clientID, certID)})
	return nil
}

// disconnected records the end of an accepted connection; why comes from
// Broker.disconnectReason.
func (a *authorizer) disconnected(cl *mqtt.Client, why string) {
	leaf := peerLeaf(cl)
	if leaf == nil {
		return
	}
	a.reg.RecordEvent(brokerEvent{Time: a.b.opts.Now(), Type: evDisconnected, CertificateID: certIDOf(leaf), ClientID: cl.ID, SourceIP: remoteIP(cl),
		Message: fmt.Sprintf("client %s disconnected: %s", cl.ID, why)})
}

// clampKeepalive applies AWS's keep-alive range: 0 or more than 1200 s → 1200,
// 1–29 s → 30 (the connection is dropped after 1.5 × the interval without traffic).
func clampKeepalive(k uint16) uint16 {
	switch {
	case k == 0 || k > MaxKeepalive:
		return MaxKeepalive
	case k < MinKeepalive:
		return MinKeepalive
	}
	return k
}

// sniProblem enforces AWS's SNI rule: the TLS server name must be this
// endpoint's (AcceptedNames), with or without the CA in the chain. Sources: the
// MQTT page of the AWS IoT Developer Guide ("Clients must send the Server Name
// Indication (SNI) TLS extension … Connection attempts that don't include the SNI
// are refused", mqtt.md and protocols.md of awsdocs/aws-iot-docs, also on the 2024
// mqtt.html) and diagnosing-connectivity-issues (the SNI value is the
// DescribeEndpoint endpointAddress or a domain configuration's domainName). The
// IoT API model (CertificateMode) says DEFAULT-mode devices "aren't required to
// send" SNI; the local core takes the stricter rule, so that what connects here
// also connects on AWS (jitp-spec.md §6).
func (a *authorizer) sniProblem(sni string, leaf *x509.Certificate, certID string) string {
	if a.b.accepted(sni) {
		return ""
	}
	names := strings.Join(a.b.AcceptedNames(), " or ")
	var why string
	if sni == "" {
		why = "the client sent no SNI (TLS server name), and AWS IoT refuses connections without SNI — connect with the endpoint host name " + names +
			" (a client given an IP address such as 127.0.0.1 as host sends no SNI; the CA certificate in the chain does not replace SNI)"
	} else {
		why = fmt.Sprintf("the client sent SNI %q, which is not this endpoint — AWS IoT accepts only the DescribeEndpoint address as SNI: connect with %s", sni, names)
	}
	if a.sniOnly(leaf, certID) {
		why += "; the certificate's CA is registered in SNI_ONLY mode, which always needs SNI"
	}
	return why
}

// sniOnly reports whether the certificate, or the CA that issued it, is in
// SNI_ONLY mode (for the refusal message only).
func (a *authorizer) sniOnly(leaf *x509.Certificate, certID string) bool {
	if c, err := a.reg.Certificate(certID); err == nil && c != nil {
		return c.Mode == store.ModeSNIOnly
	}
	ca, err := a.reg.IssuerOf(leaf)
	return err == nil && ca != nil && ca.Mode == store.ModeSNIOnly
}

// firstConnect handles a certificate that is unknown or PENDING_ACTIVATION.
// state says where the certificate stands ("is not registered", "is PENDING_ACTIVATION").
func (a *authorizer) firstConnect(cl *mqtt.Client, chain []*x509.Certificate, certID string, start time.Time, state string) error {
	leaf := chain[0]
	clientID := cl.ID
	ca, err := a.reg.IssuerOf(leaf)
	if err != nil {
		return a.failed(cl, certID, clientID, err)
	}
	if ca == nil {
		return a.refused(cl, certID, clientID, fmt.Sprintf("certificate %s %s and its issuer (%s) is not a registered CA", certID, state, leaf.Issuer.String()))
	}
	if ca.Status != store.StatusActive {
		return a.refused(cl, certID, clientID, fmt.Sprintf("certificate %s %s and its CA %s is %s; auto-registration needs an ACTIVE CA", certID, state, ca.ID, ca.Status))
	}
	if ca.AutoRegistration != store.AutoRegEnable {
		return a.refused(cl, certID, clientID, fmt.Sprintf("certificate %s %s and its CA %s has auto-registration %s", certID, state, ca.ID, ca.AutoRegistration))
	}
	now := a.b.opts.Now()
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return a.refused(cl, certID, clientID, fmt.Sprintf("certificate %s is outside its validity period (%s to %s); it %s", certID, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), state))
	}

	l := a.lockCert(certID)
	defer a.unlockCert(certID, l)

	res, err := a.reg.AutoRegister(autoRegRequest{
		Leaf:     leaf,
		CertID:   certID,
		CA:       *ca,
		ClientID: clientID,
		Region:   a.b.opts.Region,
		Account:  a.b.opts.Account,
		Now:      now,
		Start:    start,
	})
	if err != nil {
		return a.failed(cl, certID, clientID, err)
	}
	res.Duration = time.Since(start)
	if res.Skipped {
		return errProvisioned
	}
	if !res.JITP {
		a.publishRegistered(certID, ca.ID, res.RegisteredAt)
	}
	a.b.log.Info("auto-registration", "certificate", certID, "ca", ca.ID, "jitp", res.JITP, "thing", res.Thing, "policy", res.Policy, "error", res.Error, "duration", res.Duration)
	return errProvisioned
}

func (a *authorizer) lockCert(id string) *certLock {
	a.provMu.Lock()
	l := a.provBusy[id]
	if l == nil {
		l = &certLock{}
		a.provBusy[id] = l
	}
	l.refs++
	a.provMu.Unlock()
	l.mu.Lock()
	return l
}

func (a *authorizer) unlockCert(id string, l *certLock) {
	l.mu.Unlock()
	a.provMu.Lock()
	l.refs--
	if l.refs == 0 {
		delete(a.provBusy, id)
	}
	a.provMu.Unlock()
}

// certLock serialises first connects of one certificate.
type certLock struct {
	mu   sync.Mutex
	refs int
}

// registeredEvent is the JITR message on $aws/events/certificates/registered/<caId>
// (auto-register-device-cert.md).
type registeredEvent struct {
	CertificateID                    string `json:"certificateId"`
	CACertificateID                  string `json:"caCertificateId"`
	Timestamp                        int64  `json:"timestamp"`
	CertificateStatus                string `json:"certificateStatus"`
	AWSAccountID                     string `json:"awsAccountId"`
	CertificateRegistrationTimestamp string `json:"certificateRegistrationTimestamp"`
}

// RegisteredTopic is where JITR announces an auto-registered certificate.
func RegisteredTopic(caID string) string { return "$aws/events/certificates/registered/" + caID }

func (a *authorizer) publishRegistered(certID, caID string, registeredAt time.Time) {
	now := a.b.opts.Now()
	payload, _ := json.Marshal(registeredEvent{
		CertificateID:                    certID,
		CACertificateID:                  caID,
		Timestamp:                        now.UnixMilli(),
		CertificateStatus:                store.StatusPendingActivation,
		AWSAccountID:                     a.b.opts.Account,
		CertificateRegistrationTimestamp: fmt.Sprint(registeredAt.UnixMilli()),
	})
	if err := a.b.server.Publish(RegisteredTopic(caID), payload, false, 1); err != nil {
		a.b.log.Warn("publishing the JITR event failed", "error", err)
	}
}

// refused records a refusal and returns the error that makes mochi close the
// connection.
func (a *authorizer) refused(cl *mqtt.Client, certID, clientID, reason string) error {
	a.reg.RecordEvent(brokerEvent{
		Time:          a.b.opts.Now(),
		Type:          evConnectRefused,
		CertificateID: certID,
		ClientID:      clientID,
		SourceIP:      remoteIP(cl),
		Message:       reason,
	})
	a.b.log.Info("connection refused", "client", clientID, "certificate", certID, "reason", reason)
	return &refusal{reason: reason}
}

func (a *authorizer) failed(cl *mqtt.Client, certID, clientID string, err error) error {
	return a.refused(cl, certID, clientID, "internal error: "+err.Error())
}

// evaluate runs aws/policy over the policies attached to the certificate.
func (a *authorizer) evaluate(cl *mqtt.Client, certID string, leaf *x509.Certificate, action, resource string) (policy.Decision, error) {
	view, err := a.reg.Authorization(certID)
	if err != nil {
		return policy.Decision{}, err
	}
	if view.Status != store.StatusActive {
		return policy.Decision{Explain: fmt.Sprintf("certificate %s is %s", certID, view.Status)}, nil
	}
	docs := make([]*policy.Document, 0, len(view.Policies))
	for _, p := range view.Policies {
		d, err := a.parsed(p.Name, p.Document)
		if err != nil {
			a.b.log.Warn("attached policy does not parse; ignored", "policy", p.Name, "error", err)
			continue
		}
		docs = append(docs, d)
	}
	ctx := policy.Context{
		Region:         a.b.opts.Region,
		Account:        a.b.opts.Account,
		ClientID:       cl.ID,
		CertificateID:  certID,
		AttachedThings: view.Things,
		SourceIP:       remoteIP(cl),
	}
	ctx.SetCertificate(leaf)
	d := policy.Evaluate(docs, ctx, policy.Request{Action: action, Resource: resource})
	if len(view.Policies) == 0 && !d.Allowed {
		d.Explain = fmt.Sprintf("no policy is attached to certificate %s (%s)", certID, d.Explain)
	}
	return d, nil
}

func (a *authorizer) parsed(name, doc string) (*policy.Document, error) {
	key := name + "\x00" + doc
	a.docMu.Lock()
	d, ok := a.docs[key]
	a.docMu.Unlock()
	if ok {
		return d, nil
	}
	d, err := policy.Parse(doc)
	if err != nil {
		return nil, err
	}
	d.Name = name
	a.docMu.Lock()
	if len(a.docs) > 4096 {
		a.docs = map[string]*policy.Document{}
	}
	a.docs[key] = d
	a.docMu.Unlock()
	return d, nil
}

// denial is a PUBLISH or SUBSCRIBE filter refused by the policies (as opposed to
// one breaking a limit): MQTT 3.1.1 clients lose the connection, MQTT 5 clients get
// reason code 0x87 and keep it.
type denial struct{ reason string }

// publishLimits checks a PUBLISH against AWS's limits and reserved topics; a
// violation is a *refusal, which closes the connection whatever the MQTT version.
// An MQTT 5 PUBLISH that names its topic only by a topic alias (empty topic name)
// skips the topic checks: the alias was set by an earlier PUBLISH whose topic
// passed them.
func (a *authorizer) publishLimits(cl *mqtt.Client, pk packets.Packet) error {
	leaf := peerLeaf(cl)
	if leaf == nil {
		return refuse("no client certificate")
	}
	certID := certIDOf(leaf)
	deny := func(reason string) error {
		a.recordRefused(cl, evPublishRefused, certID, pk.TopicName, reason)
		return &refusal{reason: reason}
	}
	if pk.FixedHeader.Qos > 1 {
		return deny(fmt.Sprintf("PUBLISH with QoS %d to %q; AWS IoT supports QoS 0 and 1 only", pk.FixedHeader.Qos, pk.TopicName))
	}
	if len(pk.Payload) > MaxPayloadBytes {
		return deny(fmt.Sprintf("payload of %d bytes to %q; AWS IoT allows at most %d", len(pk.Payload), pk.TopicName, MaxPayloadBytes))
	}
	if pk.TopicName == "" && pk.Properties.TopicAliasFlag && cl.Properties.ProtocolVersion == 5 {
		return nil
	}
	if err := checkTopic(pk.TopicName, false); err != nil {
		return deny(err.Error())
	}
	if !reservedTopicAllowed(pk.TopicName, true) {
		return deny(fmt.Sprintf("topic %q is reserved by AWS IoT; clients may not publish to it", pk.TopicName))
	}
	return nil
}

// publishPolicy evaluates iot:Publish (and iot:RetainPublish for a retained
// message) on the PUBLISH's topic. A denial is returned for the caller to apply
// per MQTT version; err is an internal failure (a *refusal).
func (a *authorizer) publishPolicy(cl *mqtt.Client, pk packets.Packet) (*denial, error) {
	leaf := peerLeaf(cl)
	if leaf == nil {
		return nil, refuse("no client certificate")
	}
	certID := certIDOf(leaf)
	check := func(action string) (*denial, error) {
		d, err := a.evaluate(cl, certID, leaf, action, policy.TopicARN(a.b.opts.Region, a.b.opts.Account, pk.TopicName))
		if err != nil {
			reason := "internal error: " + err.Error()
			a.recordRefused(cl, evPublishRefused, certID, pk.TopicName, reason)
			return nil, &refusal{reason: reason}
		}
		if !d.Allowed {
			return a.denied(cl, evPublishRefused, certID, pk.TopicName, action+" denied: "+d.Explain), nil
		}
		return nil, nil
	}
	if dn, err := check("iot:Publish"); dn != nil || err != nil {
		return dn, err
	}
	if pk.FixedHeader.Retain {
		return check("iot:RetainPublish")
	}
	return nil, nil
}

// subscribe checks every filter of a SUBSCRIBE. A limit or reserved-filter
// violation is a *refusal (connection closed); denied[i] is set for each filter the
// policies refuse.
func (a *authorizer) subscribe(cl *mqtt.Client, pk packets.Packet) (denied []*denial, err error) {
	leaf := peerLeaf(cl)
	if leaf == nil {
		return nil, refuse("no client certificate")
	}
	certID := certIDOf(leaf)
	deny := func(topic, reason string) error {
		a.recordRefused(cl, evSubscribeRefused, certID, topic, reason)
		return &refusal{reason: reason}
	}
	if len(pk.Filters) > MaxFiltersPerSubcribe {
		return nil, deny("", fmt.Sprintf("SUBSCRIBE with %d topic filters; AWS IoT allows at most %d per request", len(pk.Filters), MaxFiltersPerSubcribe))
	}
	denied = make([]*denial, len(pk.Filters))
	for i, f := range pk.Filters {
		if err := checkTopic(f.Filter, true); err != nil {
			return nil, deny(f.Filter, err.Error())
		}
		if !reservedTopicAllowed(f.Filter, false) {
			return nil, deny(f.Filter, fmt.Sprintf("topic filter %q is reserved by AWS IoT; clients may not subscribe to it", f.Filter))
		}
		d, err := a.evaluate(cl, certID, leaf, "iot:Subscribe", policy.TopicFilterARN(a.b.opts.Region, a.b.opts.Account, f.Filter))
		if err != nil {
			return nil, deny(f.Filter, "internal error: "+err.Error())
		}
		if !d.Allowed {
			denied[i] = a.denied(cl, evSubscribeRefused, certID, f.Filter, "iot:Subscribe denied: "+d.Explain)
		}
	}
	return denied, nil
}

// denied records a policy denial and returns it.
func (a *authorizer) denied(cl *mqtt.Client, kind, certID, topic, reason string) *denial {
	if cl.Properties.ProtocolVersion == 5 {
		reason += " (MQTT 5: answered with reason code 0x87, the connection stays open)"
	}
	a.recordRefused(cl, kind, certID, topic, reason)
	return &denial{reason: reason}
}

func (a *authorizer) recordRefused(cl *mqtt.Client, kind, certID, topic, reason string) {
	a.reg.RecordEvent(brokerEvent{Time: a.b.opts.Now(), Type: kind, CertificateID: certID, ClientID: cl.ID, SourceIP: remoteIP(cl), Topic: topic, Message: reason})
}

// subscriptionSlot enforces the per-connection subscription limit: a filter beyond
// it gets a SUBACK failure code.
func (a *authorizer) subscriptionSlot(cl *mqtt.Client, filter string) bool {
	if _, ok := cl.State.Subscriptions.Get(filter); ok {
		return true // replacing an existing subscription
	}
	return cl.State.Subscriptions.Len() < MaxSubsPerConnection
}

// receive authorizes one delivery; a denied message is not delivered.
func (a *authorizer) receive(cl *mqtt.Client, topic string) bool {
	if cl.Net.Inline {
		return true
	}
	leaf := peerLeaf(cl)
	if leaf == nil {
		return false
	}
	d, err := a.evaluate(cl, certIDOf(leaf), leaf, "iot:Receive", policy.TopicARN(a.b.opts.Region, a.b.opts.Account, topic))
	if err != nil {
		return false
	}
	return d.Allowed
}
