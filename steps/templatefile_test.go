package steps

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// goJSONText is what encoding/json says in its own words; none of it may reach a user.
var goJSONText = regexp.MustCompile(`(^|[^.\w])json: |Go struct|Go value|unmarshal|invalid character|looking for beginning|literal`)

// TestTemplateFileErrors: a template file that is not right is refused with where (line and
// column), the offending line marked, and what is wrong in plain words; a templateBody written
// as an object is told to be a string, with its escaped form.
func TestTemplateFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		want          []string
	}{
		{"trailing comma", "{\n  \"Resources\": {\n    \"thing\": {\"Type\": \"AWS::IoT::Thing\",}\n  }\n}\n",
			[]string{"line 3, column 41", `"thing": {"Type": "AWS::IoT::Thing",}   <-- here`, "where a member name in double quotes should start"}},
		{"missing colon", "{\"Resources\" {}}", []string{"line 1, column 14", `{"Resources" {   <-- here`, "where a colon should be"}},
		{"cut short", "{\"Resources\": {\"a\": ", []string{"line 1, column 21", "the text ends before the JSON does"}},
		{"array", "[1, 2]", []string{"line 1, column 1", "a JSON array where a JSON object should be"}},
		{"body as object", "{\n  \"templateBody\": {\"Resources\": {\"x\": {\"Type\": \"AWS::IoT::Thing\", \"Properties\": {\"ThingName\": \"T\"}}}},\n  \"roleArn\": \"arn:aws:iam::123456789012:role/R\"\n}\n",
			[]string{"line 2, column 19", "templateBody is a JSON object, and it must be a JSON string", `"templateBody": {   <-- here`,
				`"templateBody": "{\"Resources\":{\"x\":{\"Type\":\"AWS::IoT::Thing\",\"Properties\":{\"ThingName\":\"T\"}}}}"`}},
		{"roleArn a number", "{\"templateBody\": \"{}\", \"roleArn\": 5}", []string{"line 1, column 35", "roleArn is a number, and it must be a JSON string"}},
		{"body not JSON", `{"templateBody": "{\"Resources\": {\"a\": 1,}}"}`,
			[]string{"the template (templateBody) is not valid JSON at line 1, column 23", `{"Resources": {"a": 1,}   <-- here`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadTemplateFile(p)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the error lacks %q:\n%s", w, msg)
				}
			}
			if goJSONText.MatchString(msg) {
				t.Errorf("Go's own JSON error text reaches the user:\n%s", msg)
			}
		})
	}
	// The escaped form offered is what jitpwiz accepts, and it is the same template.
	p := filepath.Join(dir, "body-as-object.json")
	b, _ := os.ReadFile(p)
	_, err := loadTemplateFile(p)
	m := regexp.MustCompile(`"templateBody": ("(?:[^"\\]|\\.)*")`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("no escaped form in %s", err)
	}
	fixed := filepath.Join(dir, "fixed.json")
	if err := os.WriteFile(fixed, []byte(`{"templateBody": `+m[1]+`}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := loadTemplateFile(fixed)
	if err != nil {
		t.Fatalf("the offered escaped form is refused: %v", err)
	}
	var orig struct{ TemplateBody json.RawMessage }
	_ = json.Unmarshal(b, &orig)
	if a, b := mustCompact(t, string(orig.TemplateBody)), mustCompact(t, rc.TemplateBody); a != b {
		t.Errorf("the escaped form is another template:\n%s\n%s", a, b)
	}
	if _, err := loadTemplateFile(filepath.Join(dir, "none.json")); err == nil || !strings.Contains(err.Error(), "no such file") || strings.Contains(err.Error(), "open ") {
		t.Errorf("a missing file: %v", err)
	}
}

func mustCompact(t *testing.T, s string) string {
	t.Helper()
	tp, err := template.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(json.RawMessage(tp.Body))
	return string(b)
}

// FuzzTemplateFileErrors: whatever a template file holds, loading it never panics, and a
// refusal is in jitpwiz's words (never encoding/json's), with a line and column when the
// file is not JSON.
//
// fuzz: 3000 execs (TestTemplateFileErrors covers each kind of mistake; this looks for a panic or Go's own words)
func FuzzTemplateFileErrors(f *testing.F) {
	for _, seed := range []string{`{"Resources":{}}`, `{"templateBody":{"Resources":{}}}`, `{"templateBody":"{\"Resources\":{,}}"}`, `[`, `{"a":1,}`, "{\"x\":\"\t\"}", `{"templateBody":"x\q"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		_, err := parseTemplateFile("t.json", []byte(content))
		if err == nil {
			return
		}
		msg := err.Error()
		if len(content) > 8 {
			msg = strings.ReplaceAll(msg, content, "") // the file's own text may say anything
		}
		if goJSONText.MatchString(msg) {
			t.Fatalf("Go's JSON error text for %q:\n%s", content, err)
		}
		if !json.Valid([]byte(content)) && strings.TrimSpace(content) != "" && !strings.Contains(msg, "line ") {
			t.Fatalf("no line and column for %q:\n%s", content, err)
		}
	})
}

// TestAdminWarningOnce: the admin template's labs-only warning is said once in the wizard's
// preview (the linter says it in detail; no second, shorter copy).
func TestAdminWarningOnce(t *testing.T) {
	s, err := Open(Options{Dir: filepath.Join(t.TempDir(), "ws"), Template: VariantAdmin, Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Region, s.Account = DefaultLocalRegion, "123456789012" // as the wizard has them once connected: the preview renders
	m := choiceModel(t, s, IDTemplate)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 40})
	// the warning names the "admin policy" (the linter's finding, or step 7's own when the
	// linter did not say it); the choice's description and the field's help say "labs only"
	// too, now that descriptions are shown whole (issue 16 item 9)
	if n := strings.Count(ansi.Strip(m.View()), "admin policy"); n != 1 {
		t.Errorf("the admin warning is shown %d times:\n%s", n, ansi.Strip(m.View()))
	}
}

// TestChoiceTemplateNeedsSubject: a template file that needs the device certificate's
// Organization is not a dead end on step 7: the field for it appears right there, and with it
// typed the file is taken and the Organization goes into the planned device subject.
func TestChoiceTemplateNeedsSubject(t *testing.T) {
	t.Parallel()
	s := openT(t, Options{Dir: filepath.Join(t.TempDir(), "ws"), Yes: true})
	s.Role.ARN = "arn:aws:iam::123456789012:role/JITPRole"
	m := choiceModel(t, s, IDTemplate)
	press(m, "j", "j", "j", "tab") // load a file, then its path
	typeText(m, customTemplate(t, true))
	wantInvalid(t, m, "template-file", "Organization (O) below")
	if got := fieldKeys(m); !slices.Equal(got, []string{"template", "template-file", "org"}) {
		t.Fatalf("fields %v: want the Organization offered", got)
	}
	press(m, "tab")
	if focusedKey(m) != "org" {
		t.Fatalf("focus on %s", focusedKey(m))
	}
	press(m, "enter") // empty: refused, naming the field
	wantInvalid(t, m, "org", "Organization (O): the template needs it")
	if m.State() != StateEditing {
		t.Fatal("ran without the Organization")
	}
	m.setFocus(2)
	typeText(m, "Acme")
	if !m.applyAll() { // what enter checks before it runs the step
		t.Fatalf("inputs refused: %v", m.Invalid())
	}
	wantValid(t, m)
	if s.Options.Variant() != VariantCustom || s.Options.Org != "Acme" || s.Options.DeviceSubject().Organization != "Acme" {
		t.Fatalf("template %q, org %q", s.Options.Template, s.Options.Org)
	}
}

// TestTemplateBodySpotEachLanguage: a templateBody that is not JSON is shown at its place
// (the line up to the offending character, marked) in every language, not only in English.
func TestTemplateBodySpotEachLanguage(t *testing.T) {
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(`{"templateBody": "{\"Resources\": {\"a\": 1,}}"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, l := range i18n.Langs {
		i18n.SetLang(l)
		_, err := loadTemplateFile(path)
		if err == nil {
			t.Fatalf("%s: a body that is not JSON was accepted", l)
		}
		msg := err.Error()
		if !strings.Contains(msg, `{"Resources": {"a": 1,}`) || !strings.Contains(msg, "23") || goJSONText.MatchString(msg) {
			t.Errorf("%s: the body's syntax error is not shown at its place (line 1, column 23): %s", l, msg)
		}
	}
}
