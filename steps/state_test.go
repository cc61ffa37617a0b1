package steps

import "testing"

// The state machine, move by move: what the wizard does to a step and what the session says.
func TestStateMachine(t *testing.T) {
	pending, done := StepStatus{State: StatePending}, StepStatus{State: StateDone}
	redo, skipped := StepStatus{State: StateRedo, Reason: "country changed"}, StepStatus{State: StateSkipped}
	cases := []struct {
		from    StepState
		ev      event
		session StepStatus
		want    StepState
	}{
		{StatePending, evShow, pending, StateEditing},
		{StateRedo, evShow, redo, StateEditing},
		{StatePending, evShow, done, StateDone},  // done by an earlier run: its result is shown
		{StateDone, evShow, redo, StateEditing},  // invalidated since: the inputs again
		{StateFailed, evShow, done, StateFailed}, // the error stays on screen
		{StateEditing, evStart, pending, StateRunning},
		{StateRunning, evShow, pending, StateRunning}, // nothing but its end moves a running step
		{StateRunning, evSync, skipped, StateRunning},
		{StateRunning, evLeave, pending, StateRunning},
		{StateRunning, evSucceed, pending, StateDone},
		{StateRunning, evFail, done, StateFailed},
		{StateFailed, evStart, done, StateRunning}, // r retries
		{StateFailed, evDismiss, pending, StateEditing},
		{StateFailed, evDismiss, done, StateDone},
		{StateDone, evEdit, done, StateEditing}, // r on a finished step
		{StateEditing, evLeave, redo, StateRedo},
		{StateEditing, evLeave, done, StateDone},
		{StateDone, evLeave, redo, StateDone},
		{StatePending, evSync, done, StateDone}, // another step's run finished this one's work
		{StatePending, evSync, skipped, StateSkipped},
		{StateSkipped, evSync, pending, StatePending},
		{StateDone, evSync, redo, StateDone},
		{StateEditing, evSync, skipped, StateSkipped}, // an input made the shown step not apply
		{StateEditing, evSync, done, StateEditing},
		{StateFailed, evSync, pending, StateFailed},
	}
	for _, c := range cases {
		if got := c.from.next(c.ev, c.session); got != c.want {
			t.Errorf("%s on event %d (session %s): %s, want %s", c.from, c.ev, c.session.State, got, c.want)
		}
	}
}
