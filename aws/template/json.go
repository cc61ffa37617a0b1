package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is a JSON value that keeps object key order and its byte offset in the
// source, so that validation errors can point at the offending place.
type node struct {
	kind  nodeKind
	str   string // string value, or number text
	b     bool
	keys  []string // object keys, in source order
	vals  []*node  // object values (parallel to keys) or array elements
	off   int      // byte offset of the value's first character
	dupes []string // keys that appeared more than once (last one wins)
}

type nodeKind int

const (
	kindNull nodeKind = iota
	kindString
	kindNumber
	kindBool
	kindObject
	kindArray
)

func (k nodeKind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindObject:
		return "an object"
	case kindArray:
		return "a list"
	}
	return "null"
}

// get returns the value of key in an object node, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindObject {
		return nil
	}
	for i := len(n.keys) - 1; i >= 0; i-- {
		if n.keys[i] == key {
			return n.vals[i]
		}
	}
	return nil
}

const maxDepth = 64

// jsonError is a syntax error with its byte offset.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return e.msg }

// parseJSON parses exactly one JSON value from src.
func parseJSON(src string) (*node, error) {
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	n, err := readNode(dec, src, 0)
	if err != nil {
		return nil, err
	}
	off := int(dec.InputOffset())
	if _, err := dec.Token(); err != io.EOF {
		return nil, &jsonError{off: skipSpace(src, off), msg: "unexpected content after the end of the JSON document"}
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
		return &jsonError{off: off, msg: "invalid JSON: " + strings.TrimPrefix(se.Error(), "json: ")}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &jsonError{off: len(src), msg: "invalid JSON: unexpected end of input"}
	}
	return &jsonError{off: int(dec.InputOffset()), msg: "invalid JSON: " + err.Error()}
}

func readNode(dec *json.Decoder, src string, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, &jsonError{off: int(dec.InputOffset()), msg: fmt.Sprintf("JSON nested deeper than %d levels", maxDepth)}
	}
	off := skipSpace(src, int(dec.InputOffset()))
	tok, err := dec.Token()
	if err != nil {
		return nil, tokenError(dec, src, err)
	}
	n := &node{off: off}
	switch t := tok.(type) {
	case nil:
		n.kind = kindNull
	case string:
		n.kind, n.str = kindString, t
	case json.Number:
		n.kind, n.str = kindNumber, string(t)
	case bool:
		n.kind, n.b = kindBool, t
	case json.Delim:
		switch t {
		case '{':
			n.kind = kindObject
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, tokenError(dec, src, err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, &jsonError{off: int(dec.InputOffset()), msg: "invalid JSON: object key is not a string"}
				}
				v, err := readNode(dec, src, depth+1)
				if err != nil {
					return nil, err
				}
				if seen[k] {
					n.dupes = append(n.dupes, k)
				}
				seen[k] = true
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
		case '[':
			n.kind = kindArray
			for dec.More() {
				v, err := readNode(dec, src, depth+1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, tokenError(dec, src, err)
		}
	}
	return n, nil
}

// lineCol converts a byte offset into a one-based line and column (in runes).
func lineCol(src string, off int) (line, col int) {
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
