package steps

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/list"
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

// fieldModel is one input of a step: a textinput for free text, a list for a choice.
type fieldModel struct {
	field   Field
	styles  *theme.Styles
	text    *textinput.Model
	choice  *list.Model
	err     string // inline validation error
	focused bool
	edited  bool // the user typed or chose: a rebuild keeps the value instead of re-reading it
	width   int
}

func newField(st *theme.Styles, fd Field) *fieldModel {
	f := &fieldModel{field: fd, styles: st}
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
		opts = append([]Option{{Value: cur, Label: cur, Help: "current value"}}, opts...)
	}
	items := make([]list.Item, len(opts))
	sel := 0
	for i, o := range opts {
		items[i] = optionItem(o)
		if o.Value == cur {
			sel = i
		}
	}
	l := list.New(items, optionDelegate{styles: st}, 60, len(items))
	l.SetShowTitle(false)
	l.SetShowStatusBar(false)
	l.SetShowPagination(false)
	l.SetShowHelp(false)
	l.SetShowFilter(false)
	l.SetFilteringEnabled(false)
	l.DisableQuitKeybindings()
	l.Select(sel)
	f.choice = &l
	return f
}

func (f *fieldModel) isText() bool { return f.text != nil }

func (f *fieldModel) value() string {
	if f.text != nil {
		return strings.TrimSpace(f.text.Value())
	}
	if it, ok := f.choice.SelectedItem().(optionItem); ok {
		return it.Value
	}
	return ""
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
		f.text.Width = w - 3
		return
	}
	f.choice.SetSize(w, len(f.choice.Items()))
}

func (f *fieldModel) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	if f.text != nil {
		*f.text, cmd = f.text.Update(msg)
		return cmd
	}
	*f.choice, cmd = f.choice.Update(msg)
	return cmd
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
		b.WriteString(padLines(f.choice.View(), "  ") + "\n")
	}
	switch {
	case f.err != "":
		b.WriteString(padLines(st.Invalid.Width(f.width).Render(st.Icons.Failed+" "+f.err), "  ") + "\n")
	case f.field.Help != "":
		b.WriteString(padLines(st.Help.Width(f.width).Render(f.field.Help), "  ") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// optionItem is a list entry for one Option.
type optionItem Option

func (o optionItem) FilterValue() string { return o.Label }

// optionDelegate draws one option per line: marker, label, and its help when selected.
type optionDelegate struct{ styles *theme.Styles }

func (d optionDelegate) Height() int                         { return 1 }
func (d optionDelegate) Spacing() int                        { return 0 }
func (d optionDelegate) Update(tea.Msg, *list.Model) tea.Cmd { return nil }

func (d optionDelegate) Render(w io.Writer, m list.Model, index int, item list.Item) {
	o, ok := item.(optionItem)
	if !ok {
		return
	}
	st := d.styles
	line := "( ) " + o.Label
	style := st.Option
	if index == m.Index() {
		line = "(" + st.Icons.Active + ") " + o.Label
		style = st.Selected
		if o.Help != "" {
			line += " — " + o.Help
		}
	}
	if m.Width() > 0 {
		line = ansi.Truncate(line, m.Width(), "…")
	}
	fmt.Fprint(w, style.Render(line))
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
				return fmt.Errorf("%s: empty — type the path of the file (~/ works)", label)
			}
			p := v
			if rest, ok := strings.CutPrefix(p, "~/"); ok {
				if home, err := os.UserHomeDir(); err == nil {
					p = filepath.Join(home, rest)
				}
			}
			p, err := filepath.Abs(p)
			if err != nil {
				return fmt.Errorf("%s %s: %v", label, v, err)
			}
			fi, err := os.Stat(p)
			switch {
			case err != nil:
				return fmt.Errorf("%s %s: no such file — check the path", label, v)
			case fi.IsDir():
				return fmt.Errorf("%s %s is a directory — give the path of a file in it", label, v)
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
