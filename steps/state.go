package steps

// State is where a step stands. It is one type for every reader: the runner and a resumed
// wizard see the part the session records (pending, redo, done, skipped); the wizard's step
// adds what happens on the screen (editing, running, failed), and its sidebar reads it. The
// values are the words `jitpwiz run --json` prints.
type StepState string

const (
	StatePending StepState = "todo"    // never finished
	StateRedo    StepState = "redo"    // finished before, but an input changed or a file is missing
	StateDone    StepState = "done"    // finished with the current inputs
	StateSkipped StepState = "skipped" // does not apply (e.g. the CA steps with your own CA)
	StateEditing StepState = "editing" // the wizard shows its inputs; enter runs it
	StateRunning StepState = "running" // its action runs
	StateFailed  StepState = "failed"  // its action failed; the wizard shows why
)

// Status is a step's state as the session records it, and why it is redo or skipped.
type StepStatus struct {
	State  StepState
	Reason string // plain words, e.g. "country changed: IN → US"
}

// event is what moves a step's state in the wizard.
type event int

const (
	evShow    event = iota // the wizard shows the step
	evLeave                // the wizard shows another step
	evSync                 // the session may have changed (another step ran, an input was set)
	evEdit                 // r on a finished step: its inputs again
	evDismiss              // esc after a failure
	evStart                // enter (or r after a failure): the action starts
	evSucceed              // the action returned without error
	evFail                 // the action returned an error
)

// next is the one state machine of a step: its state after ev, from s, where session is the
// step's status as the session records it now.
func (s StepState) next(ev event, session StepStatus) StepState {
	if s == StateRunning { // only its end moves a running step
		switch ev {
		case evSucceed:
			return StateDone
		case evFail:
			return StateFailed
		}
		return s
	}
	switch ev {
	case evStart:
		return StateRunning
	case evEdit:
		return StateEditing
	case evShow, evDismiss:
		if s == StateFailed && ev == evShow {
			return s // the error stays on screen until it is dismissed or retried
		}
		if session.State == StateDone || session.State == StateSkipped {
			return session.State
		}
		return StateEditing
	case evLeave:
		if s == StateEditing {
			return session.State
		}
	case evSync:
		if session.State == StateSkipped {
			return StateSkipped
		}
		switch s {
		case StateDone, StateFailed, StateEditing:
			return s // what this wizard did, or shows, stays until it is shown again
		}
		return session.State
	}
	return s
}
