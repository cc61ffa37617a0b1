package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	iottypes "github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/aws/smithy-go"
)

// errContext is what the mapper knows about the client that made the call, so the
// fix can name the profile, the region and the endpoint.
type errContext struct {
	Profile  string
	Region   string
	Endpoint string // custom endpoint URL of IoT, "" for AWS's own
	// Endpoints are the custom endpoint URLs by service ID ("IoT", "IAM", "STS"); a service
	// missing here uses AWS's own endpoint.
	Endpoints map[string]string
}

// endpointFor is the custom endpoint URL the calls of service go to ("" for AWS's own).
func (ec errContext) endpointFor(service string) string {
	if u, ok := ec.Endpoints[service]; ok {
		return u
	}
	if ec.Endpoints == nil {
		return ec.Endpoint
	}
	return ""
}

// globalService reports a service whose endpoint is the same for every region of a
// partition (IAM), so a failure there says nothing about --region.
func globalService(service string) bool { return strings.EqualFold(service, "IAM") }

// iamAction names the IAM permission an operation needs, e.g. "iot:RegisterCACertificate".
func iamAction(service, op string) string {
	prefix := "iot"
	switch strings.ToLower(service) {
	case "iam":
		prefix = "iam"
	case "sts":
		prefix = "sts"
	}
	if op == "" {
		return prefix + ":*"
	}
	return prefix + ":" + op
}

// mapError turns an SDK error into an *Error with a reason (a plain-words cause and fix).
// op is used when the SDK error does not carry an operation name.
func (ec errContext) mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	service := "IoT"
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		if oe.OperationName != "" {
			op = oe.OperationName
		}
		if oe.ServiceID != "" {
			service = oe.ServiceID
		}
	}
	e := &Error{Kind: KindOther, Op: op, Err: err}
	if errors.Is(err, context.Canceled) {
		e.Message = err.Error()
		e.say(ReasonCancelled)
		return e
	}
	// The credential providers make AWS calls of their own (SSO OIDC CreateToken, SSO
	// GetRoleCredentials, STS AssumeRole): their API errors come wrapped in the signing
	// error of the call that needed the credentials. They say what is wrong with the
	// credentials, not with that call, so they are read first.
	if isCredentialProviderErr(err) {
		ec.fromCredentials(e, err)
		return e
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}

	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
		e.Message = api.ErrorMessage()
		ec.fromAPI(e, service, status, err)
		if globalService(service) && e.Kind == KindWrongRegion {
			e.Kind = KindOther // IAM is global: its answers say nothing about the region
		}
		var maxErr *retry.MaxAttemptsError
		if errors.As(err, &maxErr) {
			if e.Kind == KindThrottled || e.Kind == KindUnavailable {
				e.Args["Retried"] = "yes" // the SDK retried with backoff and gave up
				e.render()
			}
		}
		return e
	}
	ec.fromTransport(e, service, err)
	return e
}

