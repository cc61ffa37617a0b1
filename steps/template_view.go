package steps

import (
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/pki"
)

// The template step previews, before it runs, the body of the chosen variant pretty-printed
// (its inline policy decoded) and the lint of it against the device subject that step 9 will
// use — the same registration config and lint the step's action uses.
func init() { extraViews[IDTemplate] = templatePreview }

func templatePreview(m *Model, width int) string {
	if m.phase != PhaseEdit {
		return "" // once run, the result shows the template as written
	}
	st := m.c.Styles
	s := m.c.Session
	if s.wiz.templateFile && s.Options.Variant() != VariantCustom {
		return st.Help.Width(width).Render("Preview: type the path of your template file above; its body and lint show here.")
	}
	rc, notes, err := s.registrationConfig()
	if err != nil {
		return st.Invalid.Width(width).Render(st.Icons.Failed + " cannot preview the template: " + err.Error())
	}
	body, err := template.Pretty(m.c.display(rc.TemplateBody))
	if err != nil {
		return st.Invalid.Width(width).Render(st.Icons.Failed + " " + err.Error())
	}
	var out []string
	title := "Preview: " + FileTemplate + " templateBody (" + s.Options.Variant() + ")"
	out = append(out, st.Section.Render(title))
	box := st.Document.Width(width - st.Document.GetHorizontalBorderSize())
	out = append(out, box.Render(wrapDocument(strings.TrimRight(body, "\n"), width-st.Document.GetHorizontalFrameSize())))

	what, params := "the planned device subject "+s.Options.DeviceSubject().String(), plannedParams(s.Options.DeviceSubject())
	if s.Options.DeviceCertFile != "" {
		if dc, err := pki.LoadCertFile(s.Options.DeviceCertFile); err == nil {
			what, params = "your device certificate "+pki.SubjectOf(dc).String(), pki.JITPParameters(dc)
		}
	}
	out = append(out, st.Section.Render("Lint against "+what))
	var lines []string
	if t, err := template.Parse(rc.TemplateBody); err != nil {
		lines = append(lines, hang(st.CheckFailed.Render(st.Icons.Failed+" "+err.Error()), width))
	} else {
		findings := template.Lint(t, params, template.LintOptions{Region: s.Region, Account: s.Account})
		errs := 0
		for _, f := range findings {
			icon, style := st.Icons.Bullet, st.Help
			switch f.Severity {
			case template.SeverityError:
				icon, style = st.Icons.Failed, st.CheckFailed
				errs++
			case template.SeverityWarning:
				icon, style = "!", st.Warning
			}
			lines = append(lines, hang(style.Render(icon+" "+f.String()), width))
		}
		if errs == 0 {
			lines = append([]string{"  " + st.CheckOK.Render(st.Icons.Done+" every parameter the template uses is in the device subject")}, lines...)
		}
	}
	for _, n := range notes {
		lines = append(lines, hang(st.Warning.Render("! "+n), width))
	}
	if s.Options.Variant() == VariantAdmin {
		lines = append(lines, hang(st.Warning.Render("! the admin policy allows iot:* on * — for labs only, never for real devices"), width))
	}
	out = append(out, strings.Join(lines, "\n"))
	return strings.Join(out, "\n")
}
