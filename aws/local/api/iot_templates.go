package api

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// Provisioning templates (botocore iot 2015-05-28: CreateProvisioningTemplate and the
// operations on it and its versions). UpdateProvisioningTemplate has no templateBody: a
// body changes with CreateProvisioningTemplateVersion (setAsDefault) or by making another
// version the default (defaultVersionId).

func newRoute(method, path, name string, fn iotOp) route {
	return route{method: method, pattern: seg(path), op: name, fn: fn}
}

// templateRoutes are the provisioning-template operations (iotRoutes adds them).
func templateRoutes() []route {
	return []route{
		newRoute("POST", "/provisioning-templates", "CreateProvisioningTemplate", (*Handler).createProvisioningTemplate),
		newRoute("GET", "/provisioning-templates", "ListProvisioningTemplates", (*Handler).listProvisioningTemplates),
		newRoute("GET", "/provisioning-templates/{}", "DescribeProvisioningTemplate", (*Handler).describeProvisioningTemplate),
		newRoute("PATCH", "/provisioning-templates/{}", "UpdateProvisioningTemplate", (*Handler).updateProvisioningTemplate),
		newRoute("DELETE", "/provisioning-templates/{}", "DeleteProvisioningTemplate", (*Handler).deleteProvisioningTemplate),
		newRoute("POST", "/provisioning-templates/{}/versions", "CreateProvisioningTemplateVersion", (*Handler).createProvisioningTemplateVersion),
		newRoute("GET", "/provisioning-templates/{}/versions", "ListProvisioningTemplateVersions", (*Handler).listProvisioningTemplateVersions),
		newRoute("GET", "/provisioning-templates/{}/versions/{}", "DescribeProvisioningTemplateVersion", (*Handler).describeProvisioningTemplateVersion),
		newRoute("DELETE", "/provisioning-templates/{}/versions/{}", "DeleteProvisioningTemplateVersion", (*Handler).deleteProvisioningTemplateVersion),
	}
}

// checkTemplateName: a registrationConfig's templateName must name a provisioning
// template of type JITP (jit-provisioning.html, "Register CA using provisioning template
// name"; AWS's messages for the two failures are not documented [U]).
func checkTemplateName(st *store.State, rc *store.RegistrationConfig) error {
	if rc.IsZero() || rc.TemplateBody != "" || rc.TemplateName == "" {
		return nil
	}
	t, err := st.ProvisioningTemplate(rc.TemplateName)
	if err != nil {
		return err
	}
	if t.Type != store.TemplateTypeJITP {
		return store.Errorf(store.CodeInvalidRequest, "The provisioning template %s is of type %s; a CA's registration config needs one of type JITP (create-provisioning-template --type JITP)", t.Name, t.Type)
	}
	return nil
}

// roleARNRE is the role ARN pattern of a registration config (CloudFormation
// AWS::IoT::CACertificate RegistrationConfig RoleArn).
var roleARNRE = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)

func checkRoleARN(arn string) error {
	if arn != "" && !roleARNRE.MatchString(arn) {
		return store.Errorf(store.CodeInvalidRequest, "1 validation error detected: Value '%s' at 'provisioningRoleArn' failed to satisfy constraint: Member must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)", arn)
	}
	return nil
}

type hookJSON = store.ProvisioningHook

