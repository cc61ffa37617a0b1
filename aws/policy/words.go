package policy

import "github.com/jitpwiz/jitpwiz/aws/internal/words"

// Words renders one of the package's messages — "explain.allowed", "why.no-client-id", ... —
// with its arguments, in the user's language: the explanations of a Decision and a
// RoleDecision. steps sets it (its catalog's policy.yaml); unset, a message is its name and
// its arguments. A MalformedError is AWS's words (the local IoT Core returns it) and stays
// in English.
var Words func(name string, args map[string]string) string

// say renders message name with its arguments, given as name, value pairs.
func say(name string, kv ...string) string { return words.Say(Words, name, kv...) }
