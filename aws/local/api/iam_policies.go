package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// IAM beyond CreateRole/GetRole/DeleteRole and the role's managed policies (botocore iam
// 2010-05-08, query protocol): the inline policies of a role, ListRoles, and customer
// managed policies (CreatePolicy, GetPolicy, GetPolicyVersion, ListPolicyVersions,
// DeletePolicy). Policy documents are URL-encoded in responses, as IAM returns them.

// moreQueryActions are query-protocol actions kept out of serveQuery's switch, by
// "<service>:<Action>".
var moreQueryActions = map[string]func(h *Handler, f url.Values) (any, error){
	"iam:PutRolePolicy":      (*Handler).iamPutRolePolicy,
	"iam:GetRolePolicy":      (*Handler).iamGetRolePolicy,
	"iam:DeleteRolePolicy":   (*Handler).iamDeleteRolePolicy,
	"iam:ListRolePolicies":   (*Handler).iamListRolePolicies,
	"iam:ListRoles":          (*Handler).iamListRoles,
	"iam:CreatePolicy":       (*Handler).iamCreatePolicy,
	"iam:GetPolicy":          (*Handler).iamGetPolicy,
	"iam:GetPolicyVersion":   (*Handler).iamGetPolicyVersion,
	"iam:ListPolicyVersions": (*Handler).iamListPolicyVersions,
	"iam:DeletePolicy":       (*Handler).iamDeletePolicy,
	// UpdateAssumeRolePolicy: the fix doctor prints for a role not trusted by iot.amazonaws.com.
	"iam:UpdateAssumeRolePolicy": (*Handler).iamUpdateAssumeRolePolicy,
}

// iamPage reads MaxItems (1..1000, default 100) and Marker. Markers are those of the IoT
// lists (nextMarker), read by the IoT lists' own reader, so both stay one format.
func iamPage(f url.Values) (store.Page, error) {
	p := store.Page{Limit: 100}
	if v := f.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return p, errStatus(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)
		}
		p.Limit = n
	}
	if m := f.Get("Marker"); m != "" {
		r := &http.Request{URL: &url.URL{RawQuery: url.Values{"marker": {m}}.Encode()}}
		mp, err := pageRequest(r, "pageSize", "marker", p.Limit, false)
		if err != nil || mp.After == nil {
			return p, errStatus(http.StatusBadRequest, "ValidationError", "Invalid Marker %q: pass the Marker of the previous response unchanged", m)
		}
		p.After = mp.After
	}
	return p, nil
}

func iamListError(f url.Values, err error) error {
	if err == store.ErrBadMarker {
		return errStatus(http.StatusBadRequest, "ValidationError", "Invalid Marker %q: pass the Marker of the previous response unchanged", f.Get("Marker"))
	}
	return err
}

func iamTags(f url.Values) []store.Tag {
	var tags []store.Tag
	for i := 1; ; i++ {
		k := f.Get(fmt.Sprintf("Tags.member.%d.Key", i))
		if k == "" {
			return tags
		}
		tags = append(tags, store.Tag{Key: k, Value: f.Get(fmt.Sprintf("Tags.member.%d.Value", i))})
	}
}

// ---- inline policies of a role ----

func (h *Handler) iamPutRolePolicy(f url.Values) (any, error) {
	return nil, h.iamUpdate(f, func(st *store.State, v []string) error { return st.PutRolePolicy(v[0], v[1], v[2]) },
		"RoleName", "PolicyName", "PolicyDocument")
}

