package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Request is one authorization check.
type Request struct {
	Action   string // e.g. "iot:Connect"
	Resource string // full ARN, e.g. ClientARN(region, account, clientID)
}

// StatementRef points at one statement of one policy.
type StatementRef struct {
	Policy    string // Document.Name ("" if the caller did not name it)
	PolicyIdx int    // index into the docs passed to Evaluate
	Statement int    // zero-based index into Document.Statements
	Sid       string
	Effect    Effect
}

func (r *StatementRef) String() string {
	s := fmt.Sprintf("statement %d", r.Statement+1)
	if r.Sid != "" {
		s += fmt.Sprintf(" (Sid %q)", r.Sid)
	}
	if r.Policy != "" {
		s += fmt.Sprintf(" of policy '%s'", r.Policy)
	} else {
		s += fmt.Sprintf(" of policy #%d", r.PolicyIdx+1)
	}
	return s
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Allowed      bool
	MatchedAllow *StatementRef // first Allow statement that matched
	MatchedDeny  *StatementRef // first Deny statement that matched (wins over any Allow)
	Explain      string        // plain-words reason
}

// Evaluate decides a request against all policies attached to the principal:
// the request is allowed if some Allow statement matches and no Deny statement
// does (IAM default deny; explicit deny wins).
func Evaluate(docs []*Document, ctx Context, req Request) Decision {
	var d Decision
	var nearMiss []string
	anyDoc := false
	for di, doc := range docs {
		if doc == nil {
			continue
		}
		anyDoc = true
		for si := range doc.Statements {
			s := &doc.Statements[si]
			ref := &StatementRef{Policy: doc.Name, PolicyIdx: di, Statement: si, Sid: s.Sid, Effect: s.Effect}
			actionOK := matchActions(s, req.Action)
			if !actionOK {
				continue
			}
			ok, why := matchResources(s, &ctx, req.Resource)
			if ok {
				ok, why = matchConditions(s, &ctx)
			}
			switch {
			case ok && s.Effect == Deny && d.MatchedDeny == nil:
				d.MatchedDeny = ref
			case ok && s.Effect == Allow && d.MatchedAllow == nil:
				d.MatchedAllow = ref
			case !ok && s.Effect == Allow:
				nearMiss = append(nearMiss, fmt.Sprintf("%s allows %s, but %s", ref, req.Action, why))
			}
		}
	}
	switch {
	case d.MatchedDeny != nil:
		d.Explain = fmt.Sprintf("%s on %s is explicitly denied by %s (an explicit Deny wins over any Allow)", req.Action, req.Resource, d.MatchedDeny)
	case d.MatchedAllow != nil:
		d.Allowed = true
		d.Explain = fmt.Sprintf("%s on %s is allowed by %s", req.Action, req.Resource, d.MatchedAllow)
	case !anyDoc:
		d.Explain = fmt.Sprintf("%s on %s is denied: no policy is attached to the certificate, and everything not allowed is denied", req.Action, req.Resource)
	case len(nearMiss) == 0:
		d.Explain = fmt.Sprintf("%s on %s is denied: no statement in the attached policies allows %s (everything not allowed is denied)", req.Action, req.Resource, req.Action)
	default:
		d.Explain = fmt.Sprintf("%s on %s is denied: %s", req.Action, req.Resource, strings.Join(nearMiss, "; "))
	}
	return d
}

func matchActions(s *Statement, action string) bool {
	hit := false
	for _, a := range s.Actions {
		if MatchAction(a, action) {
			hit = true
			break
		}
	}
	return hit != s.NotAction
}

func matchResources(s *Statement, ctx *Context, resource string) (bool, string) {
	var reasons []string
	hit := false
	for _, pat := range s.Resources {
		toks, _, why := compile(pat, ctx.resolve)
		if why != "" {
			reasons = append(reasons, why)
			continue
		}
		if matchTokens(toks, resource, false) {
			hit = true
			break
		}
		reasons = append(reasons, mismatch(resource, pat, ctx))
	}
	if s.NotResource {
		if hit {
			return false, fmt.Sprintf("the resource %s is excluded by NotResource", resource)
		}
		return true, ""
	}
	if hit {
		return true, ""
	}
	return false, strings.Join(dedupe(reasons), ", and ")
}

