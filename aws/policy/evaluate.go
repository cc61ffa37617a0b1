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
	sid := ""
	if r.Sid != "" {
		sid = strconv.Quote(r.Sid)
	}
	return say("ref.statement", "N", strconv.Itoa(r.Statement+1), "Sid", sid, "Policy", r.Policy, "Index", strconv.Itoa(r.PolicyIdx+1))
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
				nearMiss = append(nearMiss, say("explain.near-miss", "Statement", ref.String(), "Action", req.Action, "Why", why))
			}
		}
	}
	switch {
	case d.MatchedDeny != nil:
		d.Explain = say("explain.denied-by", "Action", req.Action, "Resource", req.Resource, "Statement", d.MatchedDeny.String())
	case d.MatchedAllow != nil:
		d.Allowed = true
		d.Explain = say("explain.allowed", "Action", req.Action, "Resource", req.Resource, "Statement", d.MatchedAllow.String())
	case !anyDoc:
		d.Explain = say("explain.no-policy", "Action", req.Action, "Resource", req.Resource)
	case len(nearMiss) == 0:
		d.Explain = say("explain.no-statement", "Action", req.Action, "Resource", req.Resource)
	default:
		d.Explain = say("explain.near-misses", "Action", req.Action, "Resource", req.Resource, "Why", strings.Join(nearMiss, "; "))
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
			return false, say("why.not-resource", "Resource", resource)
		}
		return true, ""
	}
	if hit {
		return true, ""
	}
	return false, joinAnd(dedupe(reasons))
}

// joinAnd joins reasons with "and" as the language does: "a, and b, and c".
func joinAnd(reasons []string) string {
	if len(reasons) == 0 {
		return ""
	}
	out := reasons[0]
	for _, r := range reasons[1:] {
		out = say("why.and", "A", out, "B", r)
	}
	return out
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
		return say("why.pattern-with", "Pattern", pat, "Values", strings.Join(vals, ", "))
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
	fail := func(why string) (bool, string) {
		return false, say("why.condition", "Condition", fmt.Sprintf("%s {%q: %q}", c.Operator, c.Key, c.Values), "Why", why)
	}
	if op == "Null" {
		want := strings.EqualFold(first(c.Values), "true")
		absent := missing != ""
		if absent == want {
			return true, ""
		}
		if absent {
			return fail(missing)
		}
		return fail(say("why.condition-present", "Key", c.Key, "Values", strings.Join(ctxVals, "', '")))
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
		return fail(missing)
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
		return fail(unsupported)
	}
	if !ok {
		return fail(say("why.condition-is", "Key", c.Key, "Values", strings.Join(ctxVals, "', '")))
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
	return false, say("why.unsupported-operator", "Operator", op)
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
		return say("why.no-match", "Resource", resource, "Pattern", full)
	}
	literal := func(s string) bool { return !strings.ContainsAny(s, "*?") }
	switch {
	case literal(pp[3]) && pp[3] != rp[3]:
		return say("why.region", "Pattern", full, "Want", pp[3], "Got", rp[3])
	case literal(pp[4]) && pp[4] != rp[4]:
		return say("why.account", "Pattern", full, "Want", pp[4], "Got", rp[4])
	case literal(pp[1]) && pp[1] != rp[1]:
		return say("why.partition", "Pattern", full, "Want", pp[1], "Got", rp[1])
	case literal(pkind) && pkind != rkind:
		return say("why.kind", "Pattern", full, "Want", pkind, "Got", rkind)
	}
	what := rkind
	switch rkind {
	case "client":
		what = say("kind.client")
	case "topic":
		what = say("kind.topic")
	case "topicfilter":
		what = say("kind.topicfilter")
	}
	from := pat
	if vals := varValues(pat, ctx); len(vals) > 0 {
		from = say("why.from-with", "Pattern", pat, "Values", strings.Join(vals, ", "))
	}
	return say("why.name", "What", what, "Got", rname, "Want", pname, "From", from)
}
