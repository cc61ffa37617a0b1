package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/pki"
)

// RunConfig configures the headless runner (`jitpwiz run`, Plan.Run).
type RunConfig struct {
	// Out receives one line per step (or, with JSON, one event object per line).
	Out  io.Writer
	JSON bool
	// Prompt asks the user for a required input that was not given (nil: there is no
	// terminal, and a missing required input is an error naming its flag).
	// The second argument is the current (default) value; an empty answer keeps it.
	Prompt func(f Field, current string) (string, error)
	// OnStepEnd is called after each step that ran or was checked, with the session saved.
	OnStepEnd func(id ID, state StepState)
	// ShowCommands prints each step's equivalent commands under its line, for the steps that
	// run and those done before (the JSON step events always carry them).
	ShowCommands bool
	// From runs the plan from this step on, again where it is done (--from); every step
	// before it must be done. Until stops after this step (--until). "" for either: the
	// whole plan.
	From, Until ID
}

// ErrIncomplete is returned by Plan.Run when it stopped before the device published as the thing.
var ErrIncomplete = errors.New("the procedure is not complete")

// RunEvent is one line of `jitpwiz run --json` (docs/events.md).
type RunEvent struct {
	Event    string       `json:"event"` // plan | connect | start | progress | step | end
	Step     ID           `json:"step,omitempty"`
	Number   int          `json:"number,omitempty"`
	Label    string       `json:"label,omitempty"` // the step's number in the walkthrough ("8"; "11a" for activate)
	Title    string       `json:"title,omitempty"`
	Status   string       `json:"status,omitempty"` // done | reused | skipped | failed | todo | redo
	Reason   string       `json:"reason,omitempty"`
	Message  string       `json:"message,omitempty"`
	Duration float64      `json:"durationSeconds,omitempty"`
	Summary  string       `json:"summary,omitempty"`
	Result   []ResultLine `json:"result,omitempty"`
	Error    string       `json:"error,omitempty"`
	Steps    []PlanStep   `json:"steps,omitempty"`
	Commands []string     `json:"commands,omitempty"`
	Thing    string       `json:"thing,omitempty"`
	Dir      string       `json:"dir,omitempty"`
	Target   string       `json:"target,omitempty"`
	OK       *bool        `json:"ok,omitempty"`
	// Until is the step --until stopped after (event end).
	Until ID `json:"until,omitempty"`
}

// PlanStep is one step of the plan event: where it stands before the run.
type PlanStep struct {
	Step   ID     `json:"step"`
	Number int    `json:"number"`
	Label  string `json:"label"`
	Title  string `json:"title"`
	Status string `json:"status"` // done | skipped | todo | redo
	Reason string `json:"reason,omitempty"`
}

type runner struct {
	p   *Plan
	s   *Session
	cfg RunConfig
	mu  sync.Mutex
}

func (r *runner) emit(e RunEvent, text string) {
	if r.cfg.Out == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg.JSON {
		b, _ := json.Marshal(e)
		fmt.Fprintln(r.cfg.Out, fullIDs(string(b), r.s.knownIDs()))
		return
	}
	if text != "" {
		fmt.Fprintln(r.cfg.Out, text)
	}
}

