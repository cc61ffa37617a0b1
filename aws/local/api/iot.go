package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
)

// ---- registration code ----

func (h *Handler) getRegistrationCode(_ http.ResponseWriter, _ *http.Request, _ []string) (any, error) {
	var code string
	_ = h.st.View(func(st *store.State) error { code = st.RegistrationCode; return nil })
	if code == "" {
		// First call: mint (EnsureRegistrationCode re-checks under the write lock).
		if err := h.st.Update(func(st *store.State) error { code = st.EnsureRegistrationCode(); return nil }); err != nil {
			return nil, err
		}
	}
	return map[string]string{"registrationCode": code}, nil
}

func (h *Handler) deleteRegistrationCode(_ http.ResponseWriter, _ *http.Request, _ []string) (any, error) {
	return nil, h.st.Update(func(st *store.State) error { st.DeleteRegistrationCode(); return nil })
}

// ---- CA certificates ----

// validateRegistrationConfig checks a registrationConfig as AWS does when it is set:
// shape and limits, then the template body (aws/template). A templateName is checked
// against the provisioning templates in the transaction (checkTemplateName).
func validateRegistrationConfig(rc *store.RegistrationConfig) error {
	if rc.IsZero() {
		return nil
	}
	tc := template.RegistrationConfig{TemplateBody: rc.TemplateBody, RoleArn: rc.RoleArn, TemplateName: rc.TemplateName}
	if err := tc.Validate(); err != nil {
		return store.Errorf(store.CodeInvalidRequest, "%s", err.Error())
	}
	if rc.TemplateBody != "" {
		return validateTemplateBody(rc.TemplateBody)
	}
	return nil
}

// validateTemplateBody parses a provisioning template body (aws/template), with AWS's
// error code for what is wrong.
func validateTemplateBody(body string) error {
	if _, err := template.Parse(body); err != nil {
		var te *template.Error
		if errors.As(err, &te) && te.Code != "" {
			return &store.APIError{Code: te.Code, Status: store.StatusFor(te.Code), Message: te.Message}
		}
		return store.Errorf(store.CodeInvalidRequest, "Invalid registration template. %v", err)
	}
	return nil
}

type regConfigJSON struct {
	TemplateBody string `json:"templateBody,omitempty"`
	RoleArn      string `json:"roleArn,omitempty"`
	TemplateName string `json:"templateName,omitempty"`
}

func regConfigOut(rc *store.RegistrationConfig) *regConfigJSON {
	if rc.IsZero() {
		return nil
	}
	return &regConfigJSON{TemplateBody: rc.TemplateBody, RoleArn: rc.RoleArn, TemplateName: rc.TemplateName}
}

