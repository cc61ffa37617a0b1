package template

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/internal/strictjson"
	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// Variant is one of the AWS walkthrough's three template variants.
type Variant string

const (
	// Scoped (default): thing from CN with attributes version/country, and an
	// inline policy limited to the thing's own client ID and topics.
	Scoped Variant = "scoped"
	// Admin: the same thing and certificate with an inline iot:* on * policy (labs only).
	Admin Variant = "admin"
	// Named: the same thing and certificate, attaching an existing policy by name.
	Named Variant = "named"
)

// Variants lists the variants in the order the wizard offers them.
var Variants = []Variant{Scoped, Admin, Named}

// Describe returns a one-line description of the variant.
func (v Variant) Describe() string {
	switch v {
	case Scoped:
		return say("variant.scoped")
	case Admin:
		return say("variant.admin")
	case Named:
		return say("variant.named")
	}
	return say("variant.unknown")
}

// ParseVariant accepts "scoped", "admin", "named" (also "named-policy"); "" is Scoped.
func ParseVariant(s string) (Variant, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "scoped", "default":
		return Scoped, nil
	case "admin":
		return Admin, nil
	case "named", "named-policy", "policy":
		return Named, nil
	}
	return "", errors.New(say("variant.parse", "Value", strconv.Quote(s)))
}

// Placeholders used by the walkthrough's files.
const (
	PlaceholderAccount    = "<ACCOUNT_ID>"
	PlaceholderRegion     = "us-east-2"
	PlaceholderPolicyName = "Policy_Name"
	DefaultRoleName       = "JITPRole"
)

// The walkthrough's template bodies, verbatim (placeholders included).
const (
	bodyScoped = `{ "Parameters" : { "AWS::IoT::Certificate::CommonName" : { "Type" : "String" },"AWS::IoT::Certificate::Country" : { "Type" : "String" }, "AWS::IoT::Certificate::Id" : { "Type" : "String" }}, "Resources" : { "thing" : { "Type" : "AWS::IoT::Thing", "Properties" : { "ThingName" : {"Ref" : "AWS::IoT::Certificate::CommonName"}, "AttributePayload" : { "version" : "v1", "country" : {"Ref" : "AWS::IoT::Certificate::Country"}} } }, "certificate" : { "Type" : "AWS::IoT::Certificate", "Properties" : { "CertificateId": {"Ref" : "AWS::IoT::Certificate::Id"}, "Status" : "ACTIVE" } }, "policy" : {"Type" : "AWS::IoT::Policy", "Properties" : { "PolicyDocument" : "{ \"Version\": \"2012-10-17\", \"Statement\": [ { \"Effect\": \"Allow\", \"Action\": [ \"iot:Connect\" ], \"Resource\": [ \"arn:aws:iot:us-east-2:<ACCOUNT_ID>:client\/${iot:Connection.Thing.ThingName}\" ] }, { \"Effect\": \"Allow\", \"Action\": [ \"iot:Publish\", \"iot:Receive\" ], \"Resource\": [ \"arn:aws:iot:us-east-2:<ACCOUNT_ID>:topic\/${iot:Connection.Thing.ThingName}\/*\" ] }, { \"Effect\": \"Allow\", \"Action\": [ \"iot:Subscribe\" ], \"Resource\": [ \"arn:aws:iot:us-east-2:<ACCOUNT_ID>:topicfilter\/${iot:Connection.Thing.ThingName}\/*\" ] } ] }" } } } }`
	bodyAdmin  = `{ "Parameters" : { "AWS::IoT::Certificate::CommonName" : { "Type" : "String" },"AWS::IoT::Certificate::Country" : { "Type" : "String" }, "AWS::IoT::Certificate::Id" : { "Type" : "String" }}, "Resources" : { "thing" : { "Type" : "AWS::IoT::Thing", "Properties" : { "ThingName" : {"Ref" : "AWS::IoT::Certificate::CommonName"}, "AttributePayload" : { "version" : "v1", "country" : {"Ref" : "AWS::IoT::Certificate::Country"}} } }, "certificate" : { "Type" : "AWS::IoT::Certificate", "Properties" : { "CertificateId": {"Ref" : "AWS::IoT::Certificate::Id"}, "Status" : "ACTIVE" } }, "policy" : {"Type" : "AWS::IoT::Policy", "Properties" : { "PolicyDocument" : "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*\"}]}" } } } }`
	bodyNamed  = `{ "Parameters" : { "AWS::IoT::Certificate::CommonName" : { "Type" : "String" },"AWS::IoT::Certificate::Country" : { "Type" : "String" }, "AWS::IoT::Certificate::Id" : { "Type" : "String" }}, "Resources" : { "thing" : { "Type" : "AWS::IoT::Thing", "Properties" : { "ThingName" : {"Ref" : "AWS::IoT::Certificate::CommonName"}, "AttributePayload" : { "version" : "v1", "country" : {"Ref" : "AWS::IoT::Certificate::Country"}} } }, "certificate" : { "Type" : "AWS::IoT::Certificate", "Properties" : { "CertificateId": {"Ref" : "AWS::IoT::Certificate::Id"}, "Status" : "ACTIVE" } }, "policy" :  {"Type" : "AWS::IoT::Policy", "Properties" : { "PolicyName" :  "Policy_Name"} } } }`
)

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
)

