package template

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
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
// offending member and Reason, stably, what is wrong with it. The message of Validate is
// phrased like AWS's InvalidRequestException (the local IoT Core returns it); those of
// ParseRegistrationConfig and RenderConfig, and every Fix, are said through Words.
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
		return nil, &ConfigError{Field: "registrationConfig", Reason: ReasonConfigNotObject, Message: say("config.not-object", "Err", err.Error()),
			Fix: say("config.not-object.fix")}
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
			return nil, &ConfigError{Field: k, Reason: ReasonConfigMember, Message: say("config.unknown-member", "Member", strconv.Quote(k)),
				Fix: say("config.unknown-member.fix")}
		}
		if err := json.Unmarshal(v, dst); err != nil {
			msg := say("config.not-string", "Member", k)
			if len(v) > 0 && v[0] == '{' && k == "templateBody" {
				msg = say("config.not-string-object", "Member", k)
			}
			return nil, &ConfigError{Field: k, Reason: ReasonNotString, Message: msg, Fix: say("config.not-string.fix")}
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
			Fix: say("config.empty.fix")}
	}
	if n := utf8.RuneCountInString(c.TemplateBody); n > MaxTemplateBody {
		return &ConfigError{Field: "templateBody", Reason: ReasonBodyTooLong,
			Message: fmt.Sprintf("1 validation error detected: Value at 'registrationConfig.templateBody' failed to satisfy constraint: Member must have length less than or equal to %d (it has %d)", MaxTemplateBody, n),
			Fix:     say("config.body-too-long.fix")}
	}
	if c.TemplateBody != "" && c.RoleArn == "" {
		return &ConfigError{Field: "roleArn", Reason: ReasonNoRoleArn, Message: "registration config has a templateBody but no roleArn",
			Fix: say("config.no-role-arn.fix")}
	}
	if c.RoleArn != "" {
		if n := len(c.RoleArn); n < MinRoleArn || n > MaxRoleArn || !roleArnRE.MatchString(c.RoleArn) {
			return &ConfigError{Field: "roleArn", Reason: ReasonRoleArn,
				Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'registrationConfig.roleArn' failed to satisfy constraint: Member must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)", c.RoleArn),
				Fix:     say("config.role-arn.fix")}
		}
	}
	if c.TemplateName != "" {
		if len(c.TemplateName) > MaxTemplateName || !templateNameRE.MatchString(c.TemplateName) {
			return &ConfigError{Field: "templateName", Reason: ReasonTemplateName,
				Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'registrationConfig.templateName' failed to satisfy constraint: Member must have length 1-36 and match [0-9A-Za-z_-]+", c.TemplateName),
				Fix:     say("config.template-name.fix")}
		}
	}
	return nil
}
