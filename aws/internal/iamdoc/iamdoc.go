// Package iamdoc reads the parts of IAM policy documents that jitpwiz checks in
// role trust policies: the statements (Statement is one object or a list of
// them), string-or-list values, and whether a statement allows sts:AssumeRole.
// The real-AWS client (aws) and the embedded IoT Core (aws/local/store) both
// use it, so a trust policy is read the same way on either target.
package iamdoc

import (
	"encoding/json"
	"slices"
	"strings"
)

// Statement is one statement of a policy document, its values left raw.
type Statement map[string]json.RawMessage

// Statements returns the statements of a JSON policy document.
func Statements(doc string) ([]Statement, error) {
	var p struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, err
	}
	var stmts []Statement
	if err := json.Unmarshal(p.Statement, &stmts); err != nil {
		var one Statement
		if json.Unmarshal(p.Statement, &one) != nil {
			return nil, err
		}
		stmts = []Statement{one}
	}
	return stmts, nil
}

// StringOrList decodes a value IAM lets be a string or a list of strings; anything
// else (or nothing) gives nil.
func StringOrList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

// AllowsAssumeRole reports whether s is an Allow statement whose Action is
// sts:AssumeRole, sts:* or * (IAM action names compare case-insensitively).
// Principal and Condition are left to the caller.
func (s Statement) AllowsAssumeRole() bool {
	var effect string
	_ = json.Unmarshal(s["Effect"], &effect)
	if effect != "Allow" {
		return false
	}
	return slices.ContainsFunc(StringOrList(s["Action"]), func(a string) bool {
		a = strings.ToLower(a)
		return a == "sts:assumerole" || a == "sts:*" || a == "*"
	})
}
