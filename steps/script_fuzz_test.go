package steps

import (
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// shellWords splits a command line the way a POSIX shell does for the quoting jitpwiz
// writes — bare words, '…', "…", backslash escapes and ${NAME} — with vars substituted
// (a test's own small reading of the shell, checked against bash in TestBindScriptVarsBash).
func shellWords(line string, vars map[string]string) ([]string, bool) {
	var out []string
	var w strings.Builder
	in, state := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case state == '\'':
			if c == '\'' {
				state = 0
			} else {
				w.WriteByte(c)
			}
			continue
		case c == '\\' && i+1 < len(line) && (state == 0 || strings.IndexByte(`$"\`+"`", line[i+1]) >= 0):
			i++
			w.WriteByte(line[i])
			in = true
			continue
		case c == '$' && state != '\'' && strings.HasPrefix(line[i:], "${"):
			j := strings.IndexByte(line[i:], '}')
			if j < 0 {
				return nil, false
			}
			w.WriteString(vars[line[i+2:i+j]])
			i += j
			in = true
			continue
		case state == '"':
			if c == '"' {
				state = 0
			} else {
				w.WriteByte(c)
			}
			continue
		case c == '\'' || c == '"':
			state, in = c, true
			continue
		case c == ' ':
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
			continue
		}
		w.WriteByte(c)
		in = true
	}
	if state != 0 {
		return nil, false
	}
	if in {
		out = append(out, w.String())
	}
	return out, true
}

// scriptLine makes words around the tokens of the script's variables into one command
// line as the steps render it (joinShell), and the words the shell should see.
func scriptLine(parts []string, vars map[string]string) (line string, want []string) {
	var words []string
	for i, p := range parts {
		v := scriptVars[i%len(scriptVars)]
		words = append(words, p+v.token)
		want = append(want, p+vars[v.name])
	}
	return joinShell(words), want
}

var fuzzVars = map[string]string{}

func init() {
	for i, v := range scriptVars {
		// Values a shell must not re-read: spaces, quotes, $, backslashes, globs.
		fuzzVars[v.name] = []string{`a b`, `it's`, `say "hi"`, `$HOME`, `back\slash`, `*`, ``, `x`, `{}`}[i%9]
	}
}

// FuzzBindScriptVars: whatever the words around them, the script's variables bound into a
// rendered command line expand to exactly their values, in the word they stood in, and the
// rest of the line reads as it did.
func FuzzBindScriptVars(f *testing.F) {
	f.Add("aws iot|--policy-document|{\"a\":\"b\"}")
	f.Add("it's|\"quoted\"|$x|a b|")
	f.Add("/CN=|@@|'|\\")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\x00") || strings.Contains(s, "@@") {
			return
		}
		parts := strings.Split(s, "|")
		for _, p := range parts {
			if strings.HasPrefix(p, "--") || strings.HasPrefix(p, "file://") {
				return // joinShell writes flags and file:// arguments as they are
			}
		}
		line, want := scriptLine(parts, fuzzVars)
		bound := bindScriptVars(line)
		if strings.Contains(bound, "@@") {
			t.Fatalf("a token is left in %q", bound)
		}
		got, ok := shellWords(bound, fuzzVars)
		if !ok || strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("%q bound to %q reads as %q, want %q", line, bound, got, want)
		}
	})
}

// TestBindScriptVarsBash: bash itself reads bound lines as the fuzz target's shell does.
func TestBindScriptVarsBash(t *testing.T) {
	bash := testtool.Need(t, "bash")
	for _, parts := range [][]string{
		{"aws", "--policy-document", `{"Statement":"arn:aws:iot:us-east-2:`, "end"},
		{"/C=IN/CN=", "it's ", `"q"`, `$HOME`, ""},
		{`back\`, "-t ", "x/", "a b"},
	} {
		line, want := scriptLine(parts, fuzzVars)
		bound := bindScriptVars(line)
		var env []string
		for k, v := range fuzzVars {
			env = append(env, k+"="+v)
		}
		cmd := exec.Command(bash, "-c", "printf '%s\\n' "+bound)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash -c printf %s: %v", bound, err)
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != strings.Join(want, "\n") {
			t.Errorf("bash reads %q as\n%s\nwant\n%s", bound, got, strings.Join(want, "\n"))
		}
		if got, _ := shellWords(bound, fuzzVars); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("shellWords disagrees with bash on %q: %q", bound, got)
		}
	}
}

// FuzzParseHostPort: doctor's --mqtt-endpoint is read or refused naming the flag, never a panic; what
// is read has a host and a TCP port (or none).
func FuzzParseHostPort(f *testing.F) {
	for _, s := range []string{"localhost", "127.0.0.1:8883", "[::1]:443", "a-ats.iot.eu-west-1.amazonaws.com:8883", ":1", "h:0", "h:99999", "h:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := doctorEndpoint(s)
		if err != nil {
			if !strings.Contains(err.Error(), "--mqtt-endpoint") {
				t.Fatalf("%q: error without the flag: %v", s, err)
			}
			return
		}
		if port < 0 || port > 65535 || (port != 0 && host == "") {
			t.Fatalf("%q read as %q port %d", s, host, port)
		}
	})
}
