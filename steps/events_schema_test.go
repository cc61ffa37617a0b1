package steps_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// eventsSchema compiles the JSON Schema that docs/events.md documents (its "## Schema" block).
func eventsSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, after, ok := strings.Cut(doc, "\n## Schema\n")
	if !ok {
		t.Fatal("docs/events.md has no ## Schema section")
	}
	m := regexp.MustCompile("(?s)```json\n(.*?)\n```").FindStringSubmatch(after)
	if m == nil {
		t.Fatal("docs/events.md: no ```json block under ## Schema")
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(m[1]))
	if err != nil {
		t.Fatalf("docs/events.md: the schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("events.json", v); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("events.json")
	if err != nil {
		t.Fatalf("docs/events.md: the schema does not compile: %v", err)
	}
	return sch
}

// TestRunJSONEventsMatchSchema validates every line that real runs print with --json against
// docs/events.md's schema: a new workspace up to --until, the rest of it, the finished
// workspace, and a step that fails. It also checks what the schema cannot say alone: the plan
// event comes first and the end event last, and the summary comes just before the end of a
// finished workspace.
func TestRunJSONEventsMatchSchema(t *testing.T) {
	t.Parallel()
	sch := eventsSchema(t)
	dir := filepath.Join(t.TempDir(), "ws")
	failing := filepath.Join(t.TempDir(), "ws")
	runs := []struct {
		name string
		args []string
		fail bool
		last string // the event the run ends with
	}{
		{"until", []string{"run", "--dir", dir, "--yes", "--until", "4", "--json"}, false, "end"},
		{"rest", []string{"run", "--dir", dir, "--json"}, false, "end"},
		{"finished", []string{"run", "--dir", dir, "--json", "--commands"}, false, "end"},
		{"failed step", []string{"run", "--dir", failing, "--yes", "--template", "named", "--policy-name", "Missing", "--json"}, true, "end"},
	}
	seen := map[string]bool{}
	for _, run := range runs {
		r := jitpwiz(t, run.args...)
		if (r.err != nil) != run.fail {
			t.Fatalf("%s: exit %v:\n%s", run.name, r.err, r)
		}
		if r.errOut != "" {
			t.Errorf("%s: --json wrote to stderr: %s", run.name, r.errOut)
		}
		lines := strings.Split(strings.TrimRight(r.out, "\n"), "\n")
		var events []string
		for i, l := range lines {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(l))
			if err != nil {
				t.Fatalf("%s: line %d is not JSON: %v\n%s", run.name, i+1, err, l)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s: line %d does not match docs/events.md: %v\n%s", run.name, i+1, err, l)
			}
			var e struct{ Event string }
			_ = json.Unmarshal([]byte(l), &e)
			events = append(events, e.Event)
			seen[e.Event] = true
		}
		if events[0] != "plan" || events[len(events)-1] != run.last {
			t.Errorf("%s: events %v: want plan first and %s last", run.name, events, run.last)
		}
		if finished := run.name == "rest" || run.name == "finished"; finished != (len(events) > 1 && events[len(events)-2] == "summary") {
			t.Errorf("%s: events %v: the summary should come just before the end of a finished workspace, and only then", run.name, events)
		}
	}
	for _, e := range []string{"plan", "connect", "start", "progress", "step", "end", "summary"} {
		if !seen[e] {
			t.Errorf("no run printed a %s event: the test covers less than the schema", e)
		}
	}
}
