package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// ShellArgv is what bash makes of a shell script, without running any of it: every command
// the script would run (argv, and the standard input it is given, e.g. a here-document's
// body), one record a command, sorted (the parts of a pipeline run at once). Two scripts with
// the same ShellArgv run the same commands with the same arguments — how a test checks that a
// command laid out on the screen pastes into a shell as the command it shows.
//
// bash runs the script with an empty PATH in an empty directory, so no program starts: each
// command is "not found" and its command_not_found_handle records it; echo is recorded the
// same way. Files the script redirects into land in the empty directory.
func ShellArgv(t testing.TB, script string) string {
	t.Helper()
	bash := Need(t, "bash")
	dir := t.TempDir()
	out := filepath.Join(dir, "argv.out")
	prelude := `exec 3>>` + out + `
set -f
record() {
  local in=""
  if [ ! -t 0 ]; then IFS= read -r -d '' in; fi
  local r
  printf -v r '%s\037' "$@"
  printf '%s<%s>\036' "$r" "$in" >&3 # one write: the parts of a pipeline record at once
  return 0
}
command_not_found_handle() { record "$@"; }
echo() { record echo "$@"; }
PATH=/nonexistent
`
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prelude+script)
	cmd.Dir = filepath.Join(dir, "cwd")
	if err := os.Mkdir(cmd.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader("")
	if msg, err := cmd.CombinedOutput(); err != nil && len(msg) > 0 {
		// a syntax error (an unterminated quote, a stray continuation) is part of the result
		return "bash: " + string(msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return ""
	}
	recs := strings.Split(strings.TrimSuffix(string(b), "\036"), "\036")
	sort.Strings(recs)
	return strings.Join(recs, "\n")
}
