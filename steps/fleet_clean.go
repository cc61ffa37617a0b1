package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// How `clean` removes a fleet: for each device, in the order clean removes a device
// (policies detached → certificate INACTIVE → certificate detached from the thing, waited
// for as clean waits for its own device → certificate deleted → thing deleted), several
// devices at a time on the local target and under the AWS quotas on aws. What is already
// gone is skipped, so it is idempotent; each device removed is appended to cleaned.jsonl, so
// a clean that was killed goes on where it stopped. The policies JITP attached are reported
// to clean, which deletes them after every device (with the template's other policies, one
// action each). Progress goes through the clean's context (cleanSay), as every clean
// action's does.

// fleetCleanup is the removal of one fleet: one line of clean's list, run device by device.
type fleetCleanup struct {
	what     string
	policies []string // the policies the fleet recorded (more are found while it runs)
	err      error    // the fleet's records cannot be read
	// run removes the fleet's devices, reporting every policy it detaches to policy.
	run func(ctx context.Context, c aws.Client, policy func(name string)) error
}

// Removal rates: devices removed at once, and per second on AWS. One device is five to
// six control-plane calls; UpdateCertificate and DeleteCertificate allow 10 per second
// (FleetAWSQuotas' source), so 8 devices a second stay under them.
const (
	fleetCleanWorkersLocal = 8
	fleetCleanWorkersAWS   = 4
	fleetCleanRateAWS      = 8.0
)

// fleetCleanups lists the removal of the workspace's fleets that are not removed yet
// (id "" or "all": every one; otherwise the fleet with that ID).
func fleetCleanups(s *Session, id string) ([]fleetCleanup, error) {
	all := fleets(s)
	if id != "" && id != "all" {
		var ids []string
		var pick []*fleetRecord
		for _, r := range all {
			ids = append(ids, r.manifest.ID)
			if r.manifest.ID == id {
				pick = append(pick, r)
			}
		}
		if len(pick) == 0 {
			if len(ids) == 0 {
				return nil, i18n.NewError("fleet.clean.none", i18n.Args{"ID": id})
			}
			return nil, i18n.NewError("fleet.clean.unknown", i18n.Args{"ID": id, "Fleets": strings.Join(ids, ", ")})
		}
		all = pick
	}
	var out []fleetCleanup
	for _, r := range all {
		if r.manifest.Cleaned {
			continue
		}
		out = append(out, fleetCleanupOf(s, r))
	}
	return out, nil
}

func fleetCleanupOf(s *Session, r *fleetRecord) fleetCleanup {
	id := r.manifest.ID
	devs, err := r.devices()
	if err != nil {
		return fleetCleanup{what: i18n.T("fleet.clean.remove", i18n.Args{"ID": id}), err: i18n.WrapError(err, "fleet.clean.unreadable", i18n.Args{"ID": id, "File": fleetJournalFile})}
	}
	done, err := r.cleaned()
	if err != nil {
		return fleetCleanup{what: i18n.T("fleet.clean.remove", i18n.Args{"ID": id}), err: i18n.WrapError(err, "fleet.clean.unreadable", i18n.Args{"ID": id, "File": fleetCleanedFile})}
	}
	var todo []fleetDevice
	for _, d := range devs {
		if !done[d.CertID] {
			todo = append(todo, d)
		}
	}
	m := r.manifest
	span := ""
	if len(devs) > 0 && m.Devices > 0 {
		span = fmt.Sprintf(m.Names, 1) + " … " + fmt.Sprintf(m.Names, m.Devices)
	}
	of := 0
	if len(devs) < m.Devices {
		of = m.Devices
	}
	what := i18n.N("fleet.clean.what", len(devs), i18n.Args{"ID": id, "Span": span, "Of": of, "Removed": len(devs) - len(todo)})
	return fleetCleanup{what: what, policies: r.manifest.Policies,
		run: func(ctx context.Context, c aws.Client, policy func(string)) error {
			if err := removeFleetDevices(ctx, s, r, todo, len(devs), c, policy); err != nil {
				return err
			}
			r.manifest.Cleaned = true
			return r.saveManifest()
		}}
}

