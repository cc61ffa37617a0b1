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
)

// Step 7: the provisioning template (jitp_template.json = the CA's registrationConfig).
type templateStep struct {
	Base
	// fromFile: the wizard's choice "load a file", pending until a valid path is typed (it
	// then becomes --template FILE); never saved.
	fromFile bool
}

func (*templateStep) ID() ID        { return IDTemplate }
func (*templateStep) Title() string { return "Template" }
func (*templateStep) Explain() string {
	return "The provisioning template tells AWS IoT what to create when an unknown device certificate signed by\n" +
		"your CA first connects: a thing named from the certificate's CN, the certificate set ACTIVE, and a policy.\n" +
		"Its parameters come only from the certificate subject, so it is checked against the device subject now."
}

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
	opts = append(opts, Option{Value: choiceFile, Label: "load a file", Help: "your own template or registration config"})
	fields := []Field{
		{Key: "template", Label: "Template", Help: "scoped (default), admin (labs only), named (an existing policy), or load a template file",
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
		return append(fields, withGet([]Field{st.fileField()})...)
	case VariantNamed:
		// only the named template attaches an existing policy
	default:
		return fields
	}
	return append(fields, []Field{
		{Key: "create-policy", Label: "Create the policy if missing (named template)",
			Help:    "the named template needs the policy to exist before a device connects; jitpwiz can create a thing-scoped one",
			Choices: []Option{{Value: "no", Label: "no, I create it myself"}, {Value: "yes", Label: "yes, create a thing-scoped policy"}},
			Get:     func() string { return map[bool]string{true: "yes", false: "no"}[s.Options.CreatePolicy] },
			Set: func(v string) error {
				switch v {
				case "yes":
					s.Options.CreatePolicy = true
				case "no":
					s.Options.CreatePolicy = false
				default:
					return fmt.Errorf("create policy: answer yes or no")
				}
				return nil
			}},
		{Key: "policy-name", Label: "Policy name (named template)", Help: "the existing IoT policy the named template attaches",
			Get: func() string { return s.Options.PolicyName },
			Set: func(v string) error {
				if !policyRE.MatchString(v) {
					return fmt.Errorf("policy name %q: use 1–128 letters, digits and + = , . @ _ -", v)
				}
				s.Options.PolicyName = v
				return nil
			}},
	}...)
}

