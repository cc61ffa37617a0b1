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
	Op          string            // API operation, e.g. "RegisterCACertificate"
	Code        string            // AWS error code, e.g. "ResourceAlreadyExistsException"
	Message     string            // AWS's own message
	Reason      Reason            // what went wrong, stably (see Reason)
	Args        map[string]string // the values its words name: Op, Region, Action, ...
	Cause       string            // plain-words cause, rendered from Reason and Args
	Fix         string            // what the user should do, rendered likewise
	ResourceID  string            // set for AlreadyExists when AWS says which resource
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

// Reason names, stably, what went wrong: with Args it is the error's cause and fix in any
// language. The words are not here: steps renders them from its message catalog
// (steps/i18n/locales/<lang>/aws.yaml, keys aws.<reason>.cause and aws.<reason>.fix) through
// Text, when the error is made.
type Reason string

// Text renders an error's Reason and Args as its cause and fix in the user's language. steps
// sets it (steps/errtext.go); unset, an Error has no words of its own and Error() is AWS's
// message.
var Text func(e *Error) (cause, fix string)

// say gives e its reason and arguments (name, value pairs; they are added to the ones e has)
// and renders them.
func (e *Error) say(r Reason, kv ...string) {
	e.Reason = r
	if e.Args == nil {
		e.Args = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Args[kv[i]] = kv[i+1]
	}
	e.render()
}

// Say changes what e says: a caller that knows better what failed (the role of --role-arn,
// not a role) gives the reason and its arguments (name, value pairs).
func (e *Error) Say(r Reason, kv ...string) { e.say(r, kv...) }

func (e *Error) render() {
	e.Cause, e.Fix = "", ""
	if Text != nil {
		e.Cause, e.Fix = Text(e)
	}
}
