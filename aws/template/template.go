package template

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jitpwiz/jitpwiz/aws/internal/strictjson"
)

// Resource types a JITP template may declare.
const (
	TypeThing       = "AWS::IoT::Thing"
	TypeCertificate = "AWS::IoT::Certificate"
	TypePolicy      = "AWS::IoT::Policy"
)

// Error codes carried by *Error.
const (
	InvalidRequestException   = "InvalidRequestException"
	MalformedPolicyException  = "MalformedPolicyException"
	ResourceConflictException = "ResourceConflictsException"
)

// Error is a template validation or evaluation failure. Message is worded as
// AWS words it (for the emulator to return verbatim); Path is the JSON path of
// the construct at fault (e.g. "Resources.thing.Properties.ThingName"); Reason,
// when set, says stably what is wrong, for a program that must tell errors apart
// (match it, never Message).
type Error struct {
	Code    string
	Message string
	Path    string
	Reason  Reason
	Fix     string
	Err     error // underlying error, e.g. a *policy.MalformedError
	// Offset and Detail say, for a ReasonSyntax error, where in the body the JSON breaks (a
	// byte offset; Message's line and column are counted from it) and what the parser found.
	Offset int
	Detail string
}

// Reason names, stably, what a finding or an error is about. A program that tells them
// apart (doctor's causes, the template step) matches the Reason, never the words: those
// are in the user's language (Words).
type Reason string

// The reasons of template errors that callers tell apart.
const (
	ReasonSyntax           Reason = "syntax"            // the template body is not JSON
	ReasonNotString        Reason = "not-string"        // a value that must be a string (an escaped document) is not
	ReasonUnresolvedRef    Reason = "unresolved-ref"    // a Ref or ${Name} that no parameter resolves
	ReasonMissingParameter Reason = "missing-parameter" // a declared parameter without a Default that the certificate lacks
)

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

func invalid(path, format string, args ...any) *Error {
	msg := "Invalid registration template. " + fmt.Sprintf(format, args...)
	if path != "" {
		msg += " (at " + path + ")"
	}
	return &Error{Code: InvalidRequestException, Message: msg, Path: path}
}

// Parameter is a declared template parameter.
type Parameter struct {
	Name    string
	Type    string  // always "String"
	Default *string // nil when there is no Default
}

// Resource is one entry of the template's Resources section.
type Resource struct {
	LogicalID string // the key in Resources, e.g. "thing"
	Type      string // TypeThing, TypeCertificate or TypePolicy
	Path      string // "Resources.<LogicalID>"
	// Override is the resource's OverrideSettings (property -> DO_NOTHING|REPLACE|FAIL|MERGE).
	Override map[string]string
	props    *strictjson.Node
}

// Template is a parsed, validated provisioning template.
type Template struct {
	Body       string
	Parameters map[string]Parameter
	ParamOrder []string   // parameter names in source order
	Resources  []Resource // in source order
	mappings   *strictjson.Node
	root       *strictjson.Node
}

// Resource returns the first resource of the given type, or nil.
func (t *Template) Resource(typ string) *Resource {
	for i := range t.Resources {
		if t.Resources[i].Type == typ {
			return &t.Resources[i]
		}
	}
	return nil
}

// ResourcesOf returns every resource of the given type, in source order (a template may
// declare several AWS::IoT::Policy resources).
func (t *Template) ResourcesOf(typ string) []*Resource {
	var out []*Resource
	for i := range t.Resources {
		if t.Resources[i].Type == typ {
			out = append(out, &t.Resources[i])
		}
	}
	return out
}

