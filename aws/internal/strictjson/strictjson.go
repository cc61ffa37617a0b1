// Package strictjson parses one JSON document into a tree that keeps object
// key order, duplicate keys and the byte offset of every value, so that the
// validators of aws/template and aws/policy can point at the offending place
// (LineCol) the way the AWS console does. It does no I/O.
package strictjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Node is a JSON value that keeps object key order and its byte offset in the
// source.
type Node struct {
	Kind  Kind
	Str   string // string value, or number text
	Bool  bool
	Keys  []string // object keys, in source order
	Vals  []*Node  // object values (parallel to Keys) or array elements
	Off   int      // byte offset of the value's first character
	Dupes []string // keys that appeared more than once (last one wins)
}

// Kind is the JSON type of a Node.
type Kind int

const (
	Null Kind = iota
	String
	Number
	Boolean
	Object
	Array
)

// String names the kind the way a validation message does ("a string").
func (k Kind) String() string {
	switch k {
	case String:
		return "a string"
	case Number:
		return "a number"
	case Boolean:
		return "a boolean"
	case Object:
		return "an object"
	case Array:
		return "a list"
	}
	return "null"
}

// Get returns the value of key in an object node (the last one when the key
// is repeated), or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	for i := len(n.Keys) - 1; i >= 0; i-- {
		if n.Keys[i] == key {
			return n.Vals[i]
		}
	}
	return nil
}

// MaxDepth is how deeply objects and arrays may nest.
const MaxDepth = 64

// SyntaxError is a syntax error with its byte offset.
type SyntaxError struct {
	Off int
	Msg string
}

func (e *SyntaxError) Error() string { return e.Msg }

// Parse parses exactly one JSON value from src. Its errors are *SyntaxError.
func Parse(src string) (*Node, error) {
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	n, err := readNode(dec, src, 0)
	if err != nil {
		return nil, err
	}
	off := int(dec.InputOffset())
	if _, err := dec.Token(); err != io.EOF {
		return nil, &SyntaxError{Off: skipSpace(src, off), Msg: "unexpected content after the end of the JSON document"}
	}
	return n, nil
}

func skipSpace(src string, off int) int {
	for off < len(src) {
		switch src[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

func tokenError(dec *json.Decoder, src string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// In token mode the SyntaxError's Offset is not relative to the
		// input; InputOffset points at the start of the bad value.
		off := skipSpace(src, int(dec.InputOffset()))
		return &SyntaxError{Off: off, Msg: "invalid JSON: " + strings.TrimPrefix(se.Error(), "json: ")}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &SyntaxError{Off: len(src), Msg: "invalid JSON: unexpected end of input"}
	}
	return &SyntaxError{Off: int(dec.InputOffset()), Msg: "invalid JSON: " + err.Error()}
}

func readNode(dec *json.Decoder, src string, depth int) (*Node, error) {
	if depth > MaxDepth {
		return nil, &SyntaxError{Off: int(dec.InputOffset()), Msg: fmt.Sprintf("JSON nested deeper than %d levels", MaxDepth)}
	}
	off := skipSpace(src, int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return nil, tokenError(dec, src, err)
	}
	n := &Node{Off: off}
	switch t := tok.(type) {
	case nil:
		n.Kind = Null
	case string:
		n.Kind, n.Str = String, t
	case json.Number:
		n.Kind, n.Str = Number, string(t)
	case bool:
		n.Kind, n.Bool = Boolean, t
	case json.Delim:
		switch t {
		case '{':
			n.Kind = Object
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, tokenError(dec, src, err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, &SyntaxError{Off: int(dec.InputOffset()), Msg: "invalid JSON: object key is not a string"}
				}
				v, err := readNode(dec, src, depth+1)
				if err != nil {
					return nil, err
				}
				if seen[k] {
					n.Dupes = append(n.Dupes, k)
				}
				seen[k] = true
				n.Keys = append(n.Keys, k)
				n.Vals = append(n.Vals, v)
			}
		case '[':
			n.Kind = Array
			for dec.More() {
				v, err := readNode(dec, src, depth+1)
				if err != nil {
					return nil, err
				}
				n.Vals = append(n.Vals, v)
			}
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, tokenError(dec, src, err)
		}
	}
	return n, nil
}

// LineCol converts a byte offset into a one-based line and column (in runes).
func LineCol(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line, col = 1, 1
	for _, r := range src[:off] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
