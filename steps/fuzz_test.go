package steps

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzSessionFile: whatever is in jitpwiz.json, Open either refuses it with an error or
// yields a session whose plan can be inspected — never a panic.
// fuzz: 4000 execs (each one writes and opens a workspace)
func FuzzSessionFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"options":{"thing":"T","country":"US"},"finished":{"ca-key":{"inputs":{"CA key file":"x"}}}}`))
	f.Add([]byte(`{"version":1,"devices":{"A":null},"primaryThing":"A","options":{"thing":"A"}}`))
	f.Add([]byte(`{"version":99}`))
	f.Add([]byte(`{"options":{"thing":"a b"}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, SessionFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(Options{Dir: dir})
		if err != nil {
			return
		}
		for _, st := range NewPlan(s).Steps() {
			_ = st.Status()
			_ = st.Commands()
			_ = st.Result()
			for _, f := range st.Inputs() {
				_ = f.Get()
			}
		}
		_ = s.CleanPlan()
	})
}