// The reasons: aws.<reason>.cause and aws.<reason>.fix in the catalog, with the Args named.
const (
	ReasonCancelled           Reason = "cancelled"
	ReasonCAAlreadyRegistered Reason = "ca-already-registered" // ID
	ReasonPolicyExists        Reason = "policy-exists"         //
	ReasonRoleExists          Reason = "role-exists"           //
	ReasonAlreadyExists       Reason = "already-exists"        //
	ReasonIAMNotFound         Reason = "iam-not-found"         // What, Msg, Partition
	ReasonNotFound            Reason = "not-found"             // What, Region
	ReasonThingNotFound       Reason = "thing-not-found"       // Name, Region
	ReasonPolicyNotFound      Reason = "policy-not-found"      // Name, Region
	ReasonRoleNotFound        Reason = "role-not-found"        // Name
	ReasonTemplateNotFound    Reason = "template-not-found"    // Name, Region
	ReasonCertValidation      Reason = "cert-validation"       // Msg
	ReasonRegistrationCode    Reason = "registration-code"     // Region
	ReasonMalformedPolicy     Reason = "malformed-policy"      // Msg
	ReasonCertState           Reason = "cert-state"            // Msg
	ReasonDeleteConflict      Reason = "delete-conflict"       // Msg
	ReasonConcurrentChange    Reason = "concurrent-change"     //
	ReasonLimitExceeded       Reason = "limit-exceeded"        // Msg
	ReasonThrottled           Reason = "throttled"             // Action, Retried
	ReasonExplicitDeny        Reason = "explicit-deny"         // Action, Where, Place
	ReasonNoAllow             Reason = "no-allow"              // Action, Where, Place
	ReasonNotAllowed          Reason = "not-allowed"           // Action, Profile, IAM
	ReasonOptIn               Reason = "opt-in"                // Service, Region, Msg
	ReasonExpiredToken        Reason = "expired-token"         // Profile
	ReasonClockSkew           Reason = "clock-skew"            // Code
	ReasonSignatureRegion     Reason = "signature-region"      // Region, Msg
	ReasonSignatureMismatch   Reason = "signature-mismatch"    // Code, Profile
	ReasonNoSuchOperation     Reason = "no-such-operation"     // Endpoint, Region, Service, Op, Msg, ServiceUpper
	ReasonPolicyNotAttachable Reason = "policy-not-attachable" // Msg, Partition
	ReasonUnmodifiableRole    Reason = "unmodifiable-role"     // Msg
	ReasonUnknownCredentials  Reason = "unknown-credentials"   // Code, Profile
	ReasonInternalError       Reason = "internal-error"        // Region, Retried
	ReasonInvalidRequest      Reason = "invalid-request"       // Msg, Op, Hint
	ReasonForbidden           Reason = "forbidden"             // Action, Profile
	ReasonWrongEndpoint       Reason = "wrong-endpoint"        // Endpoint, Region, Service
	ReasonWrongIAMEndpoint    Reason = "wrong-iam-endpoint"    // Endpoint
	ReasonHTTPStatus          Reason = "http-status"           // Service, Status, Retried
	ReasonOther               Reason = "other"                 // Code, Msg, Op
	ReasonDNSRegion           Reason = "dns-region"            // Host, Region
	ReasonDNSEndpoint         Reason = "dns-endpoint"          // Host
	ReasonUnreachable         Reason = "unreachable"           // Endpoint, Region, Err
	ReasonTransport           Reason = "transport"             // Err
	ReasonSSOExpired          Reason = "sso-expired"           // Inner, Profile
	ReasonCredentialsExpired  Reason = "credentials-expired"   // Profile
	ReasonCredentialSource    Reason = "credential-source"     // Profile, Call, Inner
	ReasonNoCredentials       Reason = "no-credentials"        // Profile
	ReasonRoleNotReady        Reason = "role-not-ready"        // Role, Msg
	ReasonEndpointURL         Reason = "endpoint-url"          // URL
	ReasonNoRegion            Reason = "no-region"             // Where
	ReasonBadRegion           Reason = "bad-region"            // Region
	ReasonNoProfile           Reason = "no-profile"            // Profile
	ReasonConfig              Reason = "config"                // Err
	ReasonRoleNotTrusted      Reason = "role-not-trusted"      // Role, Why, Trust
	ReasonRoleARN             Reason = "role-arn"              // ARN
	ReasonRoleARNPartition    Reason = "role-arn-partition"    // ARN, Partition, Region, Want
	ReasonRoleARNMissing      Reason = "role-arn-missing"      // ARN, Name
	ReasonRoleARNPath         Reason = "role-arn-path"         // ARN, Name, Actual
	ReasonNoPolicyDocument    Reason = "no-policy-document"    // ARN
	ReasonNoPolicyVersion     Reason = "no-policy-version"     // ARN
)

// Reasons are every Reason the package gives (steps checks that each has its words).
var Reasons = []Reason{ReasonCancelled, ReasonCAAlreadyRegistered, ReasonPolicyExists, ReasonRoleExists, ReasonAlreadyExists,
	ReasonIAMNotFound, ReasonNotFound, ReasonThingNotFound, ReasonPolicyNotFound, ReasonRoleNotFound, ReasonTemplateNotFound,
	ReasonCertValidation, ReasonRegistrationCode, ReasonMalformedPolicy, ReasonCertState, ReasonDeleteConflict, ReasonConcurrentChange,
	ReasonLimitExceeded, ReasonThrottled, ReasonExplicitDeny, ReasonNoAllow, ReasonNotAllowed, ReasonOptIn, ReasonExpiredToken,
	ReasonClockSkew, ReasonSignatureRegion, ReasonSignatureMismatch, ReasonNoSuchOperation, ReasonPolicyNotAttachable,
	ReasonUnmodifiableRole, ReasonUnknownCredentials, ReasonInternalError, ReasonInvalidRequest, ReasonForbidden, ReasonWrongEndpoint,
	ReasonWrongIAMEndpoint, ReasonHTTPStatus, ReasonOther, ReasonDNSRegion, ReasonDNSEndpoint, ReasonUnreachable, ReasonTransport,
	ReasonSSOExpired, ReasonCredentialsExpired, ReasonCredentialSource, ReasonNoCredentials, ReasonRoleNotReady, ReasonEndpointURL,
	ReasonNoRegion, ReasonBadRegion, ReasonNoProfile, ReasonConfig, ReasonRoleNotTrusted, ReasonRoleARN, ReasonRoleARNPartition,
	ReasonRoleARNMissing, ReasonRoleARNPath, ReasonNoPolicyDocument, ReasonNoPolicyVersion}

