package policy

import "github.com/jitpwiz/jitpwiz/aws/internal/strictjson"

// The strict JSON parser (key order, duplicate keys, byte offsets) is shared
// with the other validator in aws/internal/strictjson; these names keep this
// package's code short.
type (
	node      = strictjson.Node
	jsonError = strictjson.SyntaxError
)

const (
	kindNull   = strictjson.Null
	kindString = strictjson.String
	kindNumber = strictjson.Number
	kindBool   = strictjson.Boolean
	kindObject = strictjson.Object
	kindArray  = strictjson.Array
)

var (
	parseJSON = strictjson.Parse
	lineCol   = strictjson.LineCol
)
