package steps

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// step is the one implementation of Step: each step file fills one in. Its Run wraps the
// step's action so that whoever runs it (the headless runner or the TUI) gets the same
// bookkeeping: timing, the finished record with the inputs it ran with, and an atomic save
// of the session file.
type step struct {
	id      ID
	title   string
	explain string
	// perDevice steps are recorded per thing (steps 9, 11, 12, 13).
	perDevice bool
	// after are the steps whose results this step consumes; redoing one redoes this one.
	after []ID
	// inputs are the values the step consumes, by label ("country" → "IN"); a change of any
	// of them since the step finished means it must run again.
	inputs func(s *Session) map[string]string
	// outputs are files that must exist for the step to count as done.
	outputs func(s *Session) []string
	// redo, when it returns a reason, makes a finished step run again once in this process
	// (e.g. --force-new-keys).
	redo   func(s *Session) string
	fields func(s *Session) []Field
	cmds   func(s *Session) []string
	skip   func(s *Session) bool
	// run performs the step; reused reports that nothing new had to be made.
	run    func(ctx context.Context, s *Session) (reused bool, err error)
	result func(s *Session) []ResultLine
}

func (st *step) ID() ID          { return st.id }
func (st *step) Title() string   { return st.title }
func (st *step) Explain() string { return st.explain }

func (st *step) Inputs(s *Session) []Field {
	if st.fields == nil {
		return nil
	}
	return st.fields(s)
}

func (st *step) Commands(s *Session) []string {
	if st.cmds == nil {
		return nil
	}
	return st.cmds(s)
}

func (st *step) Skip(s *Session) bool { return st.skip != nil && st.skip(s) }

// Done reports that the step finished with the current inputs, its files exist and every
// step it depends on is done (or skipped).
func (st *step) Done(s *Session) bool { return st.Status(s).State == StateDone }

func (st *step) Run(ctx context.Context, s *Session) error {
	if err := checkContext(ctx); err != nil {
		return err
	}
	started := s.Now()
	reused, err := st.run(ctx, s)
	if err == nil {
		err = checkContext(ctx)
	}
	if err != nil {
		s.fail(st, err)
		if saveErr := s.Save(); saveErr != nil {
			return fmt.Errorf("%w (and the session could not be saved: %v)", err, saveErr)
		}
		return err
	}
	s.markFinished(st, started, reused)
	return s.Save()
}

func (st *step) Result(s *Session) []ResultLine {
	if st.result == nil {
		return nil
	}
	return st.result(s)
}

