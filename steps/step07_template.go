package steps

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Step 7: the provisioning template (jitp_template.json = the CA's registrationConfig).
type templateStep struct {
	Base
	// fromFile: the wizard's choice "load a file", pending until a valid path is typed (it
	// then becomes --template FILE); never saved.
	fromFile bool
	// typedFile is the last template file typed that could be read: the subject fields it
	// needs are offered while it waits for them.
	typedFile string
}

func (*templateStep) ID() ID          { return IDTemplate }
func (*templateStep) Title() string   { return i18n.T("step07.title") }
func (*templateStep) Explain() string { return i18n.T("step07.explain") }

func (st *templateStep) record() record {
	s := st.s
	m := map[string]string{
		"template": s.Options.Variant(),
		"role":     s.Role.ARN,
		"target":   targetID(s),
	}
	if s.Options.Variant() == VariantCustom {
		m["template file"] = s.Options.Template + " " + abbrev(fileSHA256(s.Options.Template))
	}
	if s.Options.Variant() == VariantNamed {
		m["policy name"] = s.Options.PolicyName
	}
	return record{after: []ID{IDRole}, inputs: m, outputs: []string{FileTemplate}}
}

// choiceFile is the template choice's value for a template file of your own.
const choiceFile = "file"

// choice is a variant, or "file" for a template file.
func (st *templateStep) choice() string {
	if st.s.Options.Variant() == VariantCustom || st.fromFile {
		return choiceFile
	}
	return st.s.Options.Template
}

func (st *templateStep) Inputs() []Field {
	s := st.s
	var opts []Option
	for _, v := range template.Variants {
		opts = append(opts, Option{Value: string(v), Label: string(v), Help: v.Describe()})
	}
	opts = append(opts, Option{Value: choiceFile, Label: i18n.T("step07.choice.file"), Help: i18n.T("step07.choice.file-help")})
	fields := []Field{
		{Flag: "template", Label: i18n.T("step07.field.template"), Help: i18n.T("step07.field.template-help"),
			Choices: opts,
			Get:     st.choice,
			Set: func(v string) error {
				if v == choiceFile {
					st.fromFile = true // the file's path comes next (fileField)
					return nil
				}
				if err := setTemplate(s, v); err != nil {
					return err
				}
				st.fromFile = false
				return nil
			}},
	}
	switch st.choice() {
	case choiceFile:
		return append(fields, within("template", append(withGet([]Field{st.fileField()}), withGet(st.subjectFields())...))...)
	case VariantNamed:
		// only the named template attaches an existing policy
	default:
		return fields
	}
	return append(fields, within("template", []Field{
		{Flag: "create-policy", Label: i18n.T("step07.field.create-policy"),
			Help:    i18n.T("step07.field.create-policy-help"),
			Choices: []Option{{Value: "no", Label: i18n.T("step07.choice.create-no")}, {Value: "yes", Label: i18n.T("step07.choice.create-yes")}},
			Get:     func() string { return map[bool]string{true: "yes", false: "no"}[s.Options.CreatePolicy] },
			Set: func(v string) error {
				switch v {
				case "yes":
					s.Options.CreatePolicy = true
				case "no":
					s.Options.CreatePolicy = false
				default:
					return i18n.NewError("step07.err.create-policy")
				}
				return nil
			}},
		{Flag: "policy-name", Label: i18n.T("step07.field.policy-name"), Help: i18n.T("step07.field.policy-name-help"),
			Get: func() string { return s.Options.PolicyName },
			Set: func(v string) error {
				if !policyRE.MatchString(v) {
					return i18n.NewError("step07.err.policy-name", i18n.Args{"Name": fmt.Sprintf("%q", v)})
				}
				s.Options.PolicyName = v
				return nil
			}},
	})...)
}

// fileField is the path of the user's template (shown once "load a file" is chosen): linted
// against the device subject as it is typed, and stored as --template FILE once it passes.
func (st *templateStep) fileField() Field {
	s := st.s
	return pathField("template-file", i18n.T("step07.field.file"), i18n.T("step07.field.file-help"),
		func() string {
			if s.Options.Variant() == VariantCustom {
				return s.Options.Template
			}
			return ""
		},
		func(p string) error {
			rc, err := loadTemplateFile(p)
			if err != nil {
				return err
			}
			st.typedFile = p
			t, err := template.Parse(rc.TemplateBody)
			if err != nil {
				return i18n.WrapError(err, "step07.err.file", i18n.Args{"Path": p})
			}
			params, what, err := lintSubject(s)
			if err != nil {
				return err
			}
			if _, err := lintTemplate(s, t, params, what); err != nil {
				if need := missingSubject(s, t); len(need) > 0 {
					return i18n.WrapError(err, "step07.err.file-needs", i18n.Args{"Path": p, "Fields": needWords(need)})
				}
				return i18n.WrapError(err, "step07.err.file-lint", i18n.Args{"Path": p})
			}
			return setTemplate(s, p)
		})
}

// subjectNeed is an optional field of the device subject (O, OU, ST) a template may need.
type subjectNeed struct {
	param, key string
	label      i18n.Key
	get        func(o *Options) *string
}

// subjectNeeds are the optional device subject fields step 7 can ask for when a template
// needs them (C and CN are always there).
var subjectNeeds = []subjectNeed{
	{template.ParamOrganization, "org", "step07.subject.org", func(o *Options) *string { return &o.Org }},
	{template.ParamOrganizationalUnit, "ou", "step07.subject.ou", func(o *Options) *string { return &o.OrgUnit }},
	{template.ParamStateName, "state", "step07.subject.state", func(o *Options) *string { return &o.State }},
}

// neededSubject are the subject fields template t requires that step 9 can set: none with a
// device certificate of the user's own, whose subject is what it is.
func neededSubject(s *Session, t *template.Template) []subjectNeed {
	if s.Options.DeviceCertFile != "" {
		return nil
	}
	var out []subjectNeed
	for _, n := range subjectNeeds {
		if slices.Contains(t.RequiredParameters(), n.param) {
			out = append(out, n)
		}
	}
	return out
}

// missingSubject are the needed subject fields the planned subject leaves empty.
func missingSubject(s *Session, t *template.Template) []subjectNeed {
	var out []subjectNeed
	for _, n := range neededSubject(s, t) {
		if *n.get(&s.Options) == "" {
			out = append(out, n)
		}
	}
	return out
}

func needWords(need []subjectNeed) string {
	var w []string
	for _, n := range need {
		w = append(w, i18n.T(n.label))
	}
	return strings.Join(w, i18n.T("step07.and"))
}

// subjectFields are inputs for the device subject fields the chosen (or typed) template file
// needs, so that a template needing, say, the Organization is not a dead end here: the value
// goes into the planned device subject, and step 9 puts it in the certificate.
func (st *templateStep) subjectFields() []Field {
	s := st.s
	path := st.typedFile
	if s.Options.Variant() == VariantCustom {
		path = s.Options.Template
	}
	if path == "" {
		return nil
	}
	rc, err := loadTemplateFile(path)
	if err != nil {
		return nil
	}
	t, err := template.Parse(rc.TemplateBody)
	if err != nil {
		return nil
	}
	var out []Field
	for _, n := range neededSubject(s, t) {
		label := i18n.T(n.label)
		out = append(out, Field{Flag: n.key, Label: i18n.T("step07.field.needed", i18n.Args{"Label": label}),
			Help: i18n.T("step07.field.needed-help", i18n.Args{"Param": n.param}),
			Get:  func() string { return *n.get(&s.Options) },
			Set: func(v string) error {
				if v == "" {
					return i18n.NewError("step07.err.needed", i18n.Args{"Label": label})
				}
				o := s.Options
				*n.get(&o) = v
				if err := o.DeviceSubject().ValidateDevice(); err != nil {
					return err
				}
				*n.get(&s.Options) = v
				return nil
			}})
	}
	return out
}

// setTemplate stores a template choice (a variant or a template file path) as --template
// would: a named policy gets its default name, other choices drop it.
func setTemplate(s *Session, v string) error {
	o := s.Options
	o.Template = v
	if v == VariantNamed && o.PolicyName == "" {
		o.PolicyName = DefaultPolicyName
	}
	if v != VariantNamed {
		o.PolicyName, o.CreatePolicy = "", false
	}
	if err := o.resolve(false); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if err := checkTemplateOption(&o); err != nil {
		return err
	}
	s.Options.Template, s.Options.PolicyName, s.Options.CreatePolicy = o.Template, o.PolicyName, o.CreatePolicy
	return nil
}

// templateConfig builds the registration config for the session's template choice.
func templateConfig(s *Session) (*template.RegistrationConfig, []string, error) {
	var notes []string
	switch v := s.Options.Variant(); v {
	case VariantCustom:
		rc, err := loadTemplateFile(s.Options.Template)
		if err != nil {
			return nil, nil, err
		}
		body := strings.ReplaceAll(rc.TemplateBody, template.PlaceholderAccount, s.Account)
		if rc.RoleArn != "" && rc.RoleArn != s.Role.ARN {
			notes = append(notes, i18n.T("step07.note.role-replaced", i18n.Args{"FileRole": rc.RoleArn, "Role": s.Role.ARN}))
		}
		out := &template.RegistrationConfig{TemplateBody: body, RoleArn: s.Role.ARN}
		if err := out.Validate(); err != nil {
			return nil, nil, i18n.WrapError(err, "step07.err.template", i18n.Args{"Path": s.Options.Template})
		}
		return out, notes, nil
	default:
		rc, err := template.RenderConfig(template.Variant(v), s.Region, s.Account, s.Role.ARN, s.Options.PolicyName)
		if err != nil {
			return nil, nil, err
		}
		return rc, nil, nil
	}
}

// lintSubject is the JITP dictionary templates are linted against: the supplied device
// certificate's, else the one the planned device subject will give.
func lintSubject(s *Session) (map[string]string, string, error) {
	if s.Options.DeviceCertFile != "" {
		dc, err := pki.LoadCertFile(s.Options.DeviceCertFile)
		if err != nil {
			return nil, "", i18n.WrapError(err, "step07.err.device-cert")
		}
		return pki.JITPParameters(dc), yoursWhat(pki.SubjectOf(dc)), nil
	}
	sub := s.Options.DeviceSubject()
	return plannedParams(sub), plannedWhat(sub), nil
}

func (st *templateStep) Commands() []string {
	s := st.s
	out := []string{"cat " + FileTemplate}
	if s.Options.Variant() == VariantNamed {
		out = append(out, awsCmd(s, "iot", "get-policy", "--policy-name", s.Options.PolicyName))
	}
	return out
}

func (st *templateStep) act(ctx context.Context) (bool, error) {
	s := st.s
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	if s.Role.ARN == "" {
		return false, i18n.NewError("step07.err.no-role")
	}
	if st.fromFile && s.Options.Variant() != VariantCustom {
		return false, i18n.NewError("step07.err.file-pending")
	}
	rc, notes, err := templateConfig(s)
	if err != nil {
		return false, err
	}
	t, err := template.Parse(rc.TemplateBody)
	if err != nil {
		return false, err
	}
	// Lint against the device subject planned for step 9 (or the supplied device cert).
	params, what, err := lintSubject(s)
	if err != nil {
		return false, err
	}
	warnings, err := lintTemplate(s, t, params, what)
	if err != nil {
		if need := missingSubject(s, t); len(need) > 0 {
			var flags []string
			for _, n := range need {
				flags = append(flags, "--"+n.key+" VALUE")
			}
			return false, i18n.WrapError(err, "step07.err.lint-needs", i18n.Args{"Fields": needWords(need), "Flags": strings.Join(flags, " ")})
		}
		return false, i18n.WrapError(err, "step07.err.lint")
	}
	// The wizard shows the warnings on the template's page; run prints them as progress.
	report := append(append([]string(nil), notes...), warnings...)
	if s.Options.Variant() == VariantAdmin && !lintsAdmin(s, t, params) {
		// The linter did not already say it in detail: say it once, here.
		admin := i18n.T("step07.warn.admin")
		report = append(report, admin)
		warnings = append(warnings, admin)
	}
	res := TemplateRes{File: FileTemplate, Variant: s.Options.Variant(), BodySHA256: sha256Hex([]byte(rc.TemplateBody)), Warnings: append(notes, warnings...)}
	for _, w := range report {
		st.Report(Event{Message: i18n.T("step07.warning", i18n.Args{"Text": w})})
	}
	if s.Options.Variant() == VariantCustom {
		res.Source = s.Options.Template
	}
	// A template attaching a policy by name needs that policy to exist before a device connects.
	if pp := t.Resource(template.TypePolicy); pp != nil {
		plan, err := t.Evaluate(params)
		if err == nil && plan.Policy != nil && !plan.Policy.Inline {
			res.PolicyName = plan.Policy.Name
			created, err := st.ensureNamedPolicy(ctx, c, plan.Policy.Name)
			if err != nil {
				return false, err
			}
			res.PolicyCreated = created || (s.Template.PolicyName == plan.Policy.Name && s.Template.PolicyCreated)
		}
	}
	data := rc.Marshal()
	reused := sameFile(s.Path(FileTemplate), data)
	if !reused {
		if err := pki.EnsureWorkspace(s.dir); err != nil {
			return false, err
		}
		if err := pki.WriteFile(s.Path(FileTemplate), data, pki.CertMode, true); err != nil {
			return false, err
		}
	}
	s.Template = res
	return reused, nil
}

// ensureNamedPolicy checks that the named policy exists and creates it (thing-scoped, like
// the scoped template's) only when the user asked for it (--create-policy, or "yes" in the
// wizard). --yes accepts the defaults, and the default is "no, I create it myself": a missing
// policy stays the failure it is on AWS.
func (st *templateStep) ensureNamedPolicy(ctx context.Context, c aws.Client, name string) (bool, error) {
	s := st.s
	_, err := c.GetPolicy(ctx, name)
	if err == nil {
		return false, nil
	}
	if !aws.IsKind(err, aws.KindNotFound) {
		return false, err
	}
	if !s.Options.CreatePolicy {
		return false, i18n.NewError("step07.err.policy-missing", i18n.Args{"Policy": fmt.Sprintf("%q", name), "Region": s.Region,
			"Command": awsCmd(s, "iot", "create-policy", "--policy-name", name, "--policy-document", "file://policy.json")})
	}
	doc, err := scopedPolicyDocument(s)
	if err != nil {
		return false, err
	}
	st.Report(Event{Message: i18n.T("step07.creating-policy", i18n.Args{"Policy": name})})
	if _, err := c.CreatePolicy(ctx, name, doc); err != nil && !aws.IsKind(err, aws.KindAlreadyExists) {
		return false, err
	}
	return true, nil
}

func (st *templateStep) Result() []ResultLine {
	s := st.s
	out := []ResultLine{
		fileLine(i18n.T("step07.result.config"), FileTemplate),
		valueLine(i18n.T("step07.result.variant"), s.Template.Variant),
	}
	if s.Template.Source != "" {
		out = append(out, fileLine(i18n.T("step07.result.source"), s.Template.Source))
	}
	if s.Template.PolicyName != "" {
		v := s.Template.PolicyName
		if s.Template.PolicyCreated {
			v = i18n.T("step07.result.policy-created", i18n.Args{"Policy": v})
		}
		out = append(out, valueLine(i18n.T("step07.result.policy"), v))
	}
	for _, w := range s.Template.Warnings {
		out = append(out, ResultLine{Kind: ResultNote, Label: i18n.T("step07.result.warning"), Value: w, OK: false})
	}
	if b, err := os.ReadFile(s.Path(FileTemplate)); err == nil {
		if rc, err := template.ParseRegistrationConfig(b); err == nil {
			if p, err := template.Pretty(rc.TemplateBody); err == nil {
				out = append(out, ResultLine{Kind: ResultDocument, Label: i18n.T("step07.result.template"), Value: p, OK: true})
			}
		}
	}
	return out
}

func (st *templateStep) Summary() string {
	s := st.s
	return i18n.T("step07.summary", i18n.Args{"File": FileTemplate, "Variant": s.Template.Variant, "Policy": s.Template.PolicyName})
}

// preview shows, before the step runs, the body of the chosen variant pretty-printed (its
// inline policy decoded) and the lint of it against the device subject that step 9 will
// use — the same registration config and lint the step's action uses.
func (st *templateStep) preview(width int) string {
	s, c := st.s, st.c
	sty := c.Styles
	if st.fromFile && s.Options.Variant() != VariantCustom {
		return sty.Help.Width(width).Render(i18n.T("step07.preview.pending"))
	}
	rc, notes, err := templateConfig(s)
	if err != nil {
		return sty.Invalid.Width(width).Render(sty.Icons.Failed + " " + i18n.T("step07.preview.cannot", i18n.Args{"Err": err}))
	}
	body, err := template.Pretty(c.display(rc.TemplateBody))
	if err != nil {
		return sty.Invalid.Width(width).Render(sty.Icons.Failed + " " + err.Error())
	}
	var out []string
	title := i18n.T("step07.preview.title", i18n.Args{"File": FileTemplate, "Variant": s.Options.Variant()})
	out = append(out, sty.Section.Render(title))
	box := sty.Document.Width(width - sty.Document.GetHorizontalBorderSize())
	out = append(out, box.Render(wrapDocument(strings.TrimRight(body, "\n"), width-sty.Document.GetHorizontalFrameSize())))

	what, params := plannedWhat(s.Options.DeviceSubject()), plannedParams(s.Options.DeviceSubject())
	if s.Options.DeviceCertFile != "" {
		if dc, err := pki.LoadCertFile(s.Options.DeviceCertFile); err == nil {
			what, params = yoursWhat(pki.SubjectOf(dc)), pki.JITPParameters(dc)
		}
	}
	out = append(out, sty.Section.Render(i18n.T("step07.preview.lint", i18n.Args{"What": what})))
	var lines []string
	adminSaid := false // the admin warning is said once: by the linter, else below
	if t, err := template.Parse(rc.TemplateBody); err != nil {
		lines = append(lines, hang(sty.CheckFailed.Render(sty.Icons.Failed+" "+err.Error()), width))
	} else {
		findings := template.Lint(t, params, template.LintOptions{Region: s.Region, Account: s.Account})
		errs := 0
		for _, f := range findings {
			adminSaid = adminSaid || f.Reason == template.ReasonAdminPolicy
			icon, style := sty.Icons.Bullet, sty.Help
			switch f.Severity {
			case template.SeverityError:
				icon, style = sty.Icons.Failed, sty.CheckFailed
				errs++
			case template.SeverityWarning:
				icon, style = "!", sty.Warning
			}
			lines = append(lines, hang(style.Render(icon+" "+f.String()), width))
		}
		if errs == 0 {
			lines = append([]string{"  " + sty.CheckOK.Render(sty.Icons.Done+" "+i18n.T("step07.preview.params-ok"))}, lines...)
		}
	}
	for _, n := range notes {
		lines = append(lines, hang(sty.Warning.Render("! "+n), width))
	}
	if s.Options.Variant() == VariantAdmin && !adminSaid {
		lines = append(lines, hang(sty.Warning.Render("! "+i18n.T("step07.preview.admin")), width))
	}
	out = append(out, strings.Join(lines, "\n"))
	return strings.Join(out, "\n")
}
