package steps

// The words of the steps' chrome (what every step's screen shares), kept in one place.
const (
	textStepOf     = " · step %s of %s" // the step's number and the last step's (the sidebar's numbers)
	textCopied     = "command copied"
	textCopyFailed = "could not copy: %v"
	// after the command box's title while the wizard has the mouse (for the wheel)
	textSelectHint = "hold Shift to select it with the mouse"
)
