package steps

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
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
		return i18n.T("jsonerr.empty")
	case errors.As(err, &se) && strings.Contains(se.Error(), "unexpected end"):
		return jsonAt(string(src), len(src), plainSyntax(se.Error()))
	case errors.As(err, &se):
		return jsonAt(string(src), int(se.Offset)-1, plainSyntax(se.Error()))
	case errors.As(err, &te):
		what := i18n.T("jsonerr.kind.object")
		if te.Field != "" {
			what = i18n.T("jsonerr.field-kind", i18n.Args{"Field": te.Field, "Kind": te.Type.Kind().String()})
		}
		return jsonAt(string(src), int(te.Offset)-1, i18n.T("jsonerr.wrong-type", i18n.Args{"Value": jsonKind(te.Value), "What": what}))
	case strings.Contains(err.Error(), "unexpected end of JSON input"):
		return jsonAt(string(src), len(src), i18n.T("jsonerr.unexpected-end"))
	}
	return i18n.T("jsonerr.invalid")
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
	// A long line shows its end, the part before the spot: at most width columns of the
	// terminal (a double-width rune counts two), cut between runes.
	const width = 60
	if ansi.StringWidth(text) > width {
		runes := []rune(text)
		i, w := len(runes), 0
		for i > 0 && w+ansi.StringWidth(string(runes[i-1])) <= width {
			i--
			w += ansi.StringWidth(string(runes[i]))
		}
		text = "…" + string(runes[i:])
	}
	if text == "" {
		text = i18n.T("jsonerr.end-of-line")
	}
	return i18n.T("jsonerr.at", i18n.Args{"Line": line, "Col": col, "What": what, "Text": text})
}

var syntaxRE = regexp.MustCompile(`invalid character '(.+)' (.*)`)

// plainSyntax words a json.SyntaxError message.
func plainSyntax(msg string) string {
	msg = strings.TrimPrefix(msg, "json: ")
	m := syntaxRE.FindStringSubmatch(msg)
	if m == nil {
		if strings.Contains(msg, "unexpected end of") {
			return i18n.T("jsonerr.unexpected-end")
		}
		return i18n.T("jsonerr.invalid-here")
	}
	c := i18n.Args{"Char": "'" + m[1] + "'"}
	switch {
	case strings.HasPrefix(m[2], "looking for beginning of object key string"):
		return i18n.T("jsonerr.syntax.key-start", c)
	case strings.HasPrefix(m[2], "after object key:value pair"):
		return i18n.T("jsonerr.syntax.after-member", c)
	case strings.HasPrefix(m[2], "after object key"):
		return i18n.T("jsonerr.syntax.after-key", c)
	case strings.HasPrefix(m[2], "after array element"):
		return i18n.T("jsonerr.syntax.after-element", c)
	case strings.HasPrefix(m[2], "looking for beginning of value"):
		return i18n.T("jsonerr.syntax.value-start", c)
	case strings.HasPrefix(m[2], "in string literal"):
		return i18n.T("jsonerr.syntax.control-char")
	case strings.HasPrefix(m[2], "in string escape code"):
		return i18n.T("jsonerr.syntax.escape", c)
	case strings.HasPrefix(m[2], "after top-level value"):
		return i18n.T("jsonerr.syntax.after-document", c)
	}
	return i18n.T("jsonerr.syntax.other", c)
}

// jsonKind names the kind of JSON value UnmarshalTypeError found ("object", "number", …).
func jsonKind(v string) string {
	if k, ok := jsonKinds[v]; ok {
		return i18n.T(k)
	}
	return i18n.T("jsonerr.kind.other", i18n.Args{"Kind": v})
}

// jsonKinds are the words of the kinds of JSON value.
var jsonKinds = map[string]i18n.Key{"object": "jsonerr.kind.object", "array": "jsonerr.kind.array", "string": "jsonerr.kind.string",
	"number": "jsonerr.kind.number", "bool": "jsonerr.kind.bool"}

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
	return i18n.T("jsonerr.template-body", i18n.Args{"Where": jsonAt(body, off, plainSyntax(m[1]))})
}
