package template

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
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

// Finding is one lint result.
type Finding struct {
	Severity Severity
	Path     string // JSON path in the template, e.g. "Resources.policy.Properties.PolicyDocument.Statement[0].Resource"
	Message  string
	Fix      string
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s", f.Severity, f.Message)
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
				l.add(SeverityError, te.Path, "provisioning would fail: "+te.Message, te.Fix)
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
				l.add(SeverityWarning, l.t.Resource(TypeThing).Path+".Properties.AttributePayload."+k,
					fmt.Sprintf("attribute %s would be '%s'; the AWS IoT API model allows only letters, digits and _ . , @ / : # - in attribute values, so AWS may reject it", k, v),
					"avoid spaces and other punctuation in the certificate field this attribute comes from")
			}
		}
		l.add(SeverityInfo, "", fmt.Sprintf("this certificate would be provisioned as thing '%s'", plan.Thing.Name), "")
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

func (l *linter) add(sev Severity, path, msg, fix string) {
	l.out = append(l.out, Finding{Severity: sev, Path: path, Message: msg, Fix: fix})
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
			fix := "replace it with the real value"
			switch m {
			case PlaceholderAccount:
				fix = "replace it with your 12-digit account ID (`aws sts get-caller-identity`)"
				if l.opts.Account != "" {
					fix = "replace it with " + l.opts.Account
				}
			}
			l.add(SeverityError, path, fmt.Sprintf("the placeholder %s is still in the template", m), fix)
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
			l.add(SeverityWarning, r.Path, fmt.Sprintf("JITP does not provide %s, so its Default is always used", r.Name),
				"use a parameter name without the AWS::IoT::Certificate:: prefix for a constant, or one JITP provides")
			continue
		case !isCert && strings.HasPrefix(r.Name, "AWS::IoT::Certificate::"):
			l.add(SeverityError, r.Path, fmt.Sprintf("JITP does not provide %s; it only provides Country, Organization, OrganizationalUnit, DistinguishedNameQualifier, StateName, CommonName, SerialNumber and Id", r.Name),
				"refer to one of the provided AWS::IoT::Certificate::* parameters, or declare the parameter with a Default")
			continue
		case !declared:
			l.add(SeverityWarning, r.Path, fmt.Sprintf("%s is referenced but not declared in Parameters", r.Name),
				fmt.Sprintf("add \"%s\": {\"Type\": \"String\"} to Parameters", r.Name))
		}
		if eff == nil {
			if p, ok := l.t.Parameters[r.Name]; isCert && field.Short != "" && !(ok && p.Default != nil) {
				l.add(SeverityInfo, r.Path, fmt.Sprintf("the device certificate's subject must contain %s (%s): the template uses %s", field.Short, field.Long, r.Name), "")
			}
			continue
		}
		if _, ok := eff[r.Name]; ok {
			continue
		}
		msg := fmt.Sprintf("provisioning would fail with \"%s\"", RefError(r.Name))
		if isCert && field.Short != "" {
			msg = fmt.Sprintf("the device certificate's subject has no %s (%s), so %s", field.Short, field.Long, msg)
		}
		l.add(SeverityError, r.Path, msg, refFix(r.Name))
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
			l.add(SeverityError, path, fmt.Sprintf("JITP never provides %s, so provisioning always fails: every parameter declared without a Default must come from the device certificate", name), missingFix(name))
		case field.Short == "":
			// Id and SerialNumber are always in the dictionary.
		case params == nil:
			if !referenced[name] {
				l.add(SeverityInfo, path, fmt.Sprintf("the device certificate's subject must contain %s (%s): the template declares %s, and JITP fails provisioning when a declared parameter is missing, even one no resource uses", field.Short, field.Long, name), "")
			}
		default:
			if _, ok := params[name]; ok || referenced[name] {
				continue
			}
			l.add(SeverityError, path, fmt.Sprintf("the device certificate's subject has no %s (%s), so provisioning would fail with \"%s\": JITP needs every declared parameter, used or not", field.Short, field.Long, MissingParameterError(name)), missingFix(name))
		}
	}
}

