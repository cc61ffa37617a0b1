package theme

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// KeyMap is every binding of the wizard. Steps and the root share one *KeyMap, built once by
// DefaultKeyMap and passed down; a binding that does not apply right now is disabled
// (SetEnabled(false)) so the help hides it and key.Matches ignores it.
type KeyMap struct {
	Run    key.Binding // run the step / continue to the next one
	Back   key.Binding // previous step (inside a field revealed by a choice: back to the choice)
	Retry  key.Binding // run the step again after an error, or redo a finished one
	Copy   key.Binding // copy the equivalent command (OSC 52)
	Help   key.Binding // toggle full help
	Quit   key.Binding // leave (asks first while a step runs)
	Up     key.Binding // previous option / field
	Down   key.Binding // next option / field
	Next   key.Binding // next field
	Prev   key.Binding // previous field (as in huh: a form's shift+tab, never the previous step)
	Yes    key.Binding // confirm a question
	No     key.Binding // refuse a question
	Scroll key.Binding // page through long content (shown in full help only)
	Mouse  key.Binding // let the terminal have the mouse (native selection) or take it back (wheel)
}

// DefaultKeyMap returns jitpwiz's bindings.
func DefaultKeyMap() *KeyMap {
	return &KeyMap{
		Run:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", i18n.T("ui.key.run-continue"))),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", i18n.T("ui.key.back"))),
		Retry:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", i18n.T("ui.key.retry-redo"))),
		Copy:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", i18n.T("ui.key.copy"))),
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", i18n.T("ui.key.help"))),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", i18n.T("ui.key.quit"))),
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", i18n.T("ui.key.up"))),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", i18n.T("ui.key.down"))),
		Next:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", i18n.T("ui.key.next-field"))),
		Prev:   key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", i18n.T("ui.key.prev-field"))),
		Yes:    key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", i18n.T("ui.key.yes"))),
		No:     key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", i18n.T("ui.key.no"))),
		Scroll: key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", i18n.T("ui.key.scroll"))),
		Mouse:  key.NewBinding(key.WithKeys("m"), key.WithHelp("m", i18n.T("ui.key.mouse"))),
	}
}
