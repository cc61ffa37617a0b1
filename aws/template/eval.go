package template

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jitpwiz/jitpwiz/aws/internal/strictjson"
	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// Plan is what provisioning a template with a given parameter dictionary would
// do. A nil member means the template has no resource of that type.
type Plan struct {
	Thing       *ThingPlan
	Certificate *CertPlan
	// Policy is the first AWS::IoT::Policy resource; Policies are all of them, in
	// source order (a template may attach several policies).
	Policy   *PolicyPlan
	Policies []*PolicyPlan
	// Parameters is the effective dictionary: the given values plus the
	// Defaults of declared parameters that were not given.
	Parameters map[string]string
}

// ThingPlan is the resolved AWS::IoT::Thing resource.
type ThingPlan struct {
	LogicalID    string
	Name         string
	Attributes   map[string]string // nil when the template has no AttributePayload
	TypeName     string
	Groups       []string
	BillingGroup string
	Override     map[string]string // OverrideSettings: AttributePayload/ThingTypeName/ThingGroups -> action
}

// CertPlan is the resolved AWS::IoT::Certificate resource.
type CertPlan struct {
	LogicalID string
	ID        string // CertificateId (JITP: the device certificate's ID)
	CSR       string // CertificateSigningRequest, if used instead
	PEM       string // CertificatePem, if used instead
	CAPEM     string // CACertificatePem
	Status    string // ACTIVE (default) or INACTIVE
	Override  map[string]string
}

// PolicyPlan is the resolved AWS::IoT::Policy resource.
type PolicyPlan struct {
	LogicalID string
	// Name is the PolicyName for a named policy, or for an inline policy
	// InlinePolicyName(Document): every device provisioned from the same
	// template therefore shares one policy, and an existing one is reused.
	Name     string
	Document string           // inline policy document; empty for a named policy
	Inline   bool             // true when the template gives a PolicyDocument
	Parsed   *policy.Document // parsed Document (Name set to Name); nil for a named policy
}

// InlinePolicyName is the name given to a policy created from an inline
// PolicyDocument: the lowercase hex SHA-256 of the document text. AWS documents
// only that the name is derived from a hash of the document; the exact
// algorithm is not published, so this is the emulator's choice.
func InlinePolicyName(document string) string {
	sum := sha256.Sum256([]byte(document))
	return hex.EncodeToString(sum[:])
}

var (
	thingNameRE  = regexp.MustCompile(`^[a-zA-Z0-9:_-]+$`)
	attrNameRE   = regexp.MustCompile(`^[a-zA-Z0-9_.,@/:#-]+$`)
	attrValueRE  = regexp.MustCompile(`^[a-zA-Z0-9_.,@/:#-]*$`) // service model (2022); not enforced, linted
	policyNameRE = regexp.MustCompile(`^[\w+=,.@-]+$`)
)

// Limits on things (service model).
const (
	MaxThingName      = 128
	MaxAttributeName  = 128
	MaxAttributeValue = 800
	MaxPolicyName     = 128
)

// CheckThingName validates a thing name with AWS's wording; nil if valid.
func CheckThingName(name string) error {
	switch {
	case len(name) < 1:
		return fmt.Errorf("1 validation error detected: Value '%s' at 'thingName' failed to satisfy constraint: Member must have length greater than or equal to 1", name)
	case len(name) > MaxThingName:
		return fmt.Errorf("1 validation error detected: Value '%s' at 'thingName' failed to satisfy constraint: Member must have length less than or equal to %d", name, MaxThingName)
	case !thingNameRE.MatchString(name):
		return fmt.Errorf("1 validation error detected: Value '%s' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+", name)
	}
	return nil
}

// checkName validates a thing type, thing group or billing group name
// (1-128 of [a-zA-Z0-9:_-], the same rule as thing names) with AWS's wording.
func checkName(member, name string) error {
	switch {
	case len(name) < 1:
		return fmt.Errorf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", name, member)
	case len(name) > MaxThingName:
		return fmt.Errorf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", name, member, MaxThingName)
	case !thingNameRE.MatchString(name):
		return fmt.Errorf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+", name, member)
	}
	return nil
}

// RefError is the AWS message for a Ref that cannot be resolved.
func RefError(name string) string {
	return "Invalid registration template. Cannot resolve reference value: {Ref=" + name + "}"
}

