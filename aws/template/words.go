package template

import "github.com/jitpwiz/jitpwiz/aws/internal/words"

// Words renders one of the package's messages — "lint.no-thing", "fix.ref-subject",
// "summary.thing", ... — with its arguments, in the user's language. steps sets it (its
// catalog's template.yaml); unset, a message is its name and its arguments. The messages of
// Error and of ConfigError.Validate are AWS's words (the local IoT Core returns them as
// they are) and stay in English; their fixes, the findings of Lint and the rest are said
// through Words.
var Words func(name string, args map[string]string) string

// say renders message name with its arguments, given as name, value pairs.
func say(name string, kv ...string) string { return words.Say(Words, name, kv...) }
