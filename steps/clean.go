package steps

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
)

// CleanAction is one thing `jitpwiz clean` removes from the cloud side, in order.
type CleanAction struct {
	What string // plain words: "detach policy P from certificate C"
	Do   func(ctx context.Context, c aws.Client) error
	// Run, when set, is used instead of Do by an action that reports its own progress
	// (a fleet's removal, device by device).
	Run func(ctx context.Context, c aws.Client, w io.Writer) error
}

// CleanPlan lists what the workspace created on the target, in the order it must be removed:
// for each device, policies detached → certificate INACTIVE → certificate detached from the
// thing → certificate deleted → thing deleted; then the template's policies deleted (only
// those JITP or jitpwiz created), then the CA INACTIVE → deleted. The workspace's fleets
// (`jitpwiz fleet`) go after its own devices, device by device in the same order
// (fleet_clean.go). The provisioning role is kept (other CAs may use it) and local files are
// left alone. Each action is idempotent: what is already gone is skipped.
func (s *Session) CleanPlan() []CleanAction {
	var out []CleanAction
	// Policies to delete: those the template made (inline policies) and a named policy only
	// when jitpwiz created it. Filled from the records now and from the live attachments
	// while the detach actions run.
	ours := map[string]bool{}
	keep := func(p string) bool { return p == s.Template.PolicyName && !s.Template.PolicyCreated }
	for _, thing := range s.Things() {
		for _, p := range s.Devices[thing].Policies {
			if !keep(p) {
				ours[p] = true
			}
		}
	}
	if s.Template.PolicyCreated && s.Template.PolicyName != "" {
		ours[s.Template.PolicyName] = true
	}
	for _, thing := range s.Things() {
		d := s.Devices[thing]
		if d.CertID == "" || d.Cleaned {
			continue
		}
		arn := firstNonEmpty(d.CertARN, certARN(s, d.CertID))
		id, name := d.CertID, provisionedThing(s, d)
		shown := strings.Join(abbrevAll(d.Policies), ", ")
		if shown == "" {
			shown = "its policies"
		}
		out = append(out,
			CleanAction{What: fmt.Sprintf("detach %s from certificate %s", shown, abbrev(id)),
				Do: func(ctx context.Context, c aws.Client) error {
					pols, err := c.ListAttachedPolicies(ctx, arn)
					if err != nil {
						return ignoreNotFound(err)
					}
					for _, p := range pols {
						if !keep(p.Name) {
							ours[p.Name] = true
						}
						if err := ignoreNotFound(c.DetachPolicy(ctx, p.Name, arn)); err != nil {
							return err
						}
					}
					return nil
				}},
			CleanAction{What: "set certificate " + abbrev(id) + " INACTIVE",
				Do: func(ctx context.Context, c aws.Client) error {
					return ignoreNotFound(c.UpdateCertificate(ctx, id, aws.StatusInactive))
				}},
			CleanAction{What: "detach certificate " + abbrev(id) + " from thing " + name,
				Do: func(ctx context.Context, c aws.Client) error {
					return ignoreNotFound(c.DetachThingPrincipal(ctx, name, arn))
				}},
			CleanAction{What: "delete certificate " + abbrev(id),
				Do: func(ctx context.Context, c aws.Client) error {
					return ignoreNotFound(c.DeleteCertificate(ctx, id, true))
				}},
			CleanAction{What: "delete thing " + name,
				Do: func(ctx context.Context, c aws.Client) error { return ignoreNotFound(c.DeleteThing(ctx, name)) }},
		)
	}
	fcs, _ := fleetCleanups(s, "") // every fleet: no error (an unreadable one is an action that fails)
	out = append(out, fleetActions(fcs, ours, keep)...)
	if len(out) > 0 || len(ours) > 0 {
		out = append(out, deletePolicies(ours))
	}
	if id := s.CA.RegisteredID; id != "" {
		out = append(out,
			CleanAction{What: "set CA " + abbrev(id) + " INACTIVE",
				Do: func(ctx context.Context, c aws.Client) error {
					return ignoreNotFound(c.UpdateCA(ctx, id, aws.UpdateCAInput{NewStatus: aws.StatusInactive}))
				}},
			CleanAction{What: "delete CA " + abbrev(id),
				Do: func(ctx context.Context, c aws.Client) error { return ignoreNotFound(c.DeleteCA(ctx, id)) }},
		)
	}
	return out
}

func ignoreNotFound(err error) error {
	if aws.IsKind(err, aws.KindNotFound) {
		return nil
	}
	return err
}

