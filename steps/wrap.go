package steps

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/rivo/uniseg"
)

// Text laid out for the step's pane: prose, result lines, documents and shell commands each
// wrap their own way.

// hang indents a result or progress line by two cells and wraps it to width w with a hanging
// indent, so a long value reads as one item. It breaks at spaces only, so an ARN, a region or
// an option keeps its hyphens on one line. A word too wide for an indented line gets a line
// of its own at the item's indent; one wider than that too is an ARN shortened at its end
// ("…": the IDs in it are shown whole on lines of their own), or else any other word (a
// hex ID) cut at the edge.
func hang(text string, w int) string {
	if w < 12 || ansi.StringWidth(text)+2 <= w {
		return "  " + text
	}
	const first, rest = "  ", "    "
	var lines []string
	cur, sep := "", ""
	for _, tok := range tokens(text) {
		word := tok.text
		n := ansi.StringWidth(word)
		prevSep := sep
		sep = map[bool]string{true: " ", false: ""}[tok.space]
		switch {
		case cur == "":
			cur = first + word
			if n+len(first) <= w {
				continue
			}
		case ansi.StringWidth(cur)+len(prevSep)+n <= w:
			cur += prevSep + word
			continue
		default:
			lines = append(lines, cur)
			cur = rest + word
			if n+len(rest) <= w {
				continue
			}
		}
		// the word fits no indented line
		switch {
		case n+len(first) <= w:
			cur = first + word
		case isARN(word):
			cur = first + ansi.Truncate(word, w-len(first), "…")
		default:
			pieces := breakLong(word, w-len(rest))
			if cur == first+word && len(lines) == 0 {
				lines = append(lines, first+pieces[0])
			} else {
				lines = append(lines, rest+pieces[0])
			}
			for _, p := range pieces[1 : len(pieces)-1] {
				lines = append(lines, rest+p)
			}
			cur = rest + pieces[len(pieces)-1]
		}
	}
	return strings.Join(append(lines, cur), "\n")
}

// isARN reports whether a word (styled or not) is an Amazon Resource Name.
func isARN(word string) bool {
	return strings.HasPrefix(strings.TrimLeft(ansi.Strip(word), "(\"'"), "arn:")
}

// wrapWords wraps prose at spaces only (never inside "--endpoint-url"), each paragraph on
// its own; a word wider than the line is cut.
func wrapWords(text string, width int) string {
	if width < 8 {
		return text
	}
	var out []string
	for _, para := range strings.Split(text, "\n") {
		cur, sep := "", ""
		for _, tok := range tokens(para) {
			switch {
			case cur == "":
				cur = tok.text
			case ansi.StringWidth(cur)+len(sep)+ansi.StringWidth(tok.text) <= width:
				cur += sep + tok.text
			default:
				out = append(out, cur)
				cur = tok.text
			}
			sep = map[bool]string{true: " ", false: ""}[tok.space]
		}
		out = append(out, cur)
	}
	for i, l := range out {
		if ansi.StringWidth(l) > width {
			out[i] = strings.Join(breakLong(l, width), "\n")
		}
	}
	return strings.Join(out, "\n")
}

// breakLong cuts a word wider than width (styles and all) into lines of width, each cut
// after the line's last separator (/ : , =) unless that leaves it shorter than a third, so
// that an ARN breaks between its parts rather than inside an ID.
func breakLong(word string, width int) []string {
	var out []string
	for ansi.StringWidth(word) > width {
		plain := []rune(ansi.Strip(word))
		cut, w := 0, 0
		for cut < len(plain) && w+ansi.StringWidth(string(plain[cut])) <= width {
			w += ansi.StringWidth(string(plain[cut]))
			cut++
		}
		at := w
		for j, cw := cut, w; j > max(1, cut/3); j-- {
			if strings.ContainsRune("/:,=", plain[j-1]) {
				at = cw
				break
			}
			cw -= ansi.StringWidth(string(plain[j-1]))
		}
		out = append(out, ansi.Cut(word, 0, at))
		word = ansi.Cut(word, at, ansi.StringWidth(word))
	}
	return append(out, word)
}

// hangWords wraps text at spaces to width, its lines after the first indented by indent.
func hangWords(text string, width int, indent string) string {
	first := strings.SplitN(wrapWords(text, width), "\n", 2)
	if len(first) == 1 {
		return first[0]
	}
	rest := strings.Split(wrapWords(joinLines(first[1]), width-len(indent)), "\n")
	for i, l := range rest {
		rest[i] = indent + l
	}
	return first[0] + "\n" + strings.Join(rest, "\n")
}