// fileField is the path of the user's template (shown once "load a file" is chosen): linted
// against the device subject as it is typed, and stored as --template FILE once it passes.
func (st *templateStep) fileField() Field {
	s := st.s
	return pathField("template-file", "Template file",
		`a registration config like jitp_template.json ({"templateBody": …}) or a bare template ({"Resources": …}); read, never rewritten`,
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
			t, err := template.Parse(rc.TemplateBody)
			if err != nil {
				return fmt.Errorf("template file %s: %w", p, err)
			}
			params, what, err := lintSubject(s)
			if err != nil {
				return err
			}
			if _, err := lintTemplate(s, t, params, what); err != nil {
				return fmt.Errorf("template file %s: %w — fix the template, or the device subject in step 9", p, err)
			}
			return setTemplate(s, p)
		})
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
			notes = append(notes, fmt.Sprintf("the file's roleArn %s was replaced by the provisioning role %s", rc.RoleArn, s.Role.ARN))
		}
		out := &template.RegistrationConfig{TemplateBody: body, RoleArn: s.Role.ARN}
		if err := out.Validate(); err != nil {
			return nil, nil, fmt.Errorf("--template %s: %w", s.Options.Template, err)
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
			return nil, "", fmt.Errorf("--device-cert: %w", err)
		}
		return pki.JITPParameters(dc), "your device certificate " + pki.SubjectOf(dc).String(), nil
	}
	sub := s.Options.DeviceSubject()
	return plannedParams(sub), "the planned device subject " + sub.String(), nil
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
		return false, fmt.Errorf("no provisioning role yet — run step 6 (provisioning role) first")
	}
	if st.fromFile && s.Options.Variant() != VariantCustom {
		return false, fmt.Errorf("template: you chose to load a file — type its path, or choose scoped, admin or named")
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
		return false, fmt.Errorf("%w\n  (nothing was registered; fix the template or the device subject flags and run again)", err)
	}
	// The wizard shows the warnings on the template's page; run prints them as progress.
	report := append(append([]string(nil), notes...), warnings...)
	if s.Options.Variant() == VariantAdmin {
		const admin = "the admin template's policy allows iot:* on * — for labs only, never for real devices"
		if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, "admin policy") }) {
			report = append(report, admin) // the linter did not already say it in detail
		}
		warnings = append(warnings, admin)
	}
	res := TemplateRes{File: FileTemplate, Variant: s.Options.Variant(), BodySHA256: sha256Hex([]byte(rc.TemplateBody)), Warnings: append(notes, warnings...)}
	for _, w := range report {
		st.reportf("warning: %s", strings.TrimPrefix(w, "warning: "))
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
// the scoped template's) when the user agreed (--create-policy or --yes).
func (st *templateStep) ensureNamedPolicy(ctx context.Context, c aws.Client, name string) (bool, error) {
	s := st.s
	_, err := c.GetPolicy(ctx, name)
	if err == nil {
		return false, nil
	}
	if !aws.IsKind(err, aws.KindNotFound) {
		return false, err
	}
	if !s.Options.CreatePolicy && !s.Options.Yes {
		return false, fmt.Errorf("the template attaches the IoT policy %q, which does not exist in %s: JITP would fail and the certificate would stay PENDING_ACTIVATION — create it (`%s`), or run again with --create-policy (in the wizard: \"Create the policy if missing\" = yes) to let jitpwiz create a thing-scoped one",
			name, s.Region, awsCmd(s, "iot", "create-policy", "--policy-name", name, "--policy-document", "file://policy.json"))
	}
	doc, err := scopedPolicyDocument(s)
	if err != nil {
		return false, err
	}
	st.reportf("creating the IoT policy %s (thing-scoped)", name)
	if _, err := c.CreatePolicy(ctx, name, doc); err != nil && !aws.IsKind(err, aws.KindAlreadyExists) {
		return false, err
	}
	return true, nil
}

func (st *templateStep) Result() []ResultLine {
	s := st.s
	out := []ResultLine{
		fileLine("registration config", FileTemplate),
		valueLine("variant", s.Template.Variant),
	}
	if s.Template.Source != "" {
		out = append(out, fileLine("template source", s.Template.Source))
	}
	if s.Template.PolicyName != "" {
		v := s.Template.PolicyName
		if s.Template.PolicyCreated {
			v += " (created by jitpwiz)"
		}
		out = append(out, valueLine("policy", v))
	}
	for _, w := range s.Template.Warnings {
		out = append(out, ResultLine{Kind: ResultNote, Label: "warning", Value: w, OK: false})
	}
	if b, err := os.ReadFile(s.Path(FileTemplate)); err == nil {
		if rc, err := template.ParseRegistrationConfig(b); err == nil {
			if p, err := template.Pretty(rc.TemplateBody); err == nil {
				out = append(out, ResultLine{Kind: ResultDocument, Label: "template", Value: p, OK: true})
			}
		}
	}
	return out
}

func (st *templateStep) Summary() string {
	s := st.s
	t := FileTemplate + " (" + s.Template.Variant
	if s.Template.PolicyName != "" {
		t += ", policy " + s.Template.PolicyName
	}
	return t + ")"
}

// preview shows, before the step runs, the body of the chosen variant pretty-printed (its
// inline policy decoded) and the lint of it against the device subject that step 9 will
// use — the same registration config and lint the step's action uses.
func (st *templateStep) preview(width int) string {
	s, c := st.s, st.c
	sty := c.Styles
	if st.fromFile && s.Options.Variant() != VariantCustom {
		return sty.Help.Width(width).Render("Preview: type the path of your template file above; its body and lint show here.")
	}
	rc, notes, err := templateConfig(s)
	if err != nil {
		return sty.Invalid.Width(width).Render(sty.Icons.Failed + " cannot preview the template: " + err.Error())
	}
	body, err := template.Pretty(c.display(rc.TemplateBody))
	if err != nil {
		return sty.Invalid.Width(width).Render(sty.Icons.Failed + " " + err.Error())
	}
	var out []string
	title := "Preview: " + FileTemplate + " templateBody (" + s.Options.Variant() + ")"
	out = append(out, sty.Section.Render(title))
	box := sty.Document.Width(width - sty.Document.GetHorizontalBorderSize())
	out = append(out, box.Render(wrapDocument(strings.TrimRight(body, "\n"), width-sty.Document.GetHorizontalFrameSize())))

	what, params := "the planned device subject "+s.Options.DeviceSubject().String(), plannedParams(s.Options.DeviceSubject())
	if s.Options.DeviceCertFile != "" {
		if dc, err := pki.LoadCertFile(s.Options.DeviceCertFile); err == nil {
			what, params = "your device certificate "+pki.SubjectOf(dc).String(), pki.JITPParameters(dc)
		}
	}
	out = append(out, sty.Section.Render("Lint against "+what))
	var lines []string
	if t, err := template.Parse(rc.TemplateBody); err != nil {
		lines = append(lines, hang(sty.CheckFailed.Render(sty.Icons.Failed+" "+err.Error()), width))
	} else {
		findings := template.Lint(t, params, template.LintOptions{Region: s.Region, Account: s.Account})
		errs := 0
		for _, f := range findings {
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
			lines = append([]string{"  " + sty.CheckOK.Render(sty.Icons.Done+" every parameter the template uses is in the device subject")}, lines...)
		}
	}
	for _, n := range notes {
		lines = append(lines, hang(sty.Warning.Render("! "+n), width))
	}
	if s.Options.Variant() == VariantAdmin {
		lines = append(lines, hang(sty.Warning.Render("! the admin policy allows iot:* on * — for labs only, never for real devices"), width))
	}
	out = append(out, strings.Join(lines, "\n"))
	return strings.Join(out, "\n")
}
