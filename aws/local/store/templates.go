package store

import (
	"encoding/binary"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"
)

// Provisioning templates (CreateProvisioningTemplate and its versions). A CA's
// registrationConfig may name one of type JITP instead of carrying the template body
// (jit-provisioning.html, "Register CA using provisioning template name"). The body is
// validated by the caller (aws/template), as for a CA's templateBody.

// Template types (model: TemplateType).
const (
	TemplateTypeJITP  = "JITP"
	TemplateTypeFleet = "FLEET_PROVISIONING"
)

// MaxTemplateVersions is how many versions a provisioning template keeps; one more is
// VersionsLimitExceededException (the model names the exception; the figure 5 is the
// emulator's reading of AWS's quota [U]).
const MaxTemplateVersions = 5

// ProvisioningHook is a template's preProvisioningHook (FLEET_PROVISIONING only).
type ProvisioningHook struct {
	PayloadVersion string `json:"payloadVersion,omitempty"`
	TargetArn      string `json:"targetArn"`
}

// ProvisioningTemplate is a provisioning template; its bodies are TemplateVersions.
type ProvisioningTemplate struct {
	Name           string            `json:"name"`
	ARN            string            `json:"arn"` // arn:aws:iot:<region>:<acct>:provisioningtemplate/<name>
	Description    string            `json:"description,omitempty"`
	Type           string            `json:"type"` // JITP | FLEET_PROVISIONING
	Enabled        bool              `json:"enabled"`
	RoleARN        string            `json:"roleArn"`
	Hook           *ProvisioningHook `json:"hook,omitempty"`
	DefaultVersion int               `json:"defaultVersion"`
	LastVersion    int               `json:"lastVersion"` // the highest version ID handed out
	Tags           []Tag             `json:"tags,omitempty"`
	Created        time.Time         `json:"created"`
	Modified       time.Time         `json:"modified"`
}

// TemplateVersion is one version of a provisioning template's body.
type TemplateVersion struct {
	Template string    `json:"template"`
	Version  int       `json:"version"`
	Body     string    `json:"body"`
	Created  time.Time `json:"created"`
}

var (
	kindTemplates = &kind[ProvisioningTemplate]{
		bucket: []byte("provisioning-templates"),
		key:    func(t *ProvisioningTemplate) []byte { return []byte(t.Name) },
	}
	kindTemplateVersions = &kind[TemplateVersion]{
		bucket: []byte("provisioning-template-versions"), // template 0x00 4-byte big-endian version
		key:    func(v *TemplateVersion) []byte { return versionKey(v.Template, v.Version) },
	}
)

func versionKey(template string, version int) []byte {
	return join([]byte(template), binary.BigEndian.AppendUint32(nil, uint32(version)))
}

var templateNameRE = regexp.MustCompile(`^[0-9A-Za-z_-]{1,36}$`)

// ValidTemplateName reports an InvalidRequestException unless name is 1..36 of [0-9A-Za-z_-].
func ValidTemplateName(name string) error {
	if !templateNameRE.MatchString(name) {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at 'templateName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9A-Za-z_-]+$ and have length between 1 and 36", name)
	}
	return nil
}

// CreateTemplateInput is CreateProvisioningTemplate's input.
type CreateTemplateInput struct {
	Name, Description, Body, RoleARN, Type string
	Enabled                                bool
	Hook                                   *ProvisioningHook
	Tags                                   []Tag
}

func checkTemplateFields(description *string, roleARN string, body *string) error {
	if description != nil && utf8.RuneCountInString(*description) > 500 {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 500")
	}
	if roleARN != "" && (len(roleARN) < 20 || len(roleARN) > 2048) {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at 'provisioningRoleArn' failed to satisfy constraint: Member must have length between 20 and 2048", roleARN)
	}
	if body != nil && utf8.RuneCountInString(*body) > 10240 {
		return Errorf(CodeInvalidRequest, "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to 10240")
	}
	return nil
}