// Run executes every step of the plan that is not done, in order, against its session's
// target, and reports one line per step: the headless runner (`jitpwiz run`). It connects
// only if some step has to run. It returns nil only when every step is done: the device has
// published as the thing.
func (p *Plan) Run(ctx context.Context, cfg RunConfig) error {
	s := p.s
	r := &runner{p: p, s: s, cfg: cfg}
	if err := r.askRequired(); err != nil {
		return err
	}
	sts := p.Steps()
	last, err := r.span(sts)
	if err != nil {
		return err
	}
	total := len(sts)
	statuses := p.Statuses()
	pending := 0
	var planEv []PlanStep
	for i, st := range statuses {
		ev := PlanStep{Step: sts[i].ID(), Number: i + 1, Label: p.Label(sts[i].ID()), Title: sts[i].Title(), Status: string(st.State)}
		if st.State == StateRedo || st.State == StateSkipped {
			ev.Reason = st.Reason
		}
		planEv = append(planEv, ev)
		if i <= last && (st.State == StatePending || st.State == StateRedo) {
			pending++
		}
	}
	r.emit(RunEvent{Event: "plan", Steps: planEv, Thing: s.Options.Thing, Dir: s.dir, Target: s.Options.Target},
		fmt.Sprintf("jitpwiz: workspace %s, target %s, thing %s", s.dir, describeTarget(s), s.Options.Thing))
	if pending == 0 {
		// Nothing runs, so ensureKey's note about a --key that differs from the existing
		// keys is never reached: say it here rather than ignore the flag silently.
		if kt := s.Options.KeyType; kt != "" && !s.CA.Supplied && s.CA.KeyType != "" && kt != s.CA.KeyType {
			r.emit(RunEvent{Event: "progress", Message: "--key " + kt + " applies to new keys; the existing keys are kept"},
				fmt.Sprintf("  note: --key %s applies to keys jitpwiz creates; the existing CA key is %s and is kept — add --force-new-keys to replace the keys (and redo what was made from them)", kt, s.CA.KeyType))
		}
		r.doneCommands(ctx, sts[:last+1])
		ok := true
		if cfg.Until != "" && last < total-1 {
			r.emit(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Until: cfg.Until, Message: "the steps up to --until are done"},
				fmt.Sprintf("✓ steps 1–%s are already done for %s — nothing to do (--until %s)", p.Label(cfg.Until), s.Options.Thing, p.Label(cfg.Until)))
			return nil
		}
		r.finish(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Message: "everything is done"},
			fmt.Sprintf("✓ all %d steps are already done for %s — nothing to do (another device: --thing NAME; start over: jitpwiz clean, or a new --dir)", total, s.Options.Thing))
		return nil
	}
	if reuse := reusedList(statuses); reuse != "" && !cfg.JSON {
		r.emit(RunEvent{}, "  reusing "+reuse)
	}
	progress := func(e Event) {
		r.emit(RunEvent{Event: "progress", Step: e.Step, Message: e.Message}, "      · "+e.Message)
	}
	for _, st := range sts {
		st.base().onEvent = progress
	}
	defer func() {
		for _, st := range sts {
			st.base().onEvent = nil
		}
	}()

	if err := s.Connect(ctx); err != nil {
		r.emit(RunEvent{Event: "connect", Status: "failed", Error: err.Error()}, "✗ cannot reach "+describeTarget(s)+": "+err.Error())
		ok := false
		r.emit(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Error: err.Error()}, "")
		return &ReportedError{Err: err}
	}
	r.emit(RunEvent{Event: "connect", Status: "done", Message: connectionLine(s)}, "  "+connectionLine(s))
	for _, n := range s.notices {
		r.emit(RunEvent{Event: "progress", Message: n}, "      · "+n)
	}

	for i, st := range sts {
		if i > last {
			break
		}
		n, id, title := i+1, st.ID(), st.Title()
		num := p.Label(id)
		status := st.Status()
		label := fmt.Sprintf("%2s/%d %-18s", num, total, title)
		switch status.State {
		case StateSkipped:
			r.emit(RunEvent{Event: "step", Step: id, Number: n, Title: title, Status: "skipped", Reason: status.Reason},
				fmt.Sprintf("↷ %s skipped: %s", label, status.Reason))
			r.stepEnd(id, StateSkipped)
			continue
		case StateDone:
			sum := st.Summary()
			cmds := st.Commands()
			r.emit(RunEvent{Event: "step", Step: id, Number: n, Title: title, Status: "done", Reason: "done before", Summary: sum, Commands: cmds},
				fmt.Sprintf("✓ %s done before  %s", label, sum))
			r.showCommands(cmds)
			r.stepEnd(id, StateDone)
			continue
		}
		if status.State == StateRedo && status.Reason != "" {
			r.emit(RunEvent{Event: "start", Step: id, Number: n, Title: title, Status: "redo", Reason: status.Reason},
				fmt.Sprintf("↻ %s runs again: %s", label, status.Reason))
		} else {
			r.emit(RunEvent{Event: "start", Step: id, Number: n, Title: title, Status: string(StatePending)}, "")
		}
		start := time.Now()
		err := st.Run(ctx)
		dur := time.Since(start)
		if err != nil {
			msg := targetCommands(s, err.Error())
			if ctx.Err() != nil {
				msg = fmt.Sprintf("cancelled — the session is saved; run again to resume at step %s (%s)", num, title)
			}
			cmds := st.Commands()
			r.emit(RunEvent{Event: "step", Step: id, Number: n, Title: title, Status: "failed", Duration: dur.Seconds(), Error: msg, Commands: cmds},
				fmt.Sprintf("✗ %s %s  %s", label, durColumn(dur), indentLines(msg)))
			if id == IDVerify {
				r.showChecks(st.Result())
			}
			r.showCommands(cmds)
			r.byHandHint()
			r.stepEnd(id, StatePending)
			if ctx.Err() != nil {
				err = fmt.Errorf("cancelled at step %s (%s): %w", num, title, ctx.Err())
			} else {
				err = fmt.Errorf("step %s (%s): %w", num, title, err)
			}
			ok := false
			r.emit(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Step: id, Error: err.Error()}, "")
			return &ReportedError{Err: err}
		}
		rec, _ := st.base().lastRun()
		word := "done"
		if rec.Reused {
			word = "reused"
		}
		sum := st.Summary()
		cmds := st.Commands()
		r.emit(RunEvent{Event: "step", Step: id, Number: n, Title: title, Status: word, Duration: dur.Seconds(), Summary: sum, Result: st.Result(), Commands: cmds},
			fmt.Sprintf("✓ %s %s  %s%s", label, durColumn(dur), map[bool]string{true: "(reused) ", false: ""}[rec.Reused], sum))
		if id == IDVerify {
			r.showChecks(st.Result())
		}
		r.showCommands(cmds)
		r.stepEnd(id, StateDone)
	}
	r.byHandHint()
	if last < total-1 {
		ok := true
		next := sts[last+1]
		r.emit(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Step: sts[last].ID(), Until: cfg.Until, Message: "stopped after the --until step"},
			fmt.Sprintf("✓ stopped after step %s (%s), as --until asked. Go on with step %s (%s): jitpwiz run --dir %s (or --from %s)",
				p.Label(sts[last].ID()), sts[last].Title(), p.Label(next.ID()), next.Title(), pki.ShellQuote(s.dir), p.Label(next.ID())))
		return nil
	}
	ok := p.Complete()
	if !ok {
		r.emit(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing}, "✗ the procedure did not complete")
		return &ReportedError{Err: ErrIncomplete}
	}
	files := s.dir
	if d := s.Device(); d.Dir != "" && !d.Supplied {
		files += " (this device's: " + filepath.Join(s.dir, d.Dir) + ")"
	}
	if s.Options.jitr() {
		r.finish(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Message: "registered by JITR, activated and published as the thing"},
			fmt.Sprintf("✓ %s was registered Just-in-Time, activated and published as itself. Files: %s", provisionedThing(s, s.Device()), files))
		return nil
	}
	r.finish(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Message: "provisioned by JITP and published as the thing"},
		fmt.Sprintf("✓ %s was provisioned Just-in-Time and published as itself. Files: %s", provisionedThing(s, s.Device()), files))
	return nil
}

