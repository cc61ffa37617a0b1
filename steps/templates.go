package steps

import (
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Templates checked against device subjects before anything connects (steps 7 and 9, and
// doctor): a parameter missing from the certificate subject would leave it PENDING_ACTIVATION.

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

// lintTemplate runs template.Lint for the session's account and region and returns the error
// findings as one error (nil if none) and the other findings as warnings; what names the
// subject the parameters come from, in the user's language ("the planned device subject
// C=IN, CN=DemoThing": templates.what-planned, templates.what-yours).
func lintTemplate(s *Session, t *template.Template, params map[string]string, what string) (warnings []string, err error) {
	var errs []string
	for _, f := range template.Lint(t, params, template.LintOptions{Region: s.Region, Account: s.Account}) {
		switch f.Severity {
		case template.SeverityError:
			errs = append(errs, f.String())
		case template.SeverityWarning:
			// Without its severity word: the step and the runner say "warning" their own way.
			warnings = append(warnings, f.Text())
		}
	}
	if len(errs) > 0 {
		return warnings, i18n.NewError("templates.not-working", i18n.Args{"What": what, "Findings": strings.Join(errs, "\n  ")})
	}
	return warnings, nil
}

// plannedWhat and yoursWhat name the subject a template is linted against: the one the
// planned device certificate will have, or that of the user's own device certificate.
func plannedWhat(sub pki.Subject) string {
	return i18n.T("templates.what-planned", i18n.Args{"Subject": sub.String()})
}

func yoursWhat(sub pki.Subject) string {
	return i18n.T("templates.what-yours", i18n.Args{"Subject": sub.String()})
}

func deviceWhat(sub pki.Subject) string {
	return i18n.T("templates.what-device", i18n.Args{"Subject": sub.String()})
}

// lintsAdmin reports whether the linter warns about an admin policy (every action on every
// resource) in t, as it does for the admin variant.
func lintsAdmin(s *Session, t *template.Template, params map[string]string) bool {
	for _, f := range template.Lint(t, params, template.LintOptions{Region: s.Region, Account: s.Account}) {
		if f.Severity == template.SeverityWarning && f.Reason == template.ReasonAdminPolicy {
			return true
		}
	}
	return false
}
