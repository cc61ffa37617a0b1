package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// legacyState is state.json as jitpwiz wrote it before the database (format 1): the
// whole state in one JSON document, the event log beside it in events.jsonl.
type legacyState struct {
	Version          int                     `json:"version"`
	Account          string                  `json:"account"`
	Region           string                  `json:"region"`
	RegistrationCode string                  `json:"registrationCode,omitempty"`
	EndpointPrefix   string                  `json:"endpointPrefix"`
	CAs              map[string]*CA          `json:"cas"`
	Certificates     map[string]*Certificate `json:"certificates"`
	Things           map[string]*Thing       `json:"things"`
	Policies         map[string]*Policy      `json:"policies"`
	PolicyTargets    []PolicyAttachment      `json:"policyTargets"`
	ThingPrincipals  []ThingPrincipal        `json:"thingPrincipals"`
	Roles            map[string]*Role        `json:"roles"`

	events []Event
}

// readLegacy reads state.json and events.jsonl of dir; nil, nil when there is no state.json.
func (s *Store) readLegacy() (*legacyState, error) {
	path := filepath.Join(s.dir, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("local IoT state: cannot read %s to migrate it: %w", path, err)
	}
	var ls legacyState
	if err := json.Unmarshal(b, &ls); err != nil {
		return nil, fmt.Errorf("local IoT state %s is damaged (%v) — restore it from a backup, or remove it to start with an empty local IoT Core", path, err)
	}
	if ls.Version > legacyStateVersion {
		return nil, fmt.Errorf("local IoT state %s was written by a newer jitpwiz (format %d, this one reads %d) — upgrade jitpwiz or use another --dir", path, ls.Version, legacyStateVersion)
	}
	if s.opts.Account != "" && ls.Account != "" && s.opts.Account != ls.Account {
		return nil, fmt.Errorf("local IoT state %s belongs to account %s, not %s — use another --dir, or remove %s to start over", path, ls.Account, s.opts.Account, path)
	}
	if s.opts.Region != "" && ls.Region != "" && s.opts.Region != ls.Region {
		return nil, fmt.Errorf("local IoT state %s is for region %s, not %s — pass --region %s, use another --dir, or remove %s to start over", path, ls.Region, s.opts.Region, ls.Region, path)
	}
	// The event log: one JSON event per line; a torn last line (a crash mid-append) and
	// lines that do not decode are skipped, as the old reader did.
	evPath := filepath.Join(s.dir, EventsFile)
	eb, err := os.ReadFile(evPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("local IoT state: cannot read %s to migrate it: %w", evPath, err)
	}
	for _, line := range bytes.Split(eb, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev Event
		if json.Unmarshal(line, &ev) == nil && ev.Seq > 0 {
			ls.events = append(ls.events, ev)
		}
	}
	return &ls, nil
}

// load puts every object of the legacy state into st (a new database's first
// transaction) and returns the line that tells the user what happened.
func (ls *legacyState) load(st *State) string {
	st.RegistrationCode = ls.RegistrationCode
	st.EndpointPrefix = ls.EndpointPrefix
	for _, c := range ls.CAs {
		insert(st, kindCAs, c)
	}
	for _, c := range ls.Certificates {
		insert(st, kindCerts, c)
	}
	for _, t := range ls.Things {
		insert(st, kindThings, t)
	}
	for _, p := range ls.Policies {
		insert(st, kindPolicies, p)
	}
	for _, r := range ls.Roles {
		insert(st, kindRoles, r)
	}
	for i := range ls.ThingPrincipals {
		tp := ls.ThingPrincipals[i]
		if tp.Type == "" {
			tp.Type = NonExclusiveThing
		}
		insert(st, kindThingPrincipals, &tp)
	}
	for i := range ls.PolicyTargets {
		pt := ls.PolicyTargets[i]
		insert(st, kindPolicyTargets, &pt)
	}
	evs := ls.events
	if len(evs) > MaxEvents {
		evs = evs[len(evs)-MaxEvents:]
	}
	b := st.tx.Bucket(bucketEvents)
	for _, ev := range evs {
		v, err := json.Marshal(ev)
		if err == nil {
			err = b.Put(seqKey(ev.Seq), v)
		}
		if err != nil {
			st.fail(err)
		}
	}
	var parts []string
	for _, n := range []struct {
		n    int
		what string
	}{{len(ls.CAs), "CA certificate"}, {len(ls.Certificates), "device certificate"}, {len(ls.Things), "thing"},
		{len(ls.Policies), "policy"}, {len(ls.Roles), "role"}, {len(ls.ThingPrincipals) + len(ls.PolicyTargets), "attachment"},
		{len(evs), "event"}} {
		parts = append(parts, plural(n.n, n.what))
	}
	msg := fmt.Sprintf("migrated the local IoT Core state from %s (written by an earlier jitpwiz) to the database %s: %s; the old files are kept as %s%s and %s%s",
		StateFile, DBFile, strings.Join(parts, ", "), StateFile, MigratedSuffix, EventsFile, MigratedSuffix)
	st.AddEvent(Event{Kind: EventStateMigrated, Message: msg})
	return msg
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	switch {
	case strings.HasSuffix(what, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(what, "y"))
	}
	return fmt.Sprintf("%d %ss", n, what)
}