var (
	thingProps  = []string{"ThingName", "AttributePayload", "ThingTypeName", "ThingGroups", "BillingGroup", "PackageVersions"}
	certProps   = []string{"CertificateId", "CertificateSigningRequest", "CertificatePem", "CACertificatePem", "Status"}
	policyProps = []string{"PolicyName", "PolicyDocument"}
	overrideOK  = map[string]map[string][]string{
		TypeThing: {
			"AttributePayload": {"DO_NOTHING", "REPLACE", "FAIL", "MERGE"},
			"ThingTypeName":    {"DO_NOTHING", "REPLACE", "FAIL"},
			"ThingGroups":      {"DO_NOTHING", "REPLACE", "FAIL", "MERGE"},
		},
		TypeCertificate: {
			"Status": {"DO_NOTHING", "REPLACE", "FAIL"},
		},
	}
)

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Parse parses and validates a template body. Errors are *Error naming the
// construct and its JSON path.
func Parse(body string) (*Template, error) {
	if n := utf8.RuneCountInString(body); n > MaxTemplateBody {
		return nil, &Error{Code: InvalidRequestException, Path: "templateBody",
			Message: fmt.Sprintf("1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to %d (it has %d)", MaxTemplateBody, n),
			Fix:     say("fix.body-too-long")}
	}
	root, err := strictjson.Parse(body)
	if err != nil {
		je := err.(*strictjson.SyntaxError)
		line, col := strictjson.LineCol(body, je.Off)
		detail := strings.TrimPrefix(je.Msg, "invalid JSON: ")
		e := invalid("", "The template body is not valid JSON: %s at line %d, column %d", detail, line, col)
		e.Reason = ReasonSyntax
		e.Offset, e.Detail = je.Off, detail
		e.Fix = say("fix.escaping")
		return nil, e
	}
	if root.Kind != strictjson.Object {
		return nil, invalid("", "The template must be a JSON object, not %s", root.Kind)
	}
	t := &Template{Body: body, Parameters: map[string]Parameter{}, root: root}
	for i, k := range root.Keys {
		v := root.Vals[i]
		switch k {
		case "Parameters":
			if err := t.parseParameters(v); err != nil {
				return nil, err
			}
		case "Resources":
		case "Mappings":
			if err := checkMappings(v); err != nil {
				return nil, err
			}
			t.mappings = v
		case "DeviceConfiguration":
			// Fleet-provisioning only; carried through untouched.
		case "Conditions", "Outputs", "Transform", "Metadata", "Rules", "AWSTemplateFormatVersion", "Description":
			return nil, invalid(k, "The %s section is not supported in AWS IoT provisioning templates", k)
		default:
			return nil, invalid(k, "Unknown top-level section %q (allowed: Parameters, Resources, Mappings, DeviceConfiguration)", k)
		}
	}
	if dup := firstDup(root, ""); dup != "" {
		return nil, invalid(dup, "The key %q appears more than once", lastSegment(dup))
	}
	res := root.Get("Resources")
	if res == nil {
		return nil, invalid("Resources", "The template has no Resources section")
	}
	if res.Kind != strictjson.Object {
		return nil, invalid("Resources", "Resources must be an object, not %s", res.Kind)
	}
	if len(res.Keys) == 0 {
		return nil, invalid("Resources", "Resources is empty")
	}
	seen := map[string]string{}
	for i, id := range res.Keys {
		r, err := t.parseResource(id, res.Vals[i])
		if err != nil {
			return nil, err
		}
		// A template has at most one thing and one certificate, and any number of
		// policies ("one or more", provision-template.md).
		if prev, ok := seen[r.Type]; ok && r.Type != TypePolicy {
			return nil, invalid(r.Path, "Only one resource of type %s is allowed (also declared as %s)", r.Type, prev)
		}
		seen[r.Type] = id
		t.Resources = append(t.Resources, r)
	}
	return t, nil
}