// DefaultRoleArn is the walkthrough's role ARN for an account.
func DefaultRoleArn(region, account string) string {
	return "arn:" + policy.Partition(region) + ":iam::" + account + ":role/" + DefaultRoleName
}

// RenderConfig builds the registration config of a variant with the
// placeholders filled in. An empty roleArn means DefaultRoleArn; an empty
// policyName (Named only) keeps the walkthrough's "Policy_Name".
func RenderConfig(v Variant, region, account, roleArn, policyName string) (*RegistrationConfig, error) {
	if !policy.ValidRegion(region) {
		return nil, &ConfigError{Field: "region", Reason: ReasonRegion, Message: say("render.region", "Region", strconv.Quote(region)), Fix: say("render.region.fix")}
	}
	if !accountRE.MatchString(account) {
		return nil, &ConfigError{Field: "account", Reason: ReasonAccount, Message: say("render.account", "Account", strconv.Quote(account)), Fix: say("render.account.fix")}
	}
	var body string
	switch v {
	case Scoped, "":
		body = bodyScoped
	case Admin:
		body = bodyAdmin
	case Named:
		body = bodyNamed
		if policyName == "" {
			policyName = PlaceholderPolicyName
		}
		if len(policyName) > MaxPolicyName || !policyNameRE.MatchString(policyName) {
			return nil, &ConfigError{Field: "policyName", Reason: ReasonPolicyName, Message: say("render.policy-name", "Policy", strconv.Quote(policyName)), Fix: say("render.policy-name.fix")}
		}
		body = strings.Replace(body, `"`+PlaceholderPolicyName+`"`, `"`+policyName+`"`, 1)
	default:
		return nil, &ConfigError{Field: "variant", Reason: ReasonVariant, Message: say("render.variant", "Variant", strconv.Quote(string(v))), Fix: say("render.variant.fix")}
	}
	body = strings.ReplaceAll(body, "arn:aws:iot:"+PlaceholderRegion+":", "arn:"+policy.Partition(region)+":iot:"+region+":")
	body = strings.ReplaceAll(body, PlaceholderAccount, account)
	if roleArn == "" {
		roleArn = DefaultRoleArn(region, account)
	}
	c := &RegistrationConfig{TemplateBody: body, RoleArn: roleArn}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Render returns the registration-config JSON file of a variant (the
// walkthrough's jitp_template.json) with region, account, role ARN and, for
// Named, the policy name filled in.
func Render(v Variant, region, account, roleArn, policyName string) ([]byte, error) {
	c, err := RenderConfig(v, region, account, roleArn, policyName)
	if err != nil {
		return nil, err
	}
	return c.Marshal(), nil
}

// Marshal writes the config in the walkthrough's file layout.
func (c *RegistrationConfig) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("{\n \"templateBody\":")
	b.WriteString(jsonString(c.TemplateBody))
	b.WriteString(",\n \"roleArn\":")
	b.WriteString(jsonString(c.RoleArn))
	if c.TemplateName != "" {
		b.WriteString(",\n \"templateName\":")
		b.WriteString(jsonString(c.TemplateName))
	}
	b.WriteString("\n}\n")
	return b.Bytes()
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

// writeJSON serialises n keeping key order; indent "" means compact.
func writeJSON(b *strings.Builder, n *strictjson.Node, prefix, indent string) {
	nl := func(p string) {
		if indent != "" {
			b.WriteString("\n" + p)
		}
	}
	switch n.Kind {
	case strictjson.Null:
		b.WriteString("null")
	case strictjson.Boolean:
		fmt.Fprint(b, n.Bool)
	case strictjson.Number:
		b.WriteString(n.Str)
	case strictjson.String:
		b.WriteString(jsonString(n.Str))
	case strictjson.Array, strictjson.Object:
		open, closing := "[", "]"
		if n.Kind == strictjson.Object {
			open, closing = "{", "}"
		}
		b.WriteString(open)
		if len(n.Vals) == 0 {
			b.WriteString(closing)
			return
		}
		for i, v := range n.Vals {
			if i > 0 {
				b.WriteString(",")
			}
			nl(prefix + indent)
			if n.Kind == strictjson.Object {
				b.WriteString(jsonString(n.Keys[i]))
				b.WriteString(":")
				if indent != "" {
					b.WriteString(" ")
				}
			}
			writeJSON(b, v, prefix+indent, indent)
		}
		nl(prefix)
		b.WriteString(closing)
	}
}

// Pretty returns the template body indented for display, keys in their
// original order. Each inline PolicyDocument (a JSON string inside the
// template) is then shown decoded and indented as well, under a heading naming
// its JSON path. The first part alone is equivalent JSON to the input.
func Pretty(body string) (string, error) {
	t, docs, err := PrettyParts(body)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(t)
	for _, d := range docs {
		b.WriteString("\n\n" + say("pretty.decoded", "Path", d.Path) + "\n" + d.Pretty)
	}
	return b.String(), nil
}

// PrettyPolicy is an inline policy document shown decoded.
type PrettyPolicy struct {
	Path   string // e.g. "Resources.policy.Properties.PolicyDocument"
	Pretty string // the document indented, or the raw string if it is not JSON
}

// PrettyParts is Pretty split into the indented template and its decoded policies.
func PrettyParts(body string) (string, []PrettyPolicy, error) {
	root, err := strictjson.Parse(body)
	if err != nil {
		je := err.(*strictjson.SyntaxError)
		line, col := strictjson.LineCol(body, je.Off)
		return "", nil, errors.New(say("pretty.syntax", "Msg", strings.TrimPrefix(je.Msg, "invalid JSON: "), "Line", strconv.Itoa(line), "Column", strconv.Itoa(col)))
	}
	var b strings.Builder
	writeJSON(&b, root, "", "  ")
	var docs []PrettyPolicy
	if res := root.Get("Resources"); res != nil && res.Kind == strictjson.Object {
		for i, id := range res.Keys {
			props := res.Vals[i].Get("Properties")
			doc := props.Get("PolicyDocument")
			if doc == nil || doc.Kind != strictjson.String {
				continue
			}
			pp := PrettyPolicy{Path: "Resources." + id + ".Properties.PolicyDocument", Pretty: doc.Str}
			if dn, err := strictjson.Parse(doc.Str); err == nil {
				var db strings.Builder
				writeJSON(&db, dn, "", "  ")
				pp.Pretty = db.String()
			}
			docs = append(docs, pp)
		}
	}
	return b.String(), docs, nil
}
