package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/policy"
)

// Model constraints checked on the request before an operation runs, as AWS
// validates requests against the service model (botocore iot/2015-05-28
// service-2.json). A violation is InvalidRequestException (400) with AWS's
// validation wording; an observed IoT message has that form: "2 validation errors
// detected: Value '…' at 'certificateId' failed to satisfy constraint: Member must
// satisfy regular expression pattern: (0x)?[a-fA-F0-9]+; Value '…' at
// 'certificateId' failed to satisfy constraint: Member must have length less than
// or equal to 64" (aws-solutions-library-samples/guidance-for-modernizing-electric-
// vehicle-charging-on-aws#12). That the code is InvalidRequestException is not
// shown there [U]; it is the one every IoT operation's model lists for a request
// that is not valid (IoT has no ValidationException).

// constraint is a string shape of the model: length bounds and a pattern.
type constraint struct {
	min, max int
	pattern  string
	re       *regexp.Regexp
}

func newConstraint(min, max int, pattern string) constraint {
	return constraint{min: min, max: max, pattern: pattern, re: regexp.MustCompile(`^(?:` + pattern + `)$`)}
}

var (
	// CertificateId: length 64, pattern (0x)?[a-fA-F0-9]+.
	certificateIDShape = newConstraint(64, 64, `(0x)?[a-fA-F0-9]+`)
	// Marker: at most 1024, pattern [A-Za-z0-9+/]+={0,2} (the markers this server
	// hands out, base64 of an offset, always fit it).
	markerShape = newConstraint(0, 1024, `[A-Za-z0-9+/]+={0,2}`)
)

// violations lists how value breaks c, in AWS's order (pattern, then length).
func (c constraint) violations(member, value string) []string {
	var out []string
	v := fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must ", value, member)
	if !c.re.MatchString(value) {
		out = append(out, v+"satisfy regular expression pattern: "+c.pattern)
	}
	if n := len([]rune(value)); n < c.min {
		out = append(out, fmt.Sprintf("%shave length greater than or equal to %d", v, c.min))
	} else if c.max > 0 && n > c.max {
		out = append(out, fmt.Sprintf("%shave length less than or equal to %d", v, c.max))
	}
	return out
}

// labelShapes names, per operation, the model member and shape of its {} path
// labels, in order (operations not listed have no label checked here).
var labelShapes = map[string][]struct {
	member string
	shape  constraint
}{
	"DescribeCACertificate": {{"certificateId", certificateIDShape}},
	"UpdateCACertificate":   {{"certificateId", certificateIDShape}},
	"DeleteCACertificate":   {{"certificateId", certificateIDShape}},
	"DescribeCertificate":   {{"certificateId", certificateIDShape}},
	"UpdateCertificate":     {{"certificateId", certificateIDShape}},
	"DeleteCertificate":     {{"certificateId", certificateIDShape}},
	"ListCertificatesByCA":  {{"caCertificateId", certificateIDShape}},
}

// markerOps are the operations with a marker query parameter of shape Marker.
var markerOps = map[string]bool{
	"ListCACertificates": true, "ListCertificates": true, "ListCertificatesByCA": true, "ListPolicies": true,
	"ListTargetsForPolicy": true, "ListAttachedPolicies": true, "ListPrincipalPolicies": true,
}

// validateRequest checks op's path labels and marker against the model.
func validateRequest(op string, args []string, r *http.Request) error {
	var v []string
	for i, l := range labelShapes[op] {
		if i < len(args) {
			v = append(v, l.shape.violations(l.member, args[i])...)
		}
	}
	if markerOps[op] {
		if m := r.URL.Query().Get("marker"); m != "" {
			v = append(v, markerShape.violations("marker", m)...)
		}
	}
	switch len(v) {
	case 0:
		return nil
	case 1:
		return store.Errorf(store.CodeInvalidRequest, "1 validation error detected: %s", v[0])
	}
	return store.Errorf(store.CodeInvalidRequest, "%d validation errors detected: %s", len(v), strings.Join(v, "; "))
}

// checkPolicyLength applies the policy document limit of CreatePolicy's model
// documentation (2048 characters without whitespace, aws/policy.CheckLength) as
// MalformedPolicyException (400), the code the model lists for an invalid document;
// which code AWS uses for this case is not documented [U].
func checkPolicyLength(doc string) error {
	var me *policy.MalformedError
	if err := policy.CheckLength(doc); errors.As(err, &me) {
		return store.Errorf(store.CodeMalformedPolicy, "Policy document is too long: %s", me.Reason)
	}
	return nil
}
