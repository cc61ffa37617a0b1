// Package stepstest is what tests of the wizard share to drive it as a person would: the
// keystrokes a terminal sends, by the names the key map uses.
package stepstest

import tea "github.com/charmbracelet/bubbletea"

// keys are the named keys the tests press; any other name is typed as text.
var keys = map[string]tea.KeyType{
	"enter":     tea.KeyEnter,
	"esc":       tea.KeyEsc,
	"tab":       tea.KeyTab,
	"shift+tab": tea.KeyShiftTab,
	"up":        tea.KeyUp,
	"down":      tea.KeyDown,
	"backspace": tea.KeyBackspace,
	"ctrl+c":    tea.KeyCtrlC,
	"ctrl+u":    tea.KeyCtrlU,
	"pgdown":    tea.KeyPgDown,
}

// Key is the message the terminal sends for key k ("enter", "esc", "ctrl+c", ...), or for
// typing k as text ("q", "j", "DE", a path).
func Key(k string) tea.KeyMsg {
	if t, ok := keys[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}
