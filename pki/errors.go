package pki

import (
	"errors"
	"fmt"
	"strconv"
)

// FieldError is a problem with one user-supplied value: which field, what was given,
// what is wrong with it and how to fix it. The words (Field, Problem, Fix) are rendered from
// FieldID, Reason and Args by Words, in the user's language.
type FieldError struct {
	FieldID string            // stable: "country", "thing-name", "key-type" (pki.field.<id> in the catalog)
	Field   string            // the field's name as the user reads it: "country", "thing name"
	Value   string            // the offending value (never a secret)
	Reason  Reason            // what is wrong, stably (pki.<reason>.problem and .fix in the catalog)
	Args    map[string]string // the values its words name
	Problem string            // e.g. "must be exactly 2 letters"
	Fix     string            // e.g. "use an ISO 3166 alpha-2 code such as IN or US"
}

// Reason names, stably, what is wrong with a value or a file.
type Reason string

// Words renders one of pki's messages — "field.<id>", "<reason>.problem", "<reason>.fix",
// "exists", "empty" — with its arguments. steps sets it (its catalog's pki.yaml, errtext.go);
// unset, the words are the keys and the values.
var Words func(key string, args map[string]string) string

func words(key string, args map[string]string) string {
	if Words != nil {
		return Words(key, args)
	}
	if len(args) == 0 {
		return key
	}
	return fmt.Sprint(key, args)
}

// fieldError is the error of field's value for reason r, with the arguments its words name
// (name, value pairs).
func fieldError(field, value string, r Reason, kv ...string) *FieldError {
	e := &FieldError{FieldID: field, Value: value, Reason: r, Args: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Args[kv[i]] = kv[i+1]
	}
	e.Field = words("field."+field, nil)
	e.Problem = words(string(r)+".problem", e.Args)
	e.Fix = words(string(r)+".fix", e.Args)
	return e
}

func (e *FieldError) Error() string {
	s := e.Field
	if e.Value != "" {
		s += " " + strconv.Quote(e.Value)
	} else {
		s += " " + words("empty", nil)
	}
	s += ": " + e.Problem
	if e.Fix != "" {
		s += " — " + e.Fix
	}
	return s
}

// ErrExists is matched (errors.Is) by *ExistsError.
var ErrExists = errors.New("file already exists")

// ExistsError reports that a file would be overwritten without the caller's consent.
type ExistsError struct {
	Path string
}

func (e *ExistsError) Error() string {
	return words("exists", map[string]string{"Path": e.Path})
}

// Is makes errors.Is(err, ErrExists) true.
func (e *ExistsError) Is(target error) bool { return target == ErrExists }

// Sentinel errors for problems a caller may want to recognise (all are wrapped in
// messages that name the file or field and the fix). Their words are pki's "err.<name>".
var (
	// ErrEncryptedKey: the PEM private key is passphrase-protected.
	ErrEncryptedKey error = sentinel("encrypted-key")
	// ErrNoPEM: the input holds no PEM block of the expected type.
	ErrNoPEM error = sentinel("no-pem")
	// ErrUnsupportedKey: the key algorithm or size is not usable with AWS IoT.
	ErrUnsupportedKey error = sentinel("unsupported-key")
	// ErrKeyMismatch: a private key does not belong to a certificate or CSR.
	ErrKeyMismatch error = sentinel("key-mismatch")
	// ErrNotCA: a certificate used as a CA lacks basicConstraints CA:TRUE or keyCertSign.
	ErrNotCA error = sentinel("not-ca")
	// ErrExpired: a certificate is outside its validity window (expired or not yet valid).
	ErrExpired error = sentinel("expired")
	// ErrBadSignature: a CSR's self-signature does not verify.
	ErrBadSignature error = sentinel("bad-signature")
)

// sentinel is an error a caller recognises (errors.Is compares it); it says pki's message
// "err.<name>".
type sentinel string

func (s sentinel) Error() string { return words("err."+string(s), nil) }

// wordsError is an error in the user's language: pki's message name with its arguments, and
// the error it is or explains (a sentinel, or the cause), which errors.Is and As reach and
// which the message names {{.Err}} unless the arguments do.
type wordsError struct {
	name string
	args map[string]string
	err  error
}