// CreateProvisioningTemplate creates a template with version 1 as its default. The type
// defaults to FLEET_PROVISIONING (model); a pre-provisioning hook is for that type only.
func (st *State) CreateProvisioningTemplate(in CreateTemplateInput) (*ProvisioningTemplate, error) {
	if err := ValidTemplateName(in.Name); err != nil {
		return nil, err
	}
	typ := in.Type
	if typ == "" {
		typ = TemplateTypeFleet
	}
	if typ != TemplateTypeJITP && typ != TemplateTypeFleet {
		return nil, Errorf(CodeInvalidRequest, "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [FLEET_PROVISIONING, JITP]", in.Type)
	}
	if in.RoleARN == "" {
		return nil, Errorf(CodeInvalidRequest, "1 validation error detected: Value null at 'provisioningRoleArn' failed to satisfy constraint: Member must not be null")
	}
	if err := checkTemplateFields(&in.Description, in.RoleARN, &in.Body); err != nil {
		return nil, err
	}
	if in.Hook != nil && typ != TemplateTypeFleet {
		return nil, Errorf(CodeInvalidRequest, "A pre-provisioning hook is only supported for templates of type FLEET_PROVISIONING, not %s", typ)
	}
	if t := get(st, kindTemplates, []byte(in.Name)); t != nil {
		return nil, AlreadyExists(t.Name, t.ARN, "The provisioning template %s already exists", in.Name)
	}
	now := st.Now()
	t := &ProvisioningTemplate{Name: in.Name, ARN: st.iotARN("provisioningtemplate", in.Name), Description: in.Description,
		Type: typ, Enabled: in.Enabled, RoleARN: in.RoleARN, Hook: in.Hook, DefaultVersion: 1, LastVersion: 1,
		Tags: slices.Clone(in.Tags), Created: now, Modified: now}
	insert(st, kindTemplates, t)
	insert(st, kindTemplateVersions, &TemplateVersion{Template: in.Name, Version: 1, Body: in.Body, Created: now})
	return t, nil
}

// ProvisioningTemplate returns the template, or ResourceNotFoundException.
func (st *State) ProvisioningTemplate(name string) (*ProvisioningTemplate, error) {
	if t := get(st, kindTemplates, []byte(name)); t != nil {
		return t, nil
	}
	return nil, Errorf(CodeResourceNotFound, "The provisioning template %s does not exist", name)
}

// TemplateVersion returns one version of a template, or ResourceNotFoundException.
func (st *State) TemplateVersion(name string, version int) (*TemplateVersion, error) {
	if _, err := st.ProvisioningTemplate(name); err != nil {
		return nil, err
	}
	if v := get(st, kindTemplateVersions, versionKey(name, version)); v != nil {
		return v, nil
	}
	return nil, Errorf(CodeResourceNotFound, "Version %d of the provisioning template %s does not exist", version, name)
}

// DefaultTemplateBody is the body of the template's default version.
func (st *State) DefaultTemplateBody(t *ProvisioningTemplate) string {
	if v := get(st, kindTemplateVersions, versionKey(t.Name, t.DefaultVersion)); v != nil {
		return v.Body
	}
	return ""
}

// UpdateTemplateInput is UpdateProvisioningTemplate's input; nil and "" leave a field.
type UpdateTemplateInput struct {
	Description    *string
	Enabled        *bool
	DefaultVersion *int
	RoleARN        string
	Hook           *ProvisioningHook
	RemoveHook     bool
}

// UpdateProvisioningTemplate applies UpdateProvisioningTemplate. The body is changed by
// CreateProvisioningTemplateVersion, not here (the model has no templateBody member).
func (st *State) UpdateProvisioningTemplate(name string, in UpdateTemplateInput) error {
	t, err := st.ProvisioningTemplate(name)
	if err != nil {
		return err
	}
	if err := checkTemplateFields(in.Description, in.RoleARN, nil); err != nil {
		return err
	}
	if in.Hook != nil && t.Type != TemplateTypeFleet {
		return Errorf(CodeInvalidRequest, "A pre-provisioning hook is only supported for templates of type FLEET_PROVISIONING, not %s", t.Type)
	}
	if in.Hook != nil && in.RemoveHook {
		return Errorf(CodeInvalidRequest, "preProvisioningHook and removePreProvisioningHook cannot be used together")
	}
	if in.DefaultVersion != nil {
		if _, err := st.TemplateVersion(name, *in.DefaultVersion); err != nil {
			return err
		}
		t.DefaultVersion = *in.DefaultVersion
	}
	if in.Description != nil {
		t.Description = *in.Description
	}
	if in.Enabled != nil {
		t.Enabled = *in.Enabled
	}
	if in.RoleARN != "" {
		t.RoleARN = in.RoleARN
	}
	switch {
	case in.RemoveHook:
		t.Hook = nil
	case in.Hook != nil:
		t.Hook = in.Hook
	}
	t.Modified = st.Now()
	return nil
}

