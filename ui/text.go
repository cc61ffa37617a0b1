package ui

import "github.com/jitpwiz/jitpwiz/steps/i18n"

// The words of the wizard's shell (the steps' own are in steps/): keys of the catalog
// (steps/i18n/locales/<lang>/ui.yaml), looked up where they are shown.
const (
	textRunFirst    i18n.Key = "ui.run-first"
	textFixInput    i18n.Key = "ui.fix-input"
	textNotYet      i18n.Key = "ui.not-yet" // {{.Step}}: a step's title
	textNothingToDo i18n.Key = "ui.nothing-to-do"
	textAllDone     i18n.Key = "ui.all-done"
	textAllDoneNext i18n.Key = "ui.all-done-next"
	textSkipped     i18n.Key = "ui.sidebar.skipped"
	textLeave       i18n.Key = "ui.key.leave"
	textQuit        i18n.Key = "ui.key.quit"
	textQuitRunning i18n.Key = "ui.quit-running" // {{.Step}}: a step's title
	textQuitKeys    i18n.Key = "ui.quit-keys"
	textCancelling  i18n.Key = "ui.cancelling"
	// the least the wizard needs, then the terminal's size
	textTooSmall i18n.Key = "ui.too-small"
	// the scroll line under the content: the arrow(s), the lines shown, their count, the keys
	textMoreBelow       i18n.Key = "ui.more-below"
	textMoreAbove       i18n.Key = "ui.more-above"
	textMoreBoth        i18n.Key = "ui.more-both"
	textScrollKeys               = "pgup/pgdn" // key names: the same in every language
	textScrollKeysWheel i18n.Key = "ui.scroll-keys-wheel"
	textMouseOn         i18n.Key = "ui.mouse-on"
	textMouseOff        i18n.Key = "ui.mouse-off"
	// the line printed after the wizard closed
	textSummaryAllDone i18n.Key = "ui.summary-all-done"
	textSummaryNext    i18n.Key = "ui.summary-next"
)