// Clean removes what CleanPlan lists (Connect first), writing one line per action to w, and
// forgets the cloud-side results in the session so that a later run registers everything
// again (local files, keys included, stay).
func (s *Session) Clean(ctx context.Context, w io.Writer) error {
	if err := RunClean(ctx, s, s.CleanPlan(), w); err != nil {
		return err
	}
	// Forget the cloud results: registration, first connect, verify and use run again (and
	// the template step, to re-create a policy jitpwiz had created). Keys and files stay.
	for key := range s.Finished {
		switch ID(strings.SplitN(key, "@", 2)[0]) {
		case IDRegisterCA, IDFirstConnect, IDVerify, IDUse:
			delete(s.Finished, key)
		case IDTemplate:
			if s.Template.PolicyCreated {
				delete(s.Finished, key)
			}
		}
	}
	for _, d := range s.Devices {
		d.FirstConnect, d.Verify, d.Policies, d.Use, d.ProvisionedThing = nil, nil, nil, nil, ""
		d.Cleaned = d.CertID != ""
	}
	s.CA.RegisteredID, s.CA.RegisteredARN, s.CA.Reused = "", "", false
	s.Template.PolicyCreated = false
	return s.Save()
}

// FleetCleanPlan lists what `clean --fleet ID` removes: the fleet's devices (ID "all":
// every fleet's), then the policies JITP attached to them, unless something else still
// holds them. The workspace's own devices and its CA stay.
func FleetCleanPlan(s *Session, id string) ([]CleanAction, error) {
	fcs, err := fleetCleanups(s, id)
	if err != nil || len(fcs) == 0 {
		return nil, err
	}
	keep := func(p string) bool { return p == s.Template.PolicyName && !s.Template.PolicyCreated }
	ours := map[string]bool{}
	out := fleetActions(fcs, ours, keep)
	return append(out, deletePolicies(ours)), nil
}

// fleetActions are the removals of fleets as clean actions; the policies they detach
// (and recorded) go to ours, unless keep says they are not the workspace's to delete.
func fleetActions(fcs []fleetCleanup, ours map[string]bool, keep func(string) bool) []CleanAction {
	var out []CleanAction
	for _, fc := range fcs {
		if fc.err != nil {
			err := fc.err
			out = append(out, CleanAction{What: fc.what, Do: func(context.Context, aws.Client) error { return err }})
			continue
		}
		for _, p := range fc.policies {
			if !keep(p) {
				ours[p] = true
			}
		}
		run := fc.run
		out = append(out, CleanAction{What: fc.what, Run: func(ctx context.Context, c aws.Client, w io.Writer) error {
			return run(ctx, c, w, func(p string) {
				if !keep(p) {
					ours[p] = true
				}
			})
		}})
	}
	return out
}

// deletePolicies deletes the policies in ours (filled while the actions before it run); one
// still attached to certificates this workspace did not make is kept.
func deletePolicies(ours map[string]bool) CleanAction {
	var names []string
	for p := range ours {
		names = append(names, abbrev(p))
	}
	sort.Strings(names)
	what := "delete the template's policies"
	if len(names) > 0 {
		what = "delete policy " + strings.Join(names, ", ")
	}
	return CleanAction{What: what,
		Do: func(ctx context.Context, c aws.Client) error {
			var all []string
			for p := range ours {
				all = append(all, p)
			}
			sort.Strings(all)
			for _, p := range all {
				err := c.DeletePolicy(ctx, p)
				if aws.IsKind(err, aws.KindConflict) {
					continue // still attached to certificates this workspace did not make: keep it
				}
				if err := ignoreNotFound(err); err != nil {
					return err
				}
			}
			return nil
		}}
}

// RunClean runs actions in order (Connect first), one line each to w — what Clean does,
// without forgetting the workspace's own results (for FleetCleanPlan).
func RunClean(ctx context.Context, s *Session, actions []CleanAction, w io.Writer) error {
	c, err := s.requireClient()
	if err != nil {
		return err
	}
	for _, a := range actions {
		if err := checkContext(ctx); err != nil {
			return err
		}
		run := a.Run
		if run == nil {
			run = func(ctx context.Context, c aws.Client, _ io.Writer) error { return a.Do(ctx, c) }
		}
		if err := run(ctx, c, w); err != nil {
			fmt.Fprintf(w, "✗ %s: %v\n", a.What, err)
			return fmt.Errorf("%s: %w", a.What, err)
		}
		fmt.Fprintf(w, "✓ %s\n", a.What)
	}
	return nil
}
