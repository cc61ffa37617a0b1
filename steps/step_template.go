package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// Step 7: the provisioning template (jitp_template.json = the CA's registrationConfig).

// FileTemplate is the registration-config file the walkthrough passes to register-ca-certificate.
const FileTemplate = "jitp_template.json"

func stepTemplate() *step {
	return &step{
		id:    IDTemplate,
		title: "Template",
		explain: "The provisioning template tells AWS IoT what to create when an unknown device certificate signed by\n" +
			"your CA first connects: a thing named from the certificate's CN, the certificate set ACTIVE, and a policy.\n" +
			"Its parameters come only from the certificate subject, so it is checked against the device subject now.",
		after: []ID{IDRole},
		inputs: func(s *Session) map[string]string {
			m := map[string]string{
				"template": s.Options.Variant(),
				"role":     s.Role.ARN,
				"target":   s.targetID(),
			}
			if s.Options.Variant() == VariantCustom {
				m["template file"] = s.Options.Template + " " + short(fileSHA256(s.Options.Template))
			}
			if s.Options.Variant() == VariantNamed {
				m["policy name"] = s.Options.PolicyName
			}
			return m
		},
		outputs: func(s *Session) []string { return []string{FileTemplate} },
		fields:  templateFields,
		cmds: func(s *Session) []string {
			out := []string{"cat " + FileTemplate}
			if s.Options.Variant() == VariantNamed {
				out = append(out, s.awsCmd("iot", "get-policy", "--policy-name", s.Options.PolicyName))
			}
			return out
		},
		run:    runTemplate,
		result: templateResult,
	}
}

func templateFields(s *Session) []Field {
	var opts []Option
	for _, v := range template.Variants {
		opts = append(opts, Option{Value: string(v), Label: string(v), Help: v.Describe()})
	}
	opts = append(opts, Option{Value: choiceFile, Label: "load a file", Help: "your own template or registration config"})
	fields := []Field{
		{Key: "template", Label: "Template", Help: "scoped (default), admin (labs only), named (an existing policy), or load a template file",
			Options: opts,
			Get:     templateChoice,
			Set: func(s *Session, v string) error {
				if v == choiceFile {
					s.wiz.templateFile = true // the file's path comes next (templateFileField)
					return nil
				}
				if err := setTemplate(s, v); err != nil {
					return err
				}
				s.wiz.templateFile = false
				return nil
			}},
	}
	switch templateChoice(s) {
	case choiceFile:
		return append(fields, withGet(s, []Field{templateFileField()})...)
	case VariantNamed:
		// only the named template attaches an existing policy
	default:
		return fields
	}
	return append(fields, []Field{
		{Key: "create-policy", Label: "Create the policy if missing (named template)",
			Help:    "the named template needs the policy to exist before a device connects; jitpwiz can create a thing-scoped one",
			Options: []Option{{Value: "no", Label: "no, I create it myself"}, {Value: "yes", Label: "yes, create a thing-scoped policy"}},
			Get:     func(s *Session) string { return map[bool]string{true: "yes", false: "no"}[s.Options.CreatePolicy] },
			Set: func(s *Session, v string) error {
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
			Get: func(s *Session) string { return s.Options.PolicyName },
			Set: func(s *Session, v string) error {
				if !policyRE.MatchString(v) {
					return fmt.Errorf("policy name %q: use 1–128 letters, digits and + = , . @ _ -", v)
				}
				s.Options.PolicyName = v
				return nil
			}},
	}...)
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

// loadTemplateFile reads a user's template file: either a registration config
// ({"templateBody": "...", "roleArn": "..."}, like jitp_template.json) or a bare template
// ({"Parameters": ..., "Resources": ...}). It returns the parsed config (roleArn may be empty).
func loadTemplateFile(path string) (*template.RegistrationConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--template %s: %v — give scoped, admin, named or the path of a template file", path, err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("--template %s is not JSON: %v — a template file is a JSON object (a registration config with templateBody, or a bare template with Resources)", path, err)
	}
	var rc *template.RegistrationConfig
	if _, ok := probe["templateBody"]; ok {
		var c template.RegistrationConfig
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("--template %s: %v", path, err)
		}
		rc = &c
	} else if _, ok := probe["Resources"]; ok {
		rc = &template.RegistrationConfig{TemplateBody: string(b)}
	} else {
		return nil, fmt.Errorf("--template %s has neither templateBody nor Resources — give a registration config like jitp_template.json or a provisioning template", path)
	}
	if _, err := template.Parse(rc.TemplateBody); err != nil {
		return nil, fmt.Errorf("--template %s: %w", path, err)
	}
	return rc, nil
}

