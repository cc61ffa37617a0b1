package steps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/jitpwiz/jitpwiz/aws/template"
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
		return nil, fmt.Errorf("--template %s: %s, or give scoped, admin or named", path, fileProblem(err))
	}
	return parseTemplateFile(path, b)
}

// parseTemplateFile is loadTemplateFile of the content b of the file at path.
func parseTemplateFile(path string, b []byte) (*template.RegistrationConfig, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		what := "is not JSON"
		if json.Valid(b) {
			what = "is not a JSON object"
		}
		return nil, fmt.Errorf("--template %s %s: %s\n  — a template file is a JSON object (a registration config with templateBody, or a bare template with Resources)", path, what, jsonProblem(b, err))
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
		return nil, fmt.Errorf("--template %s has neither templateBody nor Resources — give a registration config like jitp_template.json or a provisioning template", path)
	}
	if _, err := template.Parse(rc.TemplateBody); err != nil {
		return nil, fmt.Errorf("--template %s: %s", path, templateBodyProblem(rc.TemplateBody, err))
	}
	return rc, nil
}

// memberError says that member name of a registration config is not a string, where it
// stands in the file, and — for a templateBody written as an object — the escaped form.
func memberError(path string, file []byte, name string, v json.RawMessage) error {
	off := memberOffset(file, name)
	kind := "a JSON value"
	switch {
	case len(v) > 0 && v[0] == '{':
		kind = "a JSON object"
	case len(v) > 0 && v[0] == '[':
		kind = "a JSON array"
	case len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')):
		kind = "a number"
	}
	if name != "templateBody" || len(v) == 0 || v[0] != '{' {
		return fmt.Errorf("--template %s: %s — write %s as a string in double quotes", path, jsonAt(string(file), off, name+" is "+kind+", and it must be a JSON string"), name)
	}
	where := jsonAt(string(file), off, "templateBody is a JSON object, and it must be a JSON string: the template written as a string, its quotes escaped (register-ca-certificate --registration-config reads it so)")
	var compact bytes.Buffer
	if err := json.Compact(&compact, v); err != nil {
		return fmt.Errorf("--template %s: %s — write the template as one escaped string", path, where)
	}
	escaped, _ := json.Marshal(compact.String())
	return fmt.Errorf("--template %s: %s\n  — write it as\n  \"templateBody\": %s\n  or give the template alone (a file with Resources at the top): jitpwiz escapes it itself",
		path, where, escaped)
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
		return "no such file — check the path"
	case errors.Is(err, fs.ErrPermission):
		return "cannot be read (permission denied)"
	case errors.Is(err, syscall.EISDIR):
		return "is a directory — give the path of a file in it"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return "cannot be read (" + pe.Err.Error() + ")"
	}
	return "cannot be read"
}
