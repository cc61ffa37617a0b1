package steps

import (
	"testing"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
	"github.com/jitpwiz/jitpwiz/aws/template"
)

// Why provisioning failed is read from the reasons of the local IoT Core's events, never from
// their words: each reason gives its cause, the most specific one wins when several events
// disagree, and only the certificate's own last five failures count.
func TestPendingCauseFromEventReasons(t *testing.T) {
	const id = "c0ffee"
	failedWith := func(reasons ...string) *doctorRun {
		d := &doctorRun{}
		for _, r := range reasons {
			d.events = append(d.events, store.Event{Kind: store.EventProvisioningFailed, CertID: id, Reason: r, Message: "anything"})
		}
		return d
	}
	for _, tc := range []struct {
		reasons []string
		want    Cause
	}{
		{[]string{store.ProvisionUnresolvedRef}, CauseTemplateParameter},
		{[]string{store.ProvisionPolicyNotFound}, CausePolicyMissing},
		{[]string{store.ProvisionResourceNotFound}, CauseTemplateResource},
		{[]string{store.ProvisionRoleDenied}, CauseRolePermissions},
		{[]string{store.ProvisionRoleMissing}, CauseRoleMissing},
		{[]string{store.ProvisionRoleUntrusted}, CauseRoleNotTrusted},
		{[]string{store.ProvisionRoleNotReady}, CauseRoleNotTrusted},
		{[]string{store.ProvisionNoRole}, CauseTemplateFailed},
		{[]string{store.ProvisionTemplateNotFound}, CauseTemplateFailed},
		{[]string{store.ProvisionMissingParameter}, CauseTemplateFailed},
		{[]string{""}, CauseTemplateFailed},
		{nil, CauseTemplateFailed},
		{[]string{store.ProvisionRoleMissing, store.ProvisionUnresolvedRef}, CauseTemplateParameter},
		{[]string{store.ProvisionRoleUntrusted, store.ProvisionRoleDenied}, CauseRolePermissions},
	} {
		d := failedWith(tc.reasons...)
		if got := d.pendingCause(d.provisioningReasons(id)); got != tc.want {
			t.Errorf("reasons %q: cause %s, want %s", tc.reasons, got, tc.want)
		}
	}

	// Another certificate's failure, and failures older than the last five, say nothing.
	d := failedWith(store.ProvisionUnresolvedRef, "", "", "", "", "")
	d.events = append(d.events, store.Event{Kind: store.EventProvisioningFailed, CertID: "other", Reason: store.ProvisionPolicyNotFound})
	if got := d.pendingCause(d.provisioningReasons(id)); got != CauseTemplateFailed {
		t.Errorf("old or foreign events decided: %s", got)
	}
	// The words of an event are not read: an English message without a reason decides nothing.
	d = &doctorRun{events: []store.Event{{Kind: store.EventProvisioningFailed, CertID: id,
		Message: "Invalid registration template. Cannot resolve reference value: {Ref=AWS::IoT::Certificate::Country}"}}}
	if got := d.pendingCause(d.provisioningReasons(id)); got != CauseTemplateFailed {
		t.Errorf("the message was matched: %s", got)
	}
}

// A template that fails on its escaping is told by the reason of aws/template's error.
func TestIsEscapingByReason(t *testing.T) {
	config := func(s string) error {
		_, err := template.ParseRegistrationConfig([]byte(s))
		return err
	}
	body := func(s string) error {
		_, err := template.Parse(s)
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"config not JSON", config(`{"templateBody": `), true},
		{"templateBody an object", config(`{"templateBody": {"Resources": {}}, "roleArn": "arn:aws:iam::123456789012:role/JITPRole"}`), true},
		{"unknown member", config(`{"templatebody": "{}"}`), false},
		{"no roleArn", config(`{"templateBody": "{}"}`), false},
		{"body not JSON", body(`{"Resources": {`), true},
		{"Default not a string", body(`{"Parameters": {"P": {"Type": "String", "Default": 1}}, "Resources": {}}`), true},
		{"no Resources", body(`{"Parameters": {}}`), false},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if got := isEscaping(tc.err); got != tc.want {
			t.Errorf("%s (%v): isEscaping %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
