package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ptok is one element of a compiled wildcard pattern.
type ptok struct {
	kind byte // 'l' literal rune, '*' any sequence, '?' any one rune
	r    rune
}

// compile turns a policy string into wildcard tokens: `*` and `?` are wildcards,
// `$(*)`, `$(?)` and `$($)` are the literal characters, and `${var}` is replaced
// by the variable's value taken literally (a substituted value never acts as a
// wildcard). IAM's `${*}`, `${?}` and `${$}` are accepted as escapes too. If a variable cannot be resolved, compile returns the variable
// and why; such a pattern matches nothing.
func compile(pattern string, lookup func(name string) (string, string)) (toks []ptok, unresolvedVar, reason string) {
	toks = make([]ptok, 0, len(pattern))
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if c == '$' && i+3 < len(pattern) && pattern[i+1] == '(' && pattern[i+3] == ')' {
			switch pattern[i+2] {
			case '*', '?', '$':
				toks = append(toks, ptok{kind: 'l', r: rune(pattern[i+2])})
				i += 4
				continue
			}
		}
		if c == '$' && i+1 < len(pattern) && pattern[i+1] == '{' {
			if end := strings.IndexByte(pattern[i+2:], '}'); end >= 0 {
				name := pattern[i+2 : i+2+end]
				if name == "*" || name == "?" || name == "$" { // IAM's spelling of the escapes
					toks = append(toks, ptok{kind: 'l', r: rune(name[0])})
					i += 2 + end + 1
					continue
				}
				if lookup == nil {
					return nil, name, "no context to resolve ${" + name + "}"
				}
				val, why := lookup(name)
				if why != "" {
					return nil, name, why
				}
				for _, r := range val {
					toks = append(toks, ptok{kind: 'l', r: r})
				}
				i += 2 + end + 1
				continue
			}
		}
		switch c {
		case '*':
			toks = append(toks, ptok{kind: '*'})
			i++
			continue
		case '?':
			toks = append(toks, ptok{kind: '?'})
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(pattern[i:])
		toks = append(toks, ptok{kind: 'l', r: r})
		i += size
	}
	return toks, "", ""
}

// matchTokens reports whether s matches the compiled pattern. fold makes the
// comparison case-insensitive (actions are case-insensitive, resources not).
//
// A value that is not valid UTF-8 matches nothing: MQTT client IDs and topics
// are UTF-8, and comparing replacement characters would conflate bytes.
func matchTokens(toks []ptok, s string, fold bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	str := []rune(s)
	if fold {
		for k, r := range str {
			str[k] = unicode.ToLower(r)
		}
	}
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(str) {
		if p < len(toks) {
			t := toks[p]
			switch t.kind {
			case '*':
				starP, starI = p, i
				p++
				continue
			case '?':
				p++
				i++
				continue
			default:
				r := t.r
				if fold {
					r = unicode.ToLower(r)
				}
				if r == str[i] {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		p, i = starP+1, starI
	}
	for p < len(toks) && toks[p].kind == '*' {
		p++
	}
	return p == len(toks)
}

// Match reports whether value matches a policy pattern that has no variables
// (`*`, `?` wildcards, `$(*)`-style escapes; `+` and `#` are literal).
func Match(pattern, value string) bool {
	toks, v, _ := compile(pattern, nil)
	if v != "" {
		return false
	}
	return matchTokens(toks, value, false)
}

// MatchAction reports whether an action (e.g. "iot:Publish") matches an action
// pattern (e.g. "iot:*"), case-insensitively.
func MatchAction(pattern, action string) bool {
	toks, v, _ := compile(pattern, nil)
	if v != "" {
		return false
	}
	return matchTokens(toks, action, true)
}