// Effective returns the parameter dictionary the template sees: params plus
// the Default of every declared parameter missing from params.
func (t *Template) Effective(params map[string]string) map[string]string {
	out := make(map[string]string, len(params)+len(t.Parameters))
	for k, v := range params {
		out[k] = v
	}
	for _, name := range t.ParamOrder {
		p := t.Parameters[name]
		if _, ok := out[name]; !ok && p.Default != nil {
			out[name] = *p.Default
		}
	}
	return out
}

// Evaluate resolves the template against a JITP parameter dictionary (see the
// package doc of pki: AWS::IoT::Certificate::CommonName, ...::Country, ...::Id)
// and returns the resulting plan. Errors are *Error with AWS's wording.
func (t *Template) Evaluate(params map[string]string) (*Plan, error) {
	e := &evaluator{t: t, params: t.Effective(params)}
	plan := &Plan{Parameters: e.params}
	for i := range t.Resources {
		r := &t.Resources[i]
		var err error
		switch r.Type {
		case TypeThing:
			plan.Thing, err = e.thing(r)
		case TypeCertificate:
			plan.Certificate, err = e.cert(r)
		case TypePolicy:
			var p *PolicyPlan
			if p, err = e.policy(r); err == nil {
				plan.Policies = append(plan.Policies, p)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(plan.Policies) > 0 {
		plan.Policy = plan.Policies[0]
	}
	return plan, nil
}

// EvaluateJITP is Evaluate as just-in-time provisioning applies it: "the device
// provisioning fails if the certificate doesn't have all of the properties mentioned in
// the Parameters section" (jit-provisioning.md), so a declared parameter without a
// Default that the certificate does not provide fails provisioning even when no resource
// refers to it. (RegisterThing with a parameter dictionary, which Evaluate follows, leaves
// such a parameter unreplaced instead: single-thing-provisioning.md.) A parameter a
// resource refers to fails first, in Evaluate, with AWS's observed wording (RefError).
func (t *Template) EvaluateJITP(params map[string]string) (*Plan, error) {
	plan, err := t.Evaluate(params)
	if err != nil {
		return nil, err
	}
	if missing := t.MissingParameters(params); len(missing) > 0 {
		name := missing[0]
		return nil, &Error{Code: InvalidRequestException, Message: MissingParameterError(name), Path: "Parameters." + name, Reason: ReasonMissingParameter, Fix: missingFix(name)}
	}
	return plan, nil
}

// MissingParameterError is the message for a declared parameter (without a Default) that
// the certificate does not provide. AWS's wording for it is not documented; a parameter a
// resource refers to fails first, with RefError's wording.
func MissingParameterError(name string) string {
	return "Invalid registration template. The parameter " + name + " is declared in Parameters without a Default, and the device certificate does not provide it"
}

// MissingParameters returns the declared parameters without a Default that params (the
// JITP dictionary of a device certificate) lacks, in declaration order.
func (t *Template) MissingParameters(params map[string]string) []string {
	var out []string
	for _, name := range t.ParamOrder {
		p := t.Parameters[name]
		if _, ok := params[name]; !ok && p.Default == nil {
			out = append(out, name)
		}
	}
	return out
}

type evaluator struct {
	t      *Template
	params map[string]string
}

func (e *evaluator) thing(r *Resource) (*ThingPlan, error) {
	pp := r.Path + ".Properties"
	tp := &ThingPlan{LogicalID: r.LogicalID, Override: maps.Clone(r.Override)}
	var err error
	if tp.Name, err = e.str(r.props.Get("ThingName"), pp+".ThingName"); err != nil {
		return nil, err
	}
	if err := CheckThingName(tp.Name); err != nil {
		return nil, &Error{Code: InvalidRequestException, Message: err.Error(), Path: pp + ".ThingName",
			Fix: say("fix.thing-name")}
	}
	if ap := r.props.Get("AttributePayload"); ap != nil {
		tp.Attributes = make(map[string]string, len(ap.Keys))
		for i, k := range ap.Keys {
			path := pp + ".AttributePayload." + k
			v, err := e.str(ap.Vals[i], path)
			if err != nil {
				return nil, err
			}
			if len(k) > MaxAttributeName || !attrNameRE.MatchString(k) {
				return nil, &Error{Code: InvalidRequestException, Path: path,
					Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'attributePayload.attributes' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to %d, Member must satisfy regular expression pattern: [a-zA-Z0-9_.,@/:#-]+]", k, MaxAttributeName)}
			}
			if utf8.RuneCountInString(v) > MaxAttributeValue {
				return nil, &Error{Code: InvalidRequestException, Path: path,
					Message: fmt.Sprintf("1 validation error detected: Value at 'attributePayload.attributes' failed to satisfy constraint: Map value must have length less than or equal to %d", MaxAttributeValue)}
			}
			tp.Attributes[k] = v
		}
	}
	nameErr := func(path string, err error) error {
		return &Error{Code: InvalidRequestException, Message: err.Error(), Path: path,
			Fix: say("fix.names")}
	}
	if n := r.props.Get("ThingTypeName"); n != nil {
		if tp.TypeName, err = e.str(n, pp+".ThingTypeName"); err != nil {
			return nil, err
		}
		if err := checkName("thingTypeName", tp.TypeName); err != nil {
			return nil, nameErr(pp+".ThingTypeName", err)
		}
	}
	if n := r.props.Get("ThingGroups"); n != nil {
		if tp.Groups, err = e.list(n, pp+".ThingGroups"); err != nil {
			return nil, err
		}
		for i, g := range tp.Groups {
			if err := checkName("thingGroupName", g); err != nil {
				return nil, nameErr(fmt.Sprintf("%s.ThingGroups[%d]", pp, i), err)
			}
		}
	}
	if n := r.props.Get("BillingGroup"); n != nil {
		if tp.BillingGroup, err = e.str(n, pp+".BillingGroup"); err != nil {
			return nil, err
		}
		if err := checkName("billingGroupName", tp.BillingGroup); err != nil {
			return nil, nameErr(pp+".BillingGroup", err)
		}
	}
	return tp, nil
}

func (e *evaluator) cert(r *Resource) (*CertPlan, error) {
	pp := r.Path + ".Properties"
	cp := &CertPlan{LogicalID: r.LogicalID, Status: "ACTIVE", Override: maps.Clone(r.Override)}
	for _, f := range []struct {
		key string
		dst *string
	}{{"CertificateId", &cp.ID}, {"CertificateSigningRequest", &cp.CSR}, {"CertificatePem", &cp.PEM}, {"CACertificatePem", &cp.CAPEM}, {"Status", &cp.Status}} {
		if n := r.props.Get(f.key); n != nil {
			v, err := e.str(n, pp+"."+f.key)
			if err != nil {
				return nil, err
			}
			*f.dst = v
		}
	}
	// The developer guide's fleet-provisioning example writes "Active", so
	// the status is read case-insensitively.
	cp.Status = strings.ToUpper(cp.Status)
	if cp.Status != "ACTIVE" && cp.Status != "INACTIVE" {
		return nil, invalid(pp+".Status", "Certificate Status must be ACTIVE or INACTIVE, not %q", cp.Status)
	}
	return cp, nil
}

func (e *evaluator) policy(r *Resource) (*PolicyPlan, error) {
	pp := r.Path + ".Properties"
	p := &PolicyPlan{LogicalID: r.LogicalID}
	if n := r.props.Get("PolicyName"); n != nil {
		name, err := e.str(n, pp+".PolicyName")
		if err != nil {
			return nil, err
		}
		if len(name) < 1 || len(name) > MaxPolicyName || !policyNameRE.MatchString(name) {
			return nil, &Error{Code: InvalidRequestException, Path: pp + ".PolicyName",
				Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length 1-128", name)}
		}
		p.Name = name
		return p, nil
	}
	n := r.props.Get("PolicyDocument")
	var doc string
	if n.Kind == strictjson.Object && !isIntrinsic(n) {
		doc = compactJSON(n)
	} else {
		var err error
		if doc, err = e.str(n, pp+".PolicyDocument"); err != nil {
			return nil, err
		}
	}
	parsed, err := policy.Parse(doc)
	if err != nil {
		var me *policy.MalformedError
		errors.As(err, &me)
		return nil, &Error{Code: MalformedPolicyException, Path: pp + ".PolicyDocument", Err: err,
			Message: err.Error(),
			Fix:     say("fix.inline-policy")}
	}
	p.Inline, p.Document, p.Name = true, doc, InlinePolicyName(doc)
	parsed.Name = p.Name
	p.Parsed = parsed
	return p, nil
}

// value is a resolved expression: a string or a list of strings.
type value struct {
	s      string
	l      []string
	isList bool
}

func (e *evaluator) str(n *strictjson.Node, path string) (string, error) {
	v, err := e.eval(n, path)
	if err != nil {
		return "", err
	}
	if v.isList {
		return "", invalid(path, "Expected a string, but the value is a list (%s)", strings.Join(v.l, ","))
	}
	return v.s, nil
}

func (e *evaluator) list(n *strictjson.Node, path string) ([]string, error) {
	v, err := e.eval(n, path)
	if err != nil {
		return nil, err
	}
	if !v.isList {
		return nil, invalid(path, "Expected a list of strings, but the value is the string %q", v.s)
	}
	return v.l, nil
}

func (e *evaluator) eval(n *strictjson.Node, path string) (value, error) {
	switch n.Kind {
	case strictjson.String:
		return value{s: n.Str}, nil
	case strictjson.Array:
		out := make([]string, 0, len(n.Vals))
		for i, el := range n.Vals {
			s, err := e.str(el, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return value{}, err
			}
			out = append(out, s)
		}
		return value{l: out, isList: true}, nil
	case strictjson.Object:
		if !isIntrinsic(n) || len(n.Keys) != 1 {
			return value{}, invalid(path, "Expected a string or an intrinsic function, found an object")
		}
		return e.fn(n.Keys[0], n.Vals[0], path+"."+n.Keys[0])
	}
	return value{}, invalid(path, "Expected a string, found %s", n.Kind)
}

func (e *evaluator) fn(name string, arg *strictjson.Node, fp string) (value, error) {
	switch name {
	case "Ref":
		if arg.Kind != strictjson.String {
			return value{}, invalid(fp, "Ref takes a parameter name string")
		}
		v, ok := e.params[arg.Str]
		if !ok {
			return value{}, &Error{Code: InvalidRequestException, Message: RefError(arg.Str), Path: fp, Reason: ReasonUnresolvedRef,
				Fix: refFix(arg.Str)}
		}
		return value{s: v}, nil
	case "Fn::Join":
		if arg.Kind != strictjson.Array || len(arg.Vals) != 2 || arg.Vals[0].Kind != strictjson.String {
			return value{}, invalid(fp, "Fn::Join takes [\"delimiter\", [values...]]")
		}
		l, err := e.list(arg.Vals[1], fp+"[1]")
		if err != nil {
			return value{}, err
		}
		return value{s: strings.Join(l, arg.Vals[0].Str)}, nil
	case "Fn::Split":
		if arg.Kind != strictjson.Array || len(arg.Vals) != 2 || arg.Vals[0].Kind != strictjson.String || arg.Vals[0].Str == "" {
			return value{}, invalid(fp, "Fn::Split takes [\"delimiter\", \"string\"]")
		}
		s, err := e.str(arg.Vals[1], fp+"[1]")
		if err != nil {
			return value{}, err
		}
		return value{l: strings.Split(s, arg.Vals[0].Str), isList: true}, nil
	case "Fn::Select":
		if arg.Kind != strictjson.Array || len(arg.Vals) != 2 {
			return value{}, invalid(fp, "Fn::Select takes [index, [values...]]")
		}
		var idxText string
		if arg.Vals[0].Kind == strictjson.Number {
			idxText = arg.Vals[0].Str
		} else {
			s, err := e.str(arg.Vals[0], fp+"[0]")
			if err != nil {
				return value{}, err
			}
			idxText = s
		}
		idx, err := strconv.Atoi(idxText)
		if err != nil || idx < 0 {
			return value{}, invalid(fp+"[0]", "Fn::Select index %q is not a whole number of 0 or more", idxText)
		}
		l, err := e.list(arg.Vals[1], fp+"[1]")
		if err != nil {
			return value{}, err
		}
		if idx >= len(l) {
			return value{}, invalid(fp, "Fn::Select index %d is out of range for a list of %d value(s)", idx, len(l))
		}
		return value{s: l[idx]}, nil
	case "Fn::Sub":
		return e.sub(arg, fp)
	case "Fn::FindInMap":
		if arg.Kind != strictjson.Array || len(arg.Vals) != 3 {
			return value{}, invalid(fp, "Fn::FindInMap takes [\"MapName\", \"TopLevelKey\", \"SecondLevelKey\"]")
		}
		var keys [3]string
		for i := range keys {
			s, err := e.str(arg.Vals[i], fmt.Sprintf("%s[%d]", fp, i))
			if err != nil {
				return value{}, err
			}
			keys[i] = s
		}
		m := e.t.mappings.Get(keys[0])
		if m == nil {
			return value{}, invalid(fp, "Fn::FindInMap: there is no mapping %q in Mappings", keys[0])
		}
		top := m.Get(keys[1])
		if top == nil {
			return value{}, invalid(fp, "Fn::FindInMap: mapping %s has no top-level key %q", keys[0], keys[1])
		}
		v := top.Get(keys[2])
		if v == nil {
			return value{}, invalid(fp, "Fn::FindInMap: mapping %s.%s has no key %q", keys[0], keys[1], keys[2])
		}
		return e.eval(v, fmt.Sprintf("Mappings.%s.%s.%s", keys[0], keys[1], keys[2]))
	}
	return value{}, invalid(fp, "Unsupported intrinsic function %s (supported: Ref, Fn::Join, Fn::Select, Fn::Split, Fn::Sub, Fn::FindInMap)", name)
}

// sub implements Fn::Sub: ${Name} is replaced by the variable map's value or
// the parameter's value; ${!Literal} produces ${Literal}.
func (e *evaluator) sub(arg *strictjson.Node, fp string) (value, error) {
	var tmpl string
	vars := map[string]string{}
	switch {
	case arg.Kind == strictjson.String:
		tmpl = arg.Str
	case arg.Kind == strictjson.Array && len(arg.Vals) == 2 && arg.Vals[0].Kind == strictjson.String && arg.Vals[1].Kind == strictjson.Object:
		tmpl = arg.Vals[0].Str
		m := arg.Vals[1]
		for i, k := range m.Keys {
			s, err := e.str(m.Vals[i], fp+"[1]."+k)
			if err != nil {
				return value{}, err
			}
			vars[k] = s
		}
	default:
		return value{}, invalid(fp, "Fn::Sub takes \"string with ${Name}\" or [\"string\", {\"Name\": value}]")
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(tmpl[:i])
		name := tmpl[i+2 : i+j]
		switch {
		case strings.HasPrefix(name, "!"):
			b.WriteString("${" + name[1:] + "}")
		default:
			v, ok := vars[name]
			if !ok {
				v, ok = e.params[name]
			}
			if !ok {
				return value{}, &Error{Code: InvalidRequestException, Message: RefError(name), Path: fp, Reason: ReasonUnresolvedRef, Fix: refFix(name)}
			}
			b.WriteString(v)
		}
		tmpl = tmpl[i+j+1:]
	}
	b.WriteString(tmpl)
	return value{s: b.String()}, nil
}

// missingFix says how to fix a declared parameter the certificate does not provide.
func missingFix(name string) string {
	if f, ok := SubjectField(name); ok && f.Short != "" {
		return say("fix.missing-subject", "Short", f.Short, "Long", f.Words(), "Param", name)
	}
	return say("fix.missing-other", "Param", name)
}

func refFix(name string) string {
	if f, ok := SubjectField(name); ok {
		if f.Short == "" {
			return say("fix.ref-always", "Param", name)
		}
		return say("fix.ref-subject", "Short", f.Short, "Long", f.Words(), "Param", name)
	}
	return say("fix.ref-other", "Param", name)
}

// compactJSON serialises a node as compact JSON, keeping key order.
func compactJSON(n *strictjson.Node) string {
	var b strings.Builder
	writeJSON(&b, n, "", "")
	return b.String()
}

// Summary describes the plan in a few plain lines, e.g.
// "thing DemoThing (attributes country=IN, version=v1)".
func (p *Plan) Summary() []string {
	var out []string
	if t := p.Thing; t != nil {
		var extra []string
		if len(t.Attributes) > 0 {
			var kv []string
			for _, k := range sortedKeys(t.Attributes) {
				kv = append(kv, k+"="+t.Attributes[k])
			}
			extra = append(extra, say("summary.attributes", "List", strings.Join(kv, ", ")))
		}
		if t.TypeName != "" {
			extra = append(extra, say("summary.type", "Type", t.TypeName))
		}
		if len(t.Groups) > 0 {
			extra = append(extra, say("summary.groups", "List", strings.Join(t.Groups, ", ")))
		}
		if t.BillingGroup != "" {
			extra = append(extra, say("summary.billing-group", "Group", t.BillingGroup))
		}
		out = append(out, say("summary.thing", "Thing", t.Name, "Extra", strings.Join(extra, "; ")))
	}
	if c := p.Certificate; c != nil {
		out = append(out, say("summary.certificate", "Status", c.Status))
	}
	for _, pol := range p.Policies {
		if pol.Inline {
			out = append(out, say("summary.inline-policy", "Policy", pol.Name))
		} else {
			out = append(out, say("summary.existing-policy", "Policy", pol.Name))
		}
	}
	return out
}
