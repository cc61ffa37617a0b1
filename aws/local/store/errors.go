package store

import (
	"errors"
	"fmt"
	"net/http"
)

// APIError is a failure in AWS terms: the exception name the control plane sends in
// X-Amzn-ErrorType (IoT) or <Code> (IAM/STS), the HTTP status the service model gives
// it, AWS's message, and for ResourceAlreadyExistsException the existing resource.
// Store helpers return *APIError for every rule violation, so the HTTP layer and the
// broker report the same thing the same way.
type APIError struct {
	Code        string // e.g. "ResourceNotFoundException", "NoSuchEntity"
	Status      int    // HTTP status, e.g. 404
	Message     string
	ResourceID  string // ResourceAlreadyExistsException only
	ResourceARN string // ResourceAlreadyExistsException only
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// AsAPIError returns the *APIError in err's chain, or nil.
func AsAPIError(err error) *APIError {
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// IoT exception names and their HTTP statuses (jitp-spec §1.2).
const (
	CodeInvalidRequest        = "InvalidRequestException"
	CodeCertificateValidation = "CertificateValidationException"
	CodeRegistrationCode      = "RegistrationCodeValidationException"
	CodeMalformedPolicy       = "MalformedPolicyException"
	CodeThrottling            = "ThrottlingException"
	CodeUnauthorized          = "UnauthorizedException"
	CodeResourceNotFound      = "ResourceNotFoundException"
	CodeCertificateState      = "CertificateStateException"
	CodeResourceAlreadyExists = "ResourceAlreadyExistsException"
	CodeDeleteConflict        = "DeleteConflictException"
	CodeVersionConflict       = "VersionConflictException"
	CodeVersionsLimitExceeded = "VersionsLimitExceededException"
	CodeConflictingUpdate     = "ConflictingResourceUpdateException"
	CodeAccessDenied          = "AccessDeniedException"
	CodeResourceConflicts     = "ResourceConflictsException" // a template's OverrideSettings say FAIL
	CodeLimitExceeded         = "LimitExceededException"
	CodeInternalFailure       = "InternalFailureException"
	CodeServiceUnavailable    = "ServiceUnavailableException"
)

// IAM error codes (query protocol) and their HTTP statuses (jitp-spec §1.4).
const (
	CodeIAMNoSuchEntity        = "NoSuchEntity"
	CodeIAMEntityAlreadyExists = "EntityAlreadyExists"
	CodeIAMDeleteConflict      = "DeleteConflict"
	CodeIAMMalformedPolicy     = "MalformedPolicyDocument"
	CodeIAMInvalidInput        = "InvalidInput"
	CodeIAMLimitExceeded       = "LimitExceeded"
)

var codeStatus = map[string]int{
	CodeInvalidRequest:         http.StatusBadRequest,
	CodeCertificateValidation:  http.StatusBadRequest,
	CodeRegistrationCode:       http.StatusBadRequest,
	CodeMalformedPolicy:        http.StatusBadRequest,
	CodeThrottling:             http.StatusBadRequest,
	CodeUnauthorized:           http.StatusUnauthorized,
	CodeResourceNotFound:       http.StatusNotFound,
	CodeCertificateState:       http.StatusNotAcceptable, // 406
	CodeResourceAlreadyExists:  http.StatusConflict,
	CodeDeleteConflict:         http.StatusConflict,
	CodeVersionConflict:        http.StatusConflict,
	CodeVersionsLimitExceeded:  http.StatusConflict,
	CodeConflictingUpdate:      http.StatusConflict,
	CodeAccessDenied:           http.StatusForbidden,
	CodeResourceConflicts:      http.StatusConflict,
	CodeLimitExceeded:          http.StatusGone, // 410
	CodeInternalFailure:        http.StatusInternalServerError,
	CodeServiceUnavailable:     http.StatusServiceUnavailable,
	CodeIAMNoSuchEntity:        http.StatusNotFound,
	CodeIAMEntityAlreadyExists: http.StatusConflict,
	CodeIAMDeleteConflict:      http.StatusConflict,
	CodeIAMMalformedPolicy:     http.StatusBadRequest,
	CodeIAMInvalidInput:        http.StatusBadRequest,
	CodeIAMLimitExceeded:       http.StatusConflict,
}

// StatusFor is the HTTP status of an error code (500 for an unknown code).
func StatusFor(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Errorf builds an *APIError with the model's status for code.
func Errorf(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Status: StatusFor(code), Message: fmt.Sprintf(format, args...)}
}

// AlreadyExists builds a ResourceAlreadyExistsException naming the existing resource.
func AlreadyExists(id, arn, format string, args ...any) *APIError {
	e := Errorf(CodeResourceAlreadyExists, format, args...)
	e.ResourceID, e.ResourceARN = id, arn
	return e
}