// varValues lists the resolvable variables of a pattern with their values,
// e.g. "${iot:ClientId} = 'dev1'".
func varValues(pat string, ctx *Context) []string {
	var vals []string
	for _, name := range Variables(pat) {
		if v, why := ctx.resolve(name); why == "" {
			vals = append(vals, fmt.Sprintf("${%s} = '%s'", name, v))
		}
	}
	return dedupe(vals)
}

// describePattern shows a resource pattern with its variables' values.
func describePattern(pat string, ctx *Context) string {
	if vals := varValues(pat, ctx); len(vals) > 0 {
		return pat + " (with " + strings.Join(vals, ", ") + ")"
	}
	return pat
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func matchConditions(s *Statement, ctx *Context) (bool, string) {
	for _, c := range s.Conditions {
		if ok, why := evalCondition(c, ctx); !ok {
			return false, why
		}
	}
	return true, ""
}

var negated = map[string]string{
	"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
	"StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
	"NumericNotEquals": "NumericEquals", "NotIpAddress": "IpAddress", "DateNotEquals": "DateEquals",
}

func evalCondition(c Condition, ctx *Context) (bool, string) {
	op := c.Operator
	ifExists := strings.HasSuffix(op, "IfExists")
	op = strings.TrimSuffix(op, "IfExists")
	qual := ""
	if q, rest, ok := strings.Cut(op, ":"); ok {
		qual, op = q, rest
	}
	ctxVals, missing := ctx.values(canonicalKey(c.Key))
	fail := func(format string, args ...any) (bool, string) {
		return false, fmt.Sprintf("the condition %s {%q: %q} is not met: ", c.Operator, c.Key, c.Values) + fmt.Sprintf(format, args...)
	}
	if op == "Null" {
		want := strings.EqualFold(first(c.Values), "true")
		absent := missing != ""
		if absent == want {
			return true, ""
		}
		if absent {
			return fail("%s", missing)
		}
		return fail("%s is present ('%s')", c.Key, strings.Join(ctxVals, "', '"))
	}
	base, neg := op, false
	if b, ok := negated[op]; ok {
		base, neg = b, true
	}
	if missing != "" {
		switch {
		case ifExists, qual == "ForAllValues", neg && qual == "":
			return true, ""
		}
		return fail("%s", missing)
	}
	var unsupported string
	single := func(v string) bool { // does v match any condition value under base?
		for _, cv := range c.Values {
			ok, u := compare(base, v, cv, ctx)
			if u != "" {
				unsupported = u
				return false
			}
			if ok {
				return true
			}
		}
		return false
	}
	var ok bool
	switch qual {
	case "ForAllValues":
		ok = true
		for _, v := range ctxVals {
			if single(v) == neg {
				ok = false
				break
			}
		}
	case "ForAnyValue":
		for _, v := range ctxVals {
			if single(v) != neg {
				ok = true
				break
			}
		}
	default:
		any := false
		for _, v := range ctxVals {
			if single(v) {
				any = true
				break
			}
		}
		ok = any != neg
	}
	if unsupported != "" {
		return fail("%s", unsupported)
	}
	if !ok {
		return fail("%s is '%s'", c.Key, strings.Join(ctxVals, "', '"))
	}
	return true, ""
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// compare applies a (non-negated) operator to one context value and one
// condition value. Condition values may contain policy variables; one that
// does not resolve matches nothing.
func compare(op, v, cv string, ctx *Context) (bool, string) {
	switch op {
	case "StringEquals", "StringEqualsIgnoreCase":
		want, ok := substitute(cv, ctx)
		if !ok {
			return false, ""
		}
		if op == "StringEqualsIgnoreCase" {
			return strings.EqualFold(v, want), ""
		}
		return v == want, ""
	case "StringLike", "ArnLike", "ArnEquals":
		toks, _, why := compile(cv, ctx.resolve)
		if why != "" {
			return false, ""
		}
		return matchTokens(toks, v, false), ""
	case "Bool":
		return strings.EqualFold(v, cv), ""
	case "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		a, err1 := strconv.ParseFloat(v, 64)
		b, err2 := strconv.ParseFloat(cv, 64)
		if err1 != nil || err2 != nil {
			return false, ""
		}
		switch op {
		case "NumericEquals":
			return a == b, ""
		case "NumericLessThan":
			return a < b, ""
		case "NumericLessThanEquals":
			return a <= b, ""
		case "NumericGreaterThan":
			return a > b, ""
		}
		return a >= b, ""
	case "IpAddress":
		addr, err := netip.ParseAddr(v)
		if err != nil {
			if ap, err2 := netip.ParseAddrPort(v); err2 == nil {
				addr = ap.Addr()
			} else {
				return false, ""
			}
		}
		if p, err := netip.ParsePrefix(cv); err == nil {
			return p.Contains(addr.Unmap()), ""
		}
		if a, err := netip.ParseAddr(cv); err == nil {
			return a == addr.Unmap(), ""
		}
		return false, ""
	}
	return false, "the local policy evaluator does not implement " + op
}

// substitute replaces ${var} references in s with their values and the
// $(*)-style escapes with their characters, with no wildcard processing. ok is
// false if a variable does not resolve.
func substitute(s string, ctx *Context) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '$' && i+3 < len(s) && s[i+1] == '(' && s[i+3] == ')' && strings.IndexByte("*?$", s[i+2]) >= 0 {
			b.WriteByte(s[i+2])
			i += 4
			continue
		}
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '{' {
			if end := strings.IndexByte(s[i+2:], '}'); end >= 0 {
				name := s[i+2 : i+2+end]
				v, why := ctx.resolve(name)
				if name == "*" || name == "?" || name == "$" {
					v, why = name, ""
				}
				if why != "" {
					return "", false
				}
				b.WriteString(v)
				i += 2 + end + 1
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String(), true
}

var fixedKeys = []string{
	"iot:ClientId", "iot:CertificateId", "iot:Certificate.SerialNumber", "aws:SourceIp",
	"iot:Connection.Thing.IsAttached", "iot:Connection.Thing.ThingName", "iot:Connection.Thing.ThingTypeName",
}

// canonicalKey spells a condition key the way the context knows it: IAM
// condition key names are case-insensitive (attribute names inside them are not).
func canonicalKey(k string) string {
	for _, f := range fixedKeys {
		if strings.EqualFold(k, f) {
			return f
		}
	}
	for _, p := range []string{"iot:Connection.Thing.Attributes[", "iot:Certificate.Subject.", "iot:Certificate.Issuer."} {
		if len(k) >= len(p) && strings.EqualFold(k[:len(p)], p) {
			return p + k[len(p):]
		}
	}
	return k
}

// splitARN splits "arn:partition:service:region:account:kind/name".
func splitARN(s string) (parts []string, kind, name string, ok bool) {
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[0] != "arn" {
		return nil, "", "", false
	}
	kind, name, _ = strings.Cut(p[5], "/")
	return p, kind, name, true
}

// mismatch explains in plain words why resource does not match pattern.
func mismatch(resource, pat string, ctx *Context) string {
	full := describePattern(pat, ctx)
	shown, ok := substitute(pat, ctx)
	if !ok {
		shown = pat
	}
	rp, rkind, rname, ok1 := splitARN(resource)
	pp, pkind, pname, ok2 := splitARN(shown)
	if !ok1 || !ok2 {
		return fmt.Sprintf("the resource %s does not match %s", resource, full)
	}
	literal := func(s string) bool { return !strings.ContainsAny(s, "*?") }
	switch {
	case literal(pp[3]) && pp[3] != rp[3]:
		return fmt.Sprintf("%s names region %s, but the request is in region %s", full, pp[3], rp[3])
	case literal(pp[4]) && pp[4] != rp[4]:
		return fmt.Sprintf("%s names account %s, but the request is in account %s", full, pp[4], rp[4])
	case literal(pp[1]) && pp[1] != rp[1]:
		return fmt.Sprintf("%s names partition %s, but the request is in partition %s", full, pp[1], rp[1])
	case literal(pkind) && pkind != rkind:
		return fmt.Sprintf("%s is a %s resource, not a %s resource", full, pkind, rkind)
	}
	what := map[string]string{"client": "client ID", "topic": "topic", "topicfilter": "topic filter"}[rkind]
	if what == "" {
		what = rkind
	}
	from := pat
	if vals := varValues(pat, ctx); len(vals) > 0 {
		from += " with " + strings.Join(vals, ", ")
	}
	return fmt.Sprintf("%s '%s' does not match '%s' (from %s)", what, rname, pname, from)
}
