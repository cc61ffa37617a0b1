package template

import "fmt"

// Words renders one of the package's messages — "lint.no-thing", "fix.ref-subject",
// "summary.thing", ... — with its arguments, in the user's language. steps sets it (its
// catalog's template.yaml); unset, a message is its name and its arguments. The messages of
// Error and of ConfigError.Validate are AWS's words (the local IoT Core returns them as
// they are) and stay in English; their fixes, the findings of Lint and the rest are said
// through Words.
var Words func(key string, args map[string]string) string

// say renders message key with its arguments, given as name, value pairs.
func say(key string, kv ...string) string {
	args := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	if Words == nil {
		return key + fmt.Sprint(kv)
	}
	return Words(key, args)
}