func (l *linter) resources() {
	if l.t.Resource(TypeThing) == nil {
		l.add(SeverityWarning, "Resources", "the template creates no thing, so ${iot:Connection.Thing.*} policy variables never resolve",
			"add an AWS::IoT::Thing resource with ThingName: {\"Ref\": \"AWS::IoT::Certificate::CommonName\"}")
	}
	cert := l.t.Resource(TypeCertificate)
	if cert == nil {
		l.add(SeverityError, "Resources", "the template has no AWS::IoT::Certificate resource, so the device certificate is never activated (it stays PENDING_ACTIVATION)",
			"add \"certificate\": {\"Type\": \"AWS::IoT::Certificate\", \"Properties\": {\"CertificateId\": {\"Ref\": \"AWS::IoT::Certificate::Id\"}, \"Status\": \"ACTIVE\"}}")
	} else {
		id := cert.props.Get("CertificateId")
		if id == nil || !(len(id.Keys) == 1 && id.Keys[0] == "Ref" && id.Vals[0].Kind == strictjson.String && id.Vals[0].Str == ParamID) {
			l.add(SeverityError, cert.Path+".Properties", "JITP needs CertificateId: {\"Ref\": \"AWS::IoT::Certificate::Id\"} to activate the device's own certificate",
				"set CertificateId to {\"Ref\": \"AWS::IoT::Certificate::Id\"}")
		}
		if s := cert.props.Get("Status"); s != nil && s.Kind == strictjson.String && s.Str == "INACTIVE" {
			l.add(SeverityWarning, cert.Path+".Properties.Status", "the certificate is provisioned INACTIVE, so the device cannot connect afterwards",
				"set Status to ACTIVE")
		}
	}
	if th := l.t.Resource(TypeThing); th != nil {
		if n := th.props.Get("ThingName"); n != nil && n.Kind == strictjson.String {
			if err := CheckThingName(n.Str); err != nil {
				l.add(SeverityError, th.Path+".Properties.ThingName", "provisioning would fail: "+err.Error(),
					"thing names are 1-128 characters of letters, digits, ':', '_' and '-'")
			} else {
				l.add(SeverityWarning, th.Path+".Properties.ThingName", fmt.Sprintf("every device gets the same thing name '%s'", n.Str),
					"name the thing from the certificate: {\"Ref\": \"AWS::IoT::Certificate::CommonName\"}")
			}
		}
		if ap := th.props.Get("AttributePayload"); ap != nil && ap.Kind == strictjson.Object && len(ap.Keys) > 3 && th.props.Get("ThingTypeName") == nil {
			l.add(SeverityWarning, th.Path+".Properties.AttributePayload", fmt.Sprintf("a thing without a thing type may have at most 3 attributes; this one gets %d", len(ap.Keys)),
				"add a ThingTypeName (the type must exist), or keep 3 attributes")
		}
		if tn := th.props.Get("ThingTypeName"); tn != nil {
			l.add(SeverityInfo, th.Path+".Properties.ThingTypeName", "the thing type must already exist: the JITP role may not create thing types", "")
		}
		if g := th.props.Get("ThingGroups"); g != nil {
			l.add(SeverityInfo, th.Path+".Properties.ThingGroups", "the thing groups must already exist: the JITP role may not create thing groups", "")
		}
	}
}

