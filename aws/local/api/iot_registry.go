package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// Thing types, static thing groups and billing groups (botocore iot 2015-05-28), which a
// JITP template may name: the operations to create, describe, list and delete them, and
// the memberships a test or a script checks provisioning with.

// registryRoutes are the thing-type, thing-group and billing-group operations (iotRoutes
// adds them).
func registryRoutes() []route {
	return []route{
		newRoute("POST", "/thing-types/{}", "CreateThingType", (*Handler).createThingType),
		newRoute("GET", "/thing-types/{}", "DescribeThingType", (*Handler).describeThingType),
		newRoute("GET", "/thing-types", "ListThingTypes", (*Handler).listThingTypes),
		newRoute("POST", "/thing-types/{}/deprecate", "DeprecateThingType", (*Handler).deprecateThingType),
		newRoute("DELETE", "/thing-types/{}", "DeleteThingType", (*Handler).deleteThingType),

		newRoute("POST", "/thing-groups/{}", "CreateThingGroup", (*Handler).createThingGroup),
		newRoute("GET", "/thing-groups/{}", "DescribeThingGroup", (*Handler).describeThingGroup),
		newRoute("GET", "/thing-groups", "ListThingGroups", (*Handler).listThingGroups),
		newRoute("DELETE", "/thing-groups/{}", "DeleteThingGroup", (*Handler).deleteThingGroup),
		newRoute("PUT", "/thing-groups/addThingToThingGroup", "AddThingToThingGroup", (*Handler).addThingToThingGroup),
		newRoute("PUT", "/thing-groups/removeThingFromThingGroup", "RemoveThingFromThingGroup", (*Handler).removeThingFromThingGroup),
		newRoute("GET", "/thing-groups/{}/things", "ListThingsInThingGroup", (*Handler).listThingsInThingGroup),
		newRoute("GET", "/things/{}/thing-groups", "ListThingGroupsForThing", (*Handler).listThingGroupsForThing),

		newRoute("POST", "/billing-groups/{}", "CreateBillingGroup", (*Handler).createBillingGroup),
		newRoute("GET", "/billing-groups/{}", "DescribeBillingGroup", (*Handler).describeBillingGroup),
		newRoute("GET", "/billing-groups", "ListBillingGroups", (*Handler).listBillingGroups),
		newRoute("DELETE", "/billing-groups/{}", "DeleteBillingGroup", (*Handler).deleteBillingGroup),
		newRoute("PUT", "/billing-groups/addThingToBillingGroup", "AddThingToBillingGroup", (*Handler).addThingToBillingGroup),
		newRoute("PUT", "/billing-groups/removeThingFromBillingGroup", "RemoveThingFromBillingGroup", (*Handler).removeThingFromBillingGroup),
		newRoute("GET", "/billing-groups/{}/things", "ListThingsInBillingGroup", (*Handler).listThingsInBillingGroup),
	}
}

// ---- thing types ----

type thingTypePropsJSON struct {
	Description          string   `json:"thingTypeDescription,omitempty"`
	SearchableAttributes []string `json:"searchableAttributes,omitempty"`
}

type thingTypeMetaJSON struct {
	Deprecated      bool   `json:"deprecated"`
	DeprecationDate *epoch `json:"deprecationDate,omitempty"`
	CreationDate    *epoch `json:"creationDate,omitempty"`
}

func thingTypeParts(t *store.ThingType) (thingTypePropsJSON, thingTypeMetaJSON) {
	return thingTypePropsJSON{Description: t.Description, SearchableAttributes: t.SearchableAttributes},
		thingTypeMetaJSON{Deprecated: t.Deprecated, DeprecationDate: ts(t.DeprecationDate), CreationDate: ts(t.Created)}
}

