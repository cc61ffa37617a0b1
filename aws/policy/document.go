package policy

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/jitpwiz/jitpwiz/aws/internal/strictjson"
)

// MalformedPolicyException is the AWS error code for an invalid policy document.
const MalformedPolicyException = "MalformedPolicyException"

// Effect of a statement.
type Effect string

const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Document is a parsed IoT policy document.
type Document struct {
	Name       string // policy name, set by the caller; used in explanations
	Version    string // "2012-10-17" (or "2008-10-17"); empty if absent
	Statements []Statement
	Source     string   // the document text as given
	Duplicates []string // JSON paths of keys that appear more than once (the last one wins)
}

// Statement is one element of a document's Statement list.
type Statement struct {
	Index       int // zero-based position in the Statement list
	Sid         string
	Effect      Effect
	Actions     []string // Action, or NotAction when NotAction is true
	NotAction   bool
	Resources   []string // Resource, or NotResource when NotResource is true
	NotResource bool
	Conditions  []Condition
}

// Condition is one (operator, key) pair of a statement's Condition block.
// Values are ORed; all conditions of a statement are ANDed.
type Condition struct {
	Operator string // as written, e.g. "StringLike" or "ForAnyValue:StringEquals"
	Key      string // e.g. "iot:ClientId"
	Values   []string
}

// MalformedError describes why a document was rejected and where.
type MalformedError struct {
	Reason string // what is wrong
	Path   string // JSON path of the offending element, e.g. "Statement[1].Effect"
	Offset int    // byte offset in the document
	Line   int    // one-based
	Column int    // one-based
}

func (e *MalformedError) Error() string {
	where := fmt.Sprintf("line %d, column %d", e.Line, e.Column)
	if e.Path != "" {
		where = e.Path + " at " + where
	}
	return fmt.Sprintf("%s: policy document is malformed: %s (%s)", MalformedPolicyException, e.Reason, where)
}

// Code returns the AWS error code for the error.
func (e *MalformedError) Code() string { return MalformedPolicyException }

// MaxDocumentSize is the service-model limit on a policy document's length.
const MaxDocumentSize = 404600

// MaxDocumentChars is how long an IoT policy document may be, not counting
// whitespace: CreatePolicy's and CreatePolicyVersion's policyDocument member
// documentation in the IoT service model (botocore iot/2015-05-28/service-2.json)
// says "must have a minimum length of 1, with a maximum length of 2048, excluding
// whitespace" (the shape's own max is the 404600 above).
const MaxDocumentChars = 2048

