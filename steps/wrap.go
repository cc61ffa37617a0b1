package steps

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Text laid out for the step's pane: prose, result lines, documents and shell commands each
// wrap their own way.

// hang indents a result or progress line by two cells and wraps it to width w with a hanging
// indent, so a long value reads as one item.
func hang(text string, w int) string {
	if w < 12 || ansi.StringWidth(text)+2 <= w {
		return "  " + text
	}
	lines := strings.Split(lipgloss.NewStyle().Width(w-4).Render(text), "\n")
	for i, l := range lines {
		if i == 0 {
			lines[i] = "  " + strings.TrimRight(l, " ")
		} else {
			lines[i] = "    " + strings.TrimRight(l, " ")
		}
	}
	return strings.Join(lines, "\n")
}

// wrapWords wraps prose at spaces only (never inside "--endpoint-url"), each paragraph on
// its own; a word wider than the line is cut.
func wrapWords(text string, width int) string {
	if width < 8 {
		return text
	}
	var out []string
	for _, para := range strings.Split(text, "\n") {
		cur := ""
		for _, word := range strings.Fields(para) {
			switch {
			case cur == "":
				cur = word
			case ansi.StringWidth(cur)+1+ansi.StringWidth(word) <= width:
				cur += " " + word
			default:
				out = append(out, cur)
				cur = word
			}
		}
		out = append(out, cur)
	}
	for i, l := range out {
		if ansi.StringWidth(l) > width {
			out[i] = ansi.Hardwrap(l, width, false)
		}
	}
	return strings.Join(out, "\n")
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
			return strings.Join(strings.Fields(text), " ")
		}
	}
	return text
}

// wrapCommand breaks a shell command line that is too wide at spaces, ending each continued
// line with " \\" so that the text on the screen still pastes into a shell. (lipgloss would
// also break at hyphens, splitting options like -extensions.) A word wider than the box is cut.
func wrapCommand(line string, width int) []string {
	if width < 12 || ansi.StringWidth(line) <= width {
		return []string{line}
	}
	var out []string
	cur := ""
	// A trailing shell comment must stay a comment when wrapped: its continuation
	// lines start with "#" again and get no backslash (inside a comment a backslash
	// does not continue the line, so the next line would run as a command).
	inComment := false
	flush := func(more bool) {
		if more && !inComment && ansi.StringWidth(cur)+2 <= width {
			cur += " \\"
		}
		out = append(out, cur)
	}
	for _, word := range strings.Split(line, " ") {
		indent := "    "
		if inComment {
			indent = "    # "
		}
		switch {
		case cur == "":
			cur = word
		case ansi.StringWidth(cur)+1+ansi.StringWidth(word)+2 <= width:
			cur += " " + word
		default:
			flush(true)
			cur = indent + word
			if ansi.StringWidth(cur)+2 > width {
				cur = word // a long word gets the whole line
				if inComment {
					cur = "#" + word
				}
			}
		}
		if strings.HasPrefix(word, "#") {
			inComment = true
		}
	}
	flush(false)
	var wrapped []string
	for _, l := range out {
		if ansi.StringWidth(l) > width {
			l = ansi.Hardwrap(l, width, true)
		}
		wrapped = append(wrapped, strings.Split(l, "\n")...)
	}
	return wrapped
}