func (h *Handler) registerCACertificate(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	var in struct {
		CACertificate           string                    `json:"caCertificate"`
		VerificationCertificate string                    `json:"verificationCertificate"`
		RegistrationConfig      *store.RegistrationConfig `json:"registrationConfig"`
		Tags                    []store.Tag               `json:"tags"`
		CertificateMode         string                    `json:"certificateMode"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	setActive, err := queryBool(r, "setAsActive")
	if err != nil {
		return nil, err
	}
	allowAuto, err := queryBool(r, "allowAutoRegistration")
	if err != nil {
		return nil, err
	}
	if err := validateRegistrationConfig(in.RegistrationConfig); err != nil {
		return nil, err
	}
	var id, arn string
	err = h.st.Update(func(st *store.State) error {
		if err := checkTemplateName(st, in.RegistrationConfig); err != nil {
			return err
		}
		ca, err := st.RegisterCA(store.RegisterCAInput{
			CACertificatePEM: in.CACertificate, VerificationCertificate: in.VerificationCertificate,
			SetAsActive: setActive, AllowAutoRegistration: allowAuto,
			RegistrationConfig: in.RegistrationConfig, CertificateMode: in.CertificateMode, Tags: in.Tags,
		})
		if err != nil {
			return err
		}
		id, arn = ca.ID, ca.ARN
		jitp := "no registrationConfig: devices get JITR (registered event only)"
		if !ca.RegistrationConfig.IsZero() {
			jitp = "registrationConfig set: devices get JITP (template runs on first connect)"
		}
		st.AddEvent(store.Event{Kind: store.EventCARegistered, CAID: ca.ID,
			Message: fmt.Sprintf("CA certificate registered: status %s, auto-registration %s, mode %s; %s", ca.Status, ca.AutoRegistrationStatus, ca.Mode, jitp)})
		return nil
	})
	return map[string]string{"certificateArn": arn, "certificateId": id}, err
}

type validityJSON struct {
	NotBefore *epoch `json:"notBefore,omitempty"`
	NotAfter  *epoch `json:"notAfter,omitempty"`
}

func (h *Handler) describeCACertificate(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	type desc struct {
		CertificateArn         string       `json:"certificateArn"`
		CertificateID          string       `json:"certificateId"`
		Status                 string       `json:"status"`
		CertificatePem         string       `json:"certificatePem"`
		OwnedBy                string       `json:"ownedBy"`
		CreationDate           *epoch       `json:"creationDate,omitempty"`
		AutoRegistrationStatus string       `json:"autoRegistrationStatus"`
		LastModifiedDate       *epoch       `json:"lastModifiedDate,omitempty"`
		CustomerVersion        int          `json:"customerVersion"`
		GenerationID           string       `json:"generationId"`
		Validity               validityJSON `json:"validity"`
		CertificateMode        string       `json:"certificateMode"`
	}
	var out struct {
		CertificateDescription desc           `json:"certificateDescription"`
		RegistrationConfig     *regConfigJSON `json:"registrationConfig,omitempty"`
	}
	err := h.st.View(func(st *store.State) error {
		c, err := st.CA(args[0])
		if err != nil {
			return err
		}
		out.CertificateDescription = desc{CertificateArn: c.ARN, CertificateID: c.ID, Status: c.Status, CertificatePem: c.PEM,
			OwnedBy: c.Owner, CreationDate: ts(c.Created), AutoRegistrationStatus: c.AutoRegistrationStatus,
			LastModifiedDate: ts(c.Modified), CustomerVersion: c.CustomerVersion, GenerationID: c.GenerationID,
			Validity: validityJSON{ts(c.NotBefore), ts(c.NotAfter)}, CertificateMode: c.Mode}
		out.RegistrationConfig = regConfigOut(c.RegistrationConfig)
		return nil
	})
	return out, err
}

func (h *Handler) updateCACertificate(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	var in struct {
		RegistrationConfig     *store.RegistrationConfig `json:"registrationConfig"`
		RemoveAutoRegistration bool                      `json:"removeAutoRegistration"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if err := validateRegistrationConfig(in.RegistrationConfig); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	u := store.UpdateCAInput{NewStatus: q.Get("newStatus"), NewAutoRegistrationStatus: q.Get("newAutoRegistrationStatus"),
		RegistrationConfig: in.RegistrationConfig, RemoveAutoRegistration: in.RemoveAutoRegistration}
	err := h.st.Update(func(st *store.State) error {
		if err := checkTemplateName(st, in.RegistrationConfig); err != nil {
			return err
		}
		if err := st.UpdateCA(args[0], u); err != nil {
			return err
		}
		c, _ := st.CA(args[0])
		st.AddEvent(store.Event{Kind: "CAUpdated", CAID: c.ID,
			Message: fmt.Sprintf("CA certificate updated: status %s, auto-registration %s, registrationConfig %s", c.Status, c.AutoRegistrationStatus, map[bool]string{true: "none", false: "set"}[c.RegistrationConfig.IsZero()])})
		return nil
	})
	return nil, err
}

func (h *Handler) deleteCACertificate(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	return nil, h.st.Update(func(st *store.State) error { return st.DeleteCA(args[0]) })
}

type certSummary struct {
	CertificateArn  string `json:"certificateArn"`
	CertificateID   string `json:"certificateId"`
	Status          string `json:"status"`
	CertificateMode string `json:"certificateMode,omitempty"`
	CreationDate    *epoch `json:"creationDate,omitempty"`
}

func (h *Handler) listCACertificates(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	p, err := certListPage(r)
	if err != nil {
		return nil, err
	}
	tmpl := r.URL.Query().Get("templateName")
	var keep func(*store.CA) bool
	if tmpl != "" {
		keep = func(c *store.CA) bool {
			return c.RegistrationConfig != nil && c.RegistrationConfig.TemplateName == tmpl
		}
	}
	out := certPage{Certificates: []certSummary{}}
	err = h.st.View(func(st *store.State) error {
		cas, next, err := st.ListCAs(p, keep)
		for _, c := range cas {
			out.Certificates = append(out.Certificates, certSummary{CertificateArn: c.ARN, CertificateID: c.ID, Status: c.Status, CreationDate: ts(c.Created)})
		}
		out.NextMarker = nextMarker(next)
		return listError(r, "marker", err)
	})
	return out, err
}

// certPage is a page of ListCACertificates, ListCertificates or ListCertificatesByCA.
type certPage struct {
	Certificates []certSummary `json:"certificates"`
	NextMarker   string        `json:"nextMarker,omitempty"`
}

// certListPage reads the page a certificate list asks for: pageSize (default 25) and
// marker, newest first unless isAscendingOrder=true (as AWS lists them).
func certListPage(r *http.Request) (store.Page, error) {
	desc, err := newestFirst(r)
	if err != nil {
		return store.Page{}, err
	}
	return pageRequest(r, "pageSize", "marker", 25, desc)
}

func (h *Handler) certsPage(r *http.Request, list func(st *store.State, p store.Page) ([]*store.Certificate, []byte, error)) (any, error) {
	p, err := certListPage(r)
	if err != nil {
		return nil, err
	}
	out := certPage{Certificates: []certSummary{}}
	err = h.st.View(func(st *store.State) error {
		certs, next, err := list(st, p)
		if err != nil {
			return listError(r, "marker", err)
		}
		for _, c := range certs {
			out.Certificates = append(out.Certificates, certSummary{CertificateArn: c.ARN, CertificateID: c.ID, Status: c.Status, CertificateMode: c.Mode, CreationDate: ts(c.Created)})
		}
		out.NextMarker = nextMarker(next)
		return nil
	})
	return out, err
}

// ---- device certificates ----

func (h *Handler) describeCertificate(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	type desc struct {
		CertificateArn   string       `json:"certificateArn"`
		CertificateID    string       `json:"certificateId"`
		CACertificateID  string       `json:"caCertificateId,omitempty"`
		Status           string       `json:"status"`
		CertificatePem   string       `json:"certificatePem"`
		OwnedBy          string       `json:"ownedBy"`
		CreationDate     *epoch       `json:"creationDate,omitempty"`
		LastModifiedDate *epoch       `json:"lastModifiedDate,omitempty"`
		CustomerVersion  int          `json:"customerVersion"`
		TransferData     struct{}     `json:"transferData"`
		GenerationID     string       `json:"generationId"`
		Validity         validityJSON `json:"validity"`
		CertificateMode  string       `json:"certificateMode"`
	}
	var out struct {
		CertificateDescription desc `json:"certificateDescription"`
	}
	err := h.st.View(func(st *store.State) error {
		c, err := st.Certificate(args[0])
		if err != nil {
			return err
		}
		out.CertificateDescription = desc{CertificateArn: c.ARN, CertificateID: c.ID, CACertificateID: c.CAID, Status: c.Status,
			CertificatePem: c.PEM, OwnedBy: c.Owner, CreationDate: ts(c.Created), LastModifiedDate: ts(c.Modified),
			CustomerVersion: c.CustomerVersion, GenerationID: c.GenerationID, Validity: validityJSON{ts(c.NotBefore), ts(c.NotAfter)},
			CertificateMode: c.Mode}
		return nil
	})
	return out, err
}

func (h *Handler) updateCertificate(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	status := r.URL.Query().Get("newStatus")
	var id string
	err := h.st.Update(func(st *store.State) error {
		if err := st.UpdateCertificate(args[0], status); err != nil {
			return err
		}
		c, _ := st.Certificate(args[0])
		id = c.ID
		st.AddEvent(store.Event{Kind: "CertificateUpdated", CertID: c.ID, CAID: c.CAID, Message: "certificate status set to " + status})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if h.opts.OnCertificateStatus != nil {
		h.opts.OnCertificateStatus(id, status)
	}
	return nil, nil
}

func (h *Handler) deleteCertificate(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	force, err := queryBool(r, "forceDelete")
	if err != nil {
		return nil, err
	}
	return nil, h.st.Update(func(st *store.State) error { return st.DeleteCertificate(args[0], force) })
}

func (h *Handler) listCertificatesByCA(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	return h.certsPage(r, func(st *store.State, p store.Page) ([]*store.Certificate, []byte, error) {
		if _, err := st.CA(args[0]); err != nil {
			return nil, nil, err
		}
		return st.ListCertificatesByCA(args[0], p)
	})
}

func (h *Handler) listCertificates(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	return h.certsPage(r, func(st *store.State, p store.Page) ([]*store.Certificate, []byte, error) {
		return st.ListCertificates(p)
	})
}

// ---- things ----

func (h *Handler) createThing(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	var in struct {
		ThingTypeName    string `json:"thingTypeName"`
		BillingGroupName string `json:"billingGroupName"`
		AttributePayload *struct {
			Attributes map[string]string `json:"attributes"`
		} `json:"attributePayload"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	var attrs map[string]string
	if in.AttributePayload != nil {
		attrs = in.AttributePayload.Attributes
	}
	var t store.Thing
	err := h.st.Update(func(st *store.State) error {
		th, err := st.CreateThingWithBillingGroup(args[0], in.ThingTypeName, attrs, in.BillingGroupName)
		if err != nil {
			return err
		}
		t = *th
		return nil
	})
	return map[string]string{"thingName": t.Name, "thingArn": t.ARN, "thingId": t.ID}, err
}

func (h *Handler) describeThing(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	type out struct {
		DefaultClientID string            `json:"defaultClientId"`
		ThingName       string            `json:"thingName"`
		ThingID         string            `json:"thingId"`
		ThingArn        string            `json:"thingArn"`
		ThingTypeName   string            `json:"thingTypeName,omitempty"`
		Attributes      map[string]string `json:"attributes"`
		Version         int64             `json:"version"`
		BillingGroup    string            `json:"billingGroupName,omitempty"`
	}
	var o out
	err := h.st.View(func(st *store.State) error {
		t, err := st.Thing(args[0])
		if err != nil {
			return err
		}
		o = out{DefaultClientID: t.Name, ThingName: t.Name, ThingID: t.ID, ThingArn: t.ARN, ThingTypeName: t.TypeName,
			Attributes: copyAttrs(t.Attributes), Version: t.Version, BillingGroup: t.BillingGroup}
		return nil
	})
	return o, err
}

func copyAttrs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (h *Handler) listThings(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	type item struct {
		ThingName     string            `json:"thingName"`
		ThingTypeName string            `json:"thingTypeName,omitempty"`
		ThingArn      string            `json:"thingArn"`
		Attributes    map[string]string `json:"attributes"`
		Version       int64             `json:"version"`
	}
	q := r.URL.Query()
	attrName, attrValue, typeName := q.Get("attributeName"), q.Get("attributeValue"), q.Get("thingTypeName")
	prefix, err := queryBool(r, "usePrefixAttributeValue")
	if err != nil {
		return nil, err
	}
	p, err := pageRequest(r, "maxResults", "nextToken", 50, false)
	if err != nil {
		return nil, err
	}
	var keep func(t *store.Thing) bool
	if typeName != "" || attrName != "" {
		keep = func(t *store.Thing) bool {
			if typeName != "" && t.TypeName != typeName {
				return false
			}
			if attrName != "" {
				v, has := t.Attributes[attrName]
				if !has || (attrValue != "" && !(v == attrValue || prefix && strings.HasPrefix(v, attrValue))) {
					return false
				}
			}
			return true
		}
	}
	out := struct {
		Things    []item `json:"things"`
		NextToken string `json:"nextToken,omitempty"`
	}{Things: []item{}}
	err = h.st.View(func(st *store.State) error {
		things, next, err := st.ListThings(p, keep)
		for _, t := range things {
			out.Things = append(out.Things, item{ThingName: t.Name, ThingTypeName: t.TypeName, ThingArn: t.ARN, Attributes: copyAttrs(t.Attributes), Version: t.Version})
		}
		out.NextToken = nextMarker(next)
		return listError(r, "nextToken", err)
	})
	return out, err
}

func (h *Handler) deleteThing(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	return h.deleteVersioned(r, func(st *store.State, expected *int64) error { return st.DeleteThing(args[0], expected) })
}

// stringsPage answers a list of names or ARNs (field) paged by sizeParam/markerParam,
// the next marker in nextField.
func (h *Handler) stringsPage(r *http.Request, field, sizeParam, markerParam, nextField string, list func(st *store.State, p store.Page) ([]string, []byte, error)) (any, error) {
	p, err := pageRequest(r, sizeParam, markerParam, 25, false)
	if err != nil {
		return nil, err
	}
	var items []string
	var next []byte
	err = h.st.View(func(st *store.State) error {
		var err error
		items, next, err = list(st, p)
		return listError(r, markerParam, err)
	})
	if err != nil {
		return nil, err
	}
	out := map[string]any{field: append([]string{}, items...)}
	if next != nil {
		out[nextField] = nextMarker(next)
	}
	return out, nil
}

func (h *Handler) listThingPrincipals(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	return h.stringsPage(r, "principals", "maxResults", "nextToken", "nextToken", func(st *store.State, p store.Page) ([]string, []byte, error) {
		if _, err := st.Thing(args[0]); err != nil {
			return nil, nil, err
		}
		return st.ListPrincipalsOfThing(args[0], p)
	})
}

func principalHeader(r *http.Request, name string) (string, error) {
	p := strings.TrimSpace(r.Header.Get(name))
	if p == "" {
		return "", store.Errorf(store.CodeInvalidRequest, "1 validation error detected: Value null at 'principal' failed to satisfy constraint: Member must not be null (header %s)", name)
	}
	return p, nil
}

func (h *Handler) attachThingPrincipal(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	p, err := principalHeader(r, "x-amzn-principal")
	if err != nil {
		return nil, err
	}
	typ := r.URL.Query().Get("thingPrincipalType")
	return nil, h.st.Update(func(st *store.State) error { return st.AttachThingPrincipal(args[0], p, typ) })
}

func (h *Handler) detachThingPrincipal(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	p, err := principalHeader(r, "x-amzn-principal")
	if err != nil {
		return nil, err
	}
	return nil, h.st.Update(func(st *store.State) error { return st.DetachThingPrincipal(args[0], p) })
}

func (h *Handler) listPrincipalThings(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	principal, err := principalHeader(r, "x-amzn-principal")
	if err != nil {
		return nil, err
	}
	return h.stringsPage(r, "things", "maxResults", "nextToken", "nextToken", func(st *store.State, p store.Page) ([]string, []byte, error) {
		if store.CertIDFromARN(principal) != "" {
			if _, err := st.CertificateByARN(principal); err != nil {
				return nil, nil, err
			}
		}
		return st.ListThingsOfPrincipal(principal, p)
	})
}

// ---- policies ----

func (h *Handler) createPolicy(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	var in struct {
		PolicyDocument string      `json:"policyDocument"`
		Tags           []store.Tag `json:"tags"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if err := checkPolicyLength(in.PolicyDocument); err != nil {
		return nil, err
	}
	var p store.Policy
	err := h.st.Update(func(st *store.State) error {
		pp, err := st.CreatePolicy(args[0], in.PolicyDocument, in.Tags)
		if err != nil {
			return err
		}
		p = *pp
		return nil
	})
	return map[string]string{"policyName": p.Name, "policyArn": p.ARN, "policyDocument": p.Document, "policyVersionId": p.DefaultVersionID}, err
}

func (h *Handler) getPolicy(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	var out struct {
		PolicyName       string `json:"policyName"`
		PolicyArn        string `json:"policyArn"`
		PolicyDocument   string `json:"policyDocument"`
		DefaultVersionID string `json:"defaultVersionId"`
		CreationDate     *epoch `json:"creationDate,omitempty"`
		LastModifiedDate *epoch `json:"lastModifiedDate,omitempty"`
		GenerationID     string `json:"generationId"`
	}
	err := h.st.View(func(st *store.State) error {
		p, err := st.Policy(args[0])
		if err != nil {
			return err
		}
		out.PolicyName, out.PolicyArn, out.PolicyDocument, out.DefaultVersionID = p.Name, p.ARN, p.Document, p.DefaultVersionID
		out.CreationDate, out.LastModifiedDate, out.GenerationID = ts(p.Created), ts(p.Modified), p.GenerationID
		return nil
	})
	return out, err
}

func (h *Handler) deletePolicy(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	return nil, h.st.Update(func(st *store.State) error { return st.DeletePolicy(args[0]) })
}

func (h *Handler) listPolicyVersions(_ http.ResponseWriter, _ *http.Request, args []string) (any, error) {
	type version struct {
		VersionID        string `json:"versionId"`
		IsDefaultVersion bool   `json:"isDefaultVersion"`
		CreateDate       *epoch `json:"createDate,omitempty"`
	}
	var vs []version
	err := h.st.View(func(st *store.State) error {
		p, err := st.Policy(args[0])
		if err != nil {
			return err
		}
		vs = []version{{VersionID: p.DefaultVersionID, IsDefaultVersion: true, CreateDate: ts(p.Created)}}
		return nil
	})
	return map[string]any{"policyVersions": vs}, err
}

type policyRef struct {
	PolicyName string `json:"policyName"`
	PolicyArn  string `json:"policyArn"`
}

// policiesPage answers ListPolicies, ListAttachedPolicies and ListPrincipalPolicies
// (marker/pageSize, the next marker in nextMarker).
func (h *Handler) policiesPage(r *http.Request, desc bool, list func(st *store.State, p store.Page) ([]*store.Policy, []byte, error)) (any, error) {
	p, err := pageRequest(r, "pageSize", "marker", 25, desc)
	if err != nil {
		return nil, err
	}
	out := struct {
		Policies   []policyRef `json:"policies"`
		NextMarker string      `json:"nextMarker,omitempty"`
	}{Policies: []policyRef{}}
	err = h.st.View(func(st *store.State) error {
		pols, next, err := list(st, p)
		if err != nil {
			return listError(r, "marker", err)
		}
		for _, p := range pols {
			out.Policies = append(out.Policies, policyRef{p.Name, p.ARN})
		}
		out.NextMarker = nextMarker(next)
		return nil
	})
	return out, err
}

func (h *Handler) listPolicies(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	desc, err := newestFirst(r)
	if err != nil {
		return nil, err
	}
	return h.policiesPage(r, desc, func(st *store.State, p store.Page) ([]*store.Policy, []byte, error) {
		return st.ListPolicies(p)
	})
}

func targetBody(r *http.Request) (string, error) {
	var in struct {
		Target string `json:"target"`
	}
	if err := decodeBody(r, &in); err != nil {
		return "", err
	}
	if strings.TrimSpace(in.Target) == "" {
		return "", store.Errorf(store.CodeInvalidRequest, "1 validation error detected: Value null at 'target' failed to satisfy constraint: Member must not be null")
	}
	return in.Target, nil
}

func (h *Handler) attachPolicy(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	target, err := targetBody(r)
	if err != nil {
		return nil, err
	}
	return nil, h.st.Update(func(st *store.State) error { return st.AttachPolicy(args[0], target) })
}

func (h *Handler) detachPolicy(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	target, err := targetBody(r)
	if err != nil {
		return nil, err
	}
	return nil, h.st.Update(func(st *store.State) error { return st.DetachPolicy(args[0], target) })
}

// policiesOf lists the policies of a target (a certificate target must exist).
func policiesOf(target string) func(st *store.State, p store.Page) ([]*store.Policy, []byte, error) {
	return func(st *store.State, p store.Page) ([]*store.Policy, []byte, error) {
		if store.CertIDFromARN(target) != "" {
			if _, err := st.CertificateByARN(target); err != nil {
				return nil, nil, err
			}
		}
		return st.ListPoliciesOfTarget(target, p)
	}
}

func (h *Handler) listAttachedPolicies(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	if _, err := queryBool(r, "recursive"); err != nil {
		return nil, err
	}
	return h.policiesPage(r, false, policiesOf(args[0]))
}

func (h *Handler) listPrincipalPolicies(_ http.ResponseWriter, r *http.Request, _ []string) (any, error) {
	p, err := principalHeader(r, "x-amzn-iot-principal")
	if err != nil {
		return nil, err
	}
	desc, err := newestFirst(r)
	if err != nil {
		return nil, err
	}
	return h.policiesPage(r, desc, policiesOf(p))
}

func (h *Handler) listTargetsForPolicy(_ http.ResponseWriter, r *http.Request, args []string) (any, error) {
	return h.stringsPage(r, "targets", "pageSize", "marker", "nextMarker", func(st *store.State, p store.Page) ([]string, []byte, error) {
		if _, err := st.Policy(args[0]); err != nil {
			return nil, nil, err
		}
		return st.ListTargetsOfPolicy(args[0], p)
	})
}
