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

// mapError turns an SDK error into an *Error with a plain-words cause and fix.
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
		e.Cause, e.Fix, e.Message = "cancelled", "run the step again", err.Error()
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
				e.Cause += " (the SDK retried with backoff and gave up)"
			}
		}
		return e
	}
	ec.fromTransport(e, service, err)
	return e
}

func (ec errContext) profileFlag() string {
	if ec.Profile != "" {
		return " --profile " + ec.Profile
	}
	return ""
}

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
			e.Cause = "this CA certificate is already registered in this account and region"
			if e.ResourceID != "" {
				e.Cause += " (certificate ID " + e.ResourceID + ")"
			}
			e.Fix = "reuse the registered CA; to register it again, deactivate and delete it first"
		case "CreatePolicy":
			e.Cause = "an IoT policy with this name already exists"
			e.Fix = "reuse the existing policy, or choose another policy name"
		case "CreateRole":
			e.Cause = "an IAM role with this name already exists"
			e.Fix = "reuse the existing role, or choose another role name"
		default:
			e.Cause = "the resource already exists"
			e.Fix = "reuse it, or pick another name"
		}
	case "ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException":
		e.Kind = KindNotFound
		if globalService(service) {
			// IAM is global: a role or managed policy is in the account, whatever the region.
			e.Cause = notFoundCause(e.Op, "") + " in this account: " + orDefault(msg, e.Code)
			e.Fix = "check the name or ARN (IAM roles and policies belong to the account, not to a region; a managed policy ARN must be of the region's partition: arn:" + Partition(ec.Region) + ":iam::aws:policy/…)"
			return
		}
		e.Cause = notFoundCause(e.Op, ec.Region)
		e.Fix = "check the name or ID, and that --region is the region where it was created"
	case "CertificateValidationException":
		e.Kind = KindCertificateValidation
		e.Cause = "AWS IoT rejected the certificate: " + orDefault(msg, "it is not a valid certificate")
		e.Fix = "use a PEM X.509 certificate that is within its validity period; a CA must have basicConstraints CA:TRUE"
	case "RegistrationCodeValidationException":
		e.Kind = KindRegistrationCode
		e.Cause = "the verification certificate's Common Name is not this account's registration code for region " + orDefault(ec.Region, "(unset)")
		e.Fix = "fetch the registration code again in the same region and account, then recreate the verification certificate with CN = that code"
	case "MalformedPolicyException", "MalformedPolicyDocument", "MalformedPolicyDocumentException":
		e.Kind = KindMalformedPolicy
		e.Cause = "the policy document is not valid: " + orDefault(msg, "AWS could not parse it")
		e.Fix = "fix the JSON (Version 2012-10-17, Statement with Effect/Action/Resource) and try again"
	case "CertificateStateException":
		e.Kind = KindConflict
		e.Cause = "the certificate is in a state that does not allow this: " + orDefault(msg, "check its status")
		e.Fix = "set the certificate (or CA) to INACTIVE first, then retry"
	case "DeleteConflictException", "DeleteConflict":
		e.Kind = KindConflict
		e.Cause = "it is still in use: " + orDefault(msg, "attached to something else")
		e.Fix = "detach it from everything it is attached to (detaching can take a few minutes), then retry"
	case "VersionConflictException", "ConflictingResourceUpdateException", "ConcurrentModification", "ConcurrentModificationException":
		e.Kind = KindConflict
		e.Cause = "the resource was changed by someone else at the same time"
		e.Fix = "retry"
	case "LimitExceededException", "LimitExceeded":
		e.Kind = KindLimitExceeded
		e.Cause = "an AWS limit was reached: " + orDefault(msg, "too many resources")
		e.Fix = "delete unused resources (for CAs: at most 10 with the same subject per account and region) or request a quota increase"
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled", "ThrottledException", "SlowDown":
		e.Kind = KindThrottled
		e.Cause = "AWS is throttling " + action + " calls"
		e.Fix = "wait a minute and retry; other tools using the same account and region share this rate"
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
		e.Cause = "the account is not opted in to " + service + " in region " + orDefault(ec.Region, "(unset)") + ": " + orDefault(msg, "it needs a subscription for the service")
		e.Fix = "enable the region for the account (AWS console → Account → AWS Regions, or `aws account enable-region --region-name " + orDefault(ec.Region, "<region>") + "`), or use another --region"
	case "ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired":
		e.Kind = KindExpiredToken
		e.Cause = "your AWS session token has expired"
		e.Fix = expiredFix(ec.Profile)
	case "RequestExpired", "RequestTimeTooSkewed", "RequestInTheFuture":
		clockSkew(e)
	case "InvalidSignatureException", "SignatureDoesNotMatch", "AuthorizationHeaderMalformed":
		if low := strings.ToLower(msg); strings.Contains(low, "signature expired") || strings.Contains(low, "signature not yet current") {
			clockSkew(e)
			return
		}
		if strings.Contains(strings.ToLower(msg), "scoped to a valid region") || strings.Contains(strings.ToLower(msg), "region") {
			e.Kind = KindWrongRegion
			e.Cause = "AWS rejected the request's region " + orDefault(ec.Region, "(unset)") + ": " + orDefault(msg, e.Code)
			e.Fix = "pass a valid --region (e.g. us-east-1), the one where your IoT resources are"
			return
		}
		e.Kind = KindInvalidCredentials
		e.Cause = "AWS does not accept your credentials (" + e.Code + "): the secret key does not match the access key, or your clock is off"
		e.Fix = "check the keys in your environment or ~/.aws/credentials" + profileNote(ec.Profile) + " and the system clock; run `aws sts get-caller-identity" + ec.profileFlag() + "` to test them"
	case "MissingAuthenticationToken", "MissingAuthenticationTokenException":
		// jitpwiz signs every request, so the token is not missing: API Gateway (and the local
		// IoT Core, like AWS's own front ends) answers a path it has no operation for this way.
		e.Kind = KindNoSuchOperation
		where := orDefault(ec.endpointFor(service), "the "+service+" endpoint of region "+orDefault(ec.Region, "(unset)"))
		e.Cause = where + " does not offer " + service + " " + e.Op + " (the request was signed; \"" + orDefault(msg, "Missing Authentication Token") + "\" is how an endpoint answers an operation it does not have)"
		e.Fix = "check that the URL is the " + service + " API's base URL (no extra path) and that this endpoint implements " + e.Op
		if ec.endpointFor(service) != "" {
			e.Fix += "; a custom endpoint applies to IoT, IAM and STS alike unless AWS_ENDPOINT_URL_" + strings.ToUpper(service) + " names one for " + service
		}
	case "PolicyNotAttachable":
		// IAM: an AWS service-role policy that only the service's own service-linked role may have.
		e.Kind = KindInvalidRequest
		e.Cause = "IAM will not attach this policy to the role: " + orDefault(msg, "it is not attachable")
		e.Fix = "attach arn:" + Partition(ec.Region) + ":iam::aws:policy/service-role/AWSIoTThingsRegistration (it is attachable to any role), or a customer managed policy with the same permissions"
	case "UnmodifiableEntity":
		// IAM: service-linked roles are protected; only their service changes them.
		e.Kind = KindConflict
		e.Cause = "IAM will not let anyone change this role: " + orDefault(msg, "it is a protected service-linked role")
		e.Fix = "use a role of your own for JITP (jitpwiz creates JITPRole), or pass an existing role with --role-arn"
	case "UnrecognizedClientException", "InvalidClientTokenId", "IncompleteSignature", "InvalidAccessKeyId", "AuthFailure":
		e.Kind = KindInvalidCredentials
		e.Cause = "AWS does not accept your credentials (" + e.Code + "): the access key is unknown, mistyped, deleted, or the secret does not match"
		e.Fix = "check the keys in your environment or ~/.aws/credentials" + profileNote(ec.Profile) + "; run `aws sts get-caller-identity" + ec.profileFlag() +
			"` to test them (an opt-in region that is not enabled for the account gives the same error)"
	case "InternalFailureException", "InternalFailure", "ServiceUnavailableException", "ServiceUnavailable", "InternalError", "InternalServerError", "ServiceFailure":
		e.Kind = KindUnavailable
		e.Cause = "AWS IoT had an internal error or is unavailable"
		e.Fix = "retry in a minute; check the AWS Health Dashboard for region " + orDefault(ec.Region, "(unset)")
	case "InvalidRequestException", "ResourceRegistrationFailureException", "InvalidInput", "ValidationError", "InvalidParameterValue":
		e.Kind = KindInvalidRequest
		e.Cause = "AWS refused the request: " + orDefault(msg, e.Code)
		e.Fix = invalidRequestFix(e.Op, msg)
	default:
		switch {
		case status == 403:
			e.Kind = KindAccessDenied
			e.Cause = "your identity is not allowed to call " + action
			e.Fix = "grant " + action + " to the IAM user or role you use" + profileNote(ec.Profile)
		case status == 404 && msg == "":
			// A 404 without an AWS error body: the endpoint does not serve this API.
			e.Kind = KindWrongRegion
			e.Cause = "the endpoint " + orDefault(ec.endpointFor(service), "for region "+ec.Region) + " does not serve the " + service + " API"
			e.Fix = "check --endpoint-url and --region"
			if globalService(service) {
				e.Kind = KindNoSuchOperation
				e.Cause = "the endpoint " + orDefault(ec.endpointFor(service), "of IAM") + " does not serve the IAM API"
				e.Fix = "check --endpoint-url or AWS_ENDPOINT_URL_IAM (IAM is global: --region does not change its endpoint)"
			}
		case status >= 500:
			e.Kind = KindUnavailable
			e.Cause = fmt.Sprintf("the %s endpoint answered with HTTP %d", service, status)
			e.Fix = "retry in a minute; check --endpoint-url and the AWS Health Dashboard"
		default:
			e.Cause = "AWS returned " + e.Code + ": " + orDefault(msg, "(no message)")
			e.Fix = "see the AWS message; check the inputs of " + e.Op
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
func (ec errContext) accessDenied(e *Error, action, msg string) {
	who := "the IAM user or role you use" + profileNote(ec.Profile)
	if m := explicitDenyRE.FindStringSubmatch(msg); m != nil {
		where := strings.TrimSpace(m[1])
		e.Cause = "an explicit Deny forbids " + action + " to your identity"
		if where != "" {
			e.Cause += " (in a " + where + ")"
		}
		e.Cause += ": a Deny overrides any Allow, so granting the action changes nothing"
		e.Fix = "find the Deny statement for " + action + " and have its owner change it: " + denyPlaces(where)
		return
	}
	if m := noAllowRE.FindStringSubmatch(msg); m != nil && !strings.Contains(m[1], "identity-based") {
		where := strings.TrimSpace(m[1])
		e.Cause = "your identity may not call " + action + ": no " + where + " allows it"
		e.Fix = "the " + where + " must allow " + action + " as well as your own policies (" + denyPlaces(where) + ")"
		return
	}
	e.Cause = "your identity is not allowed to call " + action
	e.Fix = "grant " + action + " to " + who
	if strings.HasPrefix(action, "iam:") {
		e.Fix += "; or have an administrator create the provisioning role and pass its ARN with --role-arn (step 6 then makes no IAM changes)"
	}
}

// denyPlaces says where to look for a policy of this type ("" = any).
func denyPlaces(where string) string {
	low := strings.ToLower(where)
	switch {
	case strings.Contains(low, "service control"):
		return "a service control policy of AWS Organizations on the account or its OU (aws organizations list-policies-for-target)"
	case strings.Contains(low, "resource control"):
		return "a resource control policy of AWS Organizations"
	case strings.Contains(low, "boundary"):
		return "the permissions boundary set on your user or role (aws iam get-role / get-user: PermissionsBoundary)"
	case strings.Contains(low, "session"):
		return "the session policy passed when the role was assumed (your SSO permission set or the AssumeRole call)"
	case strings.Contains(low, "identity"):
		return "the policies attached to your user, its groups or your role"
	case strings.Contains(low, "resource"):
		return "the policy on the resource itself"
	}
	return "look in the service control policies of AWS Organizations, the permissions boundary of your user or role, the session policy of an assumed role, and your identity's own policies"
}

// clockSkew: AWS refuses a request dated more than 15 minutes from its own clock ("The
// request reached the service more than 15 minutes after the date stamp on the request",
// AWS API reference, Common Errors: RequestExpired).
func clockSkew(e *Error) {
	e.Kind = KindClockSkew
	e.Cause = "AWS refused the request as expired (" + e.Code + "): this computer's clock is more than 15 minutes off AWS's"
	e.Fix = "set the system clock right (enable NTP: timedatectl set-ntp true), then retry; the credentials are not the problem"
}

// deniedAction extracts the IAM action from an AWS access-denied message.
func deniedAction(msg string) string {
	if m := deniedActionRE.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

func notFoundCause(op, region string) string {
	what := "the resource"
	switch op {
	case "DescribeCACertificate", "UpdateCACertificate", "DeleteCACertificate", "ListCertificatesByCA":
		what = "the CA certificate"
	case "DescribeCertificate", "UpdateCertificate", "DeleteCertificate":
		what = "the certificate"
	case "DescribeThing", "DeleteThing", "ListThingPrincipals", "DetachThingPrincipal":
		what = "the thing"
	case "GetPolicy", "DeletePolicy", "AttachPolicy", "DetachPolicy":
		what = "the policy"
	case "ListAttachedPolicies":
		what = "the target"
	case "GetRole", "AttachRolePolicy", "ListAttachedRolePolicies":
		what = "the IAM role (or managed policy)"
	}
	if region == "" {
		return what + " does not exist"
	}
	return what + " does not exist in region " + region
}

func invalidRequestFix(op, msg string) string {
	low := strings.ToLower(msg)
	switch {
	case isRoleNotReady(msg):
		return "the provisioning role may be new and not yet visible to AWS IoT (wait ~10 s and retry), or its trust policy does not allow iot.amazonaws.com"
	case strings.Contains(low, "registration template") || strings.Contains(low, "template"):
		return "fix the provisioning template (every Ref must name a parameter the device certificate provides or that has a Default)"
	case strings.Contains(low, "still attached") || strings.Contains(low, "principal"):
		return "detach the principals first; detaching is asynchronous, so retry after a few seconds"
	case op == "RegisterCACertificate" && strings.Contains(low, "sni"):
		return "for SNI_ONLY mode leave out the verification certificate; for DEFAULT mode include it"
	}
	return "check the inputs of " + op + " against the AWS message"
}

// isRoleNotReady says whether an InvalidRequestException is about the provisioning role
// (IAM eventual consistency right after CreateRole, or a trust that does not allow IoT yet).
func isRoleNotReady(msg string) bool {
	low := strings.ToLower(msg)
	return strings.Contains(low, "role") && (strings.Contains(low, "assume") || strings.Contains(low, "not authorized") ||
		strings.Contains(low, "unable") || strings.Contains(low, "does not exist") || strings.Contains(low, "invalid") ||
		strings.Contains(low, "cannot") || strings.Contains(low, "passrole"))
}

func profileNote(profile string) string {
	if profile == "" {
		return ""
	}
	return " (profile " + profile + ")"
}

func expiredFix(profile string) string {
	if profile == "" {
		return "refresh your credentials (for SSO: run `aws sso login --profile <your profile>` and pass --profile)"
	}
	return "run `aws sso login --profile " + profile + "` (or refresh the keys of profile " + profile + "), then retry"
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
	host := ec.Endpoint
	if host == "" {
		host = "the AWS endpoint for region " + orDefault(ec.Region, "(unset)")
	}
	switch {
	case errors.As(err, &dnsErr):
		if ec.Endpoint == "" {
			e.Kind = KindWrongRegion
			e.Cause = "the host " + dnsErr.Name + " does not resolve: region " + orDefault(ec.Region, "(unset)") + " may not exist or may not offer this service, or there is no network"
			e.Fix = "check --region (e.g. us-east-1, eu-west-1) and your network/DNS"
		} else {
			e.Kind = KindUnavailable
			e.Cause = "the endpoint host " + dnsErr.Name + " does not resolve"
			e.Fix = "check --endpoint-url and your network/DNS"
		}
	case errors.As(err, &opErr) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &urlErr) || strings.Contains(s, "connection refused") || strings.Contains(s, "timeout"):
		e.Kind = KindUnavailable
		e.Cause = "cannot reach " + host + ": " + shortNetErr(err)
		if ec.Endpoint != "" {
			e.Fix = "check --endpoint-url (is the local IoT Core running? `jitpwiz local` prints its URL) and retry"
		} else {
			e.Fix = "check your network, proxy (HTTPS_PROXY) and --region, then retry"
		}
	default:
		e.Kind = KindOther
		e.Cause = s
		e.Fix = "retry; if it persists, run with the AWS CLI to compare"
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
		e.Cause = "your AWS SSO session has expired or was never started"
		if inner != "" {
			e.Cause += " (refreshing it failed: " + inner + ")"
		}
		e.Fix = expiredFix(ec.Profile)
	case strings.Contains(s, "expired"):
		e.Kind = KindExpiredToken
		e.Cause = "your AWS credentials have expired"
		e.Fix = expiredFix(ec.Profile)
	case inner != "":
		e.Kind = KindInvalidCredentials
		who := "your credential source"
		if ec.Profile != "" {
			who = "profile " + ec.Profile
		}
		e.Cause = "the credentials of " + who + " could not be obtained: "
		if oe != nil {
			e.Cause += oe.ServiceID + " " + oe.OperationName + " answered "
		}
		e.Cause += inner
		e.Fix = "check " + who + " in ~/.aws/config (role_arn, source_profile, credential_process) and test it with `aws sts get-caller-identity" + ec.profileFlag() + "`"
	default:
		e.Kind = KindNoCredentials
		e.Cause = "no AWS credentials found (environment, ~/.aws/credentials, ~/.aws/config profiles, SSO, instance role)"
		if ec.Profile != "" {
			e.Cause = "profile " + ec.Profile + " gave no usable credentials"
		}
		e.Fix = "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws configure`, or `aws sso login --profile <name>` and pass --profile; or use the local target"
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
