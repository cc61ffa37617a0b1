// Package i18ntest helps the tests of translated screens: EnglishRuns finds English left in
// text rendered in Korean, Japanese or Chinese (outside commands, file names and
// identifiers, which stay English in every language).
package i18ntest

import (
	"strings"
	"testing"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// Options tune EnglishRuns.
type Options struct {
	// MinWords is how many English words in a row make a run (default 3).
	MinWords int
	// Allow are phrases that stay English in every language (product names such as
	// "AWS IoT Core" are identifiers already; add e.g. "Hello from" for a message payload).
	Allow []string
	// Commands are more command names whose lines are commands (besides DefaultCommands).
	Commands []string
}

// DefaultCommands are the programs whose command lines the wizard shows: a line that starts
// with one of them (after a box border, a prompt "$ " or a bullet) is a command.
var DefaultCommands = []string{"openssl", "aws", "mosquitto_pub", "mosquitto_sub", "jitpwiz", "cat", "export", "curl",
	"cd", "bash", "sed", "zip", "timedatectl", "sudo", "echo", "go", "make", "tar"}

// Run is English found in a rendered text: its line (1-based) and the words.
type Run struct {
	Line int
	Text string
}

// EnglishRuns returns the runs of at least MinWords English words in text (ANSI codes are
// stripped). What is not English prose is left out: text in `backticks`, command lines (a
// line whose first word is a command, and the lines it continues onto with a trailing \),
// and identifiers — words with digits or any of . _ / - : = @ $ * < > { } # ~, ALL-CAPS
// words (CA, JITP, ACTIVE), camelCase and other mixed-case words (deviceRootCA, IoT,
// DemoThing). Identifiers are transparent (they neither count nor end a run); a CJK, Hangul
// or Kana character, a box-drawing character, a separator (· • │ → ✓ ✗) or the end of the
// line ends a run.
func EnglishRuns(text string, o Options) []Run {
	if o.MinWords <= 0 {
		o.MinWords = 3
	}
	cmds := map[string]bool{}
	for _, c := range append(append([]string(nil), DefaultCommands...), o.Commands...) {
		cmds[c] = true
	}
	var out []Run
	continued := false
	for i, line := range strings.Split(ansi.Strip(text), "\n") {
		for _, a := range o.Allow {
			line = strings.ReplaceAll(line, a, " ")
		}
		line = dropBackticks(line)
		for _, seg := range segments(line) {
			body := strings.TrimSpace(seg)
			body = strings.TrimPrefix(body, "$ ")
			isCmd := continued
			if f := strings.Fields(body); len(f) > 0 && cmds[f[0]] {
				isCmd = true
			}
			if isCmd {
				continued = strings.HasSuffix(body, "\\")
				continue
			}
			continued = false
			var run []string
			flush := func() {
				if len(run) >= o.MinWords {
					out = append(out, Run{Line: i + 1, Text: strings.Join(run, " ")})
				}
				run = nil
			}
			for _, tok := range strings.Fields(seg) {
				switch classify(tok) {
				case word:
					run = append(run, strings.Trim(tok, edgePunct))
				case breaker:
					flush()
				}
			}
			flush()
		}
	}
	return out
}

// segments splits a rendered line at box borders and separators: the sidebar, the content
// and a box's inside are separate texts even on one line.
func segments(line string) []string {
	return strings.FieldsFunc(line, func(r rune) bool { return isSeparator(r) })
}

func isSeparator(r rune) bool {
	return r >= 0x2500 && r <= 0x259F || strings.ContainsRune("·•│|→←✓✗✔✘▸▶●○◆◇", r)
}

func dropBackticks(line string) string {
	var b strings.Builder
	in := false
	for _, r := range line {
		if r == '`' {
			in = !in
			b.WriteRune(' ')
			continue
		}
		if !in {
			b.WriteRune(r)
		}
	}
	return b.String()
}

type class int

const (
	neutral class = iota // an identifier, a number, punctuation: neither counts nor ends a run
	word                 // an English word
	breaker              // text in another script: ends a run
)

// edgePunct is the punctuation a word may carry at its ends in a sentence.
const edgePunct = `,.;:!?()[]"'“”‘’…`

func classify(tok string) class {
	for _, r := range tok {
		if isCJK(r) {
			return breaker
		}
	}
	w := strings.Trim(tok, edgePunct)
	if w == "" || strings.ContainsAny(w, "0123456789._/-:=@$*<>{}#~\\+%&^|") {
		return neutral
	}
	upper, lower, other := 0, 0, 0
	for _, r := range w {
		switch {
		case r >= 'A' && r <= 'Z':
			upper++
		case r >= 'a' && r <= 'z':
			lower++
		default:
			other++
		}
	}
	if other > 0 {
		return neutral // an accented name, a symbol
	}
	first := rune(w[0])
	switch {
	case upper == 0: // lower case: "the", "device"
		return word
	case upper == 1 && first >= 'A' && first <= 'Z' && lower > 0: // Capitalized: "The"
		return word
	case upper == 1 && lower == 0: // "A", "I"
		return word
	}
	return neutral // ALL CAPS, camelCase, IoT
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hangul, unicode.Hiragana, unicode.Katakana) ||
		r >= 0x3000 && r <= 0x303F || r >= 0xFF00 && r <= 0xFFEF // CJK punctuation, full-width forms
}

// NoEnglish fails t for every English run in text, naming the screen, the line and the words.
func NoEnglish(t testing.TB, screen, text string, o Options) {
	t.Helper()
	for _, r := range EnglishRuns(text, o) {
		t.Errorf("%s, line %d: English left in the translated text: %q", screen, r.Line, r.Text)
	}
}
