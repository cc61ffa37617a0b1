package steps

import (
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/aws/local"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// The words of the errors packages aws and pki give, and of what aws/local prints: it names what went wrong (aws.Error's Reason and
// Args) and steps says it in the user's language, from the catalog's aws.yaml.

func init() {
	aws.Text = awsText
	pki.Words = wordsOf(pkiKeys)     // pki's field errors
	local.Words = wordsOf(localKeys) // what `jitpwiz local` prints
}

// awsText renders an aws.Error's cause and fix.
func awsText(e *aws.Error) (cause, fix string) {
	keys, ok := awsTexts[e.Reason]
	if !ok {
		return e.Message, ""
	}
	args := make(map[string]string, len(e.Args))
	for n, v := range e.Args {
		args[n] = v
	}
	// The arguments that name a noun, a place or a hint are said in the user's language too.
	if k, ok := awsWhat[args["What"]]; ok {
		args["What"] = i18n.T(k)
	}
	if k, ok := awsPlaces[args["Place"]]; ok {
		args["Place"] = i18n.T(k)
	}
	if k, ok := awsHints[args["Hint"]]; ok {
		args["Hint"] = i18n.TStrings(k, args)
	}
	cause, fix = i18n.TStrings(keys[0], args), i18n.TStrings(keys[1], args)
	if args["Retried"] != "" {
		cause += i18n.T("aws.retried")
	}
	return cause, fix
}

// awsTexts are the cause and fix of each reason.
var awsTexts = map[aws.Reason][2]i18n.Key{
	aws.ReasonCancelled:           {"aws.cancelled.cause", "aws.cancelled.fix"},
	aws.ReasonCAAlreadyRegistered: {"aws.ca-already-registered.cause", "aws.ca-already-registered.fix"},
	aws.ReasonPolicyExists:        {"aws.policy-exists.cause", "aws.policy-exists.fix"},
	aws.ReasonRoleExists:          {"aws.role-exists.cause", "aws.role-exists.fix"},
	aws.ReasonAlreadyExists:       {"aws.already-exists.cause", "aws.already-exists.fix"},
	aws.ReasonIAMNotFound:         {"aws.iam-not-found.cause", "aws.iam-not-found.fix"},
	aws.ReasonNotFound:            {"aws.not-found.cause", "aws.not-found.fix"},
	aws.ReasonThingNotFound:       {"aws.thing-not-found.cause", "aws.thing-not-found.fix"},
	aws.ReasonPolicyNotFound:      {"aws.policy-not-found.cause", "aws.policy-not-found.fix"},
	aws.ReasonRoleNotFound:        {"aws.role-not-found.cause", "aws.role-not-found.fix"},
	aws.ReasonTemplateNotFound:    {"aws.template-not-found.cause", "aws.template-not-found.fix"},
	aws.ReasonCertValidation:      {"aws.cert-validation.cause", "aws.cert-validation.fix"},
	aws.ReasonRegistrationCode:    {"aws.registration-code.cause", "aws.registration-code.fix"},
	aws.ReasonMalformedPolicy:     {"aws.malformed-policy.cause", "aws.malformed-policy.fix"},
	aws.ReasonCertState:           {"aws.cert-state.cause", "aws.cert-state.fix"},
	aws.ReasonDeleteConflict:      {"aws.delete-conflict.cause", "aws.delete-conflict.fix"},
	aws.ReasonConcurrentChange:    {"aws.concurrent-change.cause", "aws.concurrent-change.fix"},
	aws.ReasonLimitExceeded:       {"aws.limit-exceeded.cause", "aws.limit-exceeded.fix"},
	aws.ReasonThrottled:           {"aws.throttled.cause", "aws.throttled.fix"},
	aws.ReasonExplicitDeny:        {"aws.explicit-deny.cause", "aws.explicit-deny.fix"},
	aws.ReasonNoAllow:             {"aws.no-allow.cause", "aws.no-allow.fix"},
	aws.ReasonNotAllowed:          {"aws.not-allowed.cause", "aws.not-allowed.fix"},
	aws.ReasonOptIn:               {"aws.opt-in.cause", "aws.opt-in.fix"},
	aws.ReasonExpiredToken:        {"aws.expired-token.cause", "aws.expired-token.fix"},
	aws.ReasonClockSkew:           {"aws.clock-skew.cause", "aws.clock-skew.fix"},
	aws.ReasonSignatureRegion:     {"aws.signature-region.cause", "aws.signature-region.fix"},
	aws.ReasonSignatureMismatch:   {"aws.signature-mismatch.cause", "aws.signature-mismatch.fix"},
	aws.ReasonNoSuchOperation:     {"aws.no-such-operation.cause", "aws.no-such-operation.fix"},
	aws.ReasonPolicyNotAttachable: {"aws.policy-not-attachable.cause", "aws.policy-not-attachable.fix"},
	aws.ReasonUnmodifiableRole:    {"aws.unmodifiable-role.cause", "aws.unmodifiable-role.fix"},
	aws.ReasonUnknownCredentials:  {"aws.unknown-credentials.cause", "aws.unknown-credentials.fix"},
	aws.ReasonInternalError:       {"aws.internal-error.cause", "aws.internal-error.fix"},
	aws.ReasonInvalidRequest:      {"aws.invalid-request.cause", "aws.invalid-request.fix"},
	aws.ReasonForbidden:           {"aws.forbidden.cause", "aws.forbidden.fix"},
	aws.ReasonWrongEndpoint:       {"aws.wrong-endpoint.cause", "aws.wrong-endpoint.fix"},
	aws.ReasonWrongIAMEndpoint:    {"aws.wrong-iam-endpoint.cause", "aws.wrong-iam-endpoint.fix"},
	aws.ReasonHTTPStatus:          {"aws.http-status.cause", "aws.http-status.fix"},
	aws.ReasonOther:               {"aws.other.cause", "aws.other.fix"},
	aws.ReasonDNSRegion:           {"aws.dns-region.cause", "aws.dns-region.fix"},
	aws.ReasonDNSEndpoint:         {"aws.dns-endpoint.cause", "aws.dns-endpoint.fix"},
	aws.ReasonUnreachable:         {"aws.unreachable.cause", "aws.unreachable.fix"},
	aws.ReasonTransport:           {"aws.transport.cause", "aws.transport.fix"},
	aws.ReasonSSOExpired:          {"aws.sso-expired.cause", "aws.sso-expired.fix"},
	aws.ReasonCredentialsExpired:  {"aws.credentials-expired.cause", "aws.credentials-expired.fix"},
	aws.ReasonCredentialSource:    {"aws.credential-source.cause", "aws.credential-source.fix"},
	aws.ReasonNoCredentials:       {"aws.no-credentials.cause", "aws.no-credentials.fix"},
	aws.ReasonRoleNotReady:        {"aws.role-not-ready.cause", "aws.role-not-ready.fix"},
	aws.ReasonEndpointURL:         {"aws.endpoint-url.cause", "aws.endpoint-url.fix"},
	aws.ReasonNoRegion:            {"aws.no-region.cause", "aws.no-region.fix"},
	aws.ReasonBadRegion:           {"aws.bad-region.cause", "aws.bad-region.fix"},
	aws.ReasonNoProfile:           {"aws.no-profile.cause", "aws.no-profile.fix"},
	aws.ReasonConfig:              {"aws.config.cause", "aws.config.fix"},
	aws.ReasonRoleNotTrusted:      {"aws.role-not-trusted.cause", "aws.role-not-trusted.fix"},
	aws.ReasonRoleARN:             {"aws.role-arn.cause", "aws.role-arn.fix"},
	aws.ReasonRoleARNPartition:    {"aws.role-arn-partition.cause", "aws.role-arn-partition.fix"},
	aws.ReasonRoleARNMissing:      {"aws.role-arn-missing.cause", "aws.role-arn-missing.fix"},
	aws.ReasonRoleARNPath:         {"aws.role-arn-path.cause", "aws.role-arn-path.fix"},
	aws.ReasonNoPolicyDocument:    {"aws.no-policy-document.cause", "aws.no-policy-document.fix"},
	aws.ReasonNoPolicyVersion:     {"aws.no-policy-version.cause", "aws.no-policy-version.fix"},
}

var awsWhat = map[string]i18n.Key{
	aws.WhatResource:    "aws.what.resource",
	aws.WhatCA:          "aws.what.ca-certificate",
	aws.WhatCertificate: "aws.what.certificate",
	aws.WhatThing:       "aws.what.thing",
	aws.WhatPolicy:      "aws.what.policy",
	aws.WhatTarget:      "aws.what.target",
	aws.WhatIAMResource: "aws.what.iam-resource",
}

var awsPlaces = map[string]i18n.Key{
	aws.PlaceSCP:      "aws.place.scp",
	aws.PlaceRCP:      "aws.place.rcp",
	aws.PlaceBoundary: "aws.place.boundary",
	aws.PlaceSession:  "aws.place.session",
	aws.PlaceIdentity: "aws.place.identity",
	aws.PlaceResource: "aws.place.resource",
	aws.PlaceAny:      "aws.place.any",
}

var awsHints = map[string]i18n.Key{
	aws.HintRoleNotReady: "aws.hint.role-not-ready",
	aws.HintTemplate:     "aws.hint.template",
	aws.HintPrincipals:   "aws.hint.principals",
	aws.HintSNI:          "aws.hint.sni",
	aws.HintInputs:       "aws.hint.inputs",
}

// wordsOf renders the messages another package names (pki's "field.<id>", aws/local's
// "banner.title") from their keys in the catalog; a name it does not know is itself.
func wordsOf(keys map[string]i18n.Key) func(name string, args map[string]string) string {
	return func(name string, args map[string]string) string {
		k, ok := keys[name]
		if !ok {
			return name
		}
		return i18n.TStrings(k, args)
	}
}

// pkiKeys are pki's message names and their keys in the catalog.
var pkiKeys = map[string]i18n.Key{
	"empty":                                        "pki.empty",
	"exists":                                       "pki.exists",
	"field." + pki.FieldCountry:                    "pki.field.country",
	"field." + pki.FieldState:                      "pki.field.state",
	"field." + pki.FieldOrganization:               "pki.field.organization",
	"field." + pki.FieldOrgUnit:                    "pki.field.organizational-unit",
	"field." + pki.FieldCommonName:                 "pki.field.common-name",
	"field." + pki.FieldDNQualifier:                "pki.field.dnQualifier",
	"field." + pki.FieldSerialNumber:               "pki.field.serial-number",
	"field." + pki.FieldSubject:                    "pki.field.subject",
	"field." + pki.FieldWorkspace:                  "pki.field.workspace",
	"field." + pki.FieldKeyType:                    "pki.field.key-type",
	"field." + pki.FieldThingName:                  "pki.field.thing-name",
	"field." + pki.FieldDays:                       "pki.field.days",
	"field." + pki.FieldRegistrationCode:           "pki.field.registration-code",
	string(pki.ReasonCountryLength) + ".problem":   "pki.country-length.problem",
	string(pki.ReasonCountryLength) + ".fix":       "pki.country-length.fix",
	string(pki.ReasonCountryCase) + ".problem":     "pki.country-case.problem",
	string(pki.ReasonCountryCase) + ".fix":         "pki.country-case.fix",
	string(pki.ReasonCountryReserved) + ".problem": "pki.country-reserved.problem",
	string(pki.ReasonCountryReserved) + ".fix":     "pki.country-reserved.fix",
	string(pki.ReasonCountryUnknown) + ".problem":  "pki.country-unknown.problem",
	string(pki.ReasonCountryUnknown) + ".fix":      "pki.country-unknown.fix",
	string(pki.ReasonThingEmpty) + ".problem":      "pki.thing-empty.problem",
	string(pki.ReasonThingEmpty) + ".fix":          "pki.thing-empty.fix",
	string(pki.ReasonThingLong) + ".problem":       "pki.thing-long.problem",
	string(pki.ReasonThingLong) + ".fix":           "pki.thing-long.fix",
	string(pki.ReasonThingChar) + ".problem":       "pki.thing-char.problem",
	string(pki.ReasonThingChar) + ".fix":           "pki.thing-char.fix",
	string(pki.ReasonDaysZero) + ".problem":        "pki.days-zero.problem",
	string(pki.ReasonDaysZero) + ".fix":            "pki.days-zero.fix",
	string(pki.ReasonDaysMax) + ".problem":         "pki.days-max.problem",
	string(pki.ReasonDaysMax) + ".fix":             "pki.days-max.fix",
	string(pki.ReasonCodeLength) + ".problem":      "pki.code-length.problem",
	string(pki.ReasonCodeLength) + ".fix":          "pki.code-length.fix",
	string(pki.ReasonCodeChar) + ".problem":        "pki.code-char.problem",
	string(pki.ReasonCodeChar) + ".fix":            "pki.code-char.fix",
	string(pki.ReasonCodeEmpty) + ".problem":       "pki.code-empty.problem",
	string(pki.ReasonCodeEmpty) + ".fix":           "pki.code-empty.fix",
	string(pki.ReasonCodeCN) + ".problem":          "pki.code-cn.problem",
	string(pki.ReasonCodeCN) + ".fix":              "pki.code-cn.fix",
	string(pki.ReasonOrgEmpty) + ".problem":        "pki.org-empty.problem",
	string(pki.ReasonOrgEmpty) + ".fix":            "pki.org-empty.fix",
	string(pki.ReasonSubjectEmpty) + ".problem":    "pki.subject-empty.problem",
	string(pki.ReasonSubjectEmpty) + ".fix":        "pki.subject-empty.fix",
	string(pki.ReasonCNRequired) + ".problem":      "pki.cn-required.problem",
	string(pki.ReasonCNRequired) + ".fix":          "pki.cn-required.fix",
	string(pki.ReasonAttrSpaces) + ".problem":      "pki.attr-spaces.problem",
	string(pki.ReasonAttrSpaces) + ".fix":          "pki.attr-spaces.fix",
	string(pki.ReasonAttrControl) + ".problem":     "pki.attr-control.problem",
	string(pki.ReasonAttrControl) + ".fix":         "pki.attr-control.fix",
	string(pki.ReasonAttrUTF8) + ".problem":        "pki.attr-utf8.problem",
	string(pki.ReasonAttrUTF8) + ".fix":            "pki.attr-utf8.fix",
	string(pki.ReasonAttrPrintable) + ".problem":   "pki.attr-printable.problem",
	string(pki.ReasonAttrPrintable) + ".fix":       "pki.attr-printable.fix",
	string(pki.ReasonAttrLong) + ".problem":        "pki.attr-long.problem",
	string(pki.ReasonAttrLong) + ".fix":            "pki.attr-long.fix",
	string(pki.ReasonKeyType) + ".problem":         "pki.key-type.problem",
	string(pki.ReasonKeyType) + ".fix":             "pki.key-type.fix",
	string(pki.ReasonWorkspaceEmpty) + ".problem":  "pki.workspace-empty.problem",
	string(pki.ReasonWorkspaceEmpty) + ".fix":      "pki.workspace-empty.fix",
	"err.encrypted-key":                            "pki.err.encrypted-key",
	"err.no-pem":                                   "pki.err.no-pem",
	"err.unsupported-key":                          "pki.err.unsupported-key",
	"err.key-mismatch":                             "pki.err.key-mismatch",
	"err.not-ca":                                   "pki.err.not-ca",
	"err.expired":                                  "pki.err.expired",
	"err.bad-signature":                            "pki.err.bad-signature",
	"err.wrong-issuer":                             "pki.err.wrong-issuer",
	"err.wrong-registration-code":                  "pki.err.wrong-registration-code",
	"file.ca-cert":                                 "pki.file.ca-cert",
	"file.ca-key":                                  "pki.file.ca-key",
	"file.ca":                                      "pki.file.ca",
	"cert.named":                                   "pki.cert.named",
	"cert.unnamed":                                 "pki.cert.unnamed",
	"fix.ca-pair":                                  "pki.fix.ca-pair",
	"err.not-yet-valid":                            "pki.err.not-yet-valid",
	"err.expired-on":                               "pki.err.expired-on",
	"err.ca-cert-unreadable":                       "pki.err.ca-cert-unreadable",
	"err.ca-key-unreadable":                        "pki.err.ca-key-unreadable",
	"err.csr-malformed":                            "pki.err.csr-malformed",
	"err.csr-signature":                            "pki.err.csr-signature",
	"err.csr-block":                                "pki.err.csr-block",
	"err.csr-not-pem":                              "pki.err.csr-not-pem",
	"err.ca-key-mismatch":                          "pki.err.ca-key-mismatch",
	"err.csr-signature-issue":                      "pki.err.csr-signature-issue",
	"err.csr-key":                                  "pki.err.csr-key",
	"err.no-ca-constraint":                         "pki.err.no-ca-constraint",
	"err.no-cert-sign":                             "pki.err.no-cert-sign",
	"err.cert-malformed":                           "pki.err.cert-malformed",
	"err.cert-block":                               "pki.err.cert-block",
	"err.cert-not-pem":                             "pki.err.cert-not-pem",
	"err.key-type-rsa":                             "pki.err.key-type-rsa",
	"err.key-type-ec":                              "pki.err.key-type-ec",
	"err.key-type-other":                           "pki.err.key-type-other",
	"err.key-block":                                "pki.err.key-block",
	"err.key-not-pem":                              "pki.err.key-not-pem",
	"err.key-encrypted":                            "pki.err.key-encrypted",
	"err.key-malformed":                            "pki.err.key-malformed",
	"err.key-not-signer":                           "pki.err.key-not-signer",
	"err.key-too-small":                            "pki.err.key-too-small",
	"err.key-unusable":                             "pki.err.key-unusable",
	"err.not-ca-constraint":                        "pki.err.not-ca-constraint",
	"err.wrong-issuer-signature":                   "pki.err.wrong-issuer-signature",
	"err.wrong-issuer-name":                        "pki.err.wrong-issuer-name",
	"err.wrong-code":                               "pki.err.wrong-code",
	"err.workspace-create":                         "pki.err.workspace-create",
	"err.workspace":                                "pki.err.workspace",
	"err.workspace-not-dir":                        "pki.err.workspace-not-dir",
	"err.workspace-mode":                           "pki.err.workspace-mode",
	"err.write":                                    "pki.err.write",
	"err.key-mode":                                 "pki.err.key-mode",
	"note.key-mode":                                "pki.note.key-mode",
	"err.symlink":                                  "pki.err.symlink",
	"err.not-regular":                              "pki.err.not-regular",
	"kind.symlink":                                 "pki.kind.symlink",
	"kind.directory":                               "pki.kind.directory",
	"kind.pipe":                                    "pki.kind.pipe",
	"kind.socket":                                  "pki.kind.socket",
	"kind.device":                                  "pki.kind.device",
	"kind.other":                                   "pki.kind.other",
}

// localKeys are aws/local's sentence names and their keys in the catalog.
var localKeys = map[string]i18n.Key{
	"banner.title":                 "local.banner.title",
	"banner.control-plane":         "local.banner.control-plane",
	"banner.mqtt":                  "local.banner.mqtt",
	"banner.describe-endpoint":     "local.banner.describe-endpoint",
	"banner.alpn":                  "local.banner.alpn",
	"banner.server-ca":             "local.banner.server-ca",
	"banner.jitr-activator":        "local.banner.jitr-activator",
	"banner.jitr-activator-on":     "local.banner.jitr-activator-on",
	"banner.state":                 "local.banner.state",
	"banner.latency":               "local.banner.latency",
	"banner.warning":               "local.banner.warning",
	"banner.paste":                 "local.banner.paste",
	"banner.comment-endpoint-url":  "local.banner.comment-endpoint-url",
	"banner.comment-debian-cli":    "local.banner.comment-debian-cli",
	"banner.events":                "local.banner.events",
	"banner.server-ca-same":        "local.banner.server-ca-same",
	"banner.comment-first-connect": "local.banner.comment-first-connect",
	"banner.comment-as-thing":      "local.banner.comment-as-thing",
	"note.server-ca-kept":          "local.note.server-ca-kept",
	"note.server-ca-unwritten":     "local.note.server-ca-unwritten",
	"stopping":                     "local.stopping",
	"err.no-dir":                   "local.err.no-dir",
	"err.listen":                   "local.err.listen",
	"err.region":                   "local.err.region",
	"err.endpoint-host-ip":         "local.err.endpoint-host-ip",
	"err.endpoint-host":            "local.err.endpoint-host",
	"err.port":                     "local.err.port",
	"err.same-port":                "local.err.same-port",
	"err.api-addr":                 "local.err.api-addr",
	"err.api-listen":               "local.err.api-listen",
	"err.latency-item":             "local.err.latency-item",
	"err.latency-duration":         "local.err.latency-duration",
}
