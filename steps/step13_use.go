package steps

import (
	"context"
	"strings"

	"github.com/jitpwiz/jitpwiz/mqttprobe"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 13: use the provisioned device: connect as the thing and round-trip a message.
type useStep struct{ Base }

// OutsideTopic is the topic step 13 uses to show that the scoped policy refuses anything
// outside <thing>/*.
const OutsideTopic = "other/test"

func (*useStep) ID() ID          { return IDUse }
func (*useStep) Title() string   { return i18n.T("step13.title") }
func (*useStep) Explain() string { return i18n.T("step13.explain") }

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
		mosquittoRR(s, cert, key, t+"/test", t, "Hello from "+t) + "   # " + i18n.T("step13.cmd.rr", i18n.Args{"Topic": t + "/test"}),
		mosquittoPub(s, cert, key, t+"/test", t, "Hello from "+t),
	}
	if s.Options.jitr() || s.Template.Variant == VariantScoped { // the scoped policy (JITR's is too)
		out = append(out, mosquittoPub(s, cert, key, OutsideTopic, t, "refused")+"   # "+i18n.T("step13.cmd.refused", i18n.Args{"Thing": t}))
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
	st.Report(Event{Message: i18n.T("step13.connecting", i18n.Args{"Thing": thing, "Topic": topic})})
	res := mqttprobe.Use(ctx, o, topic, 0)
	if err := checkContext(ctx); err != nil {
		return false, err
	}
	if !res.OK() {
		f := mqttprobe.Facts{Use: &res, Options: o, ThingName: thing, Region: s.Region}
		mqttprobe.Gather(ctx, c, &f)
		dg := mqttprobe.Diagnose(f)
		return false, i18n.NewError("step13.err.use", i18n.Args{"Thing": thing, "Diagnosis": dg.String()})
	}
	u := &UseResult{Topic: topic, RoundTrip: res.RTT}
	st.Report(Event{Message: i18n.T("step13.received", i18n.Args{"Topic": topic, "After": fmtDur(res.RTT)})})
	if s.Options.jitr() || s.Template.Variant == VariantScoped { // the scoped policy (JITR's is too)
		rr := mqttprobe.ProveRefused(ctx, o, OutsideTopic, false, 0)
		u.RefusedTopic = OutsideTopic
		u.Refused = rr.Refused
		st.Report(Event{Message: rr.Detail})
		if rr.Err == nil && !rr.Refused {
			d.Use = u
			return false, i18n.NewError("step13.err.allowed", i18n.Args{"Topic": OutsideTopic, "Detail": rr.Detail})
		}
		if rr.Err != nil && !rr.Refused {
			d.Use = u
			return false, i18n.NewError("step13.err.unchecked", i18n.Args{"Topic": OutsideTopic, "Detail": rr.Detail})
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
	out := []ResultLine{roundTripLine(thing, u)}
	if u.RefusedTopic != "" {
		how := i18n.T("step13.ev.allowed")
		if u.Refused {
			how = i18n.T("step13.ev.closed")
		}
		out = append(out, checkLine(i18n.T("step13.check.refused", i18n.Args{"Thing": thing}), i18n.T("step13.ev.publish", i18n.Args{"Topic": u.RefusedTopic, "How": how}), u.Refused))
	}
	return out
}

func (st *useStep) Summary() string {
	s := st.s
	u := s.Device().Use
	if u == nil {
		return ""
	}
	return i18n.T("step13.summary", i18n.Args{"Topic": u.Topic, "Thing": s.Options.Thing, "After": fmtDur(u.RoundTrip), "Refused": map[bool]string{true: u.RefusedTopic}[u.RefusedTopic != "" && u.Refused]})
}
