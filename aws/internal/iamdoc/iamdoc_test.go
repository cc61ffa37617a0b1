package iamdoc

import (
	"slices"
	"testing"
)

func TestStatementsObjectOrList(t *testing.T) {
	one, err := Statements(`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`)
	if err != nil || len(one) != 1 || !one[0].AllowsAssumeRole() {
		t.Fatalf("single statement object: %v %v", one, err)
	}
	two, err := Statements(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*"},{"Effect":"Allow","Action":["s3:Get*","STS:AssumeRole"]}]}`)
	if err != nil || len(two) != 2 {
		t.Fatalf("statement list: %v %v", two, err)
	}
	if two[0].AllowsAssumeRole() {
		t.Error("a Deny statement must not allow sts:AssumeRole")
	}
	if !two[1].AllowsAssumeRole() {
		t.Error("action names compare case-insensitively, as in IAM: STS:AssumeRole allows it")
	}
	for _, bad := range []string{`not json`, `{"Statement":"x"}`, `{"Statement":7}`} {
		if _, err := Statements(bad); err == nil {
			t.Errorf("Statements(%s) gave no error", bad)
		}
	}
}

func TestAllowsAssumeRoleActions(t *testing.T) {
	for action, want := range map[string]bool{`"sts:AssumeRole"`: true, `"sts:*"`: true, `"*"`: true, `["iot:*","sts:assumerole"]`: true,
		`"sts:AssumeRoleWithSAML"`: false, `"iam:PassRole"`: false, `[]`: false, `7`: false} {
		s := Statement{"Effect": []byte(`"Allow"`), "Action": []byte(action)}
		if got := s.AllowsAssumeRole(); got != want {
			t.Errorf("Action %s: AllowsAssumeRole = %v, want %v", action, got, want)
		}
	}
}

func TestStringOrList(t *testing.T) {
	for raw, want := range map[string][]string{`"a"`: {"a"}, `["a","b"]`: {"a", "b"}, `7`: nil, ``: nil, `{"a":1}`: nil} {
		if got := StringOrList([]byte(raw)); !slices.Equal(got, want) {
			t.Errorf("StringOrList(%s) = %q, want %q", raw, got, want)
		}
	}
}
