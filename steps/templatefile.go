package steps

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/jitpwiz/jitpwiz/aws/template"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// FileTemplate is the registration-config file the walkthrough passes to register-ca-certificate
// (step 7 writes it; steps 8, 9 and 12 and doctor read it).
const FileTemplate = "jitp_template.json"

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
		return i18n.NewError("templatefile.member-fix", i18n.Args{"Path": path, "Where": where, "Name": name})
	}
	where := jsonAt(string(file), off, i18n.T("templatefile.body-object"))
	var compact bytes.Buffer
	if err := json.Compact(&compact, v); err != nil {
		return i18n.NewError("templatefile.body-object-fix", i18n.Args{"Path": path, "Where": where})
	}
	escaped, _ := json.Marshal(compact.String())
	return i18n.NewError("templatefile.body-object-escaped", i18n.Args{"Path": path, "Where": where, "Escaped": string(escaped)})
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