// Nouns an Error's "What" names (aws.what.<noun> in the catalog).
const (
	WhatResource     = "resource"
	WhatCA           = "ca-certificate"
	WhatCertificate  = "certificate"
	WhatThing        = "thing"
	WhatPolicy       = "policy"
	WhatTarget       = "target"
	WhatRole         = "role"
	WhatIAMResource  = "iam-resource"
	PlaceSCP         = "scp"
	PlaceRCP         = "rcp"
	PlaceBoundary    = "boundary"
	PlaceSession     = "session"
	PlaceIdentity    = "identity"
	PlaceResource    = "resource"
	PlaceAny         = "any"
	HintRoleNotReady = "role-not-ready"
	HintTemplate     = "template"
	HintPrincipals   = "principals"
	HintSNI          = "sni"
	HintInputs       = "inputs"
	argYes           = "yes"
)

func (ec errContext) fromAPI(e *Error, service string, status int, err error) {
	action := iamAction(service, e.Op)
	msg := e.Message
	switch e.Code {
	case "ResourceAlreadyExistsException", "EntityAlreadyExists", "EntityAlreadyExistsException":
		e.Kind = KindAlreadyExists
		var rae *iottypes.ResourceAlreadyExistsException
		if errors.As(err, &rae) {
			if rae.ResourceId != nil {
				e.ResourceID = *rae.ResourceId
			}
			if rae.ResourceArn != nil {
				e.ResourceARN = *rae.ResourceArn
			}
		}
		switch e.Op {
		case "RegisterCACertificate":
			e.say(ReasonCAAlreadyRegistered, "ID", e.ResourceID)
		case "CreatePolicy":
			e.say(ReasonPolicyExists)
		case "CreateRole":
			e.say(ReasonRoleExists)
		default:
			e.say(ReasonAlreadyExists)
		}
	case "ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException":
		e.Kind = KindNotFound
		if globalService(service) {
			// IAM is global: a role or managed policy is in the account, whatever the region.
			e.say(ReasonIAMNotFound, "What", notFoundWhat(e.Op), "Msg", orDefault(msg, e.Code), "Partition", Partition(ec.Region))
			return
		}
		e.say(ReasonNotFound, "What", notFoundWhat(e.Op), "Region", ec.Region)
	case "CertificateValidationException":
		e.Kind = KindCertificateValidation
		e.say(ReasonCertValidation, "Msg", msg)
	case "RegistrationCodeValidationException":
		e.Kind = KindRegistrationCode
		e.say(ReasonRegistrationCode, "Region", ec.Region)
	case "MalformedPolicyException", "MalformedPolicyDocument", "MalformedPolicyDocumentException":
		e.Kind = KindMalformedPolicy
		e.say(ReasonMalformedPolicy, "Msg", msg)
	case "CertificateStateException":
		e.Kind = KindConflict
		e.say(ReasonCertState, "Msg", msg)
	case "DeleteConflictException", "DeleteConflict":
		e.Kind = KindConflict
		e.say(ReasonDeleteConflict, "Msg", msg)
	case "VersionConflictException", "ConflictingResourceUpdateException", "ConcurrentModification", "ConcurrentModificationException":
		e.Kind = KindConflict
		e.say(ReasonConcurrentChange)
	case "LimitExceededException", "LimitExceeded":
		e.Kind = KindLimitExceeded
		e.say(ReasonLimitExceeded, "Msg", msg)
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "ThrottledException", "SlowDown":
		e.Kind = KindThrottled
		e.say(ReasonThrottled, "Action", action, "Retried", "")
	case "AccessDenied", "AccessDeniedException", "UnauthorizedException", "UnauthorizedOperation", "AuthorizationError", "NotAuthorized":
		e.Kind = KindAccessDenied
		if a := deniedAction(msg); a != "" {
			action = a // AWS names the action, e.g. iam:PassRole during RegisterCACertificate
		}
		ec.accessDenied(e, action, msg)
	case "OptInRequired":
		// AWS's common errors: "The AWS access key ID needs a subscription for the service"
		// — for a region, that it is an opt-in region the account has not enabled.
		e.Kind = KindAccessDenied
		e.say(ReasonOptIn, "Service", service, "Region", ec.Region, "Msg", msg)
	case "ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired":
		e.Kind = KindExpiredToken
		e.say(ReasonExpiredToken, "Profile", ec.Profile)
	case "RequestExpired", "RequestTimeTooSkewed", "RequestInTheFuture":
		clockSkew(e)
	case "InvalidSignatureException", "SignatureDoesNotMatch", "AuthorizationHeaderMalformed":
		if low := strings.ToLower(msg); strings.Contains(low, "signature expired") || strings.Contains(low, "signature not yet current") {
			clockSkew(e)
			return
		}
		if strings.Contains(strings.ToLower(msg), "scoped to a valid region") || strings.Contains(strings.ToLower(msg), "region") {
			e.Kind = KindWrongRegion
			e.say(ReasonSignatureRegion, "Region", ec.Region, "Msg", orDefault(msg, e.Code))
			return
		}
		e.Kind = KindInvalidCredentials
		e.say(ReasonSignatureMismatch, "Code", e.Code, "Profile", ec.Profile)
	case "MissingAuthenticationToken", "MissingAuthenticationTokenException":
		// jitpwiz signs every request, so the token is not missing: API Gateway (and the local
		// IoT Core, like AWS's own front ends) answers a path it has no operation for this way.
		e.Kind = KindNoSuchOperation
		e.say(ReasonNoSuchOperation, "Endpoint", ec.endpointFor(service), "Region", ec.Region, "Service", service, "Op", e.Op,
			"Msg", orDefault(msg, "Missing Authentication Token"), "ServiceUpper", strings.ToUpper(service))
	case "PolicyNotAttachable":
		// IAM: an AWS service-role policy that only the service's own service-linked role may have.
		e.Kind = KindInvalidRequest
		e.say(ReasonPolicyNotAttachable, "Msg", msg, "Partition", Partition(ec.Region))
	case "UnmodifiableEntity":
		// IAM: service-linked roles are protected; only their service changes them.
		e.Kind = KindConflict
		e.say(ReasonUnmodifiableRole, "Msg", msg)
	case "UnrecognizedClientException", "InvalidClientTokenId", "IncompleteSignature", "InvalidAccessKeyId", "AuthFailure":
		e.Kind = KindInvalidCredentials
		e.say(ReasonUnknownCredentials, "Code", e.Code, "Profile", ec.Profile)
	case "InternalFailureException", "InternalFailure", "ServiceUnavailableException", "ServiceUnavailable", "InternalError", "InternalServerError", "ServiceFailure":
		e.Kind = KindUnavailable
		e.say(ReasonInternalError, "Region", ec.Region, "Retried", "")
	case "InvalidRequestException", "ResourceRegistrationFailureException", "InvalidInput", "ValidationError", "InvalidParameterValue":
		e.Kind = KindInvalidRequest
		e.say(ReasonInvalidRequest, "Msg", orDefault(msg, e.Code), "Op", e.Op, "Hint", invalidRequestHint(e.Op, msg))
	default:
		switch {
		case status == 403:
			e.Kind = KindAccessDenied
			e.say(ReasonForbidden, "Action", action, "Profile", ec.Profile)
		case status == 404 && msg == "":
			// A 404 without an AWS error body: the endpoint does not serve this API.
			e.Kind = KindWrongRegion
			e.say(ReasonWrongEndpoint, "Endpoint", ec.endpointFor(service), "Region", ec.Region, "Service", service)
			if globalService(service) {
				e.Kind = KindNoSuchOperation
				e.say(ReasonWrongIAMEndpoint, "Endpoint", ec.endpointFor(service))
			}
		case status >= 500:
			e.Kind = KindUnavailable
			e.say(ReasonHTTPStatus, "Service", service, "Status", fmt.Sprint(status), "Retried", "")
		default:
			e.say(ReasonOther, "Code", e.Code, "Msg", msg, "Op", e.Op)
		}
	}
}

