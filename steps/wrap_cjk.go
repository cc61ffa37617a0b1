package steps

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Wrapping text that mixes Latin and Chinese or Japanese: Chinese and Japanese are written
// without spaces, so a line may break between two of their characters — where Unicode's line
// breaking rules (UAX #14, rivo/uniseg) allow it: never before 。、」 or after 「 — and the
// break adds no space. Everywhere else a line breaks only at a space, as in English (a path,
// an ARN or "Just-in-Time" is never cut at its / or -). Korean is written with spaces
// between words and breaks there.

// token is a piece of a paragraph that a line break may follow: a word (Latin or Korean) or a
// run of Chinese or Japanese up to a place UAX #14 allows a break. space: a space followed it.
type token struct {
	text  string
	space bool
}

// tokens splits one paragraph (no newline) into its tokens; runs of spaces are one space,
// leading and trailing spaces are dropped. Text with escape codes (styled) breaks at spaces
// only.
func tokens(para string) []token {
	if strings.ContainsRune(para, '\x1b') || !hasCJK(para) {
		var out []token
		for _, w := range strings.Fields(para) {
			out = append(out, token{text: w, space: true})
		}
		return out
	}
	var out []token
	cur := ""
	state := -1
	rest := strings.TrimLeftFunc(para, unicode.IsSpace)
	for rest != "" {
		var seg string
		seg, rest, _, state = uniseg.FirstLineSegmentInString(rest, state)
		word := strings.TrimRightFunc(seg, unicode.IsSpace)
		spaced := len(word) < len(seg)
		cur += word
		if spaced {
			if cur != "" {
				out = append(out, token{text: cur, space: true})
			}
			cur = ""
			continue
		}
		// a break opportunity without a space: taken next to a Chinese or Japanese character
		last, _ := utf8.DecodeLastRuneInString(word)
		next, _ := utf8.DecodeRuneInString(rest)
		if rest != "" && (isCJKBreak(last) || isCJKBreak(next)) {
			out = append(out, token{text: cur})
			cur = ""
		}
	}
	if cur != "" {
		out = append(out, token{text: cur, space: true})
	}
	return out
}

// isCJKBreak reports whether r is Chinese or Japanese (Han, kana, CJK punctuation, full-width
// forms): text a line may break inside of without a space.
func isCJKBreak(r rune) bool {
	return unicode.Is(unicode.Han, r) || r >= 0x3000 && r <= 0x30FF || r >= 0x31F0 && r <= 0x31FF || r >= 0xFF00 && r <= 0xFFEF
}

func hasCJK(s string) bool {
	for _, r := range s {
		if isCJKBreak(r) {
			return true
		}
	}
	return false
}

// joinLines joins the lines of a paragraph into one: with a space, except where both sides
// of the break are Chinese or Japanese, or one is full-width punctuation (no space is written
// there).
func joinLines(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			continue
		}
		if b.Len() > 0 {
			last, _ := utf8.DecodeLastRuneInString(b.String())
			first, _ := utf8.DecodeRuneInString(l)
			if !(isCJKBreak(last) && isCJKBreak(first) || isFullWidthPunct(last) || isFullWidthPunct(first)) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

func isFullWidthPunct(r rune) bool {
	return r >= 0x3000 && r <= 0x303F || r >= 0xFF00 && r <= 0xFF65
}
