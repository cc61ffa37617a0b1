package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/jitpwiz/jitpwiz/aws/local/store"
)

// What doctor reads of the local IoT Core beyond the AWS APIs: the event log at EventsPath,
// all of it or after a sequence number; a bad one is refused.
func TestEventsPath(t *testing.T) {
	e := newEnv(t)
	for _, msg := range []string{"one", "two", "three"} {
		if err := e.st.AddEvent(store.Event{Kind: store.EventConnectRefused, CertID: "c1", Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(query string) (int, []store.Event) {
		t.Helper()
		resp, err := http.Get(e.srv.URL + EventsPath + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var evs []store.Event
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&evs); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, evs
	}
	code, all := get("")
	if code != http.StatusOK || len(all) < 3 || all[len(all)-1].Message != "three" {
		t.Fatalf("GET %s: %d %+v", EventsPath, code, all)
	}
	code, after := get("?after=" + url.QueryEscape(jsonNumber(all[len(all)-2].Seq)))
	if code != http.StatusOK || len(after) != 1 || after[0].Message != "three" {
		t.Errorf("after the second to last: %d %+v", code, after)
	}
	if code, _ := get("?after=-1"); code != http.StatusBadRequest {
		t.Errorf("after=-1: %d, want 400", code)
	}
	if code, none := get("?after=999999"); code != http.StatusOK || none == nil || len(none) != 0 {
		t.Errorf("after the last: %d %v, want an empty array", code, none)
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

// UpdateAssumeRolePolicy (doctor's fix for a role not trusted by iot.amazonaws.com) replaces
// the trust policy, checks it as CreateRole does, and names a missing role.
func TestUpdateAssumeRolePolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ec2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	iot := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	r(e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String("R"), AssumeRolePolicyDocument: sdkaws.String(ec2)})).must(t)
	r(e.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: sdkaws.String("R"), PolicyDocument: sdkaws.String(iot)})).must(t)
	got := r(e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: sdkaws.String("R")})).must(t)
	if doc, _ := url.QueryUnescape(sdkaws.ToString(got.Role.AssumeRolePolicyDocument)); doc != iot {
		t.Errorf("trust policy %s, want %s", doc, iot)
	}
	_, err := e.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: sdkaws.String("R"), PolicyDocument: sdkaws.String("{")})
	wantAPIError(t, err, "MalformedPolicyDocument")
	_, err = e.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: sdkaws.String("Nope"), PolicyDocument: sdkaws.String(iot)})
	wantAPIError(t, err, "NoSuchEntity")
}
