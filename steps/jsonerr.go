package steps

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Errors in JSON a user wrote (a template file, its templateBody), in plain words: where
// (line and column) and what, with the offending line and a caret under the spot — never
// encoding/json's own text.

// jsonProblem says what is wrong with src, which err (from encoding/json) rejected.
func jsonProblem(src []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case len(strings.TrimSpace(string(src))) == 0:
		return "the file is empty"
	case errors.As(err, &se) && strings.Contains(se.Error(), "unexpected end"):
		return jsonAt(string(src), len(src), plainSyntax(se.Error()))
	case errors.As(err, &se):
		return jsonAt(string(src), int(se.Offset)-1, plainSyntax(se.Error()))
	case errors.As(err, &te):
		what := "a JSON object"
		if te.Field != "" {
			what = te.Field + ": a " + te.Type.Kind().String()
		}
		return jsonAt(string(src), int(te.Offset)-1, fmt.Sprintf("%s where %s should be", jsonKind(te.Value), what))
	case strings.Contains(err.Error(), "unexpected end of JSON input"):
		return jsonAt(string(src), len(src), "the text ends before the JSON does (a } or ] is missing)")
	}
	return "not valid JSON"
}

// jsonAt is a problem at byte offset off of src: "line L, column C: what", then the line
// up to the offending character with a mark after it (a mark in the text, not a caret under
// it: the wizard reflows a banner's lines, which would move a caret).
func jsonAt(src string, off int, what string) string {
	off = max(0, min(off, len(src)))
	line, col := 1, 1
	start := 0
	for i, r := range src[:off] {
		if r == '\n' {
			line, col, start = line+1, 1, i+1
		} else {
			col++
		}
	}
	end := off
	if end < len(src) && src[end] != '\n' {
		_, n := utf8.DecodeRuneInString(src[end:])
		end += n
	}
	text := strings.TrimSpace(strings.TrimRight(src[start:end], "\r"))
	// A long line shows its end, the part before the spot.
	const width = 60
	if runes := []rune(text); len(runes) > width {
		text = "…" + string(runes[len(runes)-width:])
	}
	if text == "" {
		text = "(the end of the line)"
	}
	return fmt.Sprintf("line %d, column %d: %s\n      %s   <-- here", line, col, what, text)
}

var syntaxRE = regexp.MustCompile(`invalid character '(.+)' (.*)`)

// plainSyntax words a json.SyntaxError message.
func plainSyntax(msg string) string {
	msg = strings.TrimPrefix(msg, "json: ")
	m := syntaxRE.FindStringSubmatch(msg)
	if m == nil {
		if strings.Contains(msg, "unexpected end of") {
			return "the text ends before the JSON does (a } or ] is missing)"
		}
		return "not valid JSON here"
	}
	c := "'" + m[1] + "'"
	switch {
	case strings.HasPrefix(m[2], "looking for beginning of object key string"):
		return c + " where a member name in double quotes should start (a comma too many before a }, or a name without quotes?)"
	case strings.HasPrefix(m[2], "after object key:value pair"):
		return c + " after a member, where a comma or } should be"
	case strings.HasPrefix(m[2], "after object key"):
		return c + " after a member name, where a colon should be"
	case strings.HasPrefix(m[2], "after array element"):
		return c + " after an array element, where a comma or ] should be"
	case strings.HasPrefix(m[2], "looking for beginning of value"):
		return c + " where a value should start (a comma too many before a ] or }, or text without quotes?)"
	case strings.HasPrefix(m[2], "in string literal"):
		return "a control character inside a string (a line break or tab there must be written \\n or \\t)"
	case strings.HasPrefix(m[2], "in string escape code"):
		return c + " after a backslash in a string: only \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX are escapes"
	case strings.HasPrefix(m[2], "after top-level value"):
		return c + " after the end of the JSON document"
	}
	return c + " is not valid JSON here"
}

// jsonKind names the kind of JSON value UnmarshalTypeError found ("object", "number", …).
func jsonKind(v string) string {
	if k, ok := map[string]string{"object": "a JSON object", "array": "a JSON array", "string": "a string", "number": "a number", "bool": "true or false"}[v]; ok {
		return k
	}
	return "a JSON " + v
}

// bodyErrorRE finds the position aws/template gives for a templateBody that is not JSON.
var bodyErrorRE = regexp.MustCompile(`not valid JSON: (.*) at line (\d+), column (\d+)$`)

// templateBodyProblem words a template.Parse error of body: a syntax error gets the place in
// the body (the template itself once the file's escaping is undone), its line and a caret.
func templateBodyProblem(body string, err error) string {
	msg := err.Error()
	m := bodyErrorRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	var line, col int
	fmt.Sscan(m[2], &line)
	fmt.Sscan(m[3], &col)
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(body[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(body); c++ {
		_, n := utf8.DecodeRuneInString(body[off:])
		off += n
	}
	return "the template (templateBody) is not valid JSON at " + jsonAt(body, off, plainSyntax(m[1]))
}
