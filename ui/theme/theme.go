// Package theme holds jitpwiz's look and keys: one Styles built from a small semantic palette,
// and one KeyMap. It is a leaf package: steps/ and ui/ import it, it imports neither.
package theme

import (
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// Palette is the handful of semantic colours everything else is built from. Each adapts to a
// light or dark terminal background.
type Palette struct {
	Accent  lipgloss.AdaptiveColor
	Subtle  lipgloss.AdaptiveColor
	Text    lipgloss.AdaptiveColor
	Success lipgloss.AdaptiveColor
	Warning lipgloss.AdaptiveColor
	Error   lipgloss.AdaptiveColor
}

// DefaultPalette is jitpwiz's palette.
func DefaultPalette() Palette {
	return Palette{
		Accent:  lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#A78BFA"},
		Subtle:  lipgloss.AdaptiveColor{Light: "#6B7280", Dark: "#9CA3AF"},
		Text:    lipgloss.AdaptiveColor{Light: "#1F2937", Dark: "#E5E7EB"},
		Success: lipgloss.AdaptiveColor{Light: "#047857", Dark: "#34D399"},
		Warning: lipgloss.AdaptiveColor{Light: "#B45309", Dark: "#FBBF24"},
		Error:   lipgloss.AdaptiveColor{Light: "#B91C1C", Dark: "#F87171"},
	}
}

// Icons mark a step's state in the sidebar and a check line's outcome, and the few other
// glyphs of the chrome. A dumb terminal gets ASCII ones of the same width.
type Icons struct {
	Pending, Active, Done, Failed, Skipped string
	Bullet, Arrow                          string
	Ellipsis                               string // the end of a line cut to fit
	Separator                              string // between the keys of the footer
	Above, Below                           string // more content above / below the pane
	Here                                   string // marks the step on screen in the sidebar
}

// Styles is every style the wizard uses. Build it with DefaultStyles; never reach for a global.
type Styles struct {
	Palette Palette
	Icons   Icons
	// ASCII is set on a dumb terminal: every frame is drawn in ASCII only (see ASCII).
	ASCII bool

	App lipgloss.Style // outer margin of the whole screen

	Header     lipgloss.Style // app name line above the sidebar
	HeaderNote lipgloss.Style // target/workspace next to the name

	Sidebar        lipgloss.Style // frame of the step list
	SidebarPending lipgloss.Style
	SidebarActive  lipgloss.Style
	SidebarDone    lipgloss.Style
	SidebarFailed  lipgloss.Style
	SidebarSkipped lipgloss.Style

	Content  lipgloss.Style // frame of the content pane
	Title    lipgloss.Style // step title
	StepNo   lipgloss.Style // "Step 3 of 13"
	Explain  lipgloss.Style // the 2–4 line explanation
	Section  lipgloss.Style // small heading: "Inputs", "Command", "Result"
	Label    lipgloss.Style // a field label
	Focused  lipgloss.Style // the focused field's label
	Help     lipgloss.Style // the one-line help under a field
	Invalid  lipgloss.Style // inline validation error
	Option   lipgloss.Style // a list option
	Selected lipgloss.Style // the selected list option

	Command      lipgloss.Style // box around the equivalent command
	CommandText  lipgloss.Style
	Spinner      lipgloss.Style
	Progress     lipgloss.Style // event lines while a step runs
	ResultLabel  lipgloss.Style
	ResultValue  lipgloss.Style
	ResultFile   lipgloss.Style
	CheckOK      lipgloss.Style
	CheckFailed  lipgloss.Style
	Note         lipgloss.Style
	Document     lipgloss.Style // box around a multi-line document (template, policy, conf)
	Warning      lipgloss.Style
	Success      lipgloss.Style
	Banner       lipgloss.Style // error banner frame
	BannerTitle  lipgloss.Style
	BannerFix    lipgloss.Style
	Dialog       lipgloss.Style // quit confirmation
	Footer       lipgloss.Style // help line at the bottom
	Notice       lipgloss.Style // one-line "terminal too small" notice
	StatusLine   lipgloss.Style // transient messages ("copied")
	LintOK       lipgloss.Style
	LintProblem  lipgloss.Style
	PreviewTitle lipgloss.Style
}

// DefaultStyles builds the styles for renderer r (which decides colour support: NO_COLOR,
// TERM=dumb and non-terminals give plain text).
func DefaultStyles(r *lipgloss.Renderer) Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	p := DefaultPalette()
	s := Styles{Palette: p, Icons: unicodeIcons()}
	if dumbTerminal() {
		s.Icons, s.ASCII = asciiIcons(), true
	}
	border := lipgloss.RoundedBorder()
	if dumbTerminal() {
		border = lipgloss.ASCIIBorder()
	}

	n := r.NewStyle
	s.App = n().Padding(0, 1)
	s.Header = n().Bold(true).Foreground(p.Accent)
	s.HeaderNote = n().Foreground(p.Subtle)

	s.Sidebar = n().Border(border, false, true, false, false).BorderForeground(p.Subtle).PaddingRight(1).MarginRight(1)
	s.SidebarPending = n().Foreground(p.Subtle)
	s.SidebarActive = n().Bold(true).Foreground(p.Accent)
	s.SidebarDone = n().Foreground(p.Success)
	s.SidebarFailed = n().Foreground(p.Error)
	s.SidebarSkipped = n().Foreground(p.Subtle).Faint(true)

	s.Content = n()
	s.Title = n().Bold(true).Foreground(p.Accent)
	s.StepNo = n().Foreground(p.Subtle)
	s.Explain = n().Foreground(p.Text)
	s.Section = n().Bold(true).Foreground(p.Subtle)
	s.Label = n().Foreground(p.Text)
	s.Focused = n().Bold(true).Foreground(p.Accent)
	s.Help = n().Foreground(p.Subtle)
	s.Invalid = n().Foreground(p.Error)
	s.Option = n().Foreground(p.Text)
	s.Selected = n().Bold(true).Foreground(p.Accent)

	s.Command = n().Border(border).BorderForeground(p.Subtle).Padding(0, 1)
	s.CommandText = n().Foreground(p.Text)
	s.Spinner = n().Foreground(p.Accent)
	s.Progress = n().Foreground(p.Subtle)
	s.ResultLabel = n().Foreground(p.Subtle)
	s.ResultValue = n().Bold(true).Foreground(p.Text)
	s.ResultFile = n().Foreground(p.Text)
	s.CheckOK = n().Foreground(p.Success)
	s.CheckFailed = n().Foreground(p.Error)
	s.Note = n().Italic(true).Foreground(p.Text)
	s.Document = n().Border(border).BorderForeground(p.Subtle).Padding(0, 1)
	s.Warning = n().Foreground(p.Warning)
	s.Success = n().Bold(true).Foreground(p.Success)
	s.Banner = n().Border(border).BorderForeground(p.Error).Padding(0, 1)
	s.BannerTitle = n().Bold(true).Foreground(p.Error)
	s.BannerFix = n().Foreground(p.Text)
	s.Dialog = n().Border(border).BorderForeground(p.Warning).Padding(0, 1)
	s.Footer = n().Foreground(p.Subtle)
	s.Notice = n().Foreground(p.Warning)
	s.StatusLine = n().Foreground(p.Success)
	s.LintOK = n().Foreground(p.Success)
	s.LintProblem = n().Foreground(p.Warning)
	s.PreviewTitle = n().Bold(true).Foreground(p.Subtle)
	return s
}