var (
	deniedActionRE = regexp.MustCompile(`not authorized to perform:? ([a-zA-Z0-9-]+:[A-Za-z0-9*]+)`)
	// AWS's access-denied messages name the policy type that decided (IAM User Guide,
	// troubleshoot_access-denied.html): "… with an explicit deny in a service control policy",
	// "… because no permissions boundary allows the … action".
	explicitDenyRE = regexp.MustCompile(`with an explicit deny(?: in (?:an? )?([a-zA-Z -]+?policy|[a-zA-Z -]+?boundary))?(?:[:.,]|$| )`)
	noAllowRE      = regexp.MustCompile(`because no ([a-zA-Z -]+?(?:policy|boundary)) allows`)
)

// accessDenied words an access denial: a missing grant is fixed by granting the action,
// but an explicit deny overrides every grant, and a denial by a permissions boundary,
// service control policy or session policy needs that policy changed, not the identity's.
// Where is the policy type as AWS's message names it (English, as AWS wrote it).
func (ec errContext) accessDenied(e *Error, action, msg string) {
	if m := explicitDenyRE.FindStringSubmatch(msg); m != nil {
		where := strings.TrimSpace(m[1])
		e.say(ReasonExplicitDeny, "Action", action, "Where", where, "Place", denyPlace(where))
		return
	}
	if m := noAllowRE.FindStringSubmatch(msg); m != nil && !strings.Contains(m[1], "identity-based") {
		where := strings.TrimSpace(m[1])
		e.say(ReasonNoAllow, "Action", action, "Where", where, "Place", denyPlace(where))
		return
	}
	iamAction := ""
	if strings.HasPrefix(action, "iam:") {
		iamAction = argYes
	}
	e.say(ReasonNotAllowed, "Action", action, "Profile", ec.Profile, "IAM", iamAction)
}

