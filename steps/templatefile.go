package steps

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/jitpwiz/jitpwiz/aws/template"
)

// FileTemplate is the registration-config file the walkthrough passes to register-ca-certificate
// (step 7 writes it; steps 8, 9 and 12 and doctor read it).
const FileTemplate = "jitp_template.json"

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