// finish ends a run whose workspace is finished: the end event and the closing summary (with
// --json the summary event comes before end, which stays the last event).
func (r *runner) finish(end RunEvent, text string) {
	if r.cfg.JSON {
		r.closing()
	}
	r.emit(end, text)
	if !r.cfg.JSON {
		r.closing()
	}
}

// showChecks prints a step's evidence lines (the verify checklist) under its line.
func (r *runner) showChecks(lines []ResultLine) {
	if r.cfg.JSON {
		return
	}
	for _, l := range lines {
		switch {
		case l.Kind == ResultCheck:
			mark := "✓"
			if !l.OK {
				mark = "✗"
			}
			r.emit(RunEvent{}, fmt.Sprintf("      %s %s — %s", mark, l.Label, l.Value))
		case l.Kind == ResultNote && !l.OK:
			r.emit(RunEvent{}, "      ! "+strings.TrimPrefix(l.Value, "warning: "))
		case l.Kind == ResultNote:
			r.emit(RunEvent{}, "        "+l.Value)
		}
	}
}

// byHandHint follows the commands of a run on the embedded IoT Core: that IoT Core ran
// inside this process and stops with it, so the printed --endpoint-url and -p no longer
// answer. It says how to bring the same state back on the same ports, so the commands
// work verbatim.
func (r *runner) byHandHint() {
	s := r.s
	hint := s.localServeCommand()
	if !r.cfg.ShowCommands || r.cfg.JSON || hint == "" {
		return
	}
	r.emit(RunEvent{}, fmt.Sprintf("  The local IoT Core these commands talk to ran inside this run and stops with it. To run them by hand,\n"+
		"  serve the same state on the same ports in another shell:  %s\n"+
		"  then cd %s and export the dummy credentials it prints.", hint, pki.ShellQuote(s.dir)))
}

func (r *runner) showCommands(cmds []string) {
	if !r.cfg.ShowCommands || r.cfg.JSON {
		return
	}
	for _, c := range cmds {
		// A multi-line command (a heredoc) keeps its other lines as they are: indented, its
		// content would change and its closing EOF would not close it when pasted.
		r.emit(RunEvent{}, "      $ "+c)
	}
}