// denyPlace says where to look for a policy of this type (aws.place.<place> in the catalog).
func denyPlace(where string) string {
	low := strings.ToLower(where)
	switch {
	case strings.Contains(low, "service control"):
		return PlaceSCP
	case strings.Contains(low, "resource control"):
		return PlaceRCP
	case strings.Contains(low, "boundary"):
		return PlaceBoundary
	case strings.Contains(low, "session"):
		return PlaceSession
	case strings.Contains(low, "identity"):
		return PlaceIdentity
	case strings.Contains(low, "resource"):
		return PlaceResource
	}
	return PlaceAny
}

// clockSkew: AWS refuses a request dated more than 15 minutes from its own clock ("The
// request reached the service more than 15 minutes after the date stamp on the request",
// AWS API reference, Common Errors: RequestExpired).
func clockSkew(e *Error) {
	e.Kind = KindClockSkew
	e.say(ReasonClockSkew, "Code", e.Code)
}

// deniedAction extracts the IAM action from an AWS access-denied message.
func deniedAction(msg string) string {
	if m := deniedActionRE.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

// notFoundWhat is what an operation did not find (aws.what.<noun> in the catalog).
func notFoundWhat(op string) string {
	switch op {
	case "DescribeCACertificate", "UpdateCACertificate", "DeleteCACertificate", "ListCertificatesByCA":
		return WhatCA
	case "DescribeCertificate", "UpdateCertificate", "DeleteCertificate":
		return WhatCertificate
	case "DescribeThing", "DeleteThing", "ListThingPrincipals", "DetachThingPrincipal":
		return WhatThing
	case "GetPolicy", "DeletePolicy", "AttachPolicy", "DetachPolicy":
		return WhatPolicy
	case "ListAttachedPolicies":
		return WhatTarget
	case "GetRole", "AttachRolePolicy", "ListAttachedRolePolicies":
		return WhatIAMResource
	}
	return WhatResource
}

// invalidRequestHint says what an invalid request is likely about (the fix of
// aws.invalid-request names it).
func invalidRequestHint(op, msg string) string {
	low := strings.ToLower(msg)
	switch {
	case isRoleNotReady(msg):
		return HintRoleNotReady
	case strings.Contains(low, "registration template") || strings.Contains(low, "template"):
		return HintTemplate
	case strings.Contains(low, "still attached") || strings.Contains(low, "principal"):
		return HintPrincipals
	case op == "RegisterCACertificate" && strings.Contains(low, "sni"):
		return HintSNI
	}
	return HintInputs
}

// isRoleNotReady says whether an InvalidRequestException is about the provisioning role
// (IAM eventual consistency right after CreateRole, or a trust that does not allow IoT yet).
func isRoleNotReady(msg string) bool {
	low := strings.ToLower(msg)
	return strings.Contains(low, "role") && (strings.Contains(low, "assume") || strings.Contains(low, "not authorized") ||
		strings.Contains(low, "unable") || strings.Contains(low, "does not exist") || strings.Contains(low, "invalid") ||
		strings.Contains(low, "cannot") || strings.Contains(low, "passrole"))
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// fromTransport classifies errors that happened before AWS answered: credentials,
// DNS, connection, TLS, cancellation.
func (ec errContext) fromTransport(e *Error, service string, err error) {
	s := err.Error()
	e.Message = s
	ec.Endpoint = ec.endpointFor(service) // the endpoint this call went to
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var urlErr *url.Error
	switch {
	case errors.As(err, &dnsErr):
		if ec.Endpoint == "" {
			e.Kind = KindWrongRegion
			e.say(ReasonDNSRegion, "Host", dnsErr.Name, "Region", ec.Region)
		} else {
			e.Kind = KindUnavailable
			e.say(ReasonDNSEndpoint, "Host", dnsErr.Name)
		}
	case errors.As(err, &opErr) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &urlErr) || strings.Contains(s, "connection refused") || strings.Contains(s, "timeout"):
		e.Kind = KindUnavailable
		e.say(ReasonUnreachable, "Endpoint", ec.Endpoint, "Region", ec.Region, "Err", shortNetErr(err))
	default:
		e.Kind = KindOther
		e.say(ReasonTransport, "Err", s)
	}
}

// isCredentialProviderErr reports an error of getting the credentials a call is signed
// with (the SDK wraps it in a signing error), as opposed to the call's own answer.
func isCredentialProviderErr(err error) bool {
	var se *v4.SigningError
	var sso *ssocreds.InvalidTokenError
	return errors.As(err, &se) || errors.As(err, &sso) || isCredentialErr(err.Error())
}

// fromCredentials classifies a failure of the credential chain: an SSO session that has
// expired (its token cannot be refreshed: the SSO OIDC service answers InvalidGrantException,
// or there is no refresh token), other expired credentials, credentials a provider's own AWS
// call refused, or none at all.
func (ec errContext) fromCredentials(e *Error, err error) {
	s := err.Error()
	e.Message = s
	var sso *ssocreds.InvalidTokenError
	var api smithy.APIError
	var oe *smithy.OperationError
	inner := ""
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
		inner = api.ErrorCode()
		if m := api.ErrorMessage(); m != "" {
			inner += ": " + m
		}
	}
	// The innermost operation is the credential provider's own call (the outer one is the
	// call that needed the credentials).
	for x := err; x != nil; x = errors.Unwrap(x) {
		if o, ok := x.(*smithy.OperationError); ok {
			oe = o
		}
	}
	ssoCall := oe != nil && strings.HasPrefix(strings.ToUpper(oe.ServiceID), "SSO")
	switch {
	case errors.As(err, &sso) || ssoCall || strings.Contains(strings.ToLower(s), "sso"):
		e.Kind = KindExpiredToken
		e.say(ReasonSSOExpired, "Inner", inner, "Profile", ec.Profile)
	case strings.Contains(s, "expired"):
		e.Kind = KindExpiredToken
		e.say(ReasonCredentialsExpired, "Profile", ec.Profile)
	case inner != "":
		e.Kind = KindInvalidCredentials
		call := ""
		if oe != nil {
			call = oe.ServiceID + " " + oe.OperationName
		}
		e.say(ReasonCredentialSource, "Profile", ec.Profile, "Call", call, "Inner", inner)
	default:
		e.Kind = KindNoCredentials
		e.say(ReasonNoCredentials, "Profile", ec.Profile)
	}
}

func isCredentialErr(s string) bool {
	return strings.Contains(s, "failed to retrieve credentials") || strings.Contains(s, "get identity") ||
		strings.Contains(s, "failed to refresh cached credentials") || strings.Contains(s, "no EC2 IMDS role found") ||
		strings.Contains(s, "SSO session has expired") || strings.Contains(s, "cached SSO token")
}

func shortNetErr(err error) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Op + " " + opErr.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}
