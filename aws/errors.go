package aws

import "errors"

// Kind classifies a cloud-side failure so a step can explain it and offer the fix.
type Kind string

const (
	KindOther                 Kind = "other"
	KindNotFound              Kind = "not-found"
	KindAlreadyExists         Kind = "already-exists"
	KindNoCredentials         Kind = "no-credentials"
	KindExpiredToken          Kind = "expired-token"
	KindAccessDenied          Kind = "access-denied"
	KindThrottled             Kind = "throttled"
	KindInvalidRequest        Kind = "invalid-request"
	KindConflict              Kind = "conflict"          // DeleteConflict, CertificateState, VersionConflict
	KindCertificateValidation Kind = "cert-validation"   // CertificateValidationException
	KindRegistrationCode      Kind = "registration-code" // RegistrationCodeValidationException
	KindMalformedPolicy       Kind = "malformed-policy"
	KindLimitExceeded         Kind = "limit-exceeded"
	KindUnavailable           Kind = "unavailable" // endpoint unreachable, 5xx
	KindWrongRegion           Kind = "wrong-region"
	KindInvalidCredentials    Kind = "invalid-credentials" // keys present but rejected (unknown key, bad secret)
	KindNoRegion              Kind = "no-region"           // no region from flag, env or profile
	KindConfig                Kind = "config"              // shared config/profile cannot be loaded
	KindClockSkew             Kind = "clock-skew"          // the request's time is over 15 minutes off AWS's (RequestExpired)
	KindNoSuchOperation       Kind = "no-such-operation"   // the endpoint does not offer the operation (or the URL is wrong)
)

// Error is a cloud failure in plain words: what went wrong (Cause) and what to do (Fix).
type Error struct {
	Kind        Kind
	Op          string // API operation, e.g. "RegisterCACertificate"
	Code        string // AWS error code, e.g. "ResourceAlreadyExistsException"
	Message     string // AWS's own message
	Cause       string // plain-words cause
	Fix         string // what the user should do
	ResourceID  string // set for AlreadyExists when AWS says which resource
	ResourceARN string
	Err         error // underlying error
}

func (e *Error) Error() string {
	s := e.Cause
	if s == "" {
		s = e.Message
	}
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Fix != "" {
		s += " — " + e.Fix
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// IsKind reports whether err is (or wraps) an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
