package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/jitpwiz/jitpwiz/mqttprobe"
)

// Step 13: use the provisioned device: connect as the thing and round-trip a message.

// OutsideTopic is the topic step 13 uses to show that the scoped policy refuses anything
// outside <thing>/*.
const OutsideTopic = "other/test"

func stepUse() *step {
	return &step{
		id:        IDUse,
		title:     "Use it",
		perDevice: true,
		explain: "Connect as the thing — client ID = thing name, device certificate only — subscribe to and publish on\n" +
			"<thing>/test and receive your own message. With the scoped template, a topic outside <thing>/* is refused:\n" +
			"the policy's ${iot:Connection.Thing.ThingName} only matches your own thing.",
		after: []ID{IDVerify},
		inputs: func(s *Session) map[string]string {
			return map[string]string{"device certificate": s.Device().CertID, "thing": s.Options.Thing}
		},
		cmds: func(s *Session) []string {
			cert, key, _, _ := s.deviceFileNames()
			t := s.provisionedThing(s.Device())
			out := []string{s.mosquittoPub(cert, key, t+"/test", t, "Hello from "+t)}
			if s.Template.Variant == VariantScoped {
				out = append(out, s.mosquittoPub(cert, key, OutsideTopic, t, "refused")+"   # refused: outside "+t+"/*")
			}
			return out
		},
		run:    runUse,
		result: useResult,
	}
}

func runUse(ctx context.Context, s *Session) (bool, error) {
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	d := s.Device()
	thing := s.provisionedThing(d)
	o := s.probeOptions(d.CertFile, thing)
	topic := thing + "/test"
	s.reportf(IDUse, "connecting as %s, subscribing to and publishing on %s", thing, topic)
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
	s.reportf(IDUse, "received own message on %s after %s", topic, fmtDur(res.RTT))
	if s.Template.Variant == VariantScoped {
		rr := mqttprobe.ProveRefused(ctx, o, OutsideTopic, false, 0)
		u.RefusedTopic = OutsideTopic
		u.Refused = rr.Refused
		s.report(Event{Step: IDUse, Message: rr.Detail})
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

func useResult(s *Session) []ResultLine {
	u := s.Device().Use
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
