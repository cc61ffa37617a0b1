// Package words renders the messages that the packages of aws name for their words hooks
// (template.Words, policy.Words, aws.Words): steps sets a hook to its catalog, and a package
// says a message by its name and its arguments.
package words

import "fmt"

// Say renders message name with its arguments, given as name, value pairs, through hook;
// with no hook set, the message is its name and its arguments.
func Say(hook func(name string, args map[string]string) string, name string, kv ...string) string {
	if hook == nil {
		return name + fmt.Sprint(kv)
	}
	args := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	return hook(name, args)
}
