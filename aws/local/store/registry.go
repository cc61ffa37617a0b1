package store

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Thing types, static thing groups and billing groups of the registry, and the
// memberships of things in groups. A JITP template may name them; they must exist
// (the provisioning role's managed policy, AWSIoTThingsRegistration, may describe and join
// them but not create them).

// Limits on groups (developer guide, thing-groups.html: "You can add a thing to a maximum
// of 10 groups. But you can't add a thing to more than one group in the same hierarchy").
// The hierarchy depth of 7 is the emulator's reading of the documented "maximum depth of a
// group hierarchy is limited" [U].
const (
	MaxGroupsPerThing = 10
	MaxGroupDepth     = 7
)

// DefaultThingTypeDeleteWait is how long a thing type must be deprecated before it can be
// deleted: "Before you can delete a thing type, wait for five minutes after you deprecate
// it" (delete-thing-types.md).
const DefaultThingTypeDeleteWait = 5 * time.Minute

// ThingType is a thing type (CreateThingType).
type ThingType struct {
	Name                 string    `json:"name"`
	ID                   string    `json:"id"`
	ARN                  string    `json:"arn"` // arn:aws:iot:<region>:<acct>:thingtype/<name>
	Description          string    `json:"description,omitempty"`
	SearchableAttributes []string  `json:"searchableAttributes,omitempty"`
	Deprecated           bool      `json:"deprecated"`
	DeprecationDate      time.Time `json:"deprecationDate,omitzero"`
	Tags                 []Tag     `json:"tags,omitempty"`
	Created              time.Time `json:"created"`
}

