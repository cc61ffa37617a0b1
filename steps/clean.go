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
}

// CleanPlan lists what the workspace created on the target, in the order it must be removed:
// for each device, policies detached → certificate INACTIVE → certificate detached from the
// thing → certificate deleted → thing deleted; then the template's policies deleted (only
// those JITP or jitpwiz created), then the CA INACTIVE → deleted. The provisioning role is
// kept (other CAs may use it) and local files are left alone. Each action is idempotent: what
// is already gone is skipped.
func (s *Session) CleanPlan() []CleanAction {
	var out []CleanAction
	// Policies to delete: those the template made (inline policies) and a named policy only
	// when jitpwiz created it. Filled from the records now and from the live attachments
	// while the detach actions run.
	ours := map[string]bool{}
	keep := func(p string) bool {
		return (p == s.Template.PolicyName && !s.Template.PolicyCreated) ||
			(p == s.Activation.PolicyName && !s.Activation.PolicyCreated) // JITR's, when it was there before
	}
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
	if len(out) > 0 || len(ours) > 0 {
		var names []string
		for p := range ours {
			names = append(names, abbrev(p))
		}
		sort.Strings(names)
		what := "delete the template's policies"
		if len(names) > 0 {
			what = "delete policy " + strings.Join(names, ", ")
		}
		out = append(out, CleanAction{What: what,
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
			}})
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
	c, err := s.requireClient()
	if err != nil {
		return err
	}
	for _, a := range s.CleanPlan() {
		if err := checkContext(ctx); err != nil {
			return err
		}
		if err := a.Do(ctx, c); err != nil {
			fmt.Fprintf(w, "✗ %s: %v\n", a.What, err)
			return fmt.Errorf("%s: %w", a.What, err)
		}
		fmt.Fprintf(w, "✓ %s\n", a.What)
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
	}
	s.CA.RegisteredID, s.CA.RegisteredARN, s.CA.Reused = "", "", false
	s.Template.PolicyCreated = false
	s.Activation = ActivationRes{}
	return s.Save()
}
