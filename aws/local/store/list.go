package store

import "bytes"

// Page asks for one page of an ordered list: up to Limit items after the key After
// (exclusive; nil for the first page), in ascending or descending order. A list
// returns the items and the key to pass as After for the next page, nil when there are
// no more. Keys are the database's; the control plane wraps them in opaque markers.
// Every list reads its index from the position After on: no list is sorted per page.
type Page struct {
	After []byte
	Limit int
	Desc  bool
}

// ErrBadMarker is returned by a list whose After key does not belong to it (a marker
// from another list, or one a client made up).
var ErrBadMarker = Errorf(CodeInvalidRequest, "the pagination marker is not one this list returned")

func page[T any](st *State, k *kind[T], ix *index[T], prefix []byte, p Page, keep func(*T) bool) ([]*T, []byte, error) {
	if p.After != nil && !bytes.HasPrefix(p.After, prefix) {
		return nil, nil, ErrBadMarker
	}
	if p.Limit < 1 {
		p.Limit = 1
	}
	var (
		out        []*T
		last, next []byte
	)
	scan(st, k, ix, prefix, p.After, p.Desc, func(key []byte, rec *T) bool {
		if keep != nil && !keep(rec) {
			return true
		}
		if len(out) == p.Limit {
			next = last // there is at least one more
			return false
		}
		out = append(out, rec)
		last = key
		return true
	})
	return out, next, st.err
}

// ListThings pages the things by name, keeping those keep accepts (nil: all).
func (st *State) ListThings(p Page, keep func(*Thing) bool) ([]*Thing, []byte, error) {
	return page(st, kindThings, nil, nil, p, keep)
}

// ListPolicies pages the policies by name.
func (st *State) ListPolicies(p Page) ([]*Policy, []byte, error) {
	return page(st, kindPolicies, nil, nil, p, nil)
}

// ListCAs pages the CA certificates by creation time (then ID), keeping those keep accepts.
func (st *State) ListCAs(p Page, keep func(*CA) bool) ([]*CA, []byte, error) {
	return page(st, kindCAs, &kindCAs.indexes[0], nil, p, keep)
}

// ListCertificates pages the device certificates by creation time (then ID).
func (st *State) ListCertificates(p Page) ([]*Certificate, []byte, error) {
	return page(st, kindCerts, &kindCerts.indexes[0], nil, p, nil)
}

// ListCertificatesByCA pages the device certificates issued by a CA by creation time.
func (st *State) ListCertificatesByCA(caID string, p Page) ([]*Certificate, []byte, error) {
	return page(st, kindCerts, &kindCerts.indexes[1], join([]byte(normalizeID(caID)), nil), p, nil)
}

// ListPrincipalsOfThing pages the principals attached to a thing, by ARN.
func (st *State) ListPrincipalsOfThing(thing string, p Page) ([]string, []byte, error) {
	recs, next, err := page(st, kindThingPrincipals, nil, join([]byte(thing), nil), p, st.inEffect())
	return mapTo(recs, func(a *ThingPrincipal) string { return a.Principal }), next, err
}

// ListThingsOfPrincipal pages the things a principal is attached to, by name.
func (st *State) ListThingsOfPrincipal(principal string, p Page) ([]string, []byte, error) {
	recs, next, err := page(st, kindThingPrincipals, &kindThingPrincipals.indexes[0], join([]byte(principal), nil), p, st.inEffect())
	return mapTo(recs, func(a *ThingPrincipal) string { return a.Thing }), next, err
}

// ListPoliciesOfTarget pages the policies attached to a target, by name.
func (st *State) ListPoliciesOfTarget(target string, p Page) ([]*Policy, []byte, error) {
	recs, next, err := page(st, kindPolicyTargets, nil, join([]byte(target), nil), p, nil)
	var out []*Policy
	for _, a := range recs {
		if pol := st.LookupPolicy(a.Policy); pol != nil {
			out = append(out, pol)
		}
	}
	return out, next, err
}

// ListTargetsOfPolicy pages the targets a policy is attached to, by target.
func (st *State) ListTargetsOfPolicy(policy string, p Page) ([]string, []byte, error) {
	recs, next, err := page(st, kindPolicyTargets, &kindPolicyTargets.indexes[0], join([]byte(policy), nil), p, nil)
	return mapTo(recs, func(a *PolicyAttachment) string { return a.Target }), next, err
}

// inEffect keeps the attachments whose detach (if any) has not taken effect yet.
func (st *State) inEffect() func(*ThingPrincipal) bool {
	now := st.Now()
	return func(tp *ThingPrincipal) bool { return tp.attached(now) }
}

func mapTo[T any, U any](in []*T, f func(*T) U) []U {
	out := make([]U, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}

// Counts of the records of each kind (tests, the migration's report).
func (st *State) CountCAs() int          { return count(st, kindCAs) }
func (st *State) CountCertificates() int { return count(st, kindCerts) }
func (st *State) CountThings() int       { return count(st, kindThings) }
func (st *State) CountPolicies() int     { return count(st, kindPolicies) }

// PutCA and PutRole store a record as given, replacing one with the same key, without
// the checks RegisterCACertificate and CreateRole apply (tests seed the state with them).
func (st *State) PutCA(c *CA) {
	if old := get(st, kindCAs, []byte(c.ID)); old != nil {
		remove(st, kindCAs, []byte(c.ID))
	}
	insert(st, kindCAs, c)
}

func (st *State) PutRole(r *Role) {
	if old := get(st, kindRoles, []byte(r.Name)); old != nil {
		remove(st, kindRoles, []byte(r.Name))
	}
	insert(st, kindRoles, r)
}

// CountThingPrincipals and CountPolicyTargets count the attachments of each kind.
func (st *State) CountThingPrincipals() int { return count(st, kindThingPrincipals) }
func (st *State) CountPolicyTargets() int   { return count(st, kindPolicyTargets) }