// ThingGroup is a static thing group (CreateThingGroup).
type ThingGroup struct {
	Name        string            `json:"name"`
	ID          string            `json:"id"`
	ARN         string            `json:"arn"` // arn:aws:iot:<region>:<acct>:thinggroup/<name>
	Parent      string            `json:"parent,omitempty"`
	Description string            `json:"description,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Version     int64             `json:"version"`
	Tags        []Tag             `json:"tags,omitempty"`
	Created     time.Time         `json:"created"`
}

// GroupMember is a thing's membership of a thing group (AddThingToThingGroup).
type GroupMember struct {
	Group string `json:"group"`
	Thing string `json:"thing"`
}

// BillingGroup is a billing group (CreateBillingGroup); a thing's billing group is
// Thing.BillingGroup.
type BillingGroup struct {
	Name        string    `json:"name"`
	ID          string    `json:"id"`
	ARN         string    `json:"arn"` // arn:aws:iot:<region>:<acct>:billinggroup/<name>
	Description string    `json:"description,omitempty"`
	Version     int64     `json:"version"`
	Tags        []Tag     `json:"tags,omitempty"`
	Created     time.Time `json:"created"`
}

var (
	kindThingTypes = &kind[ThingType]{
		bucket: []byte("thing-types"),
		key:    func(t *ThingType) []byte { return []byte(t.Name) },
	}
	kindThingGroups = &kind[ThingGroup]{
		bucket: []byte("thing-groups"),
		key:    func(g *ThingGroup) []byte { return []byte(g.Name) },
		indexes: []index[ThingGroup]{
			{bucket: []byte("thing-groups.by-parent"), keys: func(g *ThingGroup) [][]byte { return some(g.Parent) }},
		},
	}
	kindGroupMembers = &kind[GroupMember]{
		bucket: []byte("thing-group-members"), // group 0x00 thing
		key:    func(m *GroupMember) []byte { return join([]byte(m.Group), []byte(m.Thing)) },
		indexes: []index[GroupMember]{
			{bucket: []byte("thing-group-members.by-thing"), keys: func(m *GroupMember) [][]byte { return one([]byte(m.Thing)) }},
		},
	}
	kindBillingGroups = &kind[BillingGroup]{
		bucket: []byte("billing-groups"),
		key:    func(g *BillingGroup) []byte { return []byte(g.Name) },
	}
)

func validRegistryName(member, name string) error {
	if !thingNameRE.MatchString(name) {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+ and have length between 1 and 128", name, member)
	}
	return nil
}

// ---- thing types ----

// CreateThingTypeInput is CreateThingType's input.
type CreateThingTypeInput struct {
	Name, Description    string
	SearchableAttributes []string
	Tags                 []Tag
}

// CreateThingType creates a thing type. Creating it again with the same configuration
// returns it; with another, ResourceAlreadyExistsException (model, CreateThingType).
func (st *State) CreateThingType(in CreateThingTypeInput) (*ThingType, error) {
	if err := validRegistryName("thingTypeName", in.Name); err != nil {
		return nil, err
	}
	if len(in.SearchableAttributes) > 3 {
		return nil, Errorf(CodeInvalidRequest, "A thing type can have at most 3 searchable attributes, not %d", len(in.SearchableAttributes))
	}
	if t := st.LookupThingType(in.Name); t != nil {
		if t.Description == in.Description && slices.Equal(t.SearchableAttributes, in.SearchableAttributes) {
			return t, nil
		}
		return nil, AlreadyExists(t.ID, t.ARN, "Thing type %s already exists in account with different properties", in.Name)
	}
	t := &ThingType{Name: in.Name, ID: st.NewUUID(), ARN: st.iotARN("thingtype", in.Name), Description: in.Description,
		SearchableAttributes: slices.Clone(in.SearchableAttributes), Tags: slices.Clone(in.Tags), Created: st.Now()}
	insert(st, kindThingTypes, t)
	return t, nil
}

// LookupThingType returns the thing type, or nil.
func (st *State) LookupThingType(name string) *ThingType {
	return get(st, kindThingTypes, []byte(name))
}

// ThingType returns the thing type, or ResourceNotFoundException.
func (st *State) ThingType(name string) (*ThingType, error) {
	if t := st.LookupThingType(name); t != nil {
		return t, nil
	}
	return nil, Errorf(CodeResourceNotFound, "Thing type %s does not exist", name)
}

// CheckThingTypeUsable checks that a thing may be given this type ("" is no type): it exists
// and is not deprecated. The message is AWS's as moto reproduces it, typo included [C].
func (st *State) CheckThingTypeUsable(name string) error {
	if name == "" {
		return nil
	}
	t, err := st.ThingType(name)
	if err != nil {
		return err
	}
	if t.Deprecated {
		return Errorf(CodeInvalidRequest, "Can not create new thing with depreated thing type:%s", name)
	}
	return nil
}

// DeprecateThingType deprecates a thing type (undo: makes it usable again). Things that
// have the type keep it (deprecate-thing-type.md).
func (st *State) DeprecateThingType(name string, undo bool) error {
	t, err := st.ThingType(name)
	if err != nil {
		return err
	}
	switch {
	case undo:
		t.Deprecated, t.DeprecationDate = false, time.Time{}
	case !t.Deprecated:
		t.Deprecated, t.DeprecationDate = true, st.Now()
	}
	return nil
}

// DeleteThingType deletes a thing type that has been deprecated for the wait AWS
// documents (Options.ThingTypeDeleteWait) and that no thing has (model: "You cannot
// delete a thing type if it has things associated with it"). The messages are the
// emulator's [U].
func (st *State) DeleteThingType(name string) error {
	t, err := st.ThingType(name)
	if err != nil {
		return err
	}
	if !t.Deprecated {
		return Errorf(CodeInvalidRequest, "Thing type %s must be deprecated before it can be deleted (deprecate-thing-type, then wait five minutes)", name)
	}
	wait := st.s.opts.ThingTypeDeleteWait
	if wait == 0 {
		wait = DefaultThingTypeDeleteWait
	}
	if left := t.DeprecationDate.Add(wait).Sub(st.Now()); left > 0 {
		return Errorf(CodeInvalidRequest, "Thing type %s was deprecated %s ago; it can be deleted %s after its deprecation (in %s)", name,
			st.Now().Sub(t.DeprecationDate).Round(time.Second), wait, left.Round(time.Second))
	}
	var thing string
	scan(st, kindThings, &kindThings.indexes[0], join([]byte(name), nil), nil, false, func(_ []byte, th *Thing) bool {
		thing = th.Name
		return false
	})
	if thing != "" {
		return Errorf(CodeInvalidRequest, "Thing type %s cannot be deleted while things have it (thing %s, among others); change their type with update-thing first", name, thing)
	}
	remove(st, kindThingTypes, []byte(name))
	return nil
}

// ListThingTypes pages the thing types by name; a non-empty name keeps only that one.
func (st *State) ListThingTypes(name string, p Page) ([]*ThingType, []byte, error) {
	var keep func(*ThingType) bool
	if name != "" {
		keep = func(t *ThingType) bool { return t.Name == name }
	}
	return page(st, kindThingTypes, nil, nil, p, keep)
}

// ---- thing groups ----

// CreateThingGroupInput is CreateThingGroup's input.
type CreateThingGroupInput struct {
	Name, Parent, Description string
	Attributes                map[string]string
	Tags                      []Tag
}

// CreateThingGroup creates a static thing group. The same name with the same properties
// returns the group (model: "a 200 success response"); with others it is
// ResourceAlreadyExistsException (wording as moto reproduces AWS's [C]).
func (st *State) CreateThingGroup(in CreateThingGroupInput) (*ThingGroup, error) {
	if err := validRegistryName("thingGroupName", in.Name); err != nil {
		return nil, err
	}
	if g := st.LookupThingGroup(in.Name); g != nil {
		if g.Parent == in.Parent && g.Description == in.Description && maps.Equal(g.Attributes, in.Attributes) {
			return g, nil
		}
		return nil, AlreadyExists(g.ID, g.ARN, "Thing Group %s already exists in current account with different properties", in.Name)
	}
	if in.Parent != "" {
		if err := validRegistryName("parentGroupName", in.Parent); err != nil {
			return nil, err
		}
		parent := st.LookupThingGroup(in.Parent)
		if parent == nil {
			return nil, Errorf(CodeInvalidRequest, "The parent thing group %s does not exist", in.Parent)
		}
		if d := len(st.groupAncestors(parent)) + 2; d > MaxGroupDepth {
			return nil, Errorf(CodeInvalidRequest, "Thing group %s would be at depth %d; a thing group hierarchy may be at most %d deep", in.Name, d, MaxGroupDepth)
		}
	}
	g := &ThingGroup{Name: in.Name, ID: st.NewUUID(), ARN: st.iotARN("thinggroup", in.Name), Parent: in.Parent,
		Description: in.Description, Attributes: maps.Clone(in.Attributes), Version: 1, Tags: slices.Clone(in.Tags), Created: st.Now()}
	insert(st, kindThingGroups, g)
	return g, nil
}

// LookupThingGroup returns the thing group, or nil.
func (st *State) LookupThingGroup(name string) *ThingGroup {
	return get(st, kindThingGroups, []byte(name))
}

// ThingGroup returns the thing group, or ResourceNotFoundException.
func (st *State) ThingGroup(name string) (*ThingGroup, error) {
	if g := st.LookupThingGroup(name); g != nil {
		return g, nil
	}
	return nil, Errorf(CodeResourceNotFound, "Thing group %s does not exist", name)
}

// ThingGroupByARN returns the thing group with this ARN (of this account and region).
func (st *State) ThingGroupByARN(arn string) (*ThingGroup, error) {
	name, ok := strings.CutPrefix(arn, st.iotARN("thinggroup", ""))
	if !ok || name == "" {
		return nil, Errorf(CodeInvalidRequest, "%s is not a thing group ARN of this account and region (%s<name>)", arn, st.iotARN("thinggroup", ""))
	}
	return st.ThingGroup(name)
}

// groupAncestors returns the ancestors of g, root first.
func (st *State) groupAncestors(g *ThingGroup) []*ThingGroup {
	var out []*ThingGroup
	for p := g.Parent; p != "" && len(out) <= MaxGroupDepth; {
		pg := st.LookupThingGroup(p)
		if pg == nil {
			break
		}
		out = append([]*ThingGroup{pg}, out...)
		p = pg.Parent
	}
	return out
}

// GroupRoot is the root of g's hierarchy (g itself when it has no parent).
func (st *State) groupRoot(g *ThingGroup) string {
	if a := st.groupAncestors(g); len(a) > 0 {
		return a[0].Name
	}
	return g.Name
}

// GroupAncestors returns the names of g's ancestors, root first (rootToParentThingGroups).
func (st *State) GroupAncestors(g *ThingGroup) []*ThingGroup { return st.groupAncestors(g) }

// ChildGroups returns the names of the direct children of a group, in name order.
func (st *State) ChildGroups(name string) []string {
	var out []string
	scan(st, kindThingGroups, &kindThingGroups.indexes[0], join([]byte(name), nil), nil, false, func(_ []byte, g *ThingGroup) bool {
		out = append(out, g.Name)
		return true
	})
	return out
}

// descendants returns the names of every group below name, in no particular order.
func (st *State) descendants(name string) []string {
	var out []string
	queue := []string{name}
	for len(queue) > 0 && len(out) < 100000 {
		kids := st.ChildGroups(queue[0])
		queue = append(queue[1:], kids...)
		out = append(out, kids...)
	}
	return out
}

// DeleteThingGroup deletes a thing group and its memberships. An absent group is success
// (the model lists no ResourceNotFoundException for it); a group with child groups is
// refused (wording as moto reproduces AWS's [C]); expectedVersion, if given, must match.
func (st *State) DeleteThingGroup(name string, expectedVersion *int64) error {
	g := st.LookupThingGroup(name)
	if g == nil {
		return nil
	}
	if expectedVersion != nil && *expectedVersion != g.Version {
		return Errorf(CodeVersionConflict, "The version for thing group %s does not match the expected version.", name)
	}
	if len(st.ChildGroups(name)) > 0 {
		return Errorf(CodeInvalidRequest, "Cannot delete thing group : %s when there are still child groups attached to it", name)
	}
	for _, thing := range st.groupThings(name) {
		remove(st, kindGroupMembers, join([]byte(name), []byte(thing)))
	}
	remove(st, kindThingGroups, []byte(name))
	return nil
}

func (st *State) groupThings(group string) []string {
	var out []string
	scan(st, kindGroupMembers, nil, join([]byte(group), nil), nil, false, func(_ []byte, m *GroupMember) bool {
		out = append(out, m.Thing)
		return true
	})
	return out
}

// GroupsOfThing returns the names of the groups a thing is in, in name order.
func (st *State) GroupsOfThing(thing string) []string {
	var out []string
	scan(st, kindGroupMembers, &kindGroupMembers.indexes[0], join([]byte(thing), nil), nil, false, func(_ []byte, m *GroupMember) bool {
		out = append(out, m.Group)
		return true
	})
	return out
}

// AddThingToThingGroup adds a thing to a group (again: nothing). A thing is in at most
// MaxGroupsPerThing groups, and in at most one group of a hierarchy.
func (st *State) AddThingToThingGroup(group, thing string) error {
	g, err := st.ThingGroup(group)
	if err != nil {
		return err
	}
	if _, err := st.Thing(thing); err != nil {
		return err
	}
	if get(st, kindGroupMembers, join([]byte(group), []byte(thing))) != nil {
		return nil
	}
	groups := st.GroupsOfThing(thing)
	if len(groups) >= MaxGroupsPerThing {
		return Errorf(CodeInvalidRequest, "Thing %s is already in %d thing groups; a thing can be in at most %d", thing, len(groups), MaxGroupsPerThing)
	}
	root := st.groupRoot(g)
	for _, other := range groups {
		if og := st.LookupThingGroup(other); og != nil && st.groupRoot(og) == root {
			return Errorf(CodeInvalidRequest, "Thing %s is already in thing group %s of the same hierarchy (root %s) as %s; a thing can be in only one group of a hierarchy", thing, other, root, group)
		}
	}
	insert(st, kindGroupMembers, &GroupMember{Group: group, Thing: thing})
	return nil
}

// RemoveThingFromThingGroup removes a thing from a group (not a member: nothing).
func (st *State) RemoveThingFromThingGroup(group, thing string) error {
	if _, err := st.ThingGroup(group); err != nil {
		return err
	}
	if _, err := st.Thing(thing); err != nil {
		return err
	}
	remove(st, kindGroupMembers, join([]byte(group), []byte(thing)))
	return nil
}

func (st *State) removeThingFromAllGroups(thing string) {
	for _, g := range st.GroupsOfThing(thing) {
		remove(st, kindGroupMembers, join([]byte(g), []byte(thing)))
	}
}

// ListThingGroups pages the thing groups by name. With parent, only its children (all
// its descendants if recursive); without, every group, or only root groups when
// recursive is false. prefix keeps names that start with it.
func (st *State) ListThingGroups(parent, prefix string, recursive *bool, p Page) ([]*ThingGroup, []byte, error) {
	var in map[string]bool
	if parent != "" {
		if _, err := st.ThingGroup(parent); err != nil {
			return nil, nil, err
		}
		in = map[string]bool{}
		names := st.ChildGroups(parent)
		if recursive != nil && *recursive {
			names = st.descendants(parent)
		}
		for _, n := range names {
			in[n] = true
		}
	}
	rootsOnly := parent == "" && recursive != nil && !*recursive
	return page(st, kindThingGroups, nil, nil, p, func(g *ThingGroup) bool {
		return strings.HasPrefix(g.Name, prefix) && (in == nil || in[g.Name]) && (!rootsOnly || g.Parent == "")
	})
}

// ListGroupsOfThing pages the groups a thing is in, by group name.
func (st *State) ListGroupsOfThing(thing string, p Page) ([]string, []byte, error) {
	if _, err := st.Thing(thing); err != nil {
		return nil, nil, err
	}
	recs, next, err := page(st, kindGroupMembers, &kindGroupMembers.indexes[0], join([]byte(thing), nil), p, nil)
	return mapTo(recs, func(m *GroupMember) string { return m.Group }), next, err
}

// ThingsInGroup returns the things of a group (and of its descendants if recursive), in
// name order.
func (st *State) ThingsInGroup(group string, recursive bool) ([]string, error) {
	if _, err := st.ThingGroup(group); err != nil {
		return nil, err
	}
	groups := []string{group}
	if recursive {
		groups = append(groups, st.descendants(group)...)
	}
	seen := map[string]bool{}
	var out []string
	for _, g := range groups {
		for _, t := range st.groupThings(g) {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ---- billing groups ----

// CreateBillingGroup creates a billing group (an existing name is ResourceAlreadyExists).
func (st *State) CreateBillingGroup(name, description string, tags []Tag) (*BillingGroup, error) {
	if err := validRegistryName("billingGroupName", name); err != nil {
		return nil, err
	}
	if g := st.LookupBillingGroup(name); g != nil {
		if g.Description == description {
			return g, nil
		}
		return nil, AlreadyExists(g.ID, g.ARN, "Billing group %s already exists.", name)
	}
	g := &BillingGroup{Name: name, ID: st.NewUUID(), ARN: st.iotARN("billinggroup", name), Description: description,
		Version: 1, Tags: slices.Clone(tags), Created: st.Now()}
	insert(st, kindBillingGroups, g)
	return g, nil
}

// LookupBillingGroup returns the billing group, or nil.
func (st *State) LookupBillingGroup(name string) *BillingGroup {
	return get(st, kindBillingGroups, []byte(name))
}

// BillingGroup returns the billing group, or ResourceNotFoundException.
func (st *State) BillingGroup(name string) (*BillingGroup, error) {
	if g := st.LookupBillingGroup(name); g != nil {
		return g, nil
	}
	return nil, Errorf(CodeResourceNotFound, "Billing group %s does not exist", name)
}

// DeleteBillingGroup deletes a billing group; its things leave it. An absent group is
// success (the model lists no ResourceNotFoundException for it).
func (st *State) DeleteBillingGroup(name string, expectedVersion *int64) error {
	g := st.LookupBillingGroup(name)
	if g == nil {
		return nil
	}
	if expectedVersion != nil && *expectedVersion != g.Version {
		return Errorf(CodeVersionConflict, "The version for billing group %s does not match the expected version.", name)
	}
	for _, t := range st.billingGroupThings(name) {
		t.BillingGroup = ""
		t.Version++
	}
	remove(st, kindBillingGroups, []byte(name))
	return nil
}

func (st *State) billingGroupThings(name string) []*Thing {
	var out []*Thing
	scan(st, kindThings, &kindThings.indexes[1], join([]byte(name), nil), nil, false, func(_ []byte, t *Thing) bool {
		out = append(out, t)
		return true
	})
	return out
}

// AddThingToBillingGroup puts a thing in a billing group; a thing is in one billing group
// at most, so one it was in before is left [U: AWS may refuse instead].
func (st *State) AddThingToBillingGroup(group, thing string) error {
	if _, err := st.BillingGroup(group); err != nil {
		return err
	}
	t, err := st.Thing(thing)
	if err != nil {
		return err
	}
	if t.BillingGroup != group {
		t.BillingGroup = group
		t.Version++
	}
	return nil
}

// RemoveThingFromBillingGroup takes a thing out of a billing group (not in it: nothing).
func (st *State) RemoveThingFromBillingGroup(group, thing string) error {
	if _, err := st.BillingGroup(group); err != nil {
		return err
	}
	t, err := st.Thing(thing)
	if err != nil {
		return err
	}
	if t.BillingGroup == group {
		t.BillingGroup = ""
		t.Version++
	}
	return nil
}

// ListBillingGroups pages the billing groups by name, keeping those starting with prefix.
func (st *State) ListBillingGroups(prefix string, p Page) ([]*BillingGroup, []byte, error) {
	return page(st, kindBillingGroups, nil, nil, p, func(g *BillingGroup) bool { return strings.HasPrefix(g.Name, prefix) })
}

// ListThingsInBillingGroup pages the things of a billing group by name.
func (st *State) ListThingsInBillingGroup(group string, p Page) ([]string, []byte, error) {
	if _, err := st.BillingGroup(group); err != nil {
		return nil, nil, err
	}
	recs, next, err := page(st, kindThings, &kindThings.indexes[1], join([]byte(group), nil), p, nil)
	return mapTo(recs, func(t *Thing) string { return t.Name }), next, err
}

// ThingByARN returns the thing with this ARN (of this account and region).
func (st *State) ThingByARN(arn string) (*Thing, error) {
	name, ok := strings.CutPrefix(arn, st.iotARN("thing", ""))
	if !ok || name == "" {
		return nil, Errorf(CodeInvalidRequest, "%s is not a thing ARN of this account and region (%s<name>)", arn, st.iotARN("thing", ""))
	}
	return st.Thing(name)
}

// CreateThingWithBillingGroup creates a thing (CreateThing) in a billing group, which must
// exist. An existing thing with the same type and attributes but another billing group is
// ResourceAlreadyExistsException, like one with other attributes.
func (st *State) CreateThingWithBillingGroup(name, typeName string, attrs map[string]string, billingGroup string) (*Thing, error) {
	if billingGroup != "" {
		if _, err := st.BillingGroup(billingGroup); err != nil {
			return nil, err
		}
	}
	existed := st.LookupThing(name) != nil
	t, err := st.CreateThing(name, typeName, attrs)
	if err != nil {
		return nil, err
	}
	switch {
	case t.BillingGroup == billingGroup:
	case existed:
		return nil, AlreadyExists(t.ID, t.ARN, "Thing %s already exists in account with different attributes", name)
	default:
		t.BillingGroup = billingGroup
	}
	return t, nil
}

// IoTARN is the ARN of an IoT resource of this account and region, e.g.
// IoTARN("thinggroup", "g") = arn:aws:iot:<region>:<account>:thinggroup/g.
func (st *State) IoTARN(kind, name string) string { return st.iotARN(kind, name) }