func (h *Handler) createThingType(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	var in struct {
		Props *thingTypePropsJSON `json:"thingTypeProperties"`
		Tags  []store.Tag         `json:"tags"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.Props == nil {
		in.Props = &thingTypePropsJSON{}
	}
	return h.created("thingType", func(st *store.State) (string, string, string, error) {
		t, err := st.CreateThingType(store.CreateThingTypeInput{Name: args[0], Description: in.Props.Description,
			SearchableAttributes: in.Props.SearchableAttributes, Tags: in.Tags})
		if err != nil {
			return "", "", "", err
		}
		return t.Name, t.ARN, t.ID, nil
	})
}

// created answers a Create… whose output is the new resource's name, ARN and ID,
// named after kind (thingType: thingTypeName, thingTypeArn, thingTypeId).
func (h *Handler) created(kind string, create func(st *store.State) (name, arn, id string, err error)) (any, error) {
	var name, arn, id string
	err := h.st.Update(func(st *store.State) error {
		var err error
		name, arn, id, err = create(st)
		return err
	})
	return map[string]string{kind + "Name": name, kind + "Arn": arn, kind + "Id": id}, err
}

func (h *Handler) describeThingType(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	var out struct {
		Name  string             `json:"thingTypeName"`
		ID    string             `json:"thingTypeId"`
		ARN   string             `json:"thingTypeArn"`
		Props thingTypePropsJSON `json:"thingTypeProperties"`
		Meta  thingTypeMetaJSON  `json:"thingTypeMetadata"`
	}
	err := h.st.View(func(st *store.State) error {
		t, err := st.ThingType(args[0])
		if err != nil {
			return err
		}
		out.Name, out.ID, out.ARN = t.Name, t.ID, t.ARN
		out.Props, out.Meta = thingTypeParts(t)
		return nil
	})
	return out, err
}

func (h *Handler) listThingTypes(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	type item struct {
		Name  string             `json:"thingTypeName"`
		ARN   string             `json:"thingTypeArn"`
		Props thingTypePropsJSON `json:"thingTypeProperties"`
		Meta  thingTypeMetaJSON  `json:"thingTypeMetadata"`
	}
	p, err := pageRequest(r, "maxResults", "nextToken", 50, false)
	if err != nil {
		return nil, err
	}
	out := struct {
		ThingTypes []item `json:"thingTypes"`
		NextToken  string `json:"nextToken,omitempty"`
	}{ThingTypes: []item{}}
	err = h.st.View(func(st *store.State) error {
		list, next, err := st.ListThingTypes(r.URL.Query().Get("thingTypeName"), p)
		for _, t := range list {
			props, meta := thingTypeParts(t)
			out.ThingTypes = append(out.ThingTypes, item{Name: t.Name, ARN: t.ARN, Props: props, Meta: meta})
		}
		out.NextToken = nextMarker(next)
		return listError(r, "nextToken", err)
	})
	return out, err
}

func (h *Handler) deprecateThingType(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	var in struct {
		UndoDeprecate bool `json:"undoDeprecate"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	return nil, h.st.Update(func(st *store.State) error { return st.DeprecateThingType(args[0], in.UndoDeprecate) })
}

func (h *Handler) deleteThingType(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	return nil, h.st.Update(func(st *store.State) error { return st.DeleteThingType(args[0]) })
}

// ---- thing groups ----

type groupRefJSON struct {
	GroupName string `json:"groupName"`
	GroupArn  string `json:"groupArn"`
}

type attributePayloadJSON struct {
	Attributes map[string]string `json:"attributes,omitempty"`
	Merge      bool              `json:"merge,omitempty"`
}

type thingGroupPropsJSON struct {
	Description      string                `json:"thingGroupDescription,omitempty"`
	AttributePayload *attributePayloadJSON `json:"attributePayload,omitempty"`
}

func (h *Handler) createThingGroup(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	var in struct {
		Parent string               `json:"parentGroupName"`
		Props  *thingGroupPropsJSON `json:"thingGroupProperties"`
		Tags   []store.Tag          `json:"tags"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	gi := store.CreateThingGroupInput{Name: args[0], Parent: in.Parent, Tags: in.Tags}
	if in.Props != nil {
		gi.Description = in.Props.Description
		if in.Props.AttributePayload != nil {
			gi.Attributes = in.Props.AttributePayload.Attributes
		}
	}
	return h.created("thingGroup", func(st *store.State) (string, string, string, error) {
		g, err := st.CreateThingGroup(gi)
		if err != nil {
			return "", "", "", err
		}
		return g.Name, g.ARN, g.ID, nil
	})
}

func (h *Handler) describeThingGroup(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	type meta struct {
		Parent       string         `json:"parentGroupName,omitempty"`
		RootToParent []groupRefJSON `json:"rootToParentThingGroups,omitempty"`
		CreationDate *epoch         `json:"creationDate,omitempty"`
	}
	var out struct {
		Name    string              `json:"thingGroupName"`
		ID      string              `json:"thingGroupId"`
		ARN     string              `json:"thingGroupArn"`
		Version int64               `json:"version"`
		Props   thingGroupPropsJSON `json:"thingGroupProperties"`
		Meta    meta                `json:"thingGroupMetadata"`
	}
	err := h.st.View(func(st *store.State) error {
		g, err := st.ThingGroup(args[0])
		if err != nil {
			return err
		}
		out.Name, out.ID, out.ARN, out.Version = g.Name, g.ID, g.ARN, g.Version
		out.Props.Description = g.Description
		if len(g.Attributes) > 0 {
			out.Props.AttributePayload = &attributePayloadJSON{Attributes: copyAttrs(g.Attributes)}
		}
		out.Meta = meta{Parent: g.Parent, CreationDate: ts(g.Created)}
		for _, a := range st.GroupAncestors(g) {
			out.Meta.RootToParent = append(out.Meta.RootToParent, groupRefJSON{a.Name, a.ARN})
		}
		return nil
	})
	return out, err
}

// optionalBool reads a boolean query parameter that may be absent (nil).
func optionalBool(r *http.Request, name string) (*bool, error) {
	if r.URL.Query().Get(name) == "" {
		return nil, nil
	}
	b, err := queryBool(r, name)
	return &b, err
}

func (h *Handler) listThingGroups(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	recursive, err := optionalBool(r, "recursive")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	return h.groupRefsPage(r, "thingGroups", func(st *store.State, p store.Page) ([]groupRefJSON, []byte, error) {
		list, next, err := st.ListThingGroups(q.Get("parentGroup"), q.Get("namePrefixFilter"), recursive, p)
		return mapRefs(list, func(g *store.ThingGroup) groupRefJSON { return groupRefJSON{g.Name, g.ARN} }), next, err
	})
}

// groupRefsPage answers a list of groups (name and ARN) in field, paged by maxResults
// and nextToken.
func (h *Handler) groupRefsPage(r *http.Request, field string, list func(st *store.State, p store.Page) ([]groupRefJSON, []byte, error)) (any, error) {
	p, err := pageRequest(r, "maxResults", "nextToken", 50, false)
	if err != nil {
		return nil, err
	}
	var refs []groupRefJSON
	var next []byte
	err = h.st.View(func(st *store.State) error {
		var err error
		refs, next, err = list(st, p)
		return listError(r, "nextToken", err)
	})
	if err != nil {
		return nil, err
	}
	out := map[string]any{field: append([]groupRefJSON{}, refs...)}
	if next != nil {
		out["nextToken"] = nextMarker(next)
	}
	return out, nil
}

func mapRefs[T any](in []*T, f func(*T) groupRefJSON) []groupRefJSON {
	out := make([]groupRefJSON, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}

// deleteVersioned answers a delete that takes an optional expectedVersion.
func (h *Handler) deleteVersioned(r *http.Request, fn func(st *store.State, expected *int64) error) (any, error) {
	expected, err := expectedVersion(r)
	if err != nil {
		return nil, err
	}
	return nil, h.st.Update(func(st *store.State) error { return fn(st, expected) })
}

func (h *Handler) deleteThingGroup(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	return h.deleteVersioned(r, func(st *store.State, expected *int64) error { return st.DeleteThingGroup(args[0], expected) })
}

func expectedVersion(r *http.Request) (*int64, error) {
	v := r.URL.Query().Get("expectedVersion")
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, store.Errorf(store.CodeInvalidRequest, "expectedVersion %q is not a number", v)
	}
	return &n, nil
}

// membership is the body of Add/RemoveThingTo/FromThingGroup and …BillingGroup: the group
// and the thing, each by name or by ARN (a name and an ARN given together must agree).
type membership struct {
	ThingGroupName   string `json:"thingGroupName"`
	ThingGroupArn    string `json:"thingGroupArn"`
	BillingGroupName string `json:"billingGroupName"`
	BillingGroupArn  string `json:"billingGroupArn"`
	ThingName        string `json:"thingName"`
	ThingArn         string `json:"thingArn"`
}

// names resolves the group (kind "thingGroup" or "billingGroup") and the thing to names.
func (m membership) names(st *store.State, kind string) (group, thing string, err error) {
	gName, gARN, arnKind := m.ThingGroupName, m.ThingGroupArn, "thinggroup"
	if kind == "billingGroup" {
		gName, gARN, arnKind = m.BillingGroupName, m.BillingGroupArn, "billinggroup"
	}
	pick := func(what, name, arn, arnKind string) (string, error) {
		prefix := st.IoTARN(arnKind, "")
		switch {
		case name == "" && arn == "":
			return "", store.Errorf(store.CodeInvalidRequest, "Both %sArn and %sName are empty. Need to specify at least one of them", what, what)
		case arn == "":
			return name, nil
		case !strings.HasPrefix(arn, prefix) || len(arn) == len(prefix):
			return "", store.Errorf(store.CodeInvalidRequest, "%sArn %s is not an ARN of this account and region (%s<name>)", what, arn, prefix)
		case name != "" && arn != prefix+name:
			return "", store.Errorf(store.CodeInvalidRequest, "%sArn %s does not match %sName %s", what, arn, what, name)
		}
		return strings.TrimPrefix(arn, prefix), nil
	}
	if group, err = pick(kind, gName, gARN, arnKind); err != nil {
		return "", "", err
	}
	thing, err = pick("thing", m.ThingName, m.ThingArn, "thing")
	return group, thing, err
}

func (h *Handler) changeMembership(r *http.Request, kind string, fn func(st *store.State, group, thing string) error) (any, error) {
	var in membership
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	return nil, h.st.Update(func(st *store.State) error {
		g, t, err := in.names(st, kind)
		if err != nil {
			return err
		}
		return fn(st, g, t)
	})
}

func (h *Handler) addThingToThingGroup(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	return h.changeMembership(r, "thingGroup", (*store.State).AddThingToThingGroup)
}

func (h *Handler) removeThingFromThingGroup(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	return h.changeMembership(r, "thingGroup", (*store.State).RemoveThingFromThingGroup)
}

func (h *Handler) listThingGroupsForThing(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	return h.groupRefsPage(r, "thingGroups", func(st *store.State, p store.Page) ([]groupRefJSON, []byte, error) {
		names, next, err := st.ListGroupsOfThing(args[0], p)
		var refs []groupRefJSON
		for _, n := range names {
			if g := st.LookupThingGroup(n); g != nil {
				refs = append(refs, groupRefJSON{g.Name, g.ARN})
			}
		}
		return refs, next, err
	})
}

func (h *Handler) listThingsInThingGroup(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	recursive, err := queryBool(r, "recursive")
	if err != nil {
		return nil, err
	}
	return h.stringsPage(r, "things", "maxResults", "nextToken", "nextToken", func(st *store.State, p store.Page) ([]string, []byte, error) {
		names, err := st.ThingsInGroup(args[0], recursive)
		if err != nil {
			return nil, nil, err
		}
		return pageNames(names, p)
	})
}

// pageNames pages a sorted list of names the way the store pages an index: the key of the
// last name returned resumes after it.
func pageNames(names []string, p store.Page) ([]string, []byte, error) {
	start := 0
	if p.After != nil {
		for start < len(names) && names[start] <= string(p.After) {
			start++
		}
	}
	if p.Limit < 1 {
		p.Limit = 1
	}
	end := min(start+p.Limit, len(names))
	var next []byte
	if end < len(names) {
		next = []byte(names[end-1])
	}
	return names[start:end], next, nil
}

// ---- billing groups ----

type billingGroupPropsJSON struct {
	Description string `json:"billingGroupDescription,omitempty"`
}

func (h *Handler) createBillingGroup(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	var in struct {
		Props *billingGroupPropsJSON `json:"billingGroupProperties"`
		Tags  []store.Tag            `json:"tags"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	desc := ""
	if in.Props != nil {
		desc = in.Props.Description
	}
	return h.created("billingGroup", func(st *store.State) (string, string, string, error) {
		g, err := st.CreateBillingGroup(args[0], desc, in.Tags)
		if err != nil {
			return "", "", "", err
		}
		return g.Name, g.ARN, g.ID, nil
	})
}

func (h *Handler) describeBillingGroup(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	var out struct {
		Name    string                `json:"billingGroupName"`
		ID      string                `json:"billingGroupId"`
		ARN     string                `json:"billingGroupArn"`
		Version int64                 `json:"version"`
		Props   billingGroupPropsJSON `json:"billingGroupProperties"`
		Meta    struct {
			CreationDate *epoch `json:"creationDate,omitempty"`
		} `json:"billingGroupMetadata"`
	}
	err := h.st.View(func(st *store.State) error {
		g, err := st.BillingGroup(args[0])
		if err != nil {
			return err
		}
		out.Name, out.ID, out.ARN, out.Version, out.Props.Description = g.Name, g.ID, g.ARN, g.Version, g.Description
		out.Meta.CreationDate = ts(g.Created)
		return nil
	})
	return out, err
}

func (h *Handler) listBillingGroups(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	return h.groupRefsPage(r, "billingGroups", func(st *store.State, p store.Page) ([]groupRefJSON, []byte, error) {
		list, next, err := st.ListBillingGroups(r.URL.Query().Get("namePrefixFilter"), p)
		return mapRefs(list, func(g *store.BillingGroup) groupRefJSON { return groupRefJSON{g.Name, g.ARN} }), next, err
	})
}

func (h *Handler) deleteBillingGroup(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	return h.deleteVersioned(r, func(st *store.State, expected *int64) error { return st.DeleteBillingGroup(args[0], expected) })
}

func (h *Handler) addThingToBillingGroup(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	return h.changeMembership(r, "billingGroup", (*store.State).AddThingToBillingGroup)
}

func (h *Handler) removeThingFromBillingGroup(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	return h.changeMembership(r, "billingGroup", (*store.State).RemoveThingFromBillingGroup)
}

func (h *Handler) listThingsInBillingGroup(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	return h.stringsPage(r, "things", "maxResults", "nextToken", "nextToken", func(st *store.State, p store.Page) ([]string, []byte, error) {
		return st.ListThingsInBillingGroup(args[0], p)
	})
}
