package steps

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// loadTemplateFile reads a user's template file: either a registration config
// ({"templateBody": "...", "roleArn": "..."}, like jitp_template.json) or a bare template
// ({"Parameters": ..., "Resources": ...}). It returns the parsed config (roleArn may be empty).
// What is wrong with a file is said in plain words, with its line, column and the line itself.
func loadTemplateFile(path string) (*template.RegistrationConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, i18n.NewError("templatefile.unreadable", i18n.Args{"Path": path, "Problem": fileProblem(err)})
	}
	return parseTemplateFile(path, b)
}

// parseTemplateFile is loadTemplateFile of the content b of the file at path.
func parseTemplateFile(path string, b []byte) (*template.RegistrationConfig, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		k := i18n.Key("templatefile.not-json")
		if json.Valid(b) {
			k = "templatefile.not-object"
		}
		return nil, i18n.NewError(k, i18n.Args{"Path": path, "Problem": jsonProblem(b, err)})
	}
	var rc *template.RegistrationConfig
	if _, ok := probe["templateBody"]; ok {
		rc = &template.RegistrationConfig{}
		for _, m := range []struct {
			name string
			dst  *string
		}{{"templateBody", &rc.TemplateBody}, {"roleArn", &rc.RoleArn}, {"templateName", &rc.TemplateName}} {
			v, ok := probe[m.name]
			if !ok {
				continue
			}
			if err := json.Unmarshal(v, m.dst); err != nil {
				return nil, memberError(path, b, m.name, v)
			}
		}
	} else if _, ok := probe["Resources"]; ok {
		rc = &template.RegistrationConfig{TemplateBody: string(b)}
	} else {
		return nil, i18n.NewError("templatefile.neither", i18n.Args{"Path": path})
	}
	if _, err := template.Parse(rc.TemplateBody); err != nil {
		return nil, i18n.NewError("templatefile.body", i18n.Args{"Path": path, "Problem": templateBodyProblem(rc.TemplateBody, err)})
	}
	return rc, nil
}

// checkTemplateOption refuses --template FILE when the file cannot be used (a variant's
// name needs no file). Options.Validate checks the options' form; where a template is given
// (Open, step 7's field) the file is read too.
func checkTemplateOption(o *Options) error {
	if isVariant(o.Template) {
		return nil
	}
	_, err := loadTemplateFile(o.Template)
	return err
}

// memberError says that member name of a registration config is not a string, where it
// stands in the file, and — for a templateBody written as an object — the escaped form.
func memberError(path string, file []byte, name string, v json.RawMessage) error {
	off := memberOffset(file, name)
	kind := i18n.Key("templatefile.kind.value")
	switch {
	case len(v) > 0 && v[0] == '{':
		kind = "jsonerr.kind.object"
	case len(v) > 0 && v[0] == '[':
		kind = "jsonerr.kind.array"
	case len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')):
		kind = "jsonerr.kind.number"
	}
	if name != "templateBody" || len(v) == 0 || v[0] != '{' {
		where := jsonAt(string(file), off, i18n.T("templatefile.member-not-string", i18n.Args{"Name": name, "Kind": i18n.T(kind)}))
		return i18n.NewError("templatefile.member-fix", i18n.Args{"Path": path, "Spot": where, "Name": name})
	}
	where := jsonAt(string(file), off, i18n.T("templatefile.body-object"))
	var compact bytes.Buffer
	if err := json.Compact(&compact, v); err != nil {
		return i18n.NewError("templatefile.body-object-fix", i18n.Args{"Path": path, "Spot": where})
	}
	escaped, _ := json.Marshal(compact.String())
	return i18n.NewError("templatefile.body-object-escaped", i18n.Args{"Path": path, "Spot": where, "Escaped": string(escaped)})
}

// memberOffset is where member name's value starts in a JSON object file (0 if not found).
func memberOffset(file []byte, name string) int {
	dec := json.NewDecoder(bytes.NewReader(file))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return 0
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			continue
		}
		if k, ok := tok.(string); ok && depth == 1 && k == name {
			off := int(dec.InputOffset())
			for off < len(file) && (file[off] == ' ' || file[off] == '\t' || file[off] == '\n' || file[off] == '\r' || file[off] == ':') {
				off++
			}
			return off
		}
	}
}

// fileProblem words a failure to read a file the user named.
func fileProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return i18n.T("templatefile.no-such-file")
	case errors.Is(err, fs.ErrPermission):
		return i18n.T("templatefile.permission")
	case errors.Is(err, syscall.EISDIR):
		return i18n.T("templatefile.directory")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return i18n.T("templatefile.cannot-read-why", i18n.Args{"Why": pe.Err.Error()})
	}
	return i18n.T("templatefile.cannot-read")
}

// Errors in JSON a user wrote (a template file, its templateBody), in plain words: where
// (line and column) and what, with the offending line and a caret under the spot — never
// encoding/json's own text.

