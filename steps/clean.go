package steps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// CleanAction is one thing `jitpwiz clean` removes from the cloud side, in order.
type CleanAction struct {
	What string // plain words: "detach policy P from certificate C"
	Do   func(ctx context.Context, c aws.Client) error
}

// CleanPlan lists what the workspace created on the target, in the order it must be removed:
// for each device, policies detached → certificate INACTIVE → certificate detached from the
// thing → certificate deleted → thing deleted; then the template's policies deleted (only
// those JITP or jitpwiz created), then the CA INACTIVE → deleted. The workspace's fleets
// (`jitpwiz fleet`) go after its own devices, device by device in the same order
// (fleet_clean.go), and their policies join the others. The provisioning role is kept (other
// CAs may use it) and local files are left alone. Each action is idempotent: what is already
// gone is skipped.
func (s *Session) CleanPlan() []CleanAction {
	var out []CleanAction
	// Policies to delete: those the template made (inline policies) and a named policy only
	// when jitpwiz created it. Filled from the records now and from the live attachments
	// while the detach actions run.
	ours := map[string]bool{}
	keep := keptPolicies(s)
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
	if s.Activation.PolicyCreated && s.Activation.PolicyName != "" {
		ours[s.Activation.PolicyName] = true
	}
	for _, p := range s.PendingPolicyDeletes { // an earlier clean could not delete them yet
		ours[p] = true
	}
	for _, thing := range s.Things() {
		d := s.Devices[thing]
		// Every certificate of the thing the target may hold: those a re-issue replaced, then
		// the current one; each thing is deleted once its certificates are detached from it.
		certs := append([]CertRecord(nil), d.EarlierCerts...)
		if d.CertID != "" && !d.Cleaned {
			certs = append(certs, CertRecord{CertID: d.CertID, ARN: d.CertARN, Thing: provisionedThing(s, d)})
		}
		var things []string
		for i, cr := range certs {
			policies := d.Policies
			if i < len(d.EarlierCerts) {
				policies = nil // not recorded: found while detaching
			}
			out = append(out, certActions(s, cr, policies, ours, keep)...)
			if !slices.Contains(things, cr.Thing) {
				things = append(things, cr.Thing)
			}
		}
		for _, name := range things {
			out = append(out, CleanAction{What: i18n.T("clean.delete-thing", i18n.Args{"Thing": name}),
				Do: func(ctx context.Context, c aws.Client) error { return ignoreNotFound(c.DeleteThing(ctx, name)) }})
		}
	}
	fcs, _ := fleetCleanups(s, "") // every fleet: no error (an unreadable one is an action that fails)
	out = append(out, fleetActions(fcs, ours, keep)...)
	// One action per policy, so each line says what became of that policy. The names are
	// known now for the recorded policies; the detach actions may add more while they run.
	names := sortedKeys(ours)
	out = append(out, policyDeletes(names)...)
	if len(out) > len(names) { // devices to detach: the detaches may find policies not recorded
		out = append(out, CleanAction{What: i18n.T("clean.delete-found"),
			Do: func(ctx context.Context, c aws.Client) error { return deleteFound(ctx, c, ours, names) }})
	}
	cas := append([]string(nil), s.CA.EarlierRegisteredIDs...)
	if id := s.CA.RegisteredID; id != "" {
		cas = append(cas, id)
	}
	for _, id := range cas {
		out = append(out,
			CleanAction{What: i18n.T("clean.ca-inactive", i18n.Args{"ID": abbrev(id)}),
				Do: func(ctx context.Context, c aws.Client) error {
					return ignoreNotFound(c.UpdateCA(ctx, id, aws.UpdateCAInput{NewStatus: aws.StatusInactive}))
				}},
			CleanAction{What: i18n.T("clean.delete-ca", i18n.Args{"ID": abbrev(id)}),
				Do: func(ctx context.Context, c aws.Client) error { return ignoreNotFound(c.DeleteCA(ctx, id)) }},
		)
	}
	return out
}

