package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/jitpwiz/jitpwiz/mqttprobe"
)

// Step 13: use the provisioned device: connect as the thing and round-trip a message.
type useStep struct{ Base }

// OutsideTopic is the topic step 13 uses to show that the scoped policy refuses anything
// outside <thing>/*.
const OutsideTopic = "other/test"

func (*useStep) ID() ID        { return IDUse }
func (*useStep) Title() string { return "Use it" }
func (*useStep) Explain() string {
	return "Connect as the thing — client ID = thing name, device certificate only — subscribe to and publish on\n" +
		"<thing>/test and receive your own message. With the scoped template, a topic outside <thing>/* is refused:\n" +
		"the policy's ${iot:Connection.Thing.ThingName} only matches your own thing."
}

func (st *useStep) record() record {
	s := st.s
	return record{
		perDevice: true,
		after:     []ID{IDVerify},
		inputs:    map[string]string{"device certificate": s.Device().CertID, "thing": s.Options.Thing},
	}
}

func (st *useStep) Commands() []string {
	s := st.s
	cert, key, _, _ := deviceFiles(s)
	t := provisionedThing(s, s.Device())
	out := []string{
		mosquittoRR(s, cert, key, t+"/test", t, "Hello from "+t) + "   # subscribes to " + t + "/test, publishes there, prints what comes back",
		mosquittoPub(s, cert, key, t+"/test", t, "Hello from "+t),
	}
	if s.Options.jitr() || s.Template.Variant == VariantScoped { // the scoped policy (JITR's is too)
		out = append(out, mosquittoPub(s, cert, key, OutsideTopic, t, "refused")+"   # refused: outside "+t+"/*")
	}
	return out
}

func (st *useStep) act(ctx context.Context) (bool, error) {
	s := st.s
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	d := s.Device()
	thing := provisionedThing(s, d)
	o := probeOptions(s, d.CertFile, thing)
	topic := thing + "/test"
	st.reportf("connecting as %s, subscribing to and publishing on %s", thing, topic)
	res := mqttprobe.Use(ctx, o, topic, 0)
	if err := checkContext(ctx); err != nil {
		return false, err
	}
	if !res.OK() {
		f := mqttprobe.Facts{Use: &res, Options: o, ThingName: thing, Region: s.Region}
		mqttprobe.Gather(ctx, c, &f)
		dg := mqttprobe.Diagnose(f)
		return false, fmt.Errorf("using the device as %s failed: %s", thing, dg.String())
	}
	u := &UseResult{Topic: topic, RoundTrip: res.RTT}
	st.reportf("received own message on %s after %s", topic, fmtDur(res.RTT))
	if s.Options.jitr() || s.Template.Variant == VariantScoped { // the scoped policy (JITR's is too)
		rr := mqttprobe.ProveRefused(ctx, o, OutsideTopic, false, 0)
		u.RefusedTopic = OutsideTopic
		u.Refused = rr.Refused
		st.Report(Event{Message: rr.Detail})
		if rr.Err == nil && !rr.Refused {
			d.Use = u
			return false, fmt.Errorf("the scoped policy should refuse %s, but the broker allowed it: %s", OutsideTopic, rr.Detail)
		}
		if rr.Err != nil && !rr.Refused {
			d.Use = u
			return false, fmt.Errorf("could not check that %s is refused: %s", OutsideTopic, rr.Detail)
		}
	}
	d.Use = u
	return false, nil
}

func (st *useStep) Result() []ResultLine {
	u := st.s.Device().Use
	if u == nil {
		return nil
	}
	thing := strings.TrimSuffix(u.Topic, "/test")
	out := []ResultLine{
		checkLine("published and received as "+thing, "round trip on "+u.Topic+" in "+fmtDur(u.RoundTrip), true),
	}
	if u.RefusedTopic != "" {
		out = append(out, checkLine("topic outside "+thing+"/* refused", "publish to "+u.RefusedTopic+": "+
			map[bool]string{true: "the broker closed the connection", false: "allowed"}[u.Refused], u.Refused))
	}
	return out
}

func (st *useStep) Summary() string {
	s := st.s
	u := s.Device().Use
	if u == nil {
		return ""
	}
	out := fmt.Sprintf("published and received on %s as %s in %s", u.Topic, s.Options.Thing, fmtDur(u.RoundTrip))
	if u.RefusedTopic != "" && u.Refused {
		out += "; " + u.RefusedTopic + " refused"
	}
	return out
}
