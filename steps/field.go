package steps

import (
	"github.com/jitpwiz/jitpwiz/steps/i18n"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/ui/theme"
)

// Field is one input of a step. A step builds its fields bound to what they read and
// set (the session's options, or a choice the step keeps), so that the wizard and the
// runner's prompt set them alike.
type Field struct {
	Key     string   // flag-like name, e.g. "country"
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

func newField(st *theme.Styles, keys *theme.KeyMap, fd Field) *fieldModel {
	f := &fieldModel{field: fd, styles: st, keys: keys}
	cur := ""
	if fd.Get != nil {
		cur = fd.Get()
	}
	if len(fd.Choices) == 0 {
		ti := textinput.New()
		ti.Prompt = "> "
		ti.SetValue(cur)
		ti.CursorEnd()
		ti.PromptStyle = st.Help
		ti.TextStyle = st.Label
		if fd.Secret {
			ti.EchoMode = textinput.EchoPassword
		}
		f.text = &ti
		return f
	}
	opts := fd.Choices
	known := false
	for _, o := range opts {
		known = known || o.Value == cur
	}
	if !known && cur != "" {
		// the current value came from elsewhere (a flag, e.g. --template FILE): offer it first,
		// so that running with the defaults keeps it instead of silently picking option one
		opts = append([]Option{{Value: cur, Label: cur, Help: i18n.T("base.current-value")}}, opts...)
	}
	c := &pickModel{options: opts}
	for i, o := range opts {
		if o.Value == cur {
			c.sel = i
		}
	}
	f.choice = c
	return f
}

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

func (f *fieldModel) view() string {
	st := f.styles
	var b strings.Builder
	label := st.Label.Render(f.field.Label)
	if f.focused {
		label = st.Focused.Render(st.Icons.Arrow + " " + f.field.Label)
	} else {
		label = "  " + label
	}
	b.WriteString(label + "\n")
	if f.text != nil {
		b.WriteString("  " + f.text.View() + "\n")
	} else {
		b.WriteString(padLines(f.choice.view(st, f.width), "  ") + "\n")
	}
	switch {
	case f.err != "":
		b.WriteString(padLines(st.Invalid.Render(wrapWords(st.Icons.Failed+" "+f.err, f.width)), "  ") + "\n")
	case f.field.Help != "":
		b.WriteString(padLines(st.Help.Render(wrapWords(f.field.Help, f.width)), "  ") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// view draws one option a line — marker, label, and the selected one's description — the
// description wrapped to the width under the label.
func (c *pickModel) view(st *theme.Styles, width int) string {
	var lines []string
	for i, o := range c.options {
		if i != c.sel {
			lines = append(lines, st.Option.Render(ansi.Truncate("( ) "+o.Label, width, st.Icons.Ellipsis)))
			continue
		}
		line := "(" + st.Icons.Active + ") " + o.Label
		if o.Help != "" {
			line += " — " + o.Help
		}
		for _, l := range strings.Split(hangWords(line, width, "    "), "\n") { // under the label, past the marker
			lines = append(lines, st.Selected.Render(l))
		}
	}
	return strings.Join(lines, "\n")
}

func padLines(s, pad string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n")
}

// pathField is a file path input. Empty, missing and directory paths are refused naming the
// field; set receives an absolute path and checks the content. Get is left out while the
// option holds no file: an input left empty is then still checked when the step runs (an
// unchanged value counts as valid).
func pathField(key, label, help string, get func() string, set func(p string) error) Field {
	f := Field{Key: key, Label: label, Help: help,
		Set: func(v string) error {
			if v == "" {
				return i18n.NewError("base.path.empty", i18n.Args{"Field": label})
			}
			p := v
			if rest, ok := strings.CutPrefix(p, "~/"); ok {
				if home, err := os.UserHomeDir(); err == nil {
					p = filepath.Join(home, rest)
				}
			}
			p, err := filepath.Abs(p)
			if err != nil {
				return i18n.WrapError(err, "base.path.bad", i18n.Args{"Field": label, "Value": v})
			}
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				return i18n.NewError("base.path.missing", i18n.Args{"Field": label, "Value": v})
			case fi.IsDir():
				return i18n.NewError("base.path.dir", i18n.Args{"Field": label, "Value": v})
			}
			return set(p)
		}}
	f.Get = get
	return f
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