func (h *Handler) iamGetRolePolicy(f url.Values) (any, error) {
	type result struct {
		RoleName       string `xml:"RoleName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}
	v, err := requiredAll(f, "RoleName", "PolicyName")
	if err != nil {
		return nil, err
	}
	var out result
	err = h.st.View(func(st *store.State) error {
		p, err := st.RolePolicy(v[0], v[1])
		if err != nil {
			return err
		}
		out = result{RoleName: p.Role, PolicyName: p.Name, PolicyDocument: encodePolicyDoc(p.Document)}
		return nil
	})
	return out, err
}

func (h *Handler) iamDeleteRolePolicy(f url.Values) (any, error) {
	return nil, h.iamUpdate(f, func(st *store.State, v []string) error { return st.DeleteRolePolicy(v[0], v[1]) },
		"RoleName", "PolicyName")
}

func (h *Handler) iamUpdateAssumeRolePolicy(f url.Values) (any, error) {
	return nil, h.iamUpdate(f, func(st *store.State, v []string) error { return st.UpdateAssumeRolePolicy(v[0], v[1]) },
		"RoleName", "PolicyDocument")
}

type iamListResult struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

func truncation(next []byte) iamListResult {
	return iamListResult{IsTruncated: next != nil, Marker: nextMarker(next)}
}

func (h *Handler) iamListRolePolicies(f url.Values) (any, error) {
	type result struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		iamListResult
	}
	role, err := required(f, "RoleName")
	if err != nil {
		return nil, err
	}
	p, err := iamPage(f)
	if err != nil {
		return nil, err
	}
	var out result
	err = h.st.View(func(st *store.State) error {
		names, next, err := st.ListRolePolicies(role, p)
		out = result{PolicyNames: names, iamListResult: truncation(next)}
		return iamListError(f, err)
	})
	return out, err
}

func (h *Handler) iamListRoles(f url.Values) (any, error) {
	type result struct {
		Roles []xmlRole `xml:"Roles>member"`
		iamListResult
	}
	p, err := iamPage(f)
	if err != nil {
		return nil, err
	}
	prefix := f.Get("PathPrefix")
	if prefix == "" {
		prefix = "/"
	}
	var out result
	err = h.st.View(func(st *store.State) error {
		roles, next, err := st.ListRoles(prefix, p)
		for _, r := range roles {
			x := toXMLRole(r)
			x.Tags = nil // ListRoles does not return tags (model)
			out.Roles = append(out.Roles, x)
		}
		out.iamListResult = truncation(next)
		return iamListError(f, err)
	})
	return out, err
}

// ---- customer managed policies ----

type xmlPolicy struct {
	PolicyName                    string    `xml:"PolicyName"`
	PolicyID                      string    `xml:"PolicyId"`
	Arn                           string    `xml:"Arn"`
	Path                          string    `xml:"Path"`
	DefaultVersionID              string    `xml:"DefaultVersionId"`
	AttachmentCount               int       `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int       `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool      `xml:"IsAttachable"`
	Description                   string    `xml:"Description,omitempty"`
	CreateDate                    string    `xml:"CreateDate"`
	UpdateDate                    string    `xml:"UpdateDate"`
	Tags                          *[]xmlTag `xml:"Tags>member,omitempty"`
}

type policyResult struct {
	Policy xmlPolicy `xml:"Policy"`
}

func toXMLPolicy(st *store.State, p *store.ManagedPolicy, withDescription bool) xmlPolicy {
	x := xmlPolicy{PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN, Path: p.Path, DefaultVersionID: p.DefaultVersionID,
		AttachmentCount: st.PolicyAttachmentCount(p.ARN), IsAttachable: true,
		CreateDate: p.Created.UTC().Format(time.RFC3339), UpdateDate: p.Updated.UTC().Format(time.RFC3339)}
	if withDescription {
		x.Description = p.Description
	}
	if len(p.Tags) > 0 {
		tags := make([]xmlTag, len(p.Tags))
		for i, t := range p.Tags {
			tags[i] = xmlTag{t.Key, t.Value}
		}
		x.Tags = &tags
	}
	return x
}

func (h *Handler) iamCreatePolicy(f url.Values) (any, error) {
	v, err := requiredAll(f, "PolicyName", "PolicyDocument")
	if err != nil {
		return nil, err
	}
	in := store.CreateManagedPolicyInput{Name: v[0], Path: f.Get("Path"), Document: v[1], Description: f.Get("Description"), Tags: iamTags(f)}
	var out policyResult
	err = h.st.Update(func(st *store.State) error {
		p, err := st.CreateManagedPolicy(in)
		if err != nil {
			return err
		}
		out.Policy = toXMLPolicy(st, p, false)
		return nil
	})
	return out, err
}

func (h *Handler) iamGetPolicy(f url.Values) (any, error) {
	arn, err := required(f, "PolicyArn")
	if err != nil {
		return nil, err
	}
	var out policyResult
	err = h.st.View(func(st *store.State) error {
		p, err := st.ManagedPolicy(arn)
		if err != nil {
			return err
		}
		out.Policy = toXMLPolicy(st, p, true)
		return nil
	})
	return out, err
}

type xmlPolicyVersion struct {
	Document         string `xml:"Document,omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

func (h *Handler) iamGetPolicyVersion(f url.Values) (any, error) {
	v, err := requiredAll(f, "PolicyArn", "VersionId")
	if err != nil {
		return nil, err
	}
	arn, version := v[0], v[1]
	var out struct {
		PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
	}
	err = h.st.View(func(st *store.State) error {
		p, err := st.ManagedPolicy(arn)
		if err != nil {
			return err
		}
		if version != p.DefaultVersionID {
			return store.Errorf(store.CodeIAMNoSuchEntity, "Policy %s version %s does not exist or is not attachable.", arn, version)
		}
		out.PolicyVersion = defaultVersion(p)
		out.PolicyVersion.Document = encodePolicyDoc(p.Document)
		return nil
	})
	return out, err
}

// defaultVersion is a managed policy's one version (without its document).
func defaultVersion(p *store.ManagedPolicy) xmlPolicyVersion {
	return xmlPolicyVersion{VersionID: p.DefaultVersionID, IsDefaultVersion: true, CreateDate: p.Updated.UTC().Format(time.RFC3339)}
}

// iamListPolicyVersions lists the one version this local IAM keeps of a policy (the
// default; an AWS managed policy's earlier versions are not known here).
func (h *Handler) iamListPolicyVersions(f url.Values) (any, error) {
	arn, err := required(f, "PolicyArn")
	if err != nil {
		return nil, err
	}
	var out struct {
		Versions []xmlPolicyVersion `xml:"Versions>member"`
		iamListResult
	}
	err = h.st.View(func(st *store.State) error {
		p, err := st.ManagedPolicy(arn)
		if err != nil {
			return err
		}
		out.Versions = []xmlPolicyVersion{defaultVersion(p)}
		return nil
	})
	return out, err
}

func (h *Handler) iamDeletePolicy(f url.Values) (any, error) {
	return nil, h.iamUpdate(f, func(st *store.State, v []string) error { return st.DeleteManagedPolicy(v[0]) }, "PolicyArn")
}
