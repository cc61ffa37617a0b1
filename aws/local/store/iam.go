package store

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// IAM beyond roles: the inline policies of a role, customer managed policies, the AWS
// managed policies this local IAM knows (awsmanaged.go), and the evaluation of a role's
// permission policies that JITP relies on when it provisions with the role.

// IAM quotas (IAM User Guide, reference_iam-quotas.html; the managed-policy figures are
// repeated in the knowledge-center article iam-increase-policy-size). Sizes count the
// characters of a document without white space.
const (
	MaxManagedPoliciesPerRole = 10    // managed policies attached to a role (default quota)
	MaxRolePolicyChars        = 10240 // all inline policies of a role together
	MaxManagedPolicyChars     = 6144  // one managed policy document
)

// RolePolicy is an inline policy of a role (PutRolePolicy).
type RolePolicy struct {
	Role     string `json:"role"`
	Name     string `json:"name"`
	Document string `json:"document"` // JSON, not URL-encoded
}

// ManagedPolicy is a customer managed IAM policy (CreatePolicy), or one of the AWS
// managed policies of awsmanaged.go. Versions beyond the first are not emulated.
type ManagedPolicy struct {
	Name             string    `json:"name"`
	ID               string    `json:"id"` // ANPA…
	ARN              string    `json:"arn"`
	Path             string    `json:"path"`
	Description      string    `json:"description,omitempty"`
	Document         string    `json:"document"` // the default version's document
	DefaultVersionID string    `json:"defaultVersionId"`
	Tags             []Tag     `json:"tags,omitempty"`
	Created          time.Time `json:"created"`
	Updated          time.Time `json:"updated"`

	awsManaged bool
}

// AWSManaged reports whether the policy is one of AWS's (arn:aws:iam::aws:policy/…).
func (p *ManagedPolicy) AWSManaged() bool { return p.awsManaged }

var (
	kindRolePolicies = &kind[RolePolicy]{
		bucket: []byte("role-policies"), // role 0x00 policy name
		key:    func(p *RolePolicy) []byte { return join([]byte(p.Role), []byte(p.Name)) },
	}
	// Managed policy names are unique per account without regard to case (CreatePolicy:
	// "Names are not distinguished by case"), so the key is the lower-cased name.
	kindIAMPolicies = &kind[ManagedPolicy]{
		bucket: []byte("iam-policies"),
		key:    func(p *ManagedPolicy) []byte { return []byte(strings.ToLower(p.Name)) },
		indexes: []index[ManagedPolicy]{
			{bucket: []byte("iam-policies.by-arn"), keys: func(p *ManagedPolicy) [][]byte { return one([]byte(p.ARN)) }},
		},
	}
)

var (
	iamPolicyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	iamPathRE       = regexp.MustCompile(`^((/[A-Za-z0-9.,+@=_-]+)*)/$`)
)

