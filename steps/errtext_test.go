package steps

import (
	"errors"
	"strings"
	"testing"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Every reason package aws gives has its words, and the nouns, places and hints its errors
// name are said too.
func TestEveryAWSReasonHasItsWords(t *testing.T) {
	for _, r := range aws.Reasons {
		keys, ok := awsTexts[r]
		if !ok {
			t.Errorf("aws reason %s has no words in awsTexts (errtext.go)", r)
			continue
		}
		if string(keys[0]) != "aws."+string(r)+".cause" || string(keys[1]) != "aws."+string(r)+".fix" {
			t.Errorf("aws reason %s: keys %v, want aws.%s.cause and .fix", r, keys, r)
		}
	}
	if len(awsTexts) != len(aws.Reasons) {
		t.Errorf("awsTexts has %d reasons, aws.Reasons %d", len(awsTexts), len(aws.Reasons))
	}
	for _, w := range []string{aws.WhatResource, aws.WhatCA, aws.WhatCertificate, aws.WhatThing, aws.WhatPolicy, aws.WhatTarget, aws.WhatIAMResource} {
		if _, ok := awsWhat[w]; !ok {
			t.Errorf("noun %s has no words", w)
		}
	}
	for _, p := range []string{aws.PlaceSCP, aws.PlaceRCP, aws.PlaceBoundary, aws.PlaceSession, aws.PlaceIdentity, aws.PlaceResource, aws.PlaceAny} {
		if _, ok := awsPlaces[p]; !ok {
			t.Errorf("place %s has no words", p)
		}
	}
	for _, h := range []string{aws.HintRoleNotReady, aws.HintTemplate, aws.HintPrincipals, aws.HintSNI, aws.HintInputs} {
		if _, ok := awsHints[h]; !ok {
			t.Errorf("hint %s has no words", h)
		}
	}
}

// An aws.Error is said in the language of the run, with its arguments, nouns and hints.
func TestAWSErrorWords(t *testing.T) {
	t.Cleanup(func() { i18n.SetLang(i18n.En) })
	e := &aws.Error{Kind: aws.KindNotFound, Op: "DescribeThing"}
	e.Say(aws.ReasonNotFound, "What", aws.WhatThing, "Region", "eu-west-1")
	if e.Cause != "the thing does not exist in region eu-west-1" || !strings.Contains(e.Fix, "--region") {
		t.Errorf("cause %q, fix %q", e.Cause, e.Fix)
	}
	if got := e.Error(); got != "DescribeThing: the thing does not exist in region eu-west-1 — "+e.Fix {
		t.Errorf("Error() = %q", got)
	}
	e.Say(aws.ReasonInvalidRequest, "Msg", "bad", "Op", "RegisterCACertificate", "Hint", aws.HintInputs)
	if e.Fix != "check the inputs of RegisterCACertificate against the AWS message" {
		t.Errorf("hint with its own argument: %q", e.Fix)
	}
	// Arguments a message names and the error lacks are empty, never "<no value>".
	e = &aws.Error{}
	e.Say(aws.ReasonCAAlreadyRegistered)
	if e.Cause != "this CA certificate is already registered in this account and region" {
		t.Errorf("without ID: %q", e.Cause)
	}
	var ae *aws.Error
	if !errors.As(error(e), &ae) || ae.Reason != aws.ReasonCAAlreadyRegistered {
		t.Errorf("reason %q", ae.Reason)
	}
}

// Every field and reason of pki has its words, and a FieldError reads as it always has.
func TestEveryPKIReasonHasItsWords(t *testing.T) {
	for _, f := range pki.Fields {
		if _, ok := pkiKeys["field."+f]; !ok {
			t.Errorf("pki field %s has no words in pkiKeys (errtext.go)", f)
		}
	}
	for _, r := range pki.Reasons {
		for _, part := range []string{".problem", ".fix"} {
			if k, ok := pkiKeys[string(r)+part]; !ok || string(k) != "pki."+string(r)+part {
				t.Errorf("pki reason %s%s: key %q", r, part, k)
			}
		}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{pki.ValidateCountry("in"), `country "in": must be upper case — use IN`},
		{pki.ValidateCountry("USA"), `country "USA": must be exactly 2 letters (got 3 characters) — use a 2-letter ISO 3166 country code such as IN, US or DE`},
		{pki.ValidateThingName(""), `thing name (empty): is empty — enter a name such as DemoThing (letters, digits, : _ -)`},
		{pki.ValidateThingName("a b"), `thing name "a b": contains ' ' at position 2, which AWS IoT does not allow in thing names — use only letters, digits, colon, underscore and hyphen (e.g. Demo_Thing-1)`},
		{pki.ValidateDays(0), `days "0": must be greater than 0 — use a positive number of days (the walkthrough uses 3650 for the CA, 500 for the verification cert, 365 for devices)`},
		{&pki.ExistsError{Path: "deviceRootCA.key"}, "deviceRootCA.key already exists and was left untouched — reuse it, choose another workspace, or confirm overwriting it"},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", tc.err, tc.want)
		}
	}
	var fe *pki.FieldError
	if err := pki.ValidateCountry("uk"); !errors.As(err, &fe) || fe.FieldID != pki.FieldCountry || fe.Reason != pki.ReasonCountryReserved || fe.Args["Alt"] != "GB" {
		t.Errorf("the error does not carry its field, reason and arguments: %#v", err)
	}
}

// The areas of the catalog whose messages a package below steps names through its words hook.
var wordsAreas = map[string]map[string]i18n.Key{"pki.": pkiKeys, "local.": localKeys, "template.": templateKeys, "policy.": policyKeys, "probe.": probeKeys}

// Every message of the catalog's pki, local, template … areas is reachable by the name its
// package gives (pki.Words, local.Words, template.Words …): a name missing here would show as
// the name itself.
func TestWordsHooksReachEveryMessage(t *testing.T) {
	for k := range i18n.Default().Messages[i18n.En] {
		for area, keys := range wordsAreas {
			name, ok := strings.CutPrefix(string(k), area)
			if !ok {
				continue
			}
			if keys[name] != k {
				t.Errorf("%s: the words hook maps %q to %q", k, name, keys[name])
			}
		}
		// aws.yaml holds the causes and fixes of aws.Error too; aws.Words names the rest.
		for _, prefix := range []string{"aws.note.", "aws.trust.", "aws.parse."} {
			if strings.HasPrefix(string(k), prefix) {
				if name := strings.TrimPrefix(string(k), "aws."); awsWordKeys[name] != k {
					t.Errorf("%s: aws.Words maps %q to %q", k, name, awsWordKeys[name])
				}
			}
		}
	}
	for name, k := range awsWordKeys {
		if !strings.HasPrefix(string(k), "aws.note.") && !strings.HasPrefix(string(k), "aws.trust.") && !strings.HasPrefix(string(k), "aws.parse.") {
			t.Errorf("aws.Words name %q: key %s is outside aws.note., aws.trust., aws.parse.", name, k)
		}
	}
}
