// Package policy parses AWS IoT Core policy documents and decides MQTT
// authorization requests the way the AWS IoT message broker does. It does no
// I/O and depends only on the strict JSON parser it shares with aws/template
// (aws/internal/strictjson).
//
// Evaluation follows IAM conventions: every policy attached to the
// certificate counts; a request is denied unless some Allow statement matches
// it, and any matching Deny statement wins over every Allow. A statement
// matches when its Action (or NotAction), Resource (or NotResource) and all of
// its Condition entries match.
//
// Matching: `*` matches any sequence (it crosses `/`), `?` one character; `+`
// and `#` are literal (so topicfilter/a/* matches the filter "a/#"). The
// escapes $(*), $(?) and $($) (and IAM's ${*}, ${?}, ${$}) stand for the
// characters themselves. Actions compare case-insensitively, resources
// case-sensitively.
//
// Policy variables (in Resource and Condition values) are substituted
// literally — a substituted value never acts as a wildcard. A variable that
// cannot be resolved makes that resource or value match nothing. In
// particular ${iot:Connection.Thing.*} resolves only when the client ID is the
// name of a thing attached to the certificate (non-exclusive association), and
// certificate variables whose value contains * $ + ? # or is longer than 1024
// characters are not substituted; other certificate values have , " \ = < > ;
// prefixed with a backslash, multi-valued attributes give their first value
// (.N picks one, .List all, at most 5), and iot:Certificate.SerialNumber is
// decimal — all as AWS IoT documents. Decision.Explain says in plain words why a
// request was denied, naming the statement that would have allowed it.
package policy