func (h *Handler) createProvisioningTemplate(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	var in struct {
		TemplateName        string      `json:"templateName"`
		Description         string      `json:"description"`
		TemplateBody        *string     `json:"templateBody"`
		Enabled             bool        `json:"enabled"`
		ProvisioningRoleArn string      `json:"provisioningRoleArn"`
		PreProvisioningHook *hookJSON   `json:"preProvisioningHook"`
		Tags                []store.Tag `json:"tags"`
		Type                string      `json:"type"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.TemplateBody == nil {
		return nil, store.Errorf(store.CodeInvalidRequest, "1 validation error detected: Value null at 'templateBody' failed to satisfy constraint: Member must not be null")
	}
	if err := checkRoleARN(in.ProvisioningRoleArn); err != nil {
		return nil, err
	}
	if err := validateTemplateBody(*in.TemplateBody); err != nil {
		return nil, err
	}
	var out struct {
		TemplateArn      string `json:"templateArn"`
		TemplateName     string `json:"templateName"`
		DefaultVersionID int    `json:"defaultVersionId"`
	}
	err := h.st.Update(func(st *store.State) error {
		t, err := st.CreateProvisioningTemplate(store.CreateTemplateInput{Name: in.TemplateName, Description: in.Description,
			Body: *in.TemplateBody, RoleARN: in.ProvisioningRoleArn, Type: in.Type, Enabled: in.Enabled, Hook: in.PreProvisioningHook, Tags: in.Tags})
		if err != nil {
			return err
		}
		out.TemplateArn, out.TemplateName, out.DefaultVersionID = t.ARN, t.Name, t.DefaultVersion
		return nil
	})
	return out, err
}

func (h *Handler) describeProvisioningTemplate(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	var out struct {
		TemplateArn         string    `json:"templateArn"`
		TemplateName        string    `json:"templateName"`
		Description         string    `json:"description,omitempty"`
		CreationDate        *epoch    `json:"creationDate,omitempty"`
		LastModifiedDate    *epoch    `json:"lastModifiedDate,omitempty"`
		DefaultVersionID    int       `json:"defaultVersionId"`
		TemplateBody        string    `json:"templateBody"`
		Enabled             bool      `json:"enabled"`
		ProvisioningRoleArn string    `json:"provisioningRoleArn"`
		PreProvisioningHook *hookJSON `json:"preProvisioningHook,omitempty"`
		Type                string    `json:"type"`
	}
	err := h.st.View(func(st *store.State) error {
		t, err := st.ProvisioningTemplate(args[0])
		if err != nil {
			return err
		}
		out.TemplateArn, out.TemplateName, out.Description = t.ARN, t.Name, t.Description
		out.CreationDate, out.LastModifiedDate, out.DefaultVersionID = ts(t.Created), ts(t.Modified), t.DefaultVersion
		out.TemplateBody, out.Enabled, out.ProvisioningRoleArn = st.DefaultTemplateBody(t), t.Enabled, t.RoleARN
		out.PreProvisioningHook, out.Type = t.Hook, t.Type
		return nil
	})
	return out, err
}

func (h *Handler) listProvisioningTemplates(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	type summary struct {
		TemplateArn      string `json:"templateArn"`
		TemplateName     string `json:"templateName"`
		Description      string `json:"description,omitempty"`
		CreationDate     *epoch `json:"creationDate,omitempty"`
		LastModifiedDate *epoch `json:"lastModifiedDate,omitempty"`
		Enabled          bool   `json:"enabled"`
		Type             string `json:"type"`
	}
	p, err := pageRequest(r, "maxResults", "nextToken", 25, false)
	if err != nil {
		return nil, err
	}
	out := struct {
		Templates []summary `json:"templates"`
		NextToken string    `json:"nextToken,omitempty"`
	}{Templates: []summary{}}
	err = h.st.View(func(st *store.State) error {
		list, next, err := st.ListProvisioningTemplates(p)
		for _, t := range list {
			out.Templates = append(out.Templates, summary{TemplateArn: t.ARN, TemplateName: t.Name, Description: t.Description,
				CreationDate: ts(t.Created), LastModifiedDate: ts(t.Modified), Enabled: t.Enabled, Type: t.Type})
		}
		out.NextToken = nextMarker(next)
		return listError(r, "nextToken", err)
	})
	return out, err
}

func (h *Handler) updateProvisioningTemplate(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	var in struct {
		Description               *string   `json:"description"`
		Enabled                   *bool     `json:"enabled"`
		DefaultVersionID          *int      `json:"defaultVersionId"`
		ProvisioningRoleArn       string    `json:"provisioningRoleArn"`
		PreProvisioningHook       *hookJSON `json:"preProvisioningHook"`
		RemovePreProvisioningHook bool      `json:"removePreProvisioningHook"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if err := checkRoleARN(in.ProvisioningRoleArn); err != nil {
		return nil, err
	}
	return nil, h.st.Update(func(st *store.State) error {
		return st.UpdateProvisioningTemplate(args[0], store.UpdateTemplateInput{Description: in.Description, Enabled: in.Enabled,
			DefaultVersion: in.DefaultVersionID, RoleARN: in.ProvisioningRoleArn, Hook: in.PreProvisioningHook, RemoveHook: in.RemovePreProvisioningHook})
	})
}

func (h *Handler) deleteProvisioningTemplate(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	return nil, h.st.Update(func(st *store.State) error { return st.DeleteProvisioningTemplate(args[0]) })
}

func (h *Handler) createProvisioningTemplateVersion(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	var in struct {
		TemplateBody *string `json:"templateBody"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	setDefault, err := queryBool(r, "setAsDefault")
	if err != nil {
		return nil, err
	}
	if in.TemplateBody == nil {
		return nil, store.Errorf(store.CodeInvalidRequest, "1 validation error detected: Value null at 'templateBody' failed to satisfy constraint: Member must not be null")
	}
	if err := validateTemplateBody(*in.TemplateBody); err != nil {
		return nil, err
	}
	var out struct {
		TemplateArn      string `json:"templateArn"`
		TemplateName     string `json:"templateName"`
		VersionID        int    `json:"versionId"`
		IsDefaultVersion bool   `json:"isDefaultVersion"`
	}
	err = h.st.Update(func(st *store.State) error {
		v, err := st.CreateProvisioningTemplateVersion(args[0], *in.TemplateBody, setDefault)
		if err != nil {
			return err
		}
		t, _ := st.ProvisioningTemplate(args[0])
		out.TemplateArn, out.TemplateName, out.VersionID, out.IsDefaultVersion = t.ARN, t.Name, v.Version, t.DefaultVersion == v.Version
		return nil
	})
	return out, err
}

func (h *Handler) listProvisioningTemplateVersions(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	type summary struct {
		VersionID        int    `json:"versionId"`
		CreationDate     *epoch `json:"creationDate,omitempty"`
		IsDefaultVersion bool   `json:"isDefaultVersion"`
	}
	p, err := pageRequest(r, "maxResults", "nextToken", 25, false)
	if err != nil {
		return nil, err
	}
	out := struct {
		Versions  []summary `json:"versions"`
		NextToken string    `json:"nextToken,omitempty"`
	}{Versions: []summary{}}
	err = h.st.View(func(st *store.State) error {
		vs, next, err := st.ListTemplateVersions(args[0], p)
		if err != nil {
			return listError(r, "nextToken", err)
		}
		t, _ := st.ProvisioningTemplate(args[0])
		for _, v := range vs {
			out.Versions = append(out.Versions, summary{VersionID: v.Version, CreationDate: ts(v.Created), IsDefaultVersion: v.Version == t.DefaultVersion})
		}
		out.NextToken = nextMarker(next)
		return nil
	})
	return out, err
}

// versionArg reads the versionId URI label (an integer in the model).
func versionArg(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, store.Errorf(store.CodeInvalidRequest, "1 validation error detected: Value '%s' at 'versionId' failed to satisfy constraint: Member must be an integer", s)
	}
	return n, nil
}

func (h *Handler) describeProvisioningTemplateVersion(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	n, err := versionArg(args[1])
	if err != nil {
		return nil, err
	}
	var out struct {
		VersionID        int    `json:"versionId"`
		CreationDate     *epoch `json:"creationDate,omitempty"`
		TemplateBody     string `json:"templateBody"`
		IsDefaultVersion bool   `json:"isDefaultVersion"`
	}
	err = h.st.View(func(st *store.State) error {
		v, err := st.TemplateVersion(args[0], n)
		if err != nil {
			return err
		}
		t, _ := st.ProvisioningTemplate(args[0])
		out.VersionID, out.CreationDate, out.TemplateBody, out.IsDefaultVersion = v.Version, ts(v.Created), v.Body, t.DefaultVersion == v.Version
		return nil
	})
	return out, err
}

func (h *Handler) deleteProvisioningTemplateVersion(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	n, err := versionArg(args[1])
	if err != nil {
		return nil, err
	}
	return nil, h.st.Update(func(st *store.State) error { return st.DeleteProvisioningTemplateVersion(args[0], n) })
}