// jsonProblem says what is wrong with src, which err (from encoding/json) rejected.
func jsonProblem(src []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case len(strings.TrimSpace(string(src))) == 0:
		return i18n.T("jsonerr.empty")
	case errors.As(err, &se) && strings.Contains(se.Error(), "unexpected end"):
		return jsonAt(string(src), len(src), plainSyntax(se.Error()))
	case errors.As(err, &se):
		return jsonAt(string(src), int(se.Offset)-1, plainSyntax(se.Error()))
	case errors.As(err, &te):
		what := i18n.T("jsonerr.kind.object")
		if te.Field != "" {
			what = i18n.T("jsonerr.field-kind", i18n.Args{"Member": te.Field, "Kind": te.Type.Kind().String()})
		}
		return jsonAt(string(src), int(te.Offset)-1, i18n.T("jsonerr.wrong-type", i18n.Args{"Value": jsonKind(te.Value), "What": what}))
	case strings.Contains(err.Error(), "unexpected end of JSON input"):
		return jsonAt(string(src), len(src), i18n.T("jsonerr.unexpected-end"))
	}
	return i18n.T("jsonerr.invalid")
}

// jsonAt is a problem at byte offset off of src: "line L, column C: what", then the line
// up to the offending character with a mark after it (a mark in the text, not a caret under
// it: the wizard reflows a banner's lines, which would move a caret).
func jsonAt(src string, off int, what string) string {
	off = max(0, min(off, len(src)))
	line, col := 1, 1
	start := 0
	for i, r := range src[:off] {
		if r == '\n' {
			line, col, start = line+1, 1, i+1
		} else {
			col++
		}
	}
	end := off
	if end < len(src) && src[end] != '\n' {
		_, n := utf8.DecodeRuneInString(src[end:])
		end += n
	}
	text := strings.TrimSpace(strings.TrimRight(src[start:end], "\r"))
	// A long line shows its end, the part before the spot: at most width columns of the
	// terminal (a double-width rune counts two), cut between runes.
	const width = 60
	if ansi.StringWidth(text) > width {
		runes := []rune(text)
		i, w := len(runes), 0
		for i > 0 && w+ansi.StringWidth(string(runes[i-1])) <= width {
			i--
			w += ansi.StringWidth(string(runes[i]))
		}
		text = "…" + string(runes[i:])
	}
	if text == "" {
		text = i18n.T("jsonerr.end-of-line")
	}
	return i18n.T("jsonerr.at", i18n.Args{"Line": line, "Col": col, "What": what, "Text": text})
}

var syntaxRE = regexp.MustCompile(`invalid character '(.+)' (.*)`)

// plainSyntax words a json.SyntaxError message.
func plainSyntax(msg string) string {
	msg = strings.TrimPrefix(msg, "json: ")
	m := syntaxRE.FindStringSubmatch(msg)
	if m == nil {
		if strings.Contains(msg, "unexpected end of") {
			return i18n.T("jsonerr.unexpected-end")
		}
		return i18n.T("jsonerr.invalid-here")
	}
	c := i18n.Args{"Char": "'" + m[1] + "'"}
	switch {
	case strings.HasPrefix(m[2], "looking for beginning of object key string"):
		return i18n.T("jsonerr.syntax.key-start", c)
	case strings.HasPrefix(m[2], "after object key:value pair"):
		return i18n.T("jsonerr.syntax.after-member", c)
	case strings.HasPrefix(m[2], "after object key"):
		return i18n.T("jsonerr.syntax.after-key", c)
	case strings.HasPrefix(m[2], "after array element"):
		return i18n.T("jsonerr.syntax.after-element", c)
	case strings.HasPrefix(m[2], "looking for beginning of value"):
		return i18n.T("jsonerr.syntax.value-start", c)
	case strings.HasPrefix(m[2], "in string literal"):
		return i18n.T("jsonerr.syntax.control-char")
	case strings.HasPrefix(m[2], "in string escape code"):
		return i18n.T("jsonerr.syntax.escape", c)
	case strings.HasPrefix(m[2], "after top-level value"):
		return i18n.T("jsonerr.syntax.after-document", c)
	}
	return i18n.T("jsonerr.syntax.other", c)
}

// jsonKind names the kind of JSON value UnmarshalTypeError found ("object", "number", …).
func jsonKind(v string) string {
	if k, ok := jsonKinds[v]; ok {
		return i18n.T(k)
	}
	return i18n.T("jsonerr.kind.other", i18n.Args{"Kind": v})
}

// jsonKinds are the words of the kinds of JSON value.
var jsonKinds = map[string]i18n.Key{"object": "jsonerr.kind.object", "array": "jsonerr.kind.array", "string": "jsonerr.kind.string",
	"number": "jsonerr.kind.number", "bool": "jsonerr.kind.bool"}

// templateBodyProblem words a template.Parse error of body: a syntax error gets the place in
// the body (the template itself once the file's escaping is undone), its line and a caret.
func templateBodyProblem(body string, err error) string {
	var te *template.Error
	if !errors.As(err, &te) || te.Reason != template.ReasonSyntax || te.Offset < 0 || te.Offset > len(body) {
		return err.Error()
	}
	return i18n.T("jsonerr.template-body", i18n.Args{"Spot": jsonAt(body, te.Offset, plainSyntax(te.Detail))})
}