// DeleteProvisioningTemplate deletes a template and its versions; not while a CA's
// registration config names it (DeleteConflictException, which the model lists; that
// this is what raises it is the emulator's reading [U]).
func (st *State) DeleteProvisioningTemplate(name string) error {
	t, err := st.ProvisioningTemplate(name)
	if err != nil {
		return err
	}
	var user string
	scan(st, kindCAs, nil, nil, nil, false, func(_ []byte, c *CA) bool {
		if c.RegistrationConfig != nil && c.RegistrationConfig.TemplateName == name {
			user = c.ID
			return false
		}
		return true
	})
	if user != "" {
		return Errorf(CodeDeleteConflict, "The provisioning template %s is used by the registration config of CA certificate %s; remove it there first (update-ca-certificate --remove-auto-registration, or another registration config)", name, user)
	}
	for _, v := range st.templateVersions(name) {
		remove(st, kindTemplateVersions, versionKey(name, v.Version))
	}
	remove(st, kindTemplates, []byte(t.Name))
	return nil
}

func (st *State) templateVersions(name string) []*TemplateVersion {
	var out []*TemplateVersion
	scan(st, kindTemplateVersions, nil, join([]byte(name), nil), nil, false, func(_ []byte, v *TemplateVersion) bool {
		out = append(out, v)
		return true
	})
	return out
}

// CreateProvisioningTemplateVersion adds a version (the next ID) with body, and makes it
// the default if setAsDefault. A template keeps at most MaxTemplateVersions versions.
func (st *State) CreateProvisioningTemplateVersion(name, body string, setAsDefault bool) (*TemplateVersion, error) {
	t, err := st.ProvisioningTemplate(name)
	if err != nil {
		return nil, err
	}
	if err := checkTemplateFields(nil, "", &body); err != nil {
		return nil, err
	}
	if n := len(st.templateVersions(name)); n >= MaxTemplateVersions {
		return nil, Errorf(CodeVersionsLimitExceeded, "The provisioning template %s already has %d versions; delete one (delete-provisioning-template-version) before creating another", name, n)
	}
	now := st.Now()
	t.LastVersion++
	v := &TemplateVersion{Template: name, Version: t.LastVersion, Body: body, Created: now}
	insert(st, kindTemplateVersions, v)
	if setAsDefault {
		t.DefaultVersion = v.Version
	}
	t.Modified = now
	return v, nil
}

// DeleteProvisioningTemplateVersion deletes a version other than the default.
func (st *State) DeleteProvisioningTemplateVersion(name string, version int) error {
	t, err := st.ProvisioningTemplate(name)
	if err != nil {
		return err
	}
	if _, err := st.TemplateVersion(name, version); err != nil {
		return err
	}
	if version == t.DefaultVersion {
		return Errorf(CodeDeleteConflict, "Version %d is the default version of the provisioning template %s; make another version the default first", version, name)
	}
	remove(st, kindTemplateVersions, versionKey(name, version))
	return nil
}

// ListProvisioningTemplates pages the templates by name.
func (st *State) ListProvisioningTemplates(p Page) ([]*ProvisioningTemplate, []byte, error) {
	return page(st, kindTemplates, nil, nil, p, nil)
}

// ListTemplateVersions pages a template's versions by version ID.
func (st *State) ListTemplateVersions(name string, p Page) ([]*TemplateVersion, []byte, error) {
	if _, err := st.ProvisioningTemplate(name); err != nil {
		return nil, nil, err
	}
	return page(st, kindTemplateVersions, nil, join([]byte(name), nil), p, nil)
}
