package steps

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

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
		i18n.T("runner.plan", i18n.Args{"Dir": s.dir, "Target": describeTarget(s), "Thing": s.Options.Thing}))
	if pending == 0 {
		// Nothing runs, so ensureKey's note about a --key that differs from the existing
		// keys is never reached: say it here rather than ignore the flag silently.
		if kt := s.Options.KeyType; kt != "" && !s.CA.Supplied && s.CA.KeyType != "" && kt != s.CA.KeyType {
			r.emit(RunEvent{Event: "progress", Message: "--key " + kt + " applies to new keys; the existing keys are kept"},
				"  "+i18n.T("runner.key-kept", i18n.Args{"Key": kt, "CAKey": s.CA.KeyType}))
		}
		r.doneCommands(ctx, sts[:last+1])
		ok := true
		if cfg.Until != "" && last < total-1 {
			r.emit(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Until: cfg.Until, Message: "the steps up to --until are done"},
				"✓ "+i18n.T("runner.until-done", i18n.Args{"Until": p.Label(cfg.Until), "Thing": s.Options.Thing}))
			return nil
		}
		r.finish(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Message: "everything is done"},
			"✓ "+i18n.T("runner.all-done", i18n.Args{"Total": total, "Thing": s.Options.Thing}))
		return nil
	}
	if reuse := reusedList(statuses); reuse != "" && !cfg.JSON {
		r.emit(RunEvent{}, "  "+i18n.T("runner.reusing", i18n.Args{"Steps": reuse}))
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
		r.emit(RunEvent{Event: "connect", Status: "failed", Error: err.Error()}, "✗ "+i18n.T("runner.unreachable", i18n.Args{"Target": describeTarget(s), "Err": err}))
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
		label := fmt.Sprintf("%2s/%d %s", num, total, padCells(title, titleCells))
		switch status.State {
		case StateSkipped:
			r.emit(RunEvent{Event: "step", Step: id, Number: n, Title: title, Status: "skipped", Reason: status.Reason},
				"↷ "+i18n.T("runner.skipped", i18n.Args{"Step": label, "Reason": status.Reason}))
			r.stepEnd(id, StateSkipped)
			continue
		case StateDone:
			sum := st.Summary()
			cmds := st.Commands()
			r.emit(RunEvent{Event: "step", Step: id, Number: n, Title: title, Status: "done", Reason: "done before", Summary: sum, Commands: cmds},
				"✓ "+i18n.T("runner.done-before", i18n.Args{"Step": label, "Summary": sum}))
			r.showCommands(cmds)
			r.stepEnd(id, StateDone)
			continue
		}
		if status.State == StateRedo && status.Reason != "" {
			r.emit(RunEvent{Event: "start", Step: id, Number: n, Title: title, Status: "redo", Reason: status.Reason},
				"↻ "+i18n.T("runner.redo", i18n.Args{"Step": label, "Reason": status.Reason}))
		} else {
			r.emit(RunEvent{Event: "start", Step: id, Number: n, Title: title, Status: string(StatePending)}, "")
		}
		start := time.Now()
		err := st.Run(ctx)
		dur := time.Since(start)
		if err != nil {
			msg := targetCommands(s, err.Error())
			if ctx.Err() != nil {
				msg = i18n.T("runner.cancelled", i18n.Args{"Step": num, "Title": title})
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
				err = i18n.WrapError(ctx.Err(), "runner.err.cancelled", i18n.Args{"Step": num, "Title": title})
			} else {
				err = i18n.WrapError(err, "runner.err.step", i18n.Args{"Step": num, "Title": title})
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
			fmt.Sprintf("✓ %s %s  %s%s", label, durColumn(dur), map[bool]string{true: i18n.T("runner.reused") + " ", false: ""}[rec.Reused], sum))
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
			"✓ "+i18n.T("runner.until-stopped", i18n.Args{"Step": p.Label(sts[last].ID()), "Title": sts[last].Title(),
				"Next": p.Label(next.ID()), "NextTitle": next.Title(), "Dir": pki.ShellQuote(s.dir)}))
		return nil
	}
	ok := p.Complete()
	if !ok {
		r.emit(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing}, "✗ "+i18n.T("runner.incomplete"))
		return &ReportedError{Err: ErrIncomplete}
	}
	devDir := ""
	if d := s.Device(); d.Dir != "" && !d.Supplied {
		devDir = filepath.Join(s.dir, d.Dir)
	}
	files := i18n.Args{"Thing": provisionedThing(s, s.Device()), "Dir": s.dir, "DeviceDir": devDir}
	if s.Options.jitr() {
		r.finish(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Message: "registered by JITR, activated and published as the thing"},
			"✓ "+i18n.T("runner.jitr-done", files))
		return nil
	}
	r.finish(RunEvent{Event: "end", OK: &ok, Thing: s.Options.Thing, Message: "provisioned by JITP and published as the thing"},
		"✓ "+i18n.T("runner.jitp-done", files))
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
	msg := i18n.T("runner.by-hand", i18n.Args{"Command": hint, "Dir": pki.ShellQuote(s.dir)})
	r.emit(RunEvent{}, "  "+strings.ReplaceAll(msg, "\n", "\n  "))
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
		return i18n.NewError("runner.needs", i18n.Args{"Flags": andList(missing), "Defaults": strings.Join(defs, ", ")})
	}
	fields := map[string]Field{}
	if dev := r.p.Lookup(IDDeviceCert); dev != nil {
		for _, f := range dev.Inputs() {
			fields["--"+f.Flag] = f
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

// closing prints the summary after a run that finished (or found everything done).
func (r *runner) closing() {
	s := r.s
	c := s.closing()
	if r.cfg.JSON {
		cmds := c.Commands
		if c.Serve != "" {
			cmds = append([]string{c.Serve}, cmds...)
		}
		r.emit(RunEvent{Event: "summary", Thing: s.Options.Thing, Dir: s.dir, Result: append(append([]ResultLine(nil), c.Values...), c.Files...), Commands: cmds}, "")
		return
	}
	var b strings.Builder
	b.WriteString("\n" + i18n.T("summary.heading", i18n.Args{"Title": i18n.T("summary.have")}) + "\n")
	for _, l := range c.Values {
		if l.Kind == ResultCheck {
			fmt.Fprintf(&b, "  ✓ %s — %s\n", l.Label, l.Value)
			continue
		}
		fmt.Fprintf(&b, "  %s %s\n", padCells(l.Label, 24), l.Value)
	}
	b.WriteString(i18n.T("summary.heading", i18n.Args{"Title": i18n.T("summary.files")}) + "\n")
	for _, l := range c.Files {
		fmt.Fprintf(&b, "  %s %s\n", padCells(l.Label, 36), l.Value)
	}
	if c.Serve != "" {
		b.WriteString(i18n.T("summary.next-serve", i18n.Args{"Serve": c.Serve}) + "\n")
	} else {
		b.WriteString(i18n.T("summary.heading", i18n.Args{"Title": i18n.T("summary.next")}) + "\n")
	}
	for _, cmd := range c.Commands {
		b.WriteString("  $ " + cmd + "\n")
	}
	r.emit(RunEvent{}, strings.TrimRight(b.String(), "\n"))
}

// ClosingText is the summary as plain text, for the terminal once the wizard has closed.
func (p *Plan) ClosingText() string {
	if p.s == nil {
		return ""
	}
	var b strings.Builder
	r := &runner{p: p, s: p.s, cfg: RunConfig{Out: &b}}
	r.closing()
	return strings.TrimRight(b.String(), "\n")
}

// span applies --from and --until to the plan: it returns the index of the last step to run
// (--until's, else the plan's last). --from needs every step before it done (or skipped),
// and asks the steps from it to --until that are done to run again.
func (r *runner) span(sts []Step) (last int, err error) {
	p, cfg := r.p, r.cfg
	index := func(flag string, id ID) (int, error) {
		for i, st := range sts {
			if st.ID() == id {
				return i, nil
			}
		}
		return 0, i18n.NewError("runner_span.not-in-plan", i18n.Args{"Flag": flag, "Step": id})
	}
	first, last := 0, len(sts)-1
	if cfg.From != "" {
		if first, err = index("--from", cfg.From); err != nil {
			return 0, err
		}
	}
	if cfg.Until != "" {
		if last, err = index("--until", cfg.Until); err != nil {
			return 0, err
		}
	}
	if last < first {
		return 0, i18n.NewError("runner_span.until-before-from", i18n.Args{"Until": p.Label(cfg.Until), "From": p.Label(cfg.From)})
	}
	if cfg.From == "" {
		return last, nil
	}
	for _, st := range sts[:first] {
		if state := st.Status().State; state != StateDone && state != StateSkipped {
			return 0, i18n.NewError("runner_span.from-not-done", i18n.Args{"From": p.Label(cfg.From), "Step": p.Label(st.ID()),
				"Title": st.Title(), "Before": p.Label(sts[first-1].ID())})
		}
	}
	// Which are done is read before any is marked: a mark makes the steps after it look
	// not done (they use its result), and they would keep their results.
	var done []Step
	for _, st := range sts[first : last+1] {
		if st.Status().State == StateDone {
			done = append(done, st)
		}
	}
	for _, st := range done {
		st.base().requestRedo(st.ID(), i18n.T("runner_span.from-redo", i18n.Args{"From": p.Label(cfg.From)}))
	}
	return last, nil
}

// doneCommands shows, with --commands, the commands of steps that are all done (a finished
// workspace, or one done up to --until): for the local target it starts the embedded IoT Core
// (without running anything) so that the commands name its URL, and says how to bring it
// back for them.
func (r *runner) doneCommands(ctx context.Context, sts []Step) {
	if !r.cfg.ShowCommands || r.cfg.JSON {
		return
	}
	s := r.s
	if s.Options.Target == TargetLocal && s.Options.EndpointURL == "" {
		if err := s.Connect(ctx); err != nil {
			r.emit(RunEvent{}, "  "+i18n.T("runner_span.no-endpoint", i18n.Args{"Err": err}))
		}
	}
	for _, st := range sts {
		if st.Status().State != StateDone {
			continue
		}
		label := fmt.Sprintf("%2s/%d %s", r.p.Label(st.ID()), len(r.p.Steps()), padCells(st.Title(), titleCells))
		r.emit(RunEvent{}, "✓ "+i18n.T("runner.done-before", i18n.Args{"Step": label, "Summary": st.Summary()}))
		r.showCommands(st.Commands())
	}
	r.byHandHint()
}
