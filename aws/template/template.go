package template

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
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
// the construct at fault (e.g. "Resources.thing.Properties.ThingName").
type Error struct {
	Code    string
	Message string
	Path    string
	Fix     string
	Err     error // underlying error, e.g. a *policy.MalformedError
}

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
	props    *node
}

// Template is a parsed, validated provisioning template.
type Template struct {
	Body       string
	Parameters map[string]Parameter
	ParamOrder []string   // parameter names in source order
	Resources  []Resource // in source order
	mappings   *node
	root       *node
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
			Fix:     "shorten the template, or attach an existing policy by PolicyName instead of an inline PolicyDocument"}
	}
	root, err := parseJSON(body)
	if err != nil {
		je := err.(*jsonError)
		line, col := lineCol(body, je.off)
		e := invalid("", "The template body is not valid JSON: %s at line %d, column %d", strings.TrimPrefix(je.msg, "invalid JSON: "), line, col)
		e.Fix = "check the escaping: inside templateBody every quote of the template is written \\\" and every quote of an inline PolicyDocument \\\\\\\""
		return nil, e
	}
	if root.kind != kindObject {
		return nil, invalid("", "The template must be a JSON object, not %s", root.kind)
	}
	t := &Template{Body: body, Parameters: map[string]Parameter{}, root: root}
	for i, k := range root.keys {
		v := root.vals[i]
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
	res := root.get("Resources")
	if res == nil {
		return nil, invalid("Resources", "The template has no Resources section")
	}
	if res.kind != kindObject {
		return nil, invalid("Resources", "Resources must be an object, not %s", res.kind)
	}
	if len(res.keys) == 0 {
		return nil, invalid("Resources", "Resources is empty")
	}
	seen := map[string]string{}
	for i, id := range res.keys {
		r, err := t.parseResource(id, res.vals[i])
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[r.Type]; ok {
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

func firstDup(n *node, path string) string {
	if len(n.dupes) > 0 {
		return joinPath(path, n.dupes[0])
	}
	for i, v := range n.vals {
		sub := fmt.Sprintf("%s[%d]", path, i)
		if n.kind == kindObject {
			sub = joinPath(path, n.keys[i])
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

func (t *Template) parseParameters(n *node) error {
	if n.kind != kindObject {
		return invalid("Parameters", "Parameters must be an object, not %s", n.kind)
	}
	for i, name := range n.keys {
		v := n.vals[i]
		path := "Parameters." + name
		if v.kind != kindObject {
			return invalid(path, "Parameter %s must be an object like {\"Type\": \"String\"}, not %s", name, v.kind)
		}
		p := Parameter{Name: name}
		for j, k := range v.keys {
			pv := v.vals[j]
			switch k {
			case "Type":
				if pv.kind != kindString || pv.str != "String" {
					return invalid(path+".Type", "Parameter %s has Type %s; only \"String\" is supported", name, describe(pv))
				}
				p.Type = pv.str
			case "Default":
				if pv.kind != kindString {
					return invalid(path+".Default", "The Default of parameter %s must be a string, not %s", name, pv.kind)
				}
				s := pv.str
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
	}
	return nil
}

func describe(n *node) string {
	if n.kind == kindString {
		return strconv.Quote(n.str)
	}
	return n.kind.String()
}

func checkMappings(n *node) error {
	if n.kind != kindObject {
		return invalid("Mappings", "Mappings must be an object, not %s", n.kind)
	}
	for i, name := range n.keys {
		m := n.vals[i]
		path := "Mappings." + name
		if m.kind != kindObject {
			return invalid(path, "Mapping %s must be an object of top-level keys, not %s", name, m.kind)
		}
		for j, k := range m.keys {
			second := m.vals[j]
			if second.kind != kindObject {
				return invalid(path+"."+k, "Mapping %s.%s must be an object of second-level keys, not %s", name, k, second.kind)
			}
			for l, k2 := range second.keys {
				v := second.vals[l]
				if !(v.kind == kindString || (v.kind == kindArray && allStrings(v))) {
					return invalid(path+"."+k+"."+k2, "Mapping values must be strings or lists of strings, not %s", v.kind)
				}
			}
		}
	}
	return nil
}

func allStrings(n *node) bool {
	for _, e := range n.vals {
		if e.kind != kindString {
			return false
		}
	}
	return true
}

func (t *Template) parseResource(id string, n *node) (Resource, error) {
	path := "Resources." + id
	r := Resource{LogicalID: id, Path: path}
	if n.kind != kindObject {
		return r, invalid(path, "Resource %s must be an object, not %s", id, n.kind)
	}
	for i, k := range n.keys {
		v := n.vals[i]
		switch k {
		case "Type":
			if v.kind != kindString {
				return r, invalid(path+".Type", "The Type of resource %s must be a string", id)
			}
			switch v.str {
			case TypeThing, TypeCertificate, TypePolicy:
				r.Type = v.str
			default:
				return r, invalid(path+".Type", "Resource type %q is not supported (use %s, %s or %s)", v.str, TypeThing, TypeCertificate, TypePolicy)
			}
		case "Properties":
			if v.kind != kindObject {
				return r, invalid(path+".Properties", "Properties of resource %s must be an object, not %s", id, v.kind)
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
	if ov := n.get("OverrideSettings"); ov != nil {
		allowed := overrideOK[r.Type]
		if allowed == nil {
			return r, invalid(path+".OverrideSettings", "OverrideSettings are not available for %s resources", r.Type)
		}
		if ov.kind != kindObject {
			return r, invalid(path+".OverrideSettings", "OverrideSettings must be an object, not %s", ov.kind)
		}
		r.Override = map[string]string{}
		for i, k := range ov.keys {
			v := ov.vals[i]
			vals, ok := allowed[k]
			if !ok {
				return r, invalid(path+".OverrideSettings."+k, "%s cannot be overridden for %s (allowed: %s)", k, r.Type, strings.Join(sortedKeys(allowed), ", "))
			}
			if v.kind != kindString || !has(vals, v.str) {
				return r, invalid(path+".OverrideSettings."+k, "OverrideSettings value for %s must be one of %s, not %s", k, strings.Join(vals, ", "), describe(v))
			}
			r.Override[k] = v.str
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
	for i, k := range r.props.keys {
		if !has(allowed, k) {
			return r, invalid(pp+"."+k, "Property %s is not supported for %s (allowed: %s)", k, r.Type, strings.Join(allowed, ", "))
		}
		v := r.props.vals[i]
		var err error
		switch k {
		case "AttributePayload":
			err = checkAttributePayload(v, pp+"."+k)
		case "ThingGroups":
			err = checkExpr(v, pp+"."+k, wantList)
		case "PackageVersions":
			// Newer fleet-provisioning property; not used by JITP. Accepted and ignored.
		case "PolicyDocument":
			if v.kind == kindObject && !isIntrinsic(v) {
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
		if r.props.get("ThingName") == nil {
			return r, invalid(pp, "The %s resource %s has no ThingName", TypeThing, id)
		}
	case TypeCertificate:
		n := 0
		for _, k := range []string{"CertificateId", "CertificateSigningRequest", "CertificatePem"} {
			if r.props.get(k) != nil {
				n++
			}
		}
		if n != 1 {
			return r, invalid(pp, "The %s resource %s needs exactly one of CertificateId, CertificateSigningRequest or CertificatePem (JITP uses CertificateId: {\"Ref\": \"AWS::IoT::Certificate::Id\"})", TypeCertificate, id)
		}
		if s := r.props.get("Status"); s != nil && s.kind == kindString && !strings.EqualFold(s.str, "ACTIVE") && !strings.EqualFold(s.str, "INACTIVE") {
			return r, invalid(pp+".Status", "Certificate Status must be ACTIVE or INACTIVE, not %q", s.str)
		}
	case TypePolicy:
		name, doc := r.props.get("PolicyName"), r.props.get("PolicyDocument")
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

func checkAttributePayload(n *node, path string) error {
	if isIntrinsic(n) {
		return invalid(path, "AttributePayload must be an object of attribute names to values; an intrinsic function cannot produce it")
	}
	if n.kind != kindObject {
		return invalid(path, "AttributePayload must be an object of attribute names to values, not %s", n.kind)
	}
	for i, k := range n.keys {
		if err := checkExpr(n.vals[i], path+"."+k, wantString); err != nil {
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

func isIntrinsic(n *node) bool {
	if n.kind != kindObject || len(n.keys) == 0 {
		return false
	}
	for _, k := range n.keys {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return true
		}
	}
	return false
}

var supportedFns = map[string]bool{"Ref": true, "Fn::Join": true, "Fn::Select": true, "Fn::Split": true, "Fn::Sub": true, "Fn::FindInMap": true}

// checkExpr validates the static shape of a value expression.
func checkExpr(n *node, path string, w want) error {
	switch n.kind {
	case kindString:
		if w == wantList {
			return invalid(path, "Expected a list of strings, found a string")
		}
		return nil
	case kindArray:
		if w == wantString {
			return invalid(path, "Expected a string, found a list")
		}
		for i, e := range n.vals {
			if err := checkExpr(e, fmt.Sprintf("%s[%d]", path, i), wantString); err != nil {
				return err
			}
		}
		return nil
	case kindObject:
		if !isIntrinsic(n) {
			return invalid(path, "Expected %s, found an object (intrinsic functions are written {\"Ref\": ...} or {\"Fn::Join\": ...})", w)
		}
		if len(n.keys) != 1 {
			return invalid(path, "An intrinsic function object must have exactly one key, found %s", strings.Join(n.keys, ", "))
		}
		fn, arg := n.keys[0], n.vals[0]
		fp := path + "." + fn
		if !supportedFns[fn] {
			return invalid(fp, "Unsupported intrinsic function %s (supported: Ref, Fn::Join, Fn::Select, Fn::Split, Fn::Sub, Fn::FindInMap)", fn)
		}
		switch fn {
		case "Ref":
			if arg.kind != kindString || arg.str == "" {
				return invalid(fp, "Ref takes a parameter name string")
			}
		case "Fn::Join":
			if arg.kind != kindArray || len(arg.vals) != 2 || arg.vals[0].kind != kindString {
				return invalid(fp, "Fn::Join takes [\"delimiter\", [values...]]")
			}
			if err := checkExpr(arg.vals[1], fp+"[1]", wantList); err != nil {
				return err
			}
			if w == wantList {
				return invalid(fp, "Fn::Join produces a string, but a list is expected here")
			}
		case "Fn::Split":
			if arg.kind != kindArray || len(arg.vals) != 2 || arg.vals[0].kind != kindString || arg.vals[0].str == "" {
				return invalid(fp, "Fn::Split takes [\"delimiter\", \"string\"]")
			}
			if err := checkExpr(arg.vals[1], fp+"[1]", wantString); err != nil {
				return err
			}
			if w == wantString {
				return invalid(fp, "Fn::Split produces a list, but a string is expected here")
			}
		case "Fn::Select":
			if arg.kind != kindArray || len(arg.vals) != 2 {
				return invalid(fp, "Fn::Select takes [index, [values...]]")
			}
			idx := arg.vals[0]
			switch idx.kind {
			case kindNumber, kindString:
				if i, err := strconv.Atoi(idx.str); err != nil || i < 0 {
					return invalid(fp+"[0]", "Fn::Select index must be a whole number of 0 or more, not %s", describe(idx))
				}
			case kindObject:
				if err := checkExpr(idx, fp+"[0]", wantString); err != nil {
					return err
				}
			default:
				return invalid(fp+"[0]", "Fn::Select index must be a number, not %s", idx.kind)
			}
			if err := checkExpr(arg.vals[1], fp+"[1]", wantList); err != nil {
				return err
			}
			if w == wantList {
				return invalid(fp, "Fn::Select produces a string, but a list is expected here")
			}
		case "Fn::Sub":
			switch {
			case arg.kind == kindString:
			case arg.kind == kindArray && len(arg.vals) == 2 && arg.vals[0].kind == kindString && arg.vals[1].kind == kindObject && !isIntrinsic(arg.vals[1]):
				vars := arg.vals[1]
				for i, k := range vars.keys {
					if err := checkExpr(vars.vals[i], fp+"[1]."+k, wantString); err != nil {
						return err
					}
				}
			default:
				return invalid(fp, "Fn::Sub takes \"string with ${Name}\" or [\"string\", {\"Name\": value}]")
			}
			if w == wantList {
				return invalid(fp, "Fn::Sub produces a string, but a list is expected here")
			}
		case "Fn::FindInMap":
			if arg.kind != kindArray || len(arg.vals) != 3 {
				return invalid(fp, "Fn::FindInMap takes [\"MapName\", \"TopLevelKey\", \"SecondLevelKey\"]")
			}
			for i, e := range arg.vals {
				if err := checkExpr(e, fmt.Sprintf("%s[%d]", fp, i), wantString); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return invalid(path, "Expected %s, found %s", w, n.kind)
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