// removeFleetDevices removes todo (of total) and records each one in cleaned.jsonl.
func removeFleetDevices(ctx context.Context, s *Session, r *fleetRecord, todo []fleetDevice, total int, c aws.Client, policy func(string)) error {
	if len(todo) == 0 {
		return nil
	}
	log, err := openAppendLog(r.path(fleetCleanedFile))
	if err != nil {
		return err
	}
	defer log.close()
	workers, limiter := fleetCleanWorkersLocal, NewRateLimiter(0, nil)
	if s.Options.Target == TargetAWS {
		workers, limiter = fleetCleanWorkersAWS, NewRateLimiter(fleetCleanRateAWS, nil)
	}
	// A failure stops the feeding of devices, not the devices under way: they finish and are
	// recorded, so that what was removed on the target is what cleaned.jsonl says (Ctrl+C,
	// which cancels ctx, stops them too).
	stop, halt := context.WithCancel(ctx)
	defer halt()
	var (
		mu       sync.Mutex
		pending  []any
		firstErr error
		removed  = total - len(todo)
		step     = max(100, total/10) // a line at every tenth, for fleets of 1,000 and more
		nextMark = (removed/step + 1) * step
		policies = map[string]bool{}
		waitSaid sync.Once
	)
	// Every device waits for its own asynchronous detach: the first wait is shown, the
	// others would be a line each for thousands of devices.
	dctx := withCleanSay(ctx, func(m string) {
		waitSaid.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			cleanSay(ctx, "%s", i18n.T("fleet.clean.waiting", i18n.Args{"Wait": m}))
		})
	})
	flush := func() error { // mu held
		if len(pending) == 0 {
			return nil
		}
		err := log.write(pending...)
		pending = pending[:0]
		return err
	}
	next := make(chan fleetDevice)
	var wg sync.WaitGroup
	for range min(workers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range next {
				if limiter.Wait(stop) != nil || stop.Err() != nil {
					continue // drain: the feeder stops at once
				}
				pols, err := removeFleetDevice(dctx, s, c, d)
				mu.Lock()
				for _, p := range pols {
					policies[p] = true
				}
				if err == nil {
					pending = append(pending, fleetDevice{Name: d.Name, CertID: d.CertID})
					removed++
					if len(pending) >= 64 {
						err = flush()
					}
					if removed >= nextMark && removed < total {
						cleanSay(ctx, "%s", i18n.T("fleet.clean.progress", i18n.Args{"Removed": removed, "Total": total, "ID": r.manifest.ID}))
						nextMark += step
					}
				}
				if err != nil && firstErr == nil {
					firstErr = err
					halt()
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, d := range todo {
		select {
		case next <- d:
		case <-stop.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(policies))
	for p := range policies {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		policy(p)
	}
	if err := flush(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr == nil {
		firstErr = checkContext(ctx)
	}
	return firstErr
}

// removeFleetDevice removes one device's certificate and thing, as clean removes the
// workspace's own device (waiting for the detach from the thing the same way), and returns
// the policies it detached.
func removeFleetDevice(ctx context.Context, s *Session, c aws.Client, d fleetDevice) ([]string, error) {
	arn := certARN(s, d.CertID)
	gone := ignoreNotFound
	fail := func(what string, err error) ([]string, error) {
		return nil, i18n.WrapError(err, "fleet.clean.device-failed", i18n.Args{"Name": d.Name, "What": what})
	}
	pols, err := c.ListAttachedPolicies(ctx, arn)
	if err := gone(err); err != nil {
		return fail(i18n.T("fleet.clean.list-policies"), err)
	}
	var names []string
	for _, p := range pols {
		names = append(names, p.Name)
		if err := gone(c.DetachPolicy(ctx, p.Name, arn)); err != nil {
			return fail(i18n.T("fleet.clean.detach-policy", i18n.Args{"Policy": p.Name}), err)
		}
	}
	if err := gone(c.UpdateCertificate(ctx, d.CertID, aws.StatusInactive)); err != nil {
		return fail(i18n.T("fleet.clean.deactivate", i18n.Args{"Cert": abbrev(d.CertID)}), err)
	}
	if d.Thing != "" {
		if err := gone(c.DetachThingPrincipal(ctx, d.Thing, arn)); err != nil {
			return fail(i18n.T("fleet.clean.detach-thing", i18n.Args{"Thing": d.Thing}), err)
		}
		// DetachThingPrincipal is asynchronous: the certificate and the thing cannot be
		// deleted before it has taken effect.
		if err := waitDetached(ctx, c, d.Thing, arn, d.CertID); err != nil {
			return fail(i18n.T("fleet.clean.detach-thing", i18n.Args{"Thing": d.Thing}), err)
		}
	}
	if err := gone(c.DeleteCertificate(ctx, d.CertID, true)); err != nil {
		return fail(i18n.T("fleet.clean.delete-cert", i18n.Args{"Cert": abbrev(d.CertID)}), err)
	}
	if d.Thing != "" {
		if err := gone(c.DeleteThing(ctx, d.Thing)); err != nil {
			return fail(i18n.T("fleet.clean.delete-thing", i18n.Args{"Thing": d.Thing}), err)
		}
	}
	return names, nil
}