func lastSegment(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func firstDup(n *strictjson.Node, path string) string {
	if len(n.Dupes) > 0 {
		return joinPath(path, n.Dupes[0])
	}
	for i, v := range n.Vals {
		sub := fmt.Sprintf("%s[%d]", path, i)
		if n.Kind == strictjson.Object {
			sub = joinPath(path, n.Keys[i])
		}
		if d := firstDup(v, sub); d != "" {
			return d
		}
	}
	return ""
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// eachMember walks a section that must be an object of objects (Parameters, Mappings),
// calling each with every member's name, JSON path and value in source order. A section
// that is not an object, or a member that is not, is refused; notObject words the latter
// from the member's name and kind.
func eachMember(n *strictjson.Node, section, notObject string, each func(name, path string, v *strictjson.Node) error) error {
	if n.Kind != strictjson.Object {
		return invalid(section, "%s must be an object, not %s", section, n.Kind)
	}
	for i, name := range n.Keys {
		v, path := n.Vals[i], section+"."+name
		if v.Kind != strictjson.Object {
			return invalid(path, notObject, name, v.Kind)
		}
		if err := each(name, path, v); err != nil {
			return err
		}
	}
	return nil
}

func (t *Template) parseParameters(n *strictjson.Node) error {
	return eachMember(n, "Parameters", "Parameter %s must be an object like {\"Type\": \"String\"}, not %s", t.parseParameter)
}

func (t *Template) parseParameter(name, path string, v *strictjson.Node) error {
	p := Parameter{Name: name}
	for j, k := range v.Keys {
		pv := v.Vals[j]
		switch k {
		case "Type":
			if pv.Kind != strictjson.String || pv.Str != "String" {
				return invalid(path+".Type", "Parameter %s has Type %s; only \"String\" is supported", name, describe(pv))
			}
			p.Type = pv.Str
		case "Default":
			if pv.Kind != strictjson.String {
				e := invalid(path+".Default", "The Default of parameter %s must be a string, not %s", name, pv.Kind)
				e.Reason = ReasonNotString
				return e
			}
			s := pv.Str
			p.Default = &s
		case "Description":
		default:
			return invalid(path+"."+k, "Parameter attribute %s is not supported (use Type and Default)", k)
		}
	}
	if p.Type == "" {
		return invalid(path, "Parameter %s has no Type (add \"Type\": \"String\")", name)
	}
	t.Parameters[name] = p
	t.ParamOrder = append(t.ParamOrder, name)
	return nil
}

func describe(n *strictjson.Node) string {
	if n.Kind == strictjson.String {
		return strconv.Quote(n.Str)
	}
	return n.Kind.String()
}

func checkMappings(n *strictjson.Node) error {
	return eachMember(n, "Mappings", "Mapping %s must be an object of top-level keys, not %s", func(name, path string, m *strictjson.Node) error {
		for j, k := range m.Keys {
			second := m.Vals[j]
			if second.Kind != strictjson.Object {
				return invalid(path+"."+k, "Mapping %s.%s must be an object of second-level keys, not %s", name, k, second.Kind)
			}
			for l, k2 := range second.Keys {
				v := second.Vals[l]
				if !(v.Kind == strictjson.String || (v.Kind == strictjson.Array && allStrings(v))) {
					return invalid(path+"."+k+"."+k2, "Mapping values must be strings or lists of strings, not %s", v.Kind)
				}
			}
		}
		return nil
	})
}

func allStrings(n *strictjson.Node) bool {
	for _, e := range n.Vals {
		if e.Kind != strictjson.String {
			return false
		}
	}
	return true
}

func (t *Template) parseResource(id string, n *strictjson.Node) (Resource, error) {
	path := "Resources." + id
	r := Resource{LogicalID: id, Path: path}
	if n.Kind != strictjson.Object {
		return r, invalid(path, "Resource %s must be an object, not %s", id, n.Kind)
	}
	for i, k := range n.Keys {
		v := n.Vals[i]
		switch k {
		case "Type":
			if v.Kind != strictjson.String {
				e := invalid(path+".Type", "The Type of resource %s must be a string", id)
				e.Reason = ReasonNotString
				return r, e
			}
			switch v.Str {
			case TypeThing, TypeCertificate, TypePolicy:
				r.Type = v.Str
			default:
				return r, invalid(path+".Type", "Resource type %q is not supported (use %s, %s or %s)", v.Str, TypeThing, TypeCertificate, TypePolicy)
			}
		case "Properties":
			if v.Kind != strictjson.Object {
				return r, invalid(path+".Properties", "Properties of resource %s must be an object, not %s", id, v.Kind)
			}
			r.props = v
		case "OverrideSettings":
		default:
			return r, invalid(path+"."+k, "The resource attribute %s is not supported in AWS IoT provisioning templates", k)
		}
	}
	if r.Type == "" {
		return r, invalid(path, "Resource %s has no Type", id)
	}
	if r.props == nil {
		return r, invalid(path, "Resource %s has no Properties", id)
	}
	if ov := n.Get("OverrideSettings"); ov != nil {
		allowed := overrideOK[r.Type]
		if allowed == nil {
			return r, invalid(path+".OverrideSettings", "OverrideSettings are not available for %s resources", r.Type)
		}
		if ov.Kind != strictjson.Object {
			return r, invalid(path+".OverrideSettings", "OverrideSettings must be an object, not %s", ov.Kind)
		}
		r.Override = map[string]string{}
		for i, k := range ov.Keys {
			v := ov.Vals[i]
			vals, ok := allowed[k]
			if !ok {
				return r, invalid(path+".OverrideSettings."+k, "%s cannot be overridden for %s (allowed: %s)", k, r.Type, strings.Join(sortedKeys(allowed), ", "))
			}
			if v.Kind != strictjson.String || !has(vals, v.Str) {
				return r, invalid(path+".OverrideSettings."+k, "OverrideSettings value for %s must be one of %s, not %s", k, strings.Join(vals, ", "), describe(v))
			}
			r.Override[k] = v.Str
		}
	}
	pp := path + ".Properties"
	var allowed []string
	switch r.Type {
	case TypeThing:
		allowed = thingProps
	case TypeCertificate:
		allowed = certProps
	case TypePolicy:
		allowed = policyProps
	}
	for i, k := range r.props.Keys {
		if !has(allowed, k) {
			return r, invalid(pp+"."+k, "Property %s is not supported for %s (allowed: %s)", k, r.Type, strings.Join(allowed, ", "))
		}
		v := r.props.Vals[i]
		var err error
		switch k {
		case "AttributePayload":
			err = checkAttributePayload(v, pp+"."+k)
		case "ThingGroups":
			err = checkExpr(v, pp+"."+k, wantList)
		case "PackageVersions":
			// Newer fleet-provisioning property; not used by JITP. Accepted and ignored.
		case "PolicyDocument":
			if v.Kind == strictjson.Object && !isIntrinsic(v) {
				break // inline JSON object form (fleet provisioning example)
			}
			err = checkExpr(v, pp+"."+k, wantString)
		default:
			err = checkExpr(v, pp+"."+k, wantString)
		}
		if err != nil {
			return r, err
		}
	}
	switch r.Type {
	case TypeThing:
		if r.props.Get("ThingName") == nil {
			return r, invalid(pp, "The %s resource %s has no ThingName", TypeThing, id)
		}
	case TypeCertificate:
		n := 0
		for _, k := range []string{"CertificateId", "CertificateSigningRequest", "CertificatePem"} {
			if r.props.Get(k) != nil {
				n++
			}
		}
		if n != 1 {
			return r, invalid(pp, "The %s resource %s needs exactly one of CertificateId, CertificateSigningRequest or CertificatePem (JITP uses CertificateId: {\"Ref\": \"AWS::IoT::Certificate::Id\"})", TypeCertificate, id)
		}
		if s := r.props.Get("Status"); s != nil && s.Kind == strictjson.String && !strings.EqualFold(s.Str, "ACTIVE") && !strings.EqualFold(s.Str, "INACTIVE") {
			return r, invalid(pp+".Status", "Certificate Status must be ACTIVE or INACTIVE, not %q", s.Str)
		}
	case TypePolicy:
		name, doc := r.props.Get("PolicyName"), r.props.Get("PolicyDocument")
		if (name == nil) == (doc == nil) {
			return r, invalid(pp, "The %s resource %s needs exactly one of PolicyName or PolicyDocument", TypePolicy, id)
		}
	}
	return r, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func checkAttributePayload(n *strictjson.Node, path string) error {
	if isIntrinsic(n) {
		return invalid(path, "AttributePayload must be an object of attribute names to values; an intrinsic function cannot produce it")
	}
	if n.Kind != strictjson.Object {
		return invalid(path, "AttributePayload must be an object of attribute names to values, not %s", n.Kind)
	}
	for i, k := range n.Keys {
		if err := checkExpr(n.Vals[i], path+"."+k, wantString); err != nil {
			return err
		}
	}
	return nil
}

type want int

const (
	wantString want = iota
	wantList
	wantAny
)

func isIntrinsic(n *strictjson.Node) bool {
	if n.Kind != strictjson.Object || len(n.Keys) == 0 {
		return false
	}
	for _, k := range n.Keys {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return true
		}
	}
	return false
}

var supportedFns = map[string]bool{"Ref": true, "Fn::Join": true, "Fn::Select": true, "Fn::Split": true, "Fn::Sub": true, "Fn::FindInMap": true}

// checkExpr validates the static shape of a value expression.
func checkExpr(n *strictjson.Node, path string, w want) error {
	switch n.Kind {
	case strictjson.String:
		if w == wantList {
			return invalid(path, "Expected a list of strings, found a string")
		}
		return nil
	case strictjson.Array:
		if w == wantString {
			return invalid(path, "Expected a string, found a list")
		}
		for i, e := range n.Vals {
			if err := checkExpr(e, fmt.Sprintf("%s[%d]", path, i), wantString); err != nil {
				return err
			}
		}
		return nil
	case strictjson.Object:
		if !isIntrinsic(n) {
			return invalid(path, "Expected %s, found an object (intrinsic functions are written {\"Ref\": ...} or {\"Fn::Join\": ...})", w)
		}
		if len(n.Keys) != 1 {
			return invalid(path, "An intrinsic function object must have exactly one key, found %s", strings.Join(n.Keys, ", "))
		}
		fn, arg := n.Keys[0], n.Vals[0]
		fp := path + "." + fn
		if !supportedFns[fn] {
			return invalid(fp, "Unsupported intrinsic function %s (supported: Ref, Fn::Join, Fn::Select, Fn::Split, Fn::Sub, Fn::FindInMap)", fn)
		}
		switch fn {
		case "Ref":
			if arg.Kind != strictjson.String || arg.Str == "" {
				return invalid(fp, "Ref takes a parameter name string")
			}
		case "Fn::Join":
			if arg.Kind != strictjson.Array || len(arg.Vals) != 2 || arg.Vals[0].Kind != strictjson.String {
				return invalid(fp, "Fn::Join takes [\"delimiter\", [values...]]")
			}
			if err := checkExpr(arg.Vals[1], fp+"[1]", wantList); err != nil {
				return err
			}
		case "Fn::Split":
			if arg.Kind != strictjson.Array || len(arg.Vals) != 2 || arg.Vals[0].Kind != strictjson.String || arg.Vals[0].Str == "" {
				return invalid(fp, "Fn::Split takes [\"delimiter\", \"string\"]")
			}
			if err := checkExpr(arg.Vals[1], fp+"[1]", wantString); err != nil {
				return err
			}
		case "Fn::Select":
			if arg.Kind != strictjson.Array || len(arg.Vals) != 2 {
				return invalid(fp, "Fn::Select takes [index, [values...]]")
			}
			idx := arg.Vals[0]
			switch idx.Kind {
			case strictjson.Number, strictjson.String:
				if i, err := strconv.Atoi(idx.Str); err != nil || i < 0 {
					return invalid(fp+"[0]", "Fn::Select index must be a whole number of 0 or more, not %s", describe(idx))
				}
			case strictjson.Object:
				if err := checkExpr(idx, fp+"[0]", wantString); err != nil {
					return err
				}
			default:
				return invalid(fp+"[0]", "Fn::Select index must be a number, not %s", idx.Kind)
			}
			if err := checkExpr(arg.Vals[1], fp+"[1]", wantList); err != nil {
				return err
			}
		case "Fn::Sub":
			switch {
			case arg.Kind == strictjson.String:
			case arg.Kind == strictjson.Array && len(arg.Vals) == 2 && arg.Vals[0].Kind == strictjson.String && arg.Vals[1].Kind == strictjson.Object && !isIntrinsic(arg.Vals[1]):
				vars := arg.Vals[1]
				for i, k := range vars.Keys {
					if err := checkExpr(vars.Vals[i], fp+"[1]."+k, wantString); err != nil {
						return err
					}
				}
			default:
				return invalid(fp, "Fn::Sub takes \"string with ${Name}\" or [\"string\", {\"Name\": value}]")
			}
		case "Fn::FindInMap":
			if arg.Kind != strictjson.Array || len(arg.Vals) != 3 {
				return invalid(fp, "Fn::FindInMap takes [\"MapName\", \"TopLevelKey\", \"SecondLevelKey\"]")
			}
			for i, e := range arg.Vals {
				if err := checkExpr(e, fmt.Sprintf("%s[%d]", fp, i), wantString); err != nil {
					return err
				}
			}
		}
		if r, ok := fnResult[fn]; ok && w != wantAny && w != r {
			return invalid(fp, "%s produces %s, but %s is expected here", fn, r.short(), w.short())
		}
		return nil
	}
	return invalid(path, "Expected %s, found %s", w, n.Kind)
}

// fnResult is what the intrinsic functions that always give one kind of value give (Ref
// and Fn::FindInMap give whatever the parameter or the map holds).
var fnResult = map[string]want{"Fn::Join": wantString, "Fn::Select": wantString, "Fn::Sub": wantString, "Fn::Split": wantList}

// short names the kind of value in a few words ("a list", "a string").
func (w want) short() string {
	if w == wantList {
		return "a list"
	}
	return w.String()
}

func (w want) String() string {
	switch w {
	case wantList:
		return "a list of strings"
	case wantString:
		return "a string"
	}
	return "a value"
}