// errorWith is the error of message name (arguments as name, value pairs) about err.
func errorWith(err error, name string, kv ...string) error {
	e := &wordsError{name: name, args: map[string]string{}, err: err}
	for i := 0; i+1 < len(kv); i += 2 {
		e.args[kv[i]] = kv[i+1]
	}
	return e
}

func (e *wordsError) Error() string {
	args := e.args
	if _, ok := args["Err"]; !ok && e.err != nil {
		args = make(map[string]string, len(e.args)+1)
		for n, v := range e.args {
			args[n] = v
		}
		args["Err"] = e.err.Error()
	}
	return words(e.name, args)
}

func (e *wordsError) Unwrap() error { return e.err }

// fileError wraps err with the name of the file (or input) it concerns and a fix.
type fileError struct {
	What string // "CA certificate deviceRootCA.pem"
	Err  error
	Fix  string
}

func (e *fileError) Error() string {
	s := e.What + ": " + e.Err.Error()
	if e.Fix != "" {
		s += " — " + e.Fix
	}
	return s
}

func (e *fileError) Unwrap() error { return e.Err }

// The fields a FieldError names (pki.field.<id> in the catalog).
const (
	FieldCountry          = "country"
	FieldState            = "state"
	FieldOrganization     = "organization"
	FieldOrgUnit          = "organizational-unit"
	FieldCommonName       = "common-name"
	FieldDNQualifier      = "dnQualifier"
	FieldSerialNumber     = "serial-number"
	FieldSubject          = "subject"
	FieldWorkspace        = "workspace"
	FieldKeyType          = "key-type"
	FieldThingName        = "thing-name"
	FieldDays             = "days"
	FieldRegistrationCode = "registration-code"
)

// Fields are every field a FieldError names.
var Fields = []string{FieldCountry, FieldState, FieldOrganization, FieldOrgUnit, FieldCommonName, FieldDNQualifier, FieldSerialNumber,
	FieldSubject, FieldWorkspace, FieldKeyType, FieldThingName, FieldDays, FieldRegistrationCode}

// The reasons of FieldErrors (pki.<reason>.problem and pki.<reason>.fix), with the Args named.
const (
	ReasonCountryLength   Reason = "country-length"   // N
	ReasonCountryCase     Reason = "country-case"     // Up
	ReasonCountryReserved Reason = "country-reserved" // Alt
	ReasonCountryUnknown  Reason = "country-unknown"
	ReasonThingEmpty      Reason = "thing-empty"
	ReasonThingLong       Reason = "thing-long" // N, Max
	ReasonThingChar       Reason = "thing-char" // Char, Pos
	ReasonDaysZero        Reason = "days-zero"  // CA, Verification, Device
	ReasonDaysMax         Reason = "days-max"   // Max
	ReasonCodeLength      Reason = "code-length"
	ReasonCodeChar        Reason = "code-char" // Char, Pos
	ReasonCodeEmpty       Reason = "code-empty"
	ReasonCodeCN          Reason = "code-cn" // Err
	ReasonOrgEmpty        Reason = "org-empty"
	ReasonSubjectEmpty    Reason = "subject-empty"
	ReasonCNRequired      Reason = "cn-required"
	ReasonAttrSpaces      Reason = "attr-spaces"
	ReasonAttrControl     Reason = "attr-control"
	ReasonAttrUTF8        Reason = "attr-utf8"
	ReasonAttrPrintable   Reason = "attr-printable" // Char
	ReasonAttrLong        Reason = "attr-long"      // N, Max
	ReasonKeyType         Reason = "key-type"       // Choices
	ReasonWorkspaceEmpty  Reason = "workspace-empty"
)

// Reasons are every Reason of a FieldError.
var Reasons = []Reason{ReasonCountryLength, ReasonCountryCase, ReasonCountryReserved, ReasonCountryUnknown, ReasonThingEmpty,
	ReasonThingLong, ReasonThingChar, ReasonDaysZero, ReasonDaysMax, ReasonCodeLength, ReasonCodeChar, ReasonCodeEmpty, ReasonCodeCN,
	ReasonOrgEmpty, ReasonSubjectEmpty, ReasonCNRequired, ReasonAttrSpaces, ReasonAttrControl, ReasonAttrUTF8, ReasonAttrPrintable,
	ReasonAttrLong, ReasonKeyType, ReasonWorkspaceEmpty}