func (st *step) currentInputs(s *Session) map[string]string {
	if st.inputs == nil {
		return map[string]string{}
	}
	m := st.inputs(s)
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// State is where a step stands in a workspace.
type State string

const (
	StateTodo    State = "todo"    // never finished
	StateRedo    State = "redo"    // finished, but an input changed or a file is missing
	StateDone    State = "done"    // finished with the current inputs
	StateSkipped State = "skipped" // does not apply (e.g. bring-your-own CA)
)

// StepStatus is a step's state and, for redo, why.
type StepStatus struct {
	Step   Step
	State  State
	Reason string // plain words, e.g. "country changed: IN → US"
	// Finished is the step's record when it finished before.
	Finished *Finished
}

// Status reports where the step stands for the current options and thing.
func (st *step) Status(s *Session) StepStatus {
	out := StepStatus{Step: st, State: StateTodo}
	if st.Skip(s) {
		out.State = StateSkipped
		return out
	}
	rec, ok := s.Finished[s.finishedKey(st)]
	if !ok {
		return out
	}
	out.Finished = &rec
	out.State = StateRedo
	if why := s.Redo[s.finishedKey(st)]; why != "" {
		out.Reason = why
		return out
	}
	if st.redo != nil && !s.ran[s.finishedKey(st)] {
		if why := st.redo(s); why != "" {
			out.Reason = why
			return out
		}
	}
	if why := inputChanges(rec.Inputs, st.currentInputs(s)); why != "" {
		out.Reason = why
		return out
	}
	if st.outputs != nil {
		for _, f := range st.outputs(s) {
			if _, err := os.Stat(s.Path(f)); err != nil {
				out.Reason = f + " is missing"
				return out
			}
		}
	}
	for _, dep := range st.after {
		d := lookup(dep)
		ds := d.Status(s)
		if ds.State == StateTodo || ds.State == StateRedo {
			out.Reason = fmt.Sprintf("it uses the result of step %d (%s), which runs again", index(dep)+1, d.title)
			return out
		}
	}
	out.State = StateDone
	return out
}

// inputChanges says in plain words which inputs differ ("" when none).
func inputChanges(was, now map[string]string) string {
	keys := map[string]bool{}
	for k := range was {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var diffs []string
	for _, k := range names {
		a, b := was[k], now[k]
		if a == b {
			continue
		}
		switch {
		case a == "":
			diffs = append(diffs, fmt.Sprintf("%s is now set (%s)", k, short(b)))
		case b == "":
			diffs = append(diffs, fmt.Sprintf("%s is no longer set (was %s)", k, short(a)))
		default:
			diffs = append(diffs, fmt.Sprintf("%s changed: %s → %s", k, short(a), short(b)))
		}
	}
	return strings.Join(diffs, "; ")
}

// short abbreviates long IDs and hashes for messages.
func short(v string) string {
	if len(v) > 24 && !strings.ContainsAny(v, " /:") {
		return v[:12] + "…"
	}
	return v
}

// Plan is the 13 documented steps, in order (design.md §1).
func Plan() []Step {
	out := make([]Step, len(plan))
	for i, st := range plan {
		out[i] = st
	}
	return out
}

// plan is filled from the step files' constructors, in the documented order (in init, as
// the steps' closures refer back to the plan).
var plan []*step

func init() {
	plan = []*step{
		stepCAKey(),
		stepOpenSSLConf(),
		stepCACert(),
		stepRegCode(),
		stepVerifCert(),
		stepRole(),
		stepTemplate(),
		stepRegisterCA(),
		stepDeviceCert(),
		stepServerTrust(),
		stepFirstConnect(),
		stepVerify(),
		stepUse(),
	}
}

// lookup returns the step with this ID, or nil.
func lookup(id ID) *step {
	for _, st := range plan {
		if st.id == id {
			return st
		}
	}
	return nil
}

// Lookup returns the step with this ID, or nil.
func Lookup(id ID) Step {
	if st := lookup(id); st != nil {
		return st
	}
	return nil
}

// index is the 0-based position of a step in the plan (-1 if unknown).
func index(id ID) int {
	for i, st := range plan {
		if st.id == id {
			return i
		}
	}
	return -1
}

// Number is the 1-based number of a step in the documented procedure (0 if unknown).
func Number(id ID) int { return index(id) + 1 }

// ParseID accepts a step ID ("device-cert") or its number ("9").
func ParseID(v string) (ID, error) {
	for i, st := range plan {
		if string(st.id) == v || fmt.Sprint(i+1) == v {
			return st.id, nil
		}
	}
	var ids []string
	for _, st := range plan {
		ids = append(ids, string(st.id))
	}
	return "", fmt.Errorf("unknown step %q — use a number 1–%d or one of %s", v, len(plan), strings.Join(ids, ", "))
}

// Statuses reports every step's state for the current options and thing.
func (s *Session) Statuses() []StepStatus {
	out := make([]StepStatus, len(plan))
	for i, st := range plan {
		out[i] = st.Status(s)
	}
	return out
}

// Status reports one step's state.
func (s *Session) Status(id ID) StepStatus {
	st := lookup(id)
	if st == nil {
		return StepStatus{State: StateTodo}
	}
	return st.Status(s)
}

// Complete reports that every step is done or skipped for the current thing: the device has
// published as the thing.
func (s *Session) Complete() bool {
	for _, st := range s.Statuses() {
		if st.State != StateDone && st.State != StateSkipped {
			return false
		}
	}
	return true
}

// StepDuration is how long a finished step took (0 if it has not finished).
func (s *Session) StepDuration(id ID) time.Duration {
	if f, ok := s.FinishedRecord(id); ok {
		return f.Duration
	}
	return 0
}
