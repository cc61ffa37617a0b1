package mqttprobe

import "fmt"

// Words renders one of the package's messages — "diag.wrong-region.cause", "connect.refused",
// "use.received", ... — with its arguments, in the user's language: the details of an Outcome
// and a UseResult, the causes and fixes of a Diagnosis, the errors. steps sets it (its
// catalog's probe.yaml); unset, a message is its name and its arguments. What the broker and
// the TLS stack say (a TLS alert, a Go network error) is quoted as it is.
var Words func(name string, args map[string]string) string

// say renders message name with its arguments, given as name, value pairs.
func say(name string, kv ...string) string {
	if Words == nil {
		return name + fmt.Sprint(kv)
	}
	args := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	return Words(name, args)
}