// certActions remove one device certificate: its policies detached (shown: the names
// recorded; the detach finds every one attached, and those the workspace made join ours),
// set INACTIVE, detached from its thing (waiting for that to take effect), deleted.
func certActions(s *Session, cr CertRecord, policies []string, ours map[string]bool, keep func(string) bool) []CleanAction {
	arn := cmp.Or(cr.ARN, certARN(s, cr.CertID))
	id, name := cr.CertID, cr.Thing
	shown := strings.Join(abbrevAll(policies), ", ")
	if shown == "" {
		shown = i18n.T("clean.its-policies")
	}
	return []CleanAction{
		{What: i18n.T("clean.detach-policies", i18n.Args{"Policies": shown, "ID": abbrev(id)}),
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
		{What: i18n.T("clean.cert-inactive", i18n.Args{"ID": abbrev(id)}),
			Do: func(ctx context.Context, c aws.Client) error {
				return ignoreNotFound(c.UpdateCertificate(ctx, id, aws.StatusInactive))
			}},
		{What: i18n.T("clean.detach-cert", i18n.Args{"ID": abbrev(id), "Thing": name}),
			Do: func(ctx context.Context, c aws.Client) error {
				if err := ignoreNotFound(c.DetachThingPrincipal(ctx, name, arn)); err != nil {
					return err
				}
				return waitDetached(ctx, c, name, arn, id)
			}},
		{What: i18n.T("clean.delete-cert", i18n.Args{"ID": abbrev(id)}),
			Do: func(ctx context.Context, c aws.Client) error {
				return ignoreNotFound(c.DeleteCertificate(ctx, id, true))
			}},
	}
}

// keptPolicies says which policies clean leaves although the workspace's devices hold them:
// a named policy that was there before jitpwiz (the template's, or JITR's activation's).
func keptPolicies(s *Session) func(string) bool {
	return func(p string) bool {
		return (p == s.Template.PolicyName && !s.Template.PolicyCreated) ||
			(p == s.Activation.PolicyName && !s.Activation.PolicyCreated) // JITR's, when it was there before
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// policyDeletes are the actions that delete the named policies, one each.
func policyDeletes(names []string) []CleanAction {
	var out []CleanAction
	for _, p := range names {
		out = append(out, CleanAction{What: i18n.T("clean.delete-policy", i18n.Args{"Policy": abbrev(p)}),
			Do: func(ctx context.Context, c aws.Client) error { return deletePolicy(ctx, c, p) }})
	}
	return out
}

// deleteFound deletes the policies of ours that are not among listed (those the detaches
// found, which the records did not name), a progress line each; errNothingMore when there
// are none.
func deleteFound(ctx context.Context, c aws.Client, ours map[string]bool, listed []string) error {
	var more []string
	for _, p := range sortedKeys(ours) {
		if !slices.Contains(listed, p) {
			more = append(more, p)
		}
	}
	if len(more) == 0 {
		return errNothingMore
	}
	var errs []error
	for _, p := range more {
		if err := deletePolicy(ctx, c, p); err != nil {
			errs = append(errs, err)
			continue
		}
		cleanSay(ctx, "%s", i18n.T("clean.deleted-policy", i18n.Args{"Policy": abbrev(p)}))
	}
	return errors.Join(errs...)
}

// The outcomes of a clean action that are not a plain ✓ or ✗.
var errNothingMore = errors.New("nothing more")

// keptError: the thing is still used by something this workspace did not make; clean
// leaves it (and says so, without ✓).
type keptError struct{ what, why string }

func (e *keptError) Error() string {
	return i18n.T("clean.kept", i18n.Args{"What": e.what, "Why": e.why})
}

// pendingError: AWS does not allow the delete yet; clean records it and a later clean
// finishes it.
type pendingError struct {
	policy string
	err    error
}

func (e *pendingError) Error() string {
	return i18n.T("clean.pending", i18n.Args{"Policy": e.policy, "Err": e.err})
}

// deletePolicy deletes a policy this workspace (or JITP for it) created. A policy still
// attached to certificates the workspace did not make is kept; one AWS refuses only because
// it was detached moments ago is retried until the clean's wait runs out, then recorded as
// pending (a later clean deletes it).
func deletePolicy(ctx context.Context, c aws.Client, name string) error {
	var last error
	done, err := waitLoop(ctx, cleanEnvOf(ctx).wait, i18n.T("clean.wait.policy", i18n.Args{"Policy": abbrev(name)}), func() (bool, error) {
		err := c.DeletePolicy(ctx, name)
		if err == nil || aws.IsKind(err, aws.KindNotFound) {
			return true, nil
		}
		if !aws.IsKind(err, aws.KindConflict) {
			return false, err
		}
		last = err
		targets, lerr := c.ListTargetsForPolicy(ctx, name)
		if lerr == nil && len(targets) > 0 {
			return false, &keptError{what: i18n.T("clean.kept.policy", i18n.Args{"Policy": abbrev(name)}),
				why: i18n.T("clean.kept.attached", i18n.Args{"N": len(targets), "Example": abbrev(targets[0])})}
		}
		return false, nil
	})
	switch {
	case done:
		return nil
	case err != nil && !errors.Is(err, context.Canceled):
		return err
	}
	return &pendingError{policy: name, err: last}
}

// Clean removes what CleanPlan lists (Connect first), writing one line per action to w, and
// forgets the cloud-side results in the session so that a later run registers everything
// again (local files, keys included, stay).
func (s *Session) Clean(ctx context.Context, w io.Writer) error {
	unfinished, err := runClean(ctx, s, s.CleanPlan(), w)
	if err != nil {
		return err
	}
	// Forget the cloud results: registration, first connect, verify and use run again (and
	// the template step, to re-create a policy jitpwiz had created). Keys and files stay.
	for key := range s.Finished {
		switch ID(strings.SplitN(key, "@", 2)[0]) {
		case IDRegisterCA, IDFirstConnect, IDActivate, IDVerify, IDUse:
			delete(s.Finished, key)
		case IDTemplate:
			if s.Template.PolicyCreated {
				delete(s.Finished, key)
			}
		}
	}
	for _, d := range s.Devices {
		d.FirstConnect, d.Activation, d.Verify, d.Policies, d.Use, d.ProvisionedThing = nil, nil, nil, nil, nil, ""
		d.Cleaned = d.CertID != ""
		d.EarlierCerts = nil
	}
	s.CA.RegisteredID, s.CA.RegisteredARN, s.CA.Reused, s.CA.EarlierRegisteredIDs = "", "", false, nil
	s.CleanedAt = s.Now().UTC()
	s.Template.PolicyCreated = false
	s.Activation = ActivationRes{}
	if err := s.Save(); err != nil {
		return err
	}
	return unfinished
}

// NothingToClean says why clean has nothing to do (CleanPlan is empty): an earlier clean
// removed everything, or the workspace never registered anything.
func (s *Session) NothingToClean() string {
	if !s.CleanedAt.IsZero() {
		return i18n.T("clean.nothing.cleaned", i18n.Args{"When": s.CleanedAt.Local().Format("2006-01-02 15:04"), "Target": s.Options.Target})
	}
	return i18n.T("clean.nothing.never", i18n.Args{"Target": s.Options.Target})
}

// RunClean runs actions (FleetCleanPlan's) as Clean runs its plan (Connect first), one line
// each to w, without forgetting the workspace's own results; a policy AWS does not let it
// delete yet is recorded for the next clean, as Clean does.
func RunClean(ctx context.Context, s *Session, actions []CleanAction, w io.Writer) error {
	unfinished, err := runClean(ctx, s, actions, w)
	if err != nil {
		return err
	}
	if err := s.Save(); err != nil {
		return err
	}
	return unfinished
}

// runClean runs actions in order, one line each to w: ✓ done, • kept (still used by what the
// workspace did not make), ✗ failed. A policy AWS refuses to delete yet does not stop it: it
// is recorded in PendingPolicyDeletes (saved by the caller) and returned as unfinished; any
// other failure stops it (err), keeping what is pending.
func runClean(ctx context.Context, s *Session, actions []CleanAction, w io.Writer) (unfinished, err error) {
	c, err := s.requireClient()
	if err != nil {
		return nil, err
	}
	wait := s.Options.CleanWait
	if wait == 0 {
		wait = DefaultCleanWait
	}
	actx := context.WithValue(ctx, cleanEnvKey{}, cleanEnv{wait: max(wait, 0), say: func(m string) { fmt.Fprintf(w, "    %s\n", m) }})
	var pending []string
	var pendingErrs []error
	for _, a := range actions {
		// Ctrl+C while clean waits for a policy leaves it pending: the rest still runs.
		if err := checkContext(ctx); err != nil && len(pending) == 0 {
			return nil, err
		}
		err := a.Do(actx, c)
		pe, kept, soft := softCleanErrors(err)
		switch {
		case err == nil:
			fmt.Fprintf(w, "✓ %s\n", a.What)
		case errors.Is(err, errNothingMore):
		case soft && len(pe) == 0 && kept:
			fmt.Fprintf(w, "• %s: %s\n", a.What, err)
		case soft:
			fmt.Fprintf(w, "✗ %s: %v\n", a.What, err)
			for _, e := range pe {
				pending = append(pending, e.policy)
				pendingErrs = append(pendingErrs, e)
			}
		default:
			fmt.Fprintf(w, "✗ %s: %v\n", a.What, err)
			if len(pending) > 0 {
				// Those recorded before and not reached yet stay recorded too.
				s.PendingPolicyDeletes = sortedKeys(setOf(append(pending, s.PendingPolicyDeletes...)))
				_ = s.Save()
			}
			return nil, fmt.Errorf("%s: %w", a.What, err)
		}
	}
	s.PendingPolicyDeletes = pending
	if len(pendingErrs) > 0 {
		return i18n.WrapError(errors.Join(pendingErrs...), "clean.unfinished"), nil
	}
	return nil, nil
}

// softCleanErrors sorts an action's error (one, or several joined) into the outcomes that do
// not stop the clean: policies pending, and things kept. soft is false when any part is
// another failure.
func softCleanErrors(err error) (pending []*pendingError, kept, soft bool) {
	if err == nil {
		return nil, false, false
	}
	parts := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts = j.Unwrap()
	}
	for _, e := range parts {
		var pe *pendingError
		var ke *keptError
		switch {
		case errors.As(e, &pe):
			pending = append(pending, pe)
		case errors.As(e, &ke):
			kept = true
		default:
			return nil, false, false
		}
	}
	return pending, kept, true
}

func setOf(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// FleetCleanPlan lists what `clean --fleet ID` removes: the fleet's devices (ID "all":
// every fleet's), then the policies JITP attached to them, one action each, unless something
// else still holds them (and the policies an earlier clean left pending). The workspace's
// own devices and its CA stay.
func FleetCleanPlan(s *Session, id string) ([]CleanAction, error) {
	fcs, err := fleetCleanups(s, id)
	if err != nil || len(fcs) == 0 {
		return nil, err
	}
	ours := setOf(s.PendingPolicyDeletes)
	out := fleetActions(fcs, ours, keptPolicies(s))
	names := sortedKeys(ours)
	// The policies the devices hold that the fleets had not recorded are found while they
	// are removed: the last fleet's removal deletes them, once no device of the plan holds
	// them any more.
	last := &out[len(out)-1]
	last.What += i18n.T("clean.fleet-found")
	do := last.Do
	last.Do = func(ctx context.Context, c aws.Client) error {
		if err := do(ctx, c); err != nil {
			return err
		}
		if err := deleteFound(ctx, c, ours, names); !errors.Is(err, errNothingMore) {
			return err
		}
		return nil
	}
	return append(out, policyDeletes(names)...), nil
}

// fleetActions are the removals of fleets as clean actions; the policies they recorded, and
// those they detach, go to ours, unless keep says they are not the workspace's to delete.
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
		out = append(out, CleanAction{What: fc.what, Do: func(ctx context.Context, c aws.Client) error {
			return run(ctx, c, func(p string) {
				if !keep(p) {
					ours[p] = true
				}
			})
		}})
	}
	return out
}