// registrationConfig builds the registration config for the session's template choice.
func (s *Session) registrationConfig() (*template.RegistrationConfig, []string, error) {
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

// plannedParams is the JITP dictionary the planned device certificate will give (its ID and
// serial are not known yet: placeholders stand in).
func plannedParams(sub pki.Subject) map[string]string {
	m := map[string]string{
		template.ParamID:           strings.Repeat("0", 64),
		template.ParamSerialNumber: "01",
	}
	add := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	add(template.ParamCountry, sub.Country)
	add(template.ParamOrganization, sub.Organization)
	add(template.ParamOrganizationalUnit, sub.OrganizationalUnit)
	add(template.ParamStateName, sub.State)
	add(template.ParamCommonName, sub.CommonName)
	add(template.ParamDistinguishedNameQualifier, sub.DNQualifier)
	if sub.SerialNumber != "" {
		m[template.ParamSerialNumber] = sub.SerialNumber
	}
	return m
}

// lintErrors runs template.Lint and returns the error findings as one error (nil if none)
// and the other findings as warnings.
func (s *Session) lint(t *template.Template, params map[string]string, what string) (warnings []string, err error) {
	var errs []string
	for _, f := range template.Lint(t, params, template.LintOptions{Region: s.Region, Account: s.Account}) {
		switch f.Severity {
		case template.SeverityError:
			errs = append(errs, f.String())
		case template.SeverityWarning:
			warnings = append(warnings, f.String())
		}
	}
	if len(errs) > 0 {
		return warnings, fmt.Errorf("the template does not work with %s:\n  %s", what, strings.Join(errs, "\n  "))
	}
	return warnings, nil
}

func runTemplate(ctx context.Context, s *Session) (bool, error) {
	c, err := s.requireClient()
	if err != nil {
		return false, err
	}
	if s.Role.ARN == "" {
		return false, fmt.Errorf("no provisioning role yet — run step 6 (provisioning role) first")
	}
	if s.wiz.templateFile && s.Options.Variant() != VariantCustom {
		return false, fmt.Errorf("template: you chose to load a file — type its path, or choose scoped, admin or named")
	}
	rc, notes, err := s.registrationConfig()
	if err != nil {
		return false, err
	}
	t, err := template.Parse(rc.TemplateBody)
	if err != nil {
		return false, err
	}
	// Lint against the device subject planned for step 9 (or the supplied device cert).
	params, what, err := s.lintSubject()
	if err != nil {
		return false, err
	}
	warnings, err := s.lint(t, params, what)
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
		s.reportf(IDTemplate, "warning: %s", strings.TrimPrefix(w, "warning: "))
	}
	if s.Options.Variant() == VariantCustom {
		res.Source = s.Options.Template
	}
	// A template attaching a policy by name needs that policy to exist before a device connects.
	if pp := t.Resource(template.TypePolicy); pp != nil {
		plan, err := t.Evaluate(params)
		if err == nil && plan.Policy != nil && !plan.Policy.Inline {
			res.PolicyName = plan.Policy.Name
			created, err := s.ensureNamedPolicy(ctx, c, plan.Policy.Name)
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
func (s *Session) ensureNamedPolicy(ctx context.Context, c aws.Client, name string) (bool, error) {
	_, err := c.GetPolicy(ctx, name)
	if err == nil {
		return false, nil
	}
	if !aws.IsKind(err, aws.KindNotFound) {
		return false, err
	}
	if !s.Options.CreatePolicy && !s.Options.Yes {
		return false, fmt.Errorf("the template attaches the IoT policy %q, which does not exist in %s: JITP would fail and the certificate would stay PENDING_ACTIVATION — create it (`%s`), or run again with --create-policy (in the wizard: \"Create the policy if missing\" = yes) to let jitpwiz create a thing-scoped one",
			name, s.Region, s.awsCmd("iot", "create-policy", "--policy-name", name, "--policy-document", "file://policy.json"))
	}
	doc, err := s.scopedPolicyDocument()
	if err != nil {
		return false, err
	}
	s.reportf(IDTemplate, "creating the IoT policy %s (thing-scoped)", name)
	if _, err := c.CreatePolicy(ctx, name, doc); err != nil && !aws.IsKind(err, aws.KindAlreadyExists) {
		return false, err
	}
	return true, nil
}

// scopedPolicyDocument is the scoped template's policy document for this account and region.
func (s *Session) scopedPolicyDocument() (string, error) {
	rc, err := template.RenderConfig(template.Scoped, s.Region, s.Account, s.Role.ARN, "")
	if err != nil {
		return "", err
	}
	t, err := template.Parse(rc.TemplateBody)
	if err != nil {
		return "", err
	}
	plan, err := t.Evaluate(plannedParams(pki.Subject{Country: "IN", CommonName: "x"}))
	if err != nil {
		return "", err
	}
	return plan.Policy.Document, nil
}

func templateResult(s *Session) []ResultLine {
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
