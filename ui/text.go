package ui

// The words of the wizard's shell (the steps' own are in steps/), kept in one place.
const (
	textRunFirst    = "Run this step first (enter)."
	textFixInput    = "Fix the highlighted input first."
	textNotYet      = "%s is not available yet." // a step's title
	textNothingToDo = "Nothing to do: every step of this plan is skipped."
	textAllDone     = "All steps done."
	textAllDoneNext = "The device was provisioned Just-in-Time from your CA and its message came back. Press enter or q to leave, esc to go back to the last step."
	textLeave       = "leave"
	textQuit        = "quit"
	textQuitRunning = "%s is still running. Quit and cancel it?" // a step's title
	textQuitKeys    = "y yes · n no"
	textCancelling  = "Cancelling the running step…"
	// the least the wizard needs, then the terminal's size
	textTooSmall = "jitpwiz needs at least %d×%d; this terminal is %d×%d. Make it larger, or press q to quit."
	// the scroll line under the content: the arrow(s), the lines shown, their count, the keys
	textMoreBelow       = "%s more below · lines %d–%d of %d · %s"
	textMoreAbove       = "%s more above · lines %d–%d of %d · %s"
	textMoreBoth        = "%s more above and below · lines %d–%d of %d · %s"
	textScrollKeys      = "pgup/pgdn"
	textScrollKeysWheel = "pgup/pgdn, mouse wheel"
	textMouseOn         = "The mouse wheel scrolls; hold Shift to select text (m gives the mouse to the terminal)."
	textMouseOff        = "The terminal has the mouse: select text as usual (m brings the wheel back)."
	// the line printed after the wizard closed
	textSummaryAllDone = "jitpwiz: all %d steps done."
	textSummaryNext    = "jitpwiz: %d of %d steps done; next: step %s (%s). Run jitpwiz again with the same --dir to go on from there."
)
