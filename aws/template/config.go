package template

import (
	"encoding/json"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// RegistrationConfig is the registrationConfig of a CA certificate
// (RegisterCACertificate / UpdateCACertificate / the CLI's --registration-config).
type RegistrationConfig struct {
	TemplateBody string `json:"templateBody,omitempty"`
	RoleArn      string `json:"roleArn,omitempty"`
	TemplateName string `json:"templateName,omitempty"`
}

// Limits from the IoT service model.
const (
	MaxTemplateBody = 10240
	MinRoleArn      = 20
	MaxRoleArn      = 2048
	MaxTemplateName = 36
)

var (
	roleArnRE      = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	templateNameRE = regexp.MustCompile(`^[0-9A-Za-z_-]+$`)
)

// ConfigError is a registrationConfig validation failure; Field names the
// offending member and Reason, stably, what is wrong with it. Its message is phrased
// like AWS's InvalidRequestException.
type ConfigError struct {
	Field   string
	Reason  Reason
	Message string
	Fix     string
}

// The reasons of ConfigErrors.
const (
	ReasonConfigNotObject Reason = "config-not-object"     // the registration config is not a JSON object
	ReasonConfigMember    Reason = "config-unknown-member" // a member other than templateBody, roleArn, templateName
	ReasonConfigEmpty     Reason = "config-empty"          // neither templateBody nor templateName
	ReasonBodyTooLong     Reason = "body-too-long"
	ReasonNoRoleArn       Reason = "no-role-arn"
	ReasonRoleArn         Reason = "role-arn"
	ReasonTemplateName    Reason = "template-name"
	ReasonRegion          Reason = "region"
	ReasonAccount         Reason = "account"
	ReasonPolicyName      Reason = "policy-name"
	ReasonVariant         Reason = "variant"
)

func (e *ConfigError) Error() string { return e.Message }

// ParseRegistrationConfig decodes and validates a registrationConfig JSON
// document. It checks shape and limits only; use Parse for the template body.
func ParseRegistrationConfig(b []byte) (*RegistrationConfig, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, &ConfigError{Field: "registrationConfig", Reason: ReasonConfigNotObject, Message: "registration config is not a JSON object: " + err.Error(),
			Fix: `write it as {"templateBody": "<template as an escaped JSON string>", "roleArn": "arn:aws:iam::<account>:role/<name>"}`}
	}
	var c RegistrationConfig
	for k, v := range raw {
		var dst *string
		switch k {
		case "templateBody":
			dst = &c.TemplateBody
		case "roleArn":
			dst = &c.RoleArn
		case "templateName":
			dst = &c.TemplateName
		default:
			return nil, &ConfigError{Field: k, Reason: ReasonConfigMember, Message: fmt.Sprintf("registration config has an unknown member %q", k),
				Fix: "only templateBody, roleArn and templateName are allowed (member names are case-sensitive)"}
		}
		if err := json.Unmarshal(v, dst); err != nil {
			hint := ""
			if len(v) > 0 && v[0] == '{' && k == "templateBody" {
				hint = "; the template body must be a JSON string containing the template (escape its quotes), not a JSON object"
			}
			return nil, &ConfigError{Field: k, Reason: ReasonNotString, Message: fmt.Sprintf("registration config member %s must be a string%s", k, hint),
				Fix: "encode the template as a string: \"templateBody\": \"{ \\\"Parameters\\\": ... }\""}
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks the members against the service-model constraints.
func (c *RegistrationConfig) Validate() error {
	if c.TemplateBody == "" && c.TemplateName == "" {
		return &ConfigError{Field: "templateBody", Reason: ReasonConfigEmpty, Message: "registration config has neither templateBody nor templateName",
			Fix: "give the template body (JITP template) or the name of a provisioning template of type JITP"}
	}
	if n := utf8.RuneCountInString(c.TemplateBody); n > MaxTemplateBody {
		return &ConfigError{Field: "templateBody", Reason: ReasonBodyTooLong,
			Message: fmt.Sprintf("1 validation error detected: Value at 'registrationConfig.templateBody' failed to satisfy constraint: Member must have length less than or equal to %d (it has %d)", MaxTemplateBody, n),
			Fix:     "shorten the template (remove whitespace, shorten the policy document, or attach an existing policy by PolicyName)"}
	}
	if c.TemplateBody != "" && c.RoleArn == "" {
		return &ConfigError{Field: "roleArn", Reason: ReasonNoRoleArn, Message: "registration config has a templateBody but no roleArn",
			Fix: "add \"roleArn\": \"arn:aws:iam::<account>:role/JITPRole\" (a role trusted by iot.amazonaws.com with AWSIoTThingsRegistration)"}
	}
	if c.RoleArn != "" {
		if n := len(c.RoleArn); n < MinRoleArn || n > MaxRoleArn || !roleArnRE.MatchString(c.RoleArn) {
			return &ConfigError{Field: "roleArn", Reason: ReasonRoleArn,
				Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'registrationConfig.roleArn' failed to satisfy constraint: Member must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)", c.RoleArn),
				Fix:     "use the role's ARN as shown by `aws iam get-role --role-name JITPRole`, e.g. arn:aws:iam::123456789012:role/JITPRole"}
		}
	}
	if c.TemplateName != "" {
		if len(c.TemplateName) > MaxTemplateName || !templateNameRE.MatchString(c.TemplateName) {
			return &ConfigError{Field: "templateName", Reason: ReasonTemplateName,
				Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'registrationConfig.templateName' failed to satisfy constraint: Member must have length 1-36 and match [0-9A-Za-z_-]+", c.TemplateName),
				Fix:     "use 1 to 36 letters, digits, '_' or '-'"}
		}
	}
	return nil
}