func (l *linter) policies(plan *Plan) {
	prs := l.t.ResourcesOf(TypePolicy)
	if len(prs) == 0 {
		l.add(SeverityWarning, "Resources", "the template attaches no policy, so the device will be refused on connect (default deny)",
			"add an AWS::IoT::Policy resource with a PolicyName or PolicyDocument")
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
			l.add(SeverityInfo, path+".PolicyName", fmt.Sprintf("the policy '%s' must exist in the account before the device connects", name),
				fmt.Sprintf("create it: aws iot create-policy --policy-name %s --policy-document file://policy.json", name))
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
		l.add(SeverityError, path, l.computedPolicyErr.Message, l.computedPolicyErr.Fix)
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
		fix := "fix the JSON of the policy document"
		if strings.Contains(doc, `\"`) {
			fix = "the policy document seems escaped once too often: inside templateBody it is a JSON string, so its quotes appear as \\\" there and as \\\\\\\" in the registration-config file"
		}
		report(Finding{Severity: SeverityError, Path: path, Message: err.Error(), Fix: fix})
		return
	}
	if n := policy.CountChars(doc); n > MaxPolicyChars {
		report(Finding{Severity: SeverityError, Path: path, Message: fmt.Sprintf("the policy document has %d characters (not counting whitespace); AWS IoT allows %d", n, MaxPolicyChars),
			Fix: "shorten it, e.g. combine statements or use wildcards"})
	}
	for _, dup := range d.Duplicates {
		report(Finding{Severity: SeverityWarning, Path: path + "." + dup, Message: fmt.Sprintf("%s appears more than once in the policy document; only the last one counts", lastSegment(dup)),
			Fix: "merge the duplicate keys"})
	}
	if d.Version == "" {
		report(Finding{Severity: SeverityWarning, Path: path, Message: "the policy document has no Version", Fix: "add \"Version\": \"2012-10-17\""})
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
				report(Finding{Severity: SeverityWarning, Path: sp + ".Action", Message: fmt.Sprintf("%s is not an AWS IoT data-plane action", a),
					Fix: "check the spelling (iot:Connect, iot:Publish, iot:Subscribe, iot:Receive, iot:RetainPublish, ...)"})
			}
		}
		if s.Effect == policy.Allow && !s.NotAction && !s.NotResource && broadAction(s.Actions) && hasString(s.Resources, "*") {
			report(Finding{Severity: SeverityWarning, Path: sp, Message: "this statement allows every AWS IoT action on every resource (admin policy): any device with this certificate can connect as any client and use any topic",
				Fix: "use it for labs only; the scoped variant limits each device to its own client ID and topics"})
		}
		for _, r := range s.Resources {
			for _, v := range policy.Variables(r) {
				if !policy.KnownVariable(v) {
					report(Finding{Severity: SeverityWarning, Path: sp + "." + resKey, Message: fmt.Sprintf("${%s} is not an AWS IoT policy variable; the resource will never match", v),
						Fix: "use e.g. ${iot:ClientId} or ${iot:Connection.Thing.ThingName}"})
				}
				if strings.HasPrefix(v, "iot:Connection.Thing.") {
					usesThingName = true
				}
			}
			lintARN(r, sp+"."+resKey, opts, report)
		}
	}
	if usesThingName {
		report(Finding{Severity: SeverityInfo, Path: path, Message: "the policy uses ${iot:Connection.Thing.*}: the device must connect with its client ID equal to its thing name, otherwise those resources never match",
			Fix: "connect with -i <thing name> (e.g. the certificate's CN)"})
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
			report(Finding{Severity: SeverityWarning, Path: path, Message: fmt.Sprintf("resource %q is not an ARN; it only matches a request for exactly that string", r),
				Fix: "write resources as arn:aws:iot:<region>:<account>:client/<id>, topic/<topic> or topicfilter/<filter>"})
		}
		return
	}
	part, svc, region, account, rest := parts[1], parts[2], parts[3], parts[4], parts[5]
	if svc != "iot" && !strings.ContainsAny(svc, "*?") {
		report(Finding{Severity: SeverityWarning, Path: path, Message: fmt.Sprintf("resource %s is not an AWS IoT resource (service %q)", r, svc), Fix: "use arn:aws:iot:..."})
		return
	}
	wild := func(s string) bool { return strings.ContainsAny(s, "*?") || strings.Contains(s, "${") }
	if opts.Region != "" && !wild(region) && region != opts.Region {
		report(Finding{Severity: SeverityError, Path: path, Message: fmt.Sprintf("resource %s is in region %s but the target region is %s, so it never matches", r, region, opts.Region),
			Fix: fmt.Sprintf("change the region in the ARN to %s", opts.Region)})
	}
	if opts.Region != "" && !wild(part) && part != policy.Partition(opts.Region) {
		report(Finding{Severity: SeverityError, Path: path, Message: fmt.Sprintf("resource %s uses partition %s but region %s is in partition %s", r, part, opts.Region, policy.Partition(opts.Region)),
			Fix: fmt.Sprintf("start the ARN with arn:%s:iot:", policy.Partition(opts.Region))})
	}
	if opts.Account != "" && !wild(account) && !placeholderRE.MatchString(account) && account != opts.Account {
		report(Finding{Severity: SeverityError, Path: path, Message: fmt.Sprintf("resource %s is in account %s but the target account is %s, so it never matches", r, account, opts.Account),
			Fix: fmt.Sprintf("change the account in the ARN to %s", opts.Account)})
	}
	kind, _, _ := strings.Cut(rest, "/")
	switch kind {
	case "client", "topic", "topicfilter", "thing", "cert", "policy", "thinggroup", "rolealias", "*":
	default:
		if !wild(kind) {
			report(Finding{Severity: SeverityWarning, Path: path, Message: fmt.Sprintf("resource %s has type %q; MQTT actions use client/, topic/ and topicfilter/", r, kind),
				Fix: "use client/<id> for iot:Connect, topic/<topic> for Publish/Receive, topicfilter/<filter> for Subscribe"})
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
	add := func(sev Severity, path, msg, fix string) {
		out = append(out, Finding{Severity: sev, Path: path, Message: msg, Fix: fix})
	}
	if c.RoleArn != "" {
		if m := placeholderRE.FindString(c.RoleArn); m != "" {
			fix := "replace it with your 12-digit account ID"
			if opts.Account != "" {
				fix = "replace it with " + opts.Account
			}
			add(SeverityError, "roleArn", fmt.Sprintf("the placeholder %s is still in the role ARN", m), fix)
		} else if err := c.Validate(); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				add(SeverityError, ce.Field, ce.Message, ce.Fix)
			}
		} else if parts := strings.SplitN(c.RoleArn, ":", 6); len(parts) == 6 {
			if opts.Account != "" && parts[4] != opts.Account {
				add(SeverityError, "roleArn", fmt.Sprintf("the role is in account %s but the target account is %s", parts[4], opts.Account),
					fmt.Sprintf("use arn:%s:iam::%s:role/%s", policy.Partition(opts.Region), opts.Account, DefaultRoleName))
			}
			if opts.Region != "" && parts[1] != policy.Partition(opts.Region) {
				add(SeverityError, "roleArn", fmt.Sprintf("the role ARN uses partition %s but region %s is in partition %s", parts[1], opts.Region, policy.Partition(opts.Region)),
					fmt.Sprintf("start the role ARN with arn:%s:iam::", policy.Partition(opts.Region)))
			}
		}
	}
	if c.TemplateBody == "" {
		if c.TemplateName != "" {
			add(SeverityInfo, "templateName", fmt.Sprintf("the provisioning template '%s' must exist (type JITP) in the target account and region", c.TemplateName), "")
		}
		return out
	}
	t, err := Parse(c.TemplateBody)
	if err != nil {
		var te *Error
		if errors.As(err, &te) {
			add(SeverityError, joinPath("templateBody", te.Path), te.Message, te.Fix)
		} else {
			add(SeverityError, "templateBody", err.Error(), "")
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