func validIAMPolicyName(member, name string) error {
	if !iamPolicyNameRE.MatchString(name) {
		return Errorf(CodeIAMInvalidInput, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 128", name, member)
	}
	return nil
}

// ValidIAMPolicyDocument checks an IAM identity policy as IAM does before it stores one,
// with IAM's MalformedPolicyDocument messages ("This policy contains invalid Json",
// "Policy document should not specify a principal.", "Syntax errors in policy.") and the
// reason after them. The grammar is the one aws/policy parses (Version, Statement with
// Effect, Action/NotAction, Resource/NotResource, Condition).
func ValidIAMPolicyDocument(doc string) error {
	_, err := policy.Parse(doc)
	if err == nil {
		return nil
	}
	var me *policy.MalformedError
	if !errors.As(err, &me) {
		return Errorf(CodeIAMMalformedPolicy, "Syntax errors in policy. %v", err)
	}
	switch {
	case me.Path == "" && (strings.HasPrefix(me.Reason, "invalid JSON") || strings.Contains(me.Reason, "empty") || strings.Contains(me.Reason, "JSON object") || strings.Contains(me.Reason, "end of the JSON")):
		return Errorf(CodeIAMMalformedPolicy, "This policy contains invalid Json (%s at line %d, column %d)", strings.TrimPrefix(me.Reason, "invalid JSON: "), me.Line, me.Column)
	case strings.HasSuffix(me.Path, ".Principal") || strings.HasSuffix(me.Path, ".NotPrincipal"):
		return Errorf(CodeIAMMalformedPolicy, "Policy document should not specify a principal.")
	}
	where := me.Path
	if where == "" {
		where = "the document"
	}
	return Errorf(CodeIAMMalformedPolicy, "Syntax errors in policy. %s: %s", where, me.Reason)
}

// ---- inline policies ----

// PutRolePolicy adds or replaces an inline policy of a role. All inline policies of a role
// together may have MaxRolePolicyChars characters (without white space).
func (st *State) PutRolePolicy(role, name, doc string) error {
	if _, err := st.Role(role); err != nil {
		return err
	}
	if err := validIAMPolicyName("policyName", name); err != nil {
		return err
	}
	if err := ValidIAMPolicyDocument(doc); err != nil {
		return err
	}
	total := policy.CountChars(doc)
	for _, other := range st.rolePolicies(role) {
		if other.Name != name {
			total += policy.CountChars(other.Document)
		}
	}
	if total > MaxRolePolicyChars {
		return Errorf(CodeIAMLimitExceeded, "Maximum policy size of %d bytes exceeded for role %s", MaxRolePolicyChars, role)
	}
	if p := get(st, kindRolePolicies, join([]byte(role), []byte(name))); p != nil {
		p.Document = doc
		return nil
	}
	insert(st, kindRolePolicies, &RolePolicy{Role: role, Name: name, Document: doc})
	return nil
}

// RolePolicy returns an inline policy of a role, or NoSuchEntity.
func (st *State) RolePolicy(role, name string) (*RolePolicy, error) {
	if _, err := st.Role(role); err != nil {
		return nil, err
	}
	if p := get(st, kindRolePolicies, join([]byte(role), []byte(name))); p != nil {
		return p, nil
	}
	return nil, Errorf(CodeIAMNoSuchEntity, "The role policy with name %s cannot be found.", name)
}

// DeleteRolePolicy deletes an inline policy of a role (NoSuchEntity if it has none by that name).
func (st *State) DeleteRolePolicy(role, name string) error {
	if _, err := st.RolePolicy(role, name); err != nil {
		return err
	}
	remove(st, kindRolePolicies, join([]byte(role), []byte(name)))
	return nil
}

func (st *State) rolePolicies(role string) []*RolePolicy {
	var out []*RolePolicy
	scan(st, kindRolePolicies, nil, join([]byte(role), nil), nil, false, func(_ []byte, p *RolePolicy) bool {
		out = append(out, p)
		return true
	})
	return out
}

// RolePolicyNames returns the names of a role's inline policies, in name order.
func (st *State) RolePolicyNames(role string) []string {
	return mapTo(st.rolePolicies(role), func(p *RolePolicy) string { return p.Name })
}

// ListRolePolicies pages the names of a role's inline policies (NoSuchEntity for no role).
func (st *State) ListRolePolicies(role string, p Page) ([]string, []byte, error) {
	if _, err := st.Role(role); err != nil {
		return nil, nil, err
	}
	recs, next, err := page(st, kindRolePolicies, nil, join([]byte(role), nil), p, nil)
	return mapTo(recs, func(p *RolePolicy) string { return p.Name }), next, err
}

// ListRoles pages the roles by name, keeping those whose path starts with pathPrefix.
func (st *State) ListRoles(pathPrefix string, p Page) ([]*Role, []byte, error) {
	return page(st, kindRoles, nil, nil, p, func(r *Role) bool { return strings.HasPrefix(r.Path, pathPrefix) })
}

// ---- managed policies ----

// CreateManagedPolicyInput is IAM CreatePolicy's input.
type CreateManagedPolicyInput struct {
	Name, Path, Document, Description string
	Tags                              []Tag
}

// CreateManagedPolicy applies IAM CreatePolicy: a customer managed policy whose version v1
// is its default.
func (st *State) CreateManagedPolicy(in CreateManagedPolicyInput) (*ManagedPolicy, error) {
	if err := validIAMPolicyName("policyName", in.Name); err != nil {
		return nil, err
	}
	path := in.Path
	if path == "" {
		path = "/"
	}
	if len(path) > 512 || !iamPathRE.MatchString(path) {
		return nil, Errorf(CodeIAMInvalidInput, "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	if get(st, kindIAMPolicies, []byte(strings.ToLower(in.Name))) != nil {
		return nil, Errorf(CodeIAMEntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", in.Name)
	}
	if err := ValidIAMPolicyDocument(in.Document); err != nil {
		return nil, err
	}
	if n := policy.CountChars(in.Document); n > MaxManagedPolicyChars {
		return nil, Errorf(CodeIAMLimitExceeded, "Cannot exceed quota for PolicySize: %d", MaxManagedPolicyChars)
	}
	now := st.Now()
	p := &ManagedPolicy{Name: in.Name, ID: "ANPA" + st.randomBase32(17), Path: path, Description: in.Description,
		ARN:      "arn:" + policy.Partition(st.Region) + ":iam::" + st.Account + ":policy" + path + in.Name,
		Document: in.Document, DefaultVersionID: "v1", Tags: slices.Clone(in.Tags), Created: now, Updated: now}
	insert(st, kindIAMPolicies, p)
	return p, nil
}

// ManagedPolicy returns the managed policy with this ARN: one of the AWS managed policies
// this local IAM knows, or a customer managed policy of the account. NoSuchEntity otherwise.
func (st *State) ManagedPolicy(arn string) (*ManagedPolicy, error) {
	if p := awsManagedPolicy(arn, policy.Partition(st.Region)); p != nil {
		return p, nil
	}
	var found *ManagedPolicy
	scan(st, kindIAMPolicies, &kindIAMPolicies.indexes[0], join([]byte(arn), nil), nil, false, func(_ []byte, p *ManagedPolicy) bool {
		found = p
		return false
	})
	if found != nil {
		return found, nil
	}
	if strings.HasPrefix(arn, "arn:"+policy.Partition(st.Region)+":iam::aws:policy/") {
		return nil, Errorf(CodeIAMNoSuchEntity, "Policy %s does not exist or is not attachable. (This local IAM knows these AWS managed policies: %s.)", arn, strings.Join(AWSManagedPolicyNames(), ", "))
	}
	return nil, Errorf(CodeIAMNoSuchEntity, "Policy %s was not found.", arn)
}

// DeleteManagedPolicy applies IAM DeletePolicy to a customer managed policy: not while it
// is attached to a role.
func (st *State) DeleteManagedPolicy(arn string) error {
	p, err := st.ManagedPolicy(arn)
	if err != nil {
		return err
	}
	if p.awsManaged {
		return Errorf(CodeIAMInvalidInput, "Policy %s is an AWS managed policy; only customer managed policies can be deleted.", arn)
	}
	if st.PolicyAttachmentCount(arn) > 0 {
		return Errorf(CodeIAMDeleteConflict, "Cannot delete a policy attached to entities.")
	}
	remove(st, kindIAMPolicies, []byte(strings.ToLower(p.Name)))
	return nil
}

// PolicyAttachmentCount is the number of roles a managed policy is attached to.
func (st *State) PolicyAttachmentCount(arn string) int {
	n := 0
	scan(st, kindRoles, &kindRoles.indexes[1], join([]byte(arn), nil), nil, false, func([]byte, *Role) bool {
		n++
		return true
	})
	return n
}

func (st *State) randomBase32(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	st.rand(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// ---- what a role's permission policies allow ----

// RoleDecision is the outcome of evaluating a role's permission policies (policy.EvaluateRole).
type RoleDecision = policy.RoleDecision

// EvaluateRole evaluates the role's permission policies (inline and attached managed) for
// action on resource, as the role's session would be (policy.EvaluateRole, which doctor
// uses on a customer's role too). The trust policy is not a permission policy and is not
// consulted.
func (st *State) EvaluateRole(r *Role, action, resource string) RoleDecision {
	var docs []*policy.Document
	add := func(name, text string) {
		d, err := policy.Parse(text)
		if err != nil {
			return // stored documents were validated; a damaged one grants nothing
		}
		d.Name = name
		docs = append(docs, d)
	}
	for _, p := range st.rolePolicies(r.Name) {
		add("inline policy "+p.Name, p.Document)
	}
	for _, arn := range r.AttachedPolicies {
		if p, err := st.ManagedPolicy(arn); err == nil {
			add("managed policy "+arn, p.Document)
		}
	}
	return policy.EvaluateRole(docs, st.Region, st.Account, r.ARN, action, resource)
}

// RoleUsableIn is how long provisioning must still wait before it can use a role created
// at r.Created (Latency.RoleUsable; 0 when it can use it now).
func (st *State) RoleUsableIn(r *Role) time.Duration {
	left := r.Created.Add(st.s.opts.Latency.RoleUsable).Sub(st.Now())
	if left < 0 {
		return 0
	}
	return left
}