// wrapDocument cuts lines wider than the box at the box's edge (JSON and PEM must not be
// word-wrapped at hyphens: "us-east-2" would read as two values).
func wrapDocument(text string, width int) string {
	if width < 8 {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Hardwrap(l, width, true)
		}
	}
	return strings.Join(lines, "\n")
}

// reflow keeps the explanation's own line breaks when every line fits, and otherwise joins
// them into one paragraph so the wrap does not leave ragged half-lines.
func reflow(text string, width int) string {
	for _, l := range strings.Split(text, "\n") {
		if ansi.StringWidth(l) > width {
			return joinLines(text)
		}
	}
	return text
}

// Shell commands are laid out so that what the box shows, pasted into a shell line by line
// as it stands, runs the same command as the text behind it (what c copies): lines break
// only between words (outside quotes and escapes), a continued line ends with " \\", and a
// word too wide for a line of its own goes on over several lines with a continuation the
// shell joins without a space (see splitWord). A quoted here-document whose lines do not fit
// is shown unquoted, its long lines continued with a backslash (see wrapHeredoc).

const contIndent = "    " // the indent of a continued line

// wrapShell lays out one command (several lines when it holds a here-document) in width
// cells.
func wrapShell(cmd string, width int) []string {
	lines := strings.Split(cmd, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		delim, quoted := heredocStart(lines[i])
		if delim == "" {
			out = append(out, wrapCommand(lines[i], width)...)
			continue
		}
		end := i + 1
		for end < len(lines) && lines[end] != delim {
			end++
		}
		out = append(out, wrapHeredoc(lines[i], delim, quoted, lines[i+1:end], width)...)
		if end < len(lines) {
			out = append(out, lines[end])
		}
		i = end
	}
	return out
}

// heredocStart finds a here-document in a command line: its delimiter and whether it is
// quoted (<<'EOF': the body is taken literally).
func heredocStart(line string) (delim string, quoted bool) {
	words, _, _ := tokenize(line)
	for _, w := range words {
		rest, ok := strings.CutPrefix(w, "<<")
		if !ok || rest == "" {
			continue
		}
		rest = strings.TrimPrefix(rest, "-")
		if len(rest) > 2 && rest[0] == '\'' && rest[len(rest)-1] == '\'' {
			return rest[1 : len(rest)-1], true
		}
		return rest, false
	}
	return "", false
}

// wrapHeredoc lays out a here-document: its first line wrapped as a command, the body as it
// is when every line fits. A body line that does not fit can only be broken where the shell
// joins it again, which it does in an unquoted here-document (a backslash before the line
// end): a quoted one whose body has nothing the shell would expand ($, `, \\) is therefore
// shown unquoted, with its long lines broken at the width.
func wrapHeredoc(first, delim string, quoted bool, body []string, width int) []string {
	fits := true
	for _, l := range body {
		fits = fits && ansi.StringWidth(l) <= width
	}
	if fits || width < 12 || strings.ContainsAny(strings.Join(body, ""), "$`\\") {
		return append(wrapCommand(first, width), body...)
	}
	if quoted {
		first = strings.Replace(first, "<<'"+delim+"'", "<<"+delim, 1)
	}
	out := wrapCommand(first, width)
	for _, l := range body {
		for ansi.StringWidth(l) > width {
			cut := ansi.Truncate(l, width-1, "")
			if sp := strings.LastIndex(cut, " "); sp > len(cut)-16 && sp > 0 {
				cut = cut[:sp+1] // after a space: the shell keeps it, and the line reads better
			}
			out = append(out, cut+"\\")
			l = l[len(cut):]
		}
		out = append(out, l)
	}
	return out
}