func unicodeIcons() Icons {
	return Icons{Pending: "○", Active: "●", Done: "✓", Failed: "✗", Skipped: "–", Bullet: "•", Arrow: "›",
		Ellipsis: "…", Separator: " • ", Above: "↑", Below: "↓", Here: "‹"}
}

func asciiIcons() Icons {
	return Icons{Pending: "o", Active: "*", Done: "+", Failed: "x", Skipped: "-", Bullet: "-", Arrow: ">",
		Ellipsis: "~", Separator: " | ", Above: "^", Below: "v", Here: "<"}
}

// asciiGlyphs are the ASCII stand-ins, one cell each like the glyph they replace, for the
// non-ASCII characters of jitpwiz's text (icons, dashes, arrows, quotes, box corners).
var asciiGlyphs = strings.NewReplacer(
	"○", "o", "●", "*", "✓", "+", "✗", "x", "–", "-", "—", "-", "•", "*", "›", ">", "‹", "<",
	"…", "~", "·", "-", "→", ">", "←", "<", "↑", "^", "↓", "v", "↻", "~", "↷", ">", "×", "x",
	"≥", ">", "≤", "<", "‘", "'", "’", "'", "“", "\"", "”", "\"", "▲", "^", "▼", "v",
	"│", "|", "─", "-", "╭", "+", "╮", "+", "╰", "+", "╯", "+", "┌", "+", "┐", "+", "└", "+", "┘", "+",
)

// ASCII rewrites s for a terminal that shows only ASCII: each known glyph becomes its stand-in
// and any other non-ASCII character a "?" per cell, so that the layout keeps its widths.
func ASCII(s string) string {
	s = asciiGlyphs.Replace(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return asciiRest(s)
		}
	}
	return s
}

func asciiRest(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		w := ansi.StringWidth(string(r))
		b.WriteString(strings.Repeat("?", w))
	}
	return b.String()
}

// DarkBackground says whether the terminal's background is dark as far as the environment
// tells, without asking the terminal: COLORFGBG ("fg;bg", set by rxvt, Konsole, iTerm2 and
// others), else dark, the common case. Asking (OSC 11) is left to the wizard, which does
// not wait for the answer (ui/terminal.go).
func DarkBackground(getenv func(string) string) bool {
	v := getenv("COLORFGBG")
	i := strings.LastIndex(v, ";")
	if i < 0 {
		return true
	}
	bg, err := strconv.Atoi(v[i+1:])
	if err != nil {
		return true
	}
	return bg < 7 || bg == 8 // the dark ones of the 16 ANSI colours
}

// Dumb reports TERM=dumb: plain ASCII glyphs only (icons, borders, spinner).
func Dumb() bool { return dumbTerminal() }

// dumbTerminal reports TERM=dumb: no colour (lipgloss handles that) and no box-drawing glyphs.
func dumbTerminal() bool { return os.Getenv("TERM") == "dumb" }

// Plain reports that the renderer draws no colour at all (NO_COLOR, TERM=dumb, not a terminal).
func Plain(r *lipgloss.Renderer) bool { return r.ColorProfile() == termenv.Ascii }
