package template

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/internal/strictjson"
	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// Severity of a lint finding.
type Severity string

const (
	SeverityError   Severity = "error"   // provisioning or the device's use of it will fail
	SeverityWarning Severity = "warning" // works, but probably not what you want
	SeverityInfo    Severity = "info"    // something to know before connecting
)

// Finding is one lint result. Reason says stably what it found (a program tells findings
// apart by it); Message and Fix say it in the user's language.
type Finding struct {
	Severity Severity
	Path     string // JSON path in the template, e.g. "Resources.policy.Properties.PolicyDocument.Statement[0].Resource"
	Reason   Reason
	Message  string
	Fix      string
}

// The reasons of findings that callers tell apart.
const (
	ReasonAdminPolicy Reason = "admin-policy" // a statement allows every action on every resource
)

// Words says the severity in the user's language.
func (s Severity) Words() string {
	switch s {
	case SeverityError:
		return say("severity.error")
	case SeverityWarning:
		return say("severity.warning")
	case SeverityInfo:
		return say("severity.info")
	}
	return string(s)
}

func (f Finding) String() string { return f.Severity.Words() + ": " + f.Text() }

// Text is the finding without its severity: the message, where (its JSON path) and the fix.
func (f Finding) Text() string {
	s := f.Message
	if f.Path != "" {
		s += " [" + f.Path + "]"
	}
	if f.Fix != "" {
		s += " — " + f.Fix
	}
	return s
}

// LintOptions are the target the template will be used with.
type LintOptions struct {
	Region  string // target region; "" skips the region check
	Account string // target account ID; "" skips the account check
}

// MaxPolicyChars is the AWS IoT limit on a policy document, not counting whitespace.
const MaxPolicyChars = policy.MaxChars

var placeholderRE = regexp.MustCompile(`<[A-Z][A-Z0-9_]*>`)

// Ref is one reference to a parameter in the template.
type Ref struct {
	Name string
	Path string
}

// Refs returns every parameter reference (Ref, and ${Name} in Fn::Sub) in
// source order.
func (t *Template) Refs() []Ref {
	var out []Ref
	for _, r := range t.Resources {
		walkRefs(r.props, r.Path+".Properties", &out)
	}
	return out
}