// wrapCommand lays out one line of a shell command in width cells (see above). A trailing
// comment stays a comment: its continuation lines start with "#" again and get no
// backslash (inside a comment a backslash does not continue the line).
func wrapCommand(line string, width int) []string {
	if width < 12 || ansi.StringWidth(line) <= width {
		return []string{line}
	}
	words, gap, comment := tokenize(line)
	var out []string
	cur := ""
	w := ansi.StringWidth
	for i, word := range words {
		more := i < len(words)-1 || comment != ""
		switch {
		case cur == "":
		case w(cur)+1+w(word)+2 <= width || (!more && w(cur)+1+w(word) <= width):
			cur += " " + word
			continue
		default:
			out = append(out, cur+" \\")
			cur = ""
		}
		switch {
		case w(word)+2 <= width-len(contIndent) || (!more && w(word) <= width-len(contIndent)):
			if len(out) > 0 {
				cur = contIndent + word
			} else {
				cur = word
			}
		case w(word)+2 <= width || (!more && w(word) <= width):
			cur = word // a long word gets the whole line
		default:
			room := width
			if more {
				room -= 2 // its last piece is followed by " \\"
			}
			pieces := splitWord(word, room)
			out = append(out, pieces[:len(pieces)-1]...)
			cur = pieces[len(pieces)-1]
			if more {
				out = append(out, cur+" \\")
				cur = ""
			}
		}
	}
	if comment == "" {
		return append(out, cur)
	}
	// the comment: on the command's last line if its first word fits, then on lines of its own
	cwords := strings.Fields(comment)
	for i, cw := range cwords {
		switch {
		case i == 0 && cur != "" && w(cur)+len(gap)+w(cw) <= width:
			cur += gap + cw
		case i == 0 && cur != "":
			out = append(out, cur)
			cur = cw
		case i == 0:
			cur = cw
		case w(cur)+1+w(cw) <= width:
			cur += " " + cw
		default:
			out = append(out, cur)
			cur = contIndent + "# " + cw
		}
	}
	out = append(out, cur)
	for i, l := range out {
		if w(l) > width && strings.Contains(l, "#") {
			out[i] = ansi.Truncate(l, width, "")
		}
	}
	return out
}

// tokenize splits one command line into its words as the shell delimits them — at
// spaces outside quotes and escapes — each kept as written, and its trailing comment (from
// an unquoted # that starts a word) with the spaces before it.
func tokenize(line string) (words []string, gap, comment string) {
	var cur strings.Builder
	quote := byte(0)
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			}
		case quote == '"':
			if c == '\\' && i+1 < len(line) {
				cur.WriteByte(c)
				i++
				c = line[i]
			} else if c == '"' {
				quote = 0
			}
		case c == '\\' && i+1 < len(line):
			cur.WriteByte(c)
			i++
			c = line[i]
		case c == '\'' || c == '"':
			quote = c
		case c == ' ' || c == '\t':
			flush()
			continue
		case c == '#' && cur.Len() == 0:
			flush()
			j := i
			for j > 0 && (line[j-1] == ' ' || line[j-1] == '\t') {
				j--
			}
			return words, line[j:i], line[i:]
		}
		cur.WriteByte(c)
	}
	flush()
	return words, "", ""
}

// splitWord cuts a word wider than a line into pieces of at most width cells that the shell
// joins back into the same word: a piece ends in a backslash
// where the cut falls outside quotes or inside double quotes (the shell drops a backslash
// before a line end there), and in '\\ where it falls inside single quotes, the next piece
// opening the quote again. A cut never separates a backslash from what it escapes.
func splitWord(word string, width int) []string {
	type cell struct {
		text  string // one character, or a backslash with the character it escapes
		quote byte   // the quoting in force after it
	}
	var cells []cell
	quote := byte(0)
	for i := 0; i < len(word); {
		_, n := utf8.DecodeRuneInString(word[i:])
		c := word[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			}
		case c == '\\' && i+n < len(word): // the escaped character goes with its backslash
			_, m := utf8.DecodeRuneInString(word[i+n:])
			n += m
		case quote == '"' && c == '"':
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		}
		cells = append(cells, cell{text: word[i : i+n], quote: quote})
		i += n
	}
	suffix := func(q byte) string {
		if q == '\'' {
			return "'\\"
		}
		return "\\"
	}
	var out []string
	for start := 0; start < len(cells); {
		pre := ""
		if start > 0 && cells[start-1].quote == '\'' {
			pre = "'" // the quote the previous piece closed opens again
		}
		w := len(pre)
		rest := w
		for _, c := range cells[start:] {
			rest += ansi.StringWidth(c.text)
		}
		if rest <= width {
			out = append(out, pre+joinCells(cells[start:], func(c cell) string { return c.text }))
			break
		}
		end := start
		for end < len(cells) && w+ansi.StringWidth(cells[end].text)+len(suffix(cells[end].quote)) <= width {
			w += ansi.StringWidth(cells[end].text)
			end++
		}
		end = max(end, start+1)
		// a cut after a separator (/ : , =) reads better than one inside a name or an ID: the
		// piece's last one, unless that leaves the piece shorter than a third of it
		for j := end; j > start+max(1, (end-start)/3); j-- {
			if strings.Contains("/:,=", cells[j-1].text) {
				end = j
				break
			}
		}
		out = append(out, pre+joinCells(cells[start:end], func(c cell) string { return c.text })+suffix(cells[end-1].quote))
		start = end
	}
	return out
}

func joinCells[C any](cs []C, text func(C) string) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(text(c))
	}
	return b.String()
}

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
