package steps

import "github.com/jitpwiz/jitpwiz/steps/i18n"

// The words of the steps' chrome (what every step's screen shares): keys of the catalog
// (steps/i18n/locales/<lang>/base.yaml), looked up where they are shown.
const (
	textStepOf     i18n.Key = "base.step-of" // the step's number and the last step's (the sidebar's numbers)
	textCopied     i18n.Key = "base.copied"
	textCopyFailed i18n.Key = "base.copy-failed"
	// after the command box's title while the wizard has the mouse (for the wheel)
	textSelectHint i18n.Key = "base.select-hint"
)