func (r *runner) stepEnd(id ID, st StepState) {
	if r.cfg.OnStepEnd != nil {
		r.cfg.OnStepEnd(id, st)
	}
}

// askRequired makes sure a new workspace got its required inputs (or --yes).
func (r *runner) askRequired() error {
	s := r.s
	missing := s.Options.Defaulted()
	if len(missing) == 0 || s.Options.Yes {
		return nil
	}
	if r.cfg.Prompt == nil {
		var defs []string
		for _, f := range missing {
			defs = append(defs, f+" "+defaultFor(f))
		}
		return fmt.Errorf("a new workspace needs %s — pass them, or --yes to accept the defaults (%s)", strings.Join(missing, " and "), strings.Join(defs, ", "))
	}
	fields := map[string]Field{}
	if dev := r.p.Lookup(IDDeviceCert); dev != nil {
		for _, f := range dev.Inputs() {
			fields["--"+f.Key] = f
		}
	}
	for _, flag := range missing {
		f, ok := fields[flag]
		if !ok {
			continue
		}
		for {
			v, err := r.cfg.Prompt(f, f.Get())
			if err != nil {
				return err
			}
			if v == "" {
				v = f.Get()
			}
			if err := f.Set(v); err != nil {
				if r.cfg.Out != nil {
					fmt.Fprintln(r.cfg.Out, "  ", err)
				}
				continue
			}
			break
		}
	}
	s.Options.defaulted = nil
	return nil
}

func defaultFor(flag string) string {
	switch flag {
	case "--thing":
		return DefaultThing
	case "--country":
		return DefaultCountry
	}
	return ""
}

// describeTarget names the target in plain words.
func describeTarget(s *Session) string {
	switch {
	case s.Options.Target == TargetLocal && s.Options.EndpointURL == "":
		return "local (embedded AWS IoT Core)"
	case s.Options.Target == TargetLocal:
		return "local at " + s.Options.EndpointURL
	}
	t := "aws " + firstNonEmpty(s.Options.Region, "(region from profile/env)")
	if s.Options.Profile != "" {
		t += " profile " + s.Options.Profile
	}
	if eps := aws.DescribeEndpoints(s.Options.EndpointURL); eps != "" {
		t += " (" + eps + ")"
	}
	if s.Options.MQTTEndpoint != "" {
		t += ", MQTT at " + s.Options.MQTTEndpoint
	}
	return t
}

// connectionLine says what Connect reached.
func connectionLine(s *Session) string {
	line := fmt.Sprintf("connected: account %s, region %s, MQTT %s:%d%s", s.Account, s.Region, s.Endpoint.Host, s.Endpoint.Port, alpnWords(s))
	if s.localURL != "" {
		line += ", API " + s.localURL
		if s.sharedLocalPID != 0 {
			line += fmt.Sprintf(" (served by `jitpwiz local`, pid %d)", s.sharedLocalPID)
		}
	}
	return line
}

// reusedList names the steps that are done, compactly ("steps 1–8").
func reusedList(sts []StepStatus) string {
	var done []int
	for i, st := range sts {
		if st.State == StateDone {
			done = append(done, i+1)
		}
	}
	if len(done) == 0 {
		return ""
	}
	var parts []string
	for i := 0; i < len(done); {
		j := i
		for j+1 < len(done) && done[j+1] == done[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprint(done[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d–%d", done[i], done[j]))
		}
		i = j + 1
	}
	return "the results of step(s) " + strings.Join(parts, ", ") + " (done before)"
}

// durColumn is fmtDur right-aligned in a fixed width, so that what follows the duration
// on the step lines starts in one column.
func durColumn(d time.Duration) string { return fmt.Sprintf("%*s", durWidth, fmtDur(d)) }

// durWidth fits every duration under ten minutes ("9m59.99s" is the longest).
const durWidth = 8

// ReportedError is a failure that Run has already shown to the user (a ✗ line, or a
// failed event with --json). Callers should not print it again; it still fails the
// command. errors.Is/As see the cause through it (e.g. ErrIncomplete).
type ReportedError struct{ Err error }

func (e *ReportedError) Error() string { return e.Err.Error() }
func (e *ReportedError) Unwrap() error { return e.Err }

// Reported says whether err was already shown to the user by Run.
func Reported(err error) bool {
	var r *ReportedError
	return errors.As(err, &r)
}

func indentLines(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }
