package steps

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/jitpwiz/jitpwiz/aws"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// What the headless runner writes, and how: its configuration, the JSON events, the step
// lines and their columns. runner.go runs the plan with them.

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
			r.emit(RunEvent{}, "      ! "+l.Value)
		case l.Kind == ResultNote:
			r.emit(RunEvent{}, "        "+l.Value)
		}
	}
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
		return i18n.T("runner.target.local")
	case s.Options.Target == TargetLocal:
		return i18n.T("runner.target.local-at", i18n.Args{"URL": s.Options.EndpointURL})
	}
	region := s.Options.Region
	if region == "" {
		region = i18n.T("runner.target.region-from-env")
	}
	return i18n.T("runner.target.aws", i18n.Args{"Region": region, "Profile": s.Options.Profile,
		"Endpoints": aws.DescribeEndpoints(s.Options.EndpointURL), "MQTT": s.Options.MQTTEndpoint})
}

// connectionLine says what Connect reached.
func connectionLine(s *Session) string {
	a := i18n.Args{"Account": s.Account, "Region": s.Region, "MQTT": fmt.Sprintf("%s:%d%s", s.Endpoint.Host, s.Endpoint.Port, alpnWords(s)), "API": s.localURL, "PID": ""}
	if s.localURL != "" && s.sharedLocalPID != 0 {
		a["PID"] = strconv.Itoa(s.sharedLocalPID)
	}
	return i18n.T("runner.connected", a)
}

// reusedList names the steps that are done, compactly ("1–8, 10").
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
	return strings.Join(parts, ", ")
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

// titleCells is the width of the title column of the step lines, in terminal cells.
const titleCells = 18

// padCells pads s with spaces to w terminal cells (display width: a CJK character takes two);
// a longer s is kept whole.
func padCells(s string, w int) string {
	return s + strings.Repeat(" ", max(0, w-ansi.StringWidth(s)))
}

// andList joins flags as a list of the current language ("--thing and --country").
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return i18n.T("runner.and", i18n.Args{"Items": strings.Join(items[:len(items)-1], ", "), "Last": items[len(items)-1]})
}

func indentLines(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

// abbreviatedRE finds an ID the text shortened to its first 12 hex digits (abbrev).
var abbreviatedRE = regexp.MustCompile(`\b([0-9a-f]{12})…`)

// fullIDs writes out, in a JSON event, each ID that a message shortened (abbrev) and that the
// session knows in full: consumers of --json get whole IDs.
func fullIDs(text string, known []string) string {
	return abbreviatedRE.ReplaceAllStringFunc(text, func(m string) string {
		prefix := m[:12]
		match := ""
		for _, id := range known {
			if len(id) > 12 && id[:12] == prefix {
				if match != "" && match != id {
					return m // two IDs share the prefix: leave it as it is
				}
				match = id
			}
		}
		if match == "" {
			return m
		}
		return match
	})
}

// knownIDs are the IDs and names of the session that messages may shorten.
func (s *Session) knownIDs() []string {
	ids := []string{s.CA.CertID, s.CA.RegisteredID, s.VerificationCertID, s.RegistrationCode, s.Template.PolicyName}
	ids = append(ids, s.CA.EarlierRegisteredIDs...)
	ids = append(ids, s.PendingPolicyDeletes...)
	for _, d := range s.Devices {
		ids = append(ids, d.CertID)
		ids = append(ids, d.Policies...)
		for _, e := range d.EarlierCerts {
			ids = append(ids, e.CertID)
		}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return id == "" })
}