func walkRefs(n *strictjson.Node, path string, out *[]Ref) {
	if n == nil {
		return
	}
	switch n.Kind {
	case strictjson.Object:
		if len(n.Keys) == 1 && n.Keys[0] == "Ref" && n.Vals[0].Kind == strictjson.String {
			*out = append(*out, Ref{Name: n.Vals[0].Str, Path: path + ".Ref"})
			return
		}
		if len(n.Keys) == 1 && n.Keys[0] == "Fn::Sub" {
			arg := n.Vals[0]
			tmpl := arg
			var vars *strictjson.Node
			if arg.Kind == strictjson.Array && len(arg.Vals) == 2 {
				tmpl, vars = arg.Vals[0], arg.Vals[1]
			}
			if tmpl.Kind == strictjson.String {
				for _, name := range subVars(tmpl.Str) {
					if vars.Get(name) == nil {
						*out = append(*out, Ref{Name: name, Path: path + ".Fn::Sub"})
					}
				}
			}
			if vars != nil {
				walkRefs(vars, path+".Fn::Sub[1]", out)
			}
			return
		}
		for i, k := range n.Keys {
			walkRefs(n.Vals[i], path+"."+k, out)
		}
	case strictjson.Array:
		for i, v := range n.Vals {
			walkRefs(v, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// subVars returns the ${...} references in a Fn::Sub string, in order, without the
// ${!Literal} escapes (Fn::Sub writes those out as ${Literal}).
func subVars(s string) []string {
	var out []string
	for _, name := range policy.Variables(s) {
		if !strings.HasPrefix(name, "!") {
			out = append(out, name)
		}
	}
	return out
}

// RequiredParameters returns the parameters without a Default that the device
// certificate must provide for JITP: those a resource refers to, in first-reference
// order, then those only declared, in declaration order (EvaluateJITP).
func (t *Template) RequiredParameters() []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		if p, ok := t.Parameters[name]; ok && p.Default != nil {
			return
		}
		out = append(out, name)
	}
	for _, r := range t.Refs() {
		add(r.Name)
	}
	for _, name := range t.ParamOrder {
		add(name)
	}
	return out
}

// Lint lists every problem it can find before a device connects. params is the
// JITP dictionary of the device certificate (nil when no certificate is known
// yet: then checks that need one are skipped).
func Lint(t *Template, params map[string]string, opts LintOptions) []Finding {
	l := &linter{t: t, opts: opts}
	l.placeholders(t.root, "")
	l.refs(params)
	l.resources()
	var plan *Plan
	if params != nil && !l.hasErrors() {
		p, err := t.Evaluate(params)
		if err != nil {
			var te *Error
			if errors.As(err, &te) && te.Code != MalformedPolicyException {
				l.add(SeverityError, te.Path, "would-fail", say("lint.would-fail", "Err", te.Message), te.Fix)
			} else if te != nil {
				l.computedPolicyErr = te // reported by policies() unless the document is literal
			}
		} else {
			plan = p
		}
	}
	l.declared(params) // after the plan: a missing parameter does not hide what the plan shows
	l.policies(plan)
	if plan != nil && plan.Thing != nil {
		for _, k := range sortedKeys(plan.Thing.Attributes) {
			if v := plan.Thing.Attributes[k]; !attrValueRE.MatchString(v) {
				l.add(SeverityWarning, l.t.Resource(TypeThing).Path+".Properties.AttributePayload."+k, "attribute-value",
					say("lint.attribute-value", "Name", k, "Value", v), say("lint.attribute-value.fix"))
			}
		}
		l.add(SeverityInfo, "", "provisioned-as", say("lint.provisioned-as", "Thing", plan.Thing.Name), "")
	}
	sortFindings(l.out)
	return l.out
}

type linter struct {
	t                 *Template
	opts              LintOptions
	out               []Finding
	computedPolicyErr *Error
}

func (l *linter) add(sev Severity, path string, reason Reason, msg, fix string) {
	l.out = append(l.out, Finding{Severity: sev, Path: path, Reason: reason, Message: msg, Fix: fix})
}

func (l *linter) hasErrors() bool {
	for _, f := range l.out {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

func (l *linter) placeholders(n *strictjson.Node, path string) {
	switch n.Kind {
	case strictjson.String:
		for _, m := range uniq(placeholderRE.FindAllString(n.Str, -1)) {
			fix := say("lint.placeholder.fix")
			switch m {
			case PlaceholderAccount:
				fix = say("lint.placeholder.fix-account")
				if l.opts.Account != "" {
					fix = say("lint.placeholder.fix-with", "Value", l.opts.Account)
				}
			}
			l.add(SeverityError, path, "placeholder", say("lint.placeholder", "Placeholder", m), fix)
		}
	case strictjson.Object:
		for i, k := range n.Keys {
			l.placeholders(n.Vals[i], joinPath(path, k))
		}
	case strictjson.Array:
		for i, v := range n.Vals {
			l.placeholders(v, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (l *linter) refs(params map[string]string) {
	var eff map[string]string
	if params != nil {
		eff = l.t.Effective(params)
	}
	reported := map[string]bool{}
	for _, r := range l.t.Refs() {
		if reported[r.Name] {
			continue
		}
		reported[r.Name] = true
		_, declared := l.t.Parameters[r.Name]
		field, isCert := SubjectField(r.Name)
		switch {
		case !isCert && strings.HasPrefix(r.Name, "AWS::IoT::Certificate::") && declared && l.t.Parameters[r.Name].Default != nil:
			l.add(SeverityWarning, r.Path, "not-provided-default", say("lint.not-provided-default", "Param", r.Name), say("lint.not-provided-default.fix"))
			continue
		case !isCert && strings.HasPrefix(r.Name, "AWS::IoT::Certificate::"):
			l.add(SeverityError, r.Path, "not-provided", say("lint.not-provided", "Param", r.Name), say("lint.not-provided.fix"))
			continue
		case !declared:
			l.add(SeverityWarning, r.Path, "undeclared", say("lint.undeclared", "Param", r.Name), say("lint.undeclared.fix", "Param", r.Name))
		}
		if eff == nil {
			if p, ok := l.t.Parameters[r.Name]; isCert && field.Short != "" && !(ok && p.Default != nil) {
				l.add(SeverityInfo, r.Path, "subject-needs", say("lint.subject-needs", "Short", field.Short, "Long", field.Words(), "Param", r.Name), "")
			}
			continue
		}
		if _, ok := eff[r.Name]; ok {
			continue
		}
		msg := say("lint.unresolved", "Err", RefError(r.Name))
		if isCert && field.Short != "" {
			msg = say("lint.unresolved-subject", "Short", field.Short, "Long", field.Words(), "Err", RefError(r.Name))
		}
		l.add(SeverityError, r.Path, ReasonUnresolvedRef, msg, refFix(r.Name))
	}
}

// declared reports the declared parameters without a Default that the device certificate
// does not (or, for names JITP never fills, cannot) provide: JITP fails provisioning when
// one is missing, whether or not a resource refers to it (EvaluateJITP). Those a resource
// refers to are reported by refs when it can tell.
func (l *linter) declared(params map[string]string) {
	referenced := map[string]bool{}
	for _, r := range l.t.Refs() {
		referenced[r.Name] = true
	}
	for _, name := range l.t.ParamOrder {
		if l.t.Parameters[name].Default != nil {
			continue
		}
		path := "Parameters." + name
		field, isCert := SubjectField(name)
		switch {
		case !isCert:
			if referenced[name] && (params != nil || strings.HasPrefix(name, "AWS::IoT::Certificate::")) {
				continue // refs reported it
			}
			l.add(SeverityError, path, "never-provided", say("lint.never-provided", "Param", name), missingFix(name))
		case field.Short == "":
			// Id and SerialNumber are always in the dictionary.
		case params == nil:
			if !referenced[name] {
				l.add(SeverityInfo, path, "subject-needs", say("lint.subject-needs-declared", "Short", field.Short, "Long", field.Words(), "Param", name), "")
			}
		default:
			if _, ok := params[name]; ok || referenced[name] {
				continue
			}
			l.add(SeverityError, path, ReasonMissingParameter, say("lint.missing-declared", "Short", field.Short, "Long", field.Words(), "Err", MissingParameterError(name)), missingFix(name))
		}
	}
}

func (l *linter) resources() {
	if l.t.Resource(TypeThing) == nil {
		l.add(SeverityWarning, "Resources", "no-thing", say("lint.no-thing"), say("lint.no-thing.fix"))
	}
	cert := l.t.Resource(TypeCertificate)
	if cert == nil {
		l.add(SeverityError, "Resources", "no-certificate", say("lint.no-certificate"), say("lint.no-certificate.fix"))
	} else {
		id := cert.props.Get("CertificateId")
		if id == nil || !(len(id.Keys) == 1 && id.Keys[0] == "Ref" && id.Vals[0].Kind == strictjson.String && id.Vals[0].Str == ParamID) {
			l.add(SeverityError, cert.Path+".Properties", "certificate-id", say("lint.certificate-id"), say("lint.certificate-id.fix"))
		}
		if s := cert.props.Get("Status"); s != nil && s.Kind == strictjson.String && s.Str == "INACTIVE" {
			l.add(SeverityWarning, cert.Path+".Properties.Status", "certificate-inactive", say("lint.certificate-inactive"), say("lint.certificate-inactive.fix"))
		}
	}
	if th := l.t.Resource(TypeThing); th != nil {
		if n := th.props.Get("ThingName"); n != nil && n.Kind == strictjson.String {
			if err := CheckThingName(n.Str); err != nil {
				l.add(SeverityError, th.Path+".Properties.ThingName", "thing-name", say("lint.would-fail", "Err", err.Error()), say("lint.thing-name.fix"))
			} else {
				l.add(SeverityWarning, th.Path+".Properties.ThingName", "fixed-thing-name", say("lint.fixed-thing-name", "Thing", n.Str), say("lint.fixed-thing-name.fix"))
			}
		}
		if ap := th.props.Get("AttributePayload"); ap != nil && ap.Kind == strictjson.Object && len(ap.Keys) > 3 && th.props.Get("ThingTypeName") == nil {
			l.add(SeverityWarning, th.Path+".Properties.AttributePayload", "too-many-attributes", say("lint.too-many-attributes", "N", strconv.Itoa(len(ap.Keys))),
				say("lint.too-many-attributes.fix"))
		}
		if tn := th.props.Get("ThingTypeName"); tn != nil {
			l.add(SeverityInfo, th.Path+".Properties.ThingTypeName", "thing-type-exists", say("lint.thing-type-exists"), "")
		}
		if g := th.props.Get("ThingGroups"); g != nil {
			l.add(SeverityInfo, th.Path+".Properties.ThingGroups", "thing-groups-exist", say("lint.thing-groups-exist"), "")
		}
	}
}

func (l *linter) policies(plan *Plan) {
	prs := l.t.ResourcesOf(TypePolicy)
	if len(prs) == 0 {
		l.add(SeverityWarning, "Resources", "no-policy", say("lint.no-policy"), say("lint.no-policy.fix"))
		return
	}
	for i, pr := range prs {
		var pp *PolicyPlan
		if plan != nil && i < len(plan.Policies) {
			pp = plan.Policies[i]
		}
		l.policy(pr, pp)
	}
}

// policy lints one AWS::IoT::Policy resource; pp is its resolved plan, nil when the
// template could not be evaluated.
func (l *linter) policy(pr *Resource, pp *PolicyPlan) {
	path := pr.Path + ".Properties"
	if n := pr.props.Get("PolicyName"); n != nil {
		name := n.Str
		if pp != nil {
			name = pp.Name
		}
		if name != "" {
			l.add(SeverityInfo, path+".PolicyName", "policy-must-exist", say("lint.policy-must-exist", "Policy", name), say("lint.policy-must-exist.fix", "Policy", name))
		}
		return
	}
	path += ".PolicyDocument"
	n := pr.props.Get("PolicyDocument")
	var doc string
	switch {
	case pp != nil:
		doc = pp.Document
	case n.Kind == strictjson.String:
		doc = n.Str
	case n.Kind == strictjson.Object && !isIntrinsic(n):
		doc = compactJSON(n)
	case l.computedPolicyErr != nil && strings.HasPrefix(l.computedPolicyErr.Path, pr.Path+"."):
		l.add(SeverityError, path, "policy-malformed", l.computedPolicyErr.Message, l.computedPolicyErr.Fix)
		return
	default:
		return // computed document and no certificate to compute it with
	}
	LintPolicy(doc, path, l.opts, func(f Finding) { l.out = append(l.out, f) })
}

// LintPolicy checks one policy document; path prefixes the findings' paths.
func LintPolicy(doc, path string, opts LintOptions, report func(Finding)) {
	d, err := policy.Parse(doc)
	if err != nil {
		fix := say("lint.policy-json.fix")
		if strings.Contains(doc, `\"`) {
			fix = say("lint.policy-escaped.fix")
		}
		report(Finding{Severity: SeverityError, Path: path, Reason: "policy-malformed", Message: err.Error(), Fix: fix})
		return
	}
	if n := policy.CountChars(doc); n > MaxPolicyChars {
		report(Finding{Severity: SeverityError, Path: path, Reason: "policy-too-long", Message: say("lint.policy-too-long", "N", strconv.Itoa(n), "Max", strconv.Itoa(MaxPolicyChars)),
			Fix: say("lint.policy-too-long.fix")})
	}
	for _, dup := range d.Duplicates {
		report(Finding{Severity: SeverityWarning, Path: path + "." + dup, Reason: "policy-duplicate-key", Message: say("lint.policy-duplicate-key", "Key", lastSegment(dup)),
			Fix: say("lint.policy-duplicate-key.fix")})
	}
	if d.Version == "" {
		report(Finding{Severity: SeverityWarning, Path: path, Reason: "policy-no-version", Message: say("lint.policy-no-version"), Fix: say("lint.policy-no-version.fix")})
	}
	usesThingName := false
	for _, s := range d.Statements {
		sp := fmt.Sprintf("%s.Statement[%d]", path, s.Index)
		resKey := "Resource"
		if s.NotResource {
			resKey = "NotResource"
		}
		for _, a := range s.Actions {
			if a != "*" && !strings.ContainsAny(a, "*?") && !policy.KnownAction(a) {
				report(Finding{Severity: SeverityWarning, Path: sp + ".Action", Reason: "unknown-action", Message: say("lint.unknown-action", "Action", a),
					Fix: say("lint.unknown-action.fix")})
			}
		}
		if s.Effect == policy.Allow && !s.NotAction && !s.NotResource && broadAction(s.Actions) && hasString(s.Resources, "*") {
			report(Finding{Severity: SeverityWarning, Path: sp, Reason: ReasonAdminPolicy, Message: say("lint.admin-policy"), Fix: say("lint.admin-policy.fix")})
		}
		for _, r := range s.Resources {
			for _, v := range policy.Variables(r) {
				if !policy.KnownVariable(v) {
					report(Finding{Severity: SeverityWarning, Path: sp + "." + resKey, Reason: "unknown-variable", Message: say("lint.unknown-variable", "Variable", "${"+v+"}"),
						Fix: say("lint.unknown-variable.fix")})
				}
				if strings.HasPrefix(v, "iot:Connection.Thing.") {
					usesThingName = true
				}
			}
			lintARN(r, sp+"."+resKey, opts, report)
		}
	}
	if usesThingName {
		report(Finding{Severity: SeverityInfo, Path: path, Reason: "client-id-thing", Message: say("lint.client-id-thing"), Fix: say("lint.client-id-thing.fix")})
	}
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func broadAction(actions []string) bool {
	for _, a := range actions {
		if a == "*" || strings.EqualFold(a, "iot:*") {
			return true
		}
	}
	return false
}

// lintARN compares an IoT resource ARN's partition, region and account with the target.
func lintARN(r, path string, opts LintOptions, report func(Finding)) {
	parts := strings.SplitN(r, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		if r != "*" && !strings.HasPrefix(r, "arn") {
			report(Finding{Severity: SeverityWarning, Path: path, Reason: "not-arn", Message: say("lint.not-arn", "Resource", strconv.Quote(r)), Fix: say("lint.not-arn.fix")})
		}
		return
	}
	part, svc, region, account, rest := parts[1], parts[2], parts[3], parts[4], parts[5]
	if svc != "iot" && !strings.ContainsAny(svc, "*?") {
		report(Finding{Severity: SeverityWarning, Path: path, Reason: "not-iot", Message: say("lint.not-iot", "Resource", r, "Service", strconv.Quote(svc)), Fix: say("lint.not-iot.fix")})
		return
	}
	wild := func(s string) bool { return strings.ContainsAny(s, "*?") || strings.Contains(s, "${") }
	if opts.Region != "" && !wild(region) && region != opts.Region {
		report(Finding{Severity: SeverityError, Path: path, Reason: "arn-region", Message: say("lint.arn-region", "Resource", r, "Region", region, "Target", opts.Region),
			Fix: say("lint.arn-region.fix", "Target", opts.Region)})
	}
	if opts.Region != "" && !wild(part) && part != policy.Partition(opts.Region) {
		report(Finding{Severity: SeverityError, Path: path, Reason: "arn-partition", Message: say("lint.arn-partition", "Resource", r, "Partition", part, "Region", opts.Region, "Want", policy.Partition(opts.Region)),
			Fix: say("lint.arn-partition.fix", "Want", policy.Partition(opts.Region))})
	}
	if opts.Account != "" && !wild(account) && !placeholderRE.MatchString(account) && account != opts.Account {
		report(Finding{Severity: SeverityError, Path: path, Reason: "arn-account", Message: say("lint.arn-account", "Resource", r, "Account", account, "Target", opts.Account),
			Fix: say("lint.arn-account.fix", "Target", opts.Account)})
	}
	kind, _, _ := strings.Cut(rest, "/")
	switch kind {
	case "client", "topic", "topicfilter", "thing", "cert", "policy", "thinggroup", "rolealias", "*":
	default:
		if !wild(kind) {
			report(Finding{Severity: SeverityWarning, Path: path, Reason: "arn-type", Message: say("lint.arn-type", "Resource", r, "Type", strconv.Quote(kind)), Fix: say("lint.arn-type.fix")})
		}
	}
}

// sortFindings orders findings errors first, keeping the original order otherwise.
func sortFindings(fs []Finding) {
	rank := map[Severity]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}
	sort.SliceStable(fs, func(i, j int) bool { return rank[fs[i].Severity] < rank[fs[j].Severity] })
}

// LintConfig lints a whole registration config: the role ARN (placeholders,
// account and partition against the target) and the template body. A body
// that does not parse yields a single error finding naming where.
func LintConfig(c *RegistrationConfig, params map[string]string, opts LintOptions) []Finding {
	var out []Finding
	add := func(sev Severity, path string, reason Reason, msg, fix string) {
		out = append(out, Finding{Severity: sev, Path: path, Reason: reason, Message: msg, Fix: fix})
	}
	if c.RoleArn != "" {
		if m := placeholderRE.FindString(c.RoleArn); m != "" {
			fix := say("lint.role-placeholder.fix")
			if opts.Account != "" {
				fix = say("lint.placeholder.fix-with", "Value", opts.Account)
			}
			add(SeverityError, "roleArn", "placeholder", say("lint.role-placeholder", "Placeholder", m), fix)
		} else if err := c.Validate(); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				add(SeverityError, ce.Field, ce.Reason, ce.Message, ce.Fix)
			}
		} else if parts := strings.SplitN(c.RoleArn, ":", 6); len(parts) == 6 {
			if opts.Account != "" && parts[4] != opts.Account {
				add(SeverityError, "roleArn", "role-account", say("lint.role-account", "Account", parts[4], "Target", opts.Account),
					say("lint.role-account.fix", "Role", "arn:"+policy.Partition(opts.Region)+":iam::"+opts.Account+":role/"+DefaultRoleName))
			}
			if opts.Region != "" && parts[1] != policy.Partition(opts.Region) {
				add(SeverityError, "roleArn", "role-partition", say("lint.role-partition", "Partition", parts[1], "Region", opts.Region, "Want", policy.Partition(opts.Region)),
					say("lint.role-partition.fix", "Want", policy.Partition(opts.Region)))
			}
		}
	}
	if c.TemplateBody == "" {
		if c.TemplateName != "" {
			add(SeverityInfo, "templateName", "template-name-exists", say("lint.template-name-exists", "Template", c.TemplateName), "")
		}
		return out
	}
	t, err := Parse(c.TemplateBody)
	if err != nil {
		var te *Error
		if errors.As(err, &te) {
			add(SeverityError, joinPath("templateBody", te.Path), te.Reason, te.Message, te.Fix)
		} else {
			add(SeverityError, "templateBody", "", err.Error(), "")
		}
		return out
	}
	for _, f := range Lint(t, params, opts) {
		f.Path = joinPath("templateBody", f.Path)
		out = append(out, f)
	}
	sortFindings(out)
	return out
}
