package steps

import (
	"context"
	"fmt"
	"regexp"
	"slices"
)

// span applies --from and --until to the plan: it returns the index of the last step to run
// (--until's, else the plan's last). --from needs every step before it done (or skipped),
// and asks the steps from it to --until that are done to run again.
func (r *runner) span(sts []Step) (last int, err error) {
	p, cfg := r.p, r.cfg
	index := func(flag string, id ID) (int, error) {
		for i, st := range sts {
			if st.ID() == id {
				return i, nil
			}
		}
		return 0, fmt.Errorf("%s %s: %s is not a step of this plan — choose one of its steps", flag, id, id)
	}
	first, last := 0, len(sts)-1
	if cfg.From != "" {
		if first, err = index("--from", cfg.From); err != nil {
			return 0, err
		}
	}
	if cfg.Until != "" {
		if last, err = index("--until", cfg.Until); err != nil {
			return 0, err
		}
	}
	if last < first {
		return 0, fmt.Errorf("--until %s comes before --from %s — give --until a step at or after --from", p.Label(cfg.Until), p.Label(cfg.From))
	}
	if cfg.From == "" {
		return last, nil
	}
	for _, st := range sts[:first] {
		if state := st.Status().State; state != StateDone && state != StateSkipped {
			return 0, fmt.Errorf("--from %s: step %s (%s) before it is not done yet — run without --from (or with --until %s) first",
				p.Label(cfg.From), p.Label(st.ID()), st.Title(), p.Label(sts[first-1].ID()))
		}
	}
	// Which are done is read before any is marked: a mark makes the steps after it look
	// not done (they use its result), and they would keep their results.
	var done []Step
	for _, st := range sts[first : last+1] {
		if st.Status().State == StateDone {
			done = append(done, st)
		}
	}
	for _, st := range done {
		st.base().requestRedo(st.ID(), "--from "+p.Label(cfg.From)+" runs it again")
	}
	return last, nil
}

// doneCommands shows, with --commands, the commands of steps that are all done (a finished
// workspace, or one done up to --until): for the local target it starts the embedded IoT Core
// (without running anything) so that the commands name its URL, and says how to bring it
// back for them.
func (r *runner) doneCommands(ctx context.Context, sts []Step) {
	if !r.cfg.ShowCommands || r.cfg.JSON {
		return
	}
	s := r.s
	if s.Options.Target == TargetLocal && s.Options.EndpointURL == "" {
		if err := s.Connect(ctx); err != nil {
			r.emit(RunEvent{}, "  (the commands below name no local endpoint URL: "+err.Error()+")")
		}
	}
	for _, st := range sts {
		if st.Status().State != StateDone {
			continue
		}
		r.emit(RunEvent{}, fmt.Sprintf("✓ %2s/%d %-18s done before  %s", r.p.Label(st.ID()), len(r.p.Steps()), st.Title(), st.Summary()))
		r.showCommands(st.Commands())
	}
	r.byHandHint()
}

// abbreviatedRE finds an ID the text shortened to its first 12 hex digits (abbrev).
var abbreviatedRE = regexp.MustCompile(`\b([0-9a-f]{12})…`)

// fullIDs writes out, in a JSON event, each ID that a message shortened (abbrev) and that the
// session knows in full: consumers of --json get whole IDs.
func fullIDs(text string, known []string) string {
	return abbreviatedRE.ReplaceAllStringFunc(text, func(m string) string {
		prefix := m[:12]
		match := ""
		for _, id := range known {
			if len(id) > 12 && id[:12] == prefix {
				if match != "" && match != id {
					return m // two IDs share the prefix: leave it as it is
				}
				match = id
			}
		}
		if match == "" {
			return m
		}
		return match
	})
}

// knownIDs are the IDs and names of the session that messages may shorten.
func (s *Session) knownIDs() []string {
	ids := []string{s.CA.CertID, s.CA.RegisteredID, s.VerificationCertID, s.RegistrationCode, s.Template.PolicyName}
	ids = append(ids, s.CA.EarlierRegisteredIDs...)
	ids = append(ids, s.PendingPolicyDeletes...)
	for _, d := range s.Devices {
		ids = append(ids, d.CertID)
		ids = append(ids, d.Policies...)
		for _, e := range d.EarlierCerts {
			ids = append(ids, e.ID)
		}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return id == "" })
}
