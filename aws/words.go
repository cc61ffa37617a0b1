package aws

import "github.com/jitpwiz/jitpwiz/aws/internal/words"

// Words renders the package's sentences that are not an Error's cause and fix — what
// EnsureRole checked or changed on a role (Role.Notes: "note.reused"), why a role's trust
// policy does not let AWS IoT in here ("trust.source-account") — with their arguments, in the
// user's language. steps sets it (its catalog's aws.yaml, keys aws.note.* and aws.trust.*);
// unset, a sentence is its name and its arguments.
var Words func(name string, args map[string]string) string

// phrase renders sentence name with its arguments, given as name, value pairs.
func phrase(name string, kv ...string) string { return words.Say(Words, name, kv...) }
