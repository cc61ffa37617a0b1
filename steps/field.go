package steps

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// Field is one input of a step. A step builds its fields bound to what they read and
// set (the session's options, or a choice the step keeps), so that the wizard and the
// runner's prompt set them alike.
type Field struct {
	Flag    string   // flag-like name, e.g. "country"
	Label   string   // "Country (2 letters)"
	Help    string   // one line shown under the input
	Choices []Option // non-empty: choose one of these (list), else free text
	Secret  bool     // never echo (passphrases)
	// Within is the key of the choice that brought this input (e.g. the CA files of "use
	// existing files"): esc in it goes back to that choice.
	Within string
	// Get returns the current value (the default when the user set nothing). It may be nil
	// for an input with no value yet (a file path to type): Set then checks every value,
	// even an unchanged empty one, so the step cannot run with it left empty.
	Get func() string
	// Set validates and stores a value; the error names the field and the fix.
	Set func(v string) error
}

// Option is one choice of a list input.
type Option struct {
	Value string
	Label string
	Help  string
}

// fieldModel is one input of a step: a textinput for free text, a list of options for a
// choice.
type fieldModel struct {
	field   Field
	styles  *theme.Styles
	keys    *theme.KeyMap
	text    *textinput.Model
	choice  *pickModel
	err     string // inline validation error
	focused bool
	edited  bool // the user typed or chose: a rebuild keeps the value instead of re-reading it
	width   int
}

// pickModel is a choice's options and the selected one.
type pickModel struct {
	options []Option
	sel     int
}

// maxTextWidth is the widest a text input gets (a path or a name, not a paragraph).
const maxTextWidth = 72

func (f *fieldModel) isText() bool { return f.text != nil }

func (f *fieldModel) value() string {
	if f.text != nil {
		return strings.TrimSpace(f.text.Value())
	}
	if len(f.choice.options) == 0 {
		return ""
	}
	return f.choice.options[f.choice.sel].Value
}

func (f *fieldModel) focus() {
	f.focused = true
	if f.text != nil {
		f.text.Focus()
	}
}

func (f *fieldModel) blur() {
	f.focused = false
	if f.text != nil {
		f.text.Blur()
	}
}

func (f *fieldModel) setWidth(w int) {
	f.width = w
	if f.text != nil {
		f.text.Width = min(w, maxTextWidth) - 3
	}
}

func (f *fieldModel) update(msg tea.Msg) tea.Cmd {
	if f.text != nil {
		var cmd tea.Cmd
		*f.text, cmd = f.text.Update(msg)
		return cmd
	}
	if k, ok := msg.(tea.KeyMsg); ok && f.keys != nil {
		switch {
		case key.Matches(k, f.keys.Up) && f.choice.sel > 0:
			f.choice.sel--
		case key.Matches(k, f.keys.Down) && f.choice.sel < len(f.choice.options)-1:
			f.choice.sel++
		}
	}
	return nil
}

// withGet keeps f's Get only while it returns a value (see pathField).
func withGet(fs []Field) []Field {
	for i := range fs {
		if fs[i].Get != nil && fs[i].Get() == "" {
			fs[i].Get = nil
		}
	}
	return fs
}

// within marks fields as brought by the choice key: esc in one of them goes back to it.
func within(key string, fs []Field) []Field {
	for i := range fs {
		fs[i].Within = key
	}
	return fs
}