// DocumentChars counts a document's characters without whitespace, as the
// 2048-character limit does (whether AWS also skips whitespace inside strings is
// not documented; every whitespace character is skipped here).
func DocumentChars(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// CheckLength returns a *MalformedError when doc is over MaxDocumentChars. The
// error code AWS uses for it is not documented; MalformedPolicyException is the
// one CreatePolicy's model lists for an invalid document [U].
func CheckLength(doc string) error {
	if n := DocumentChars(doc); n > MaxDocumentChars {
		return &MalformedError{Reason: fmt.Sprintf("the document is %d characters long without whitespace; AWS IoT allows at most %d — split it into several policies (up to 10 per certificate)", n, MaxDocumentChars), Line: 1, Column: 1}
	}
	return nil
}

type parser struct {
	src string
}

func (p *parser) fail(n *strictjson.Node, path, format string, args ...any) error {
	off := 0
	if n != nil {
		off = n.Off
	}
	line, col := strictjson.LineCol(p.src, off)
	return &MalformedError{Reason: fmt.Sprintf(format, args...), Path: path, Offset: off, Line: line, Column: col}
}

// Parse parses and validates an IoT policy document. Errors are *MalformedError.
func Parse(doc string) (*Document, error) {
	p := &parser{src: doc}
	if strings.TrimSpace(doc) == "" {
		return nil, p.fail(nil, "", "the document is empty")
	}
	if len(doc) > MaxDocumentSize {
		return nil, p.fail(nil, "", "the document is longer than %d characters", MaxDocumentSize)
	}
	root, err := strictjson.Parse(doc)
	if err != nil {
		je := err.(*strictjson.SyntaxError)
		line, col := strictjson.LineCol(doc, je.Off)
		return nil, &MalformedError{Reason: je.Msg, Offset: je.Off, Line: line, Column: col}
	}
	if root.Kind != strictjson.Object {
		return nil, p.fail(root, "", "the document must be a JSON object, not %s", root.Kind)
	}
	d := &Document{Source: doc}
	d.Duplicates = collectDupes(root, "")
	for i, k := range root.Keys {
		v := root.Vals[i]
		switch k {
		case "Version":
			if v.Kind != strictjson.String {
				return nil, p.fail(v, "Version", "Version must be a string")
			}
			if v.Str != "2012-10-17" && v.Str != "2008-10-17" {
				return nil, p.fail(v, "Version", "Version %q is not supported; use \"2012-10-17\"", v.Str)
			}
			d.Version = v.Str
		case "Statement":
		case "Id":
			if v.Kind != strictjson.String {
				return nil, p.fail(v, "Id", "Id must be a string")
			}
		default:
			return nil, p.fail(v, k, "unknown top-level element %q (allowed: Version, Statement, Id)", k)
		}
	}
	st := root.Get("Statement")
	if st == nil {
		return nil, p.fail(root, "Statement", "the document has no Statement")
	}
	var elems []*strictjson.Node
	switch st.Kind {
	case strictjson.Object:
		elems = []*strictjson.Node{st}
	case strictjson.Array:
		elems = st.Vals
		if len(elems) == 0 {
			return nil, p.fail(st, "Statement", "Statement is an empty list")
		}
	default:
		return nil, p.fail(st, "Statement", "Statement must be an object or a list of objects, not %s", st.Kind)
	}
	for i, e := range elems {
		path := fmt.Sprintf("Statement[%d]", i)
		if st.Kind == strictjson.Object {
			path = "Statement"
		}
		s, err := p.statement(e, path)
		if err != nil {
			return nil, err
		}
		s.Index = i
		d.Statements = append(d.Statements, s)
	}
	return d, nil
}

func collectDupes(n *strictjson.Node, path string) []string {
	var out []string
	for _, k := range n.Dupes {
		out = append(out, joinPath(path, k))
	}
	for i, v := range n.Vals {
		sub := path
		if n.Kind == strictjson.Object {
			sub = joinPath(path, n.Keys[i])
		} else {
			sub = fmt.Sprintf("%s[%d]", path, i)
		}
		out = append(out, collectDupes(v, sub)...)
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (p *parser) statement(n *strictjson.Node, path string) (Statement, error) {
	var s Statement
	if n.Kind != strictjson.Object {
		return s, p.fail(n, path, "each statement must be an object, not %s", n.Kind)
	}
	for i, k := range n.Keys {
		v := n.Vals[i]
		kp := path + "." + k
		switch k {
		case "Sid":
			if v.Kind != strictjson.String {
				return s, p.fail(v, kp, "Sid must be a string")
			}
			s.Sid = v.Str
		case "Effect":
			if v.Kind != strictjson.String || (v.Str != string(Allow) && v.Str != string(Deny)) {
				return s, p.fail(v, kp, "Effect must be \"Allow\" or \"Deny\"")
			}
			s.Effect = Effect(v.Str)
		case "Action", "NotAction":
			list, err := p.stringList(v, kp, k)
			if err != nil {
				return s, err
			}
			for j, a := range list {
				if err := checkAction(a); err != nil {
					return s, p.fail(elemNode(v, j), kp, "%s", err)
				}
			}
		case "Resource", "NotResource":
			list, err := p.stringList(v, kp, k)
			if err != nil {
				return s, err
			}
			for j, r := range list {
				if r == "" {
					return s, p.fail(elemNode(v, j), kp, "%s contains an empty string", k)
				}
			}
		case "Condition":
			conds, err := p.conditions(v, kp)
			if err != nil {
				return s, err
			}
			s.Conditions = conds
		case "Principal", "NotPrincipal":
			return s, p.fail(v, kp, "%s is not allowed in an AWS IoT policy (the policy applies to the certificate it is attached to)", k)
		default:
			return s, p.fail(v, kp, "unknown statement element %q", k)
		}
	}
	if s.Effect == "" {
		return s, p.fail(n, path, "the statement has no Effect")
	}
	a, na := n.Get("Action"), n.Get("NotAction")
	switch {
	case a != nil && na != nil:
		return s, p.fail(na, path, "a statement may have Action or NotAction, not both")
	case a == nil && na == nil:
		return s, p.fail(n, path, "the statement has no Action")
	case a != nil:
		s.Actions, _ = p.stringList(a, "", "")
	default:
		s.Actions, _ = p.stringList(na, "", "")
		s.NotAction = true
	}
	r, nr := n.Get("Resource"), n.Get("NotResource")
	switch {
	case r != nil && nr != nil:
		return s, p.fail(nr, path, "a statement may have Resource or NotResource, not both")
	case r == nil && nr == nil:
		return s, p.fail(n, path, "the statement has no Resource")
	case r != nil:
		s.Resources, _ = p.stringList(r, "", "")
	default:
		s.Resources, _ = p.stringList(nr, "", "")
		s.NotResource = true
	}
	return s, nil
}

func elemNode(n *strictjson.Node, i int) *strictjson.Node {
	if n.Kind == strictjson.Array && i < len(n.Vals) {
		return n.Vals[i]
	}
	return n
}

// stringList accepts a string or a non-empty list of strings.
func (p *parser) stringList(n *strictjson.Node, path, what string) ([]string, error) {
	switch n.Kind {
	case strictjson.String:
		return []string{n.Str}, nil
	case strictjson.Array:
		if len(n.Vals) == 0 {
			return nil, p.fail(n, path, "%s is an empty list", what)
		}
		out := make([]string, 0, len(n.Vals))
		for _, e := range n.Vals {
			if e.Kind != strictjson.String {
				return nil, p.fail(e, path, "%s must contain only strings, found %s", what, e.Kind)
			}
			out = append(out, e.Str)
		}
		return out, nil
	}
	return nil, p.fail(n, path, "%s must be a string or a list of strings, not %s", what, n.Kind)
}

func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" {
		return fmt.Errorf("action %q is not of the form \"iot:Action\"", a)
	}
	for _, r := range a {
		if !(r == ':' || r == '*' || r == '?' || r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return fmt.Errorf("action %q contains the invalid character %q", a, r)
		}
	}
	return nil
}

// condition operators known to IAM; those the evaluator does not implement are
// accepted by Parse and evaluate as "not satisfied".
var knownOperators = map[string]bool{
	"StringEquals": true, "StringNotEquals": true, "StringEqualsIgnoreCase": true, "StringNotEqualsIgnoreCase": true,
	"StringLike": true, "StringNotLike": true, "Bool": true, "ArnEquals": true, "ArnLike": true, "ArnNotEquals": true,
	"ArnNotLike": true, "NumericEquals": true, "NumericNotEquals": true, "NumericLessThan": true,
	"NumericLessThanEquals": true, "NumericGreaterThan": true, "NumericGreaterThanEquals": true,
	"IpAddress": true, "NotIpAddress": true, "Null": true, "DateEquals": true, "DateNotEquals": true,
	"DateLessThan": true, "DateLessThanEquals": true, "DateGreaterThan": true, "DateGreaterThanEquals": true,
	"BinaryEquals": true,
}

func (p *parser) conditions(n *strictjson.Node, path string) ([]Condition, error) {
	if n.Kind != strictjson.Object {
		return nil, p.fail(n, path, "Condition must be an object, not %s", n.Kind)
	}
	var out []Condition
	for i, op := range n.Keys {
		block := n.Vals[i]
		opPath := path + "." + op
		base := strings.TrimSuffix(op, "IfExists")
		if q, rest, ok := strings.Cut(base, ":"); ok {
			if q != "ForAnyValue" && q != "ForAllValues" {
				return nil, p.fail(block, opPath, "unknown condition qualifier %q (use ForAnyValue or ForAllValues)", q)
			}
			base = rest
		}
		if !knownOperators[base] {
			return nil, p.fail(block, opPath, "unknown condition operator %q", op)
		}
		if block.Kind != strictjson.Object {
			return nil, p.fail(block, opPath, "condition operator %s must map keys to values, not %s", op, block.Kind)
		}
		if len(block.Keys) == 0 {
			return nil, p.fail(block, opPath, "condition operator %s has no keys", op)
		}
		for j, key := range block.Keys {
			v := block.Vals[j]
			kp := opPath + "." + key
			var vals []string
			switch v.Kind {
			case strictjson.String, strictjson.Number:
				vals = []string{v.Str}
			case strictjson.Boolean:
				vals = []string{fmt.Sprint(v.Bool)}
			case strictjson.Array:
				if len(v.Vals) == 0 {
					return nil, p.fail(v, kp, "condition values list is empty")
				}
				for _, e := range v.Vals {
					switch e.Kind {
					case strictjson.String, strictjson.Number:
						vals = append(vals, e.Str)
					case strictjson.Boolean:
						vals = append(vals, fmt.Sprint(e.Bool))
					default:
						return nil, p.fail(e, kp, "condition values must be strings, numbers or booleans, found %s", e.Kind)
					}
				}
			default:
				return nil, p.fail(v, kp, "condition value must be a string or a list, not %s", v.Kind)
			}
			out = append(out, Condition{Operator: op, Key: key, Values: vals})
		}
	}
	return out, nil
}
