package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A tape is the part of vhs's tape language that demo.tape uses: what to type, which keys to
// press, what to wait for on the screen, how long to pause, and what happens off camera.

// Kind is what one tape command does.
type Kind int

const (
	Type       Kind = iota // type Text
	Key                    // press Key (tmux's key name: Enter, Tab, Up, …)
	Sleep                  // pause for Dur (the recording's pace, for viewers to read)
	WaitPrompt             // wait until the shell prompt is back
	WaitScreen             // wait until the screen matches Re
	Hide                   // stop showing: what follows runs before the recording starts
	Show                   // start the recording
)

// Command is one line of a tape.
type Command struct {
	Kind Kind
	Text string
	Key  string
	Dur  time.Duration
	Re   *regexp.Regexp
	Line int
}

// Tape is a parsed tape. How vhs draws (Set Shell, FontSize, Width, Height, Padding, Theme)
// means nothing to a terminal recording, whose size the recorder sets.
type Tape struct {
	Output      string
	TypingSpeed time.Duration
	WaitTimeout time.Duration
	Commands    []Command
}

// keys maps vhs key commands to tmux send-keys names.
var keys = map[string]string{
	"Enter": "Enter", "Tab": "Tab", "Space": "Space", "Backspace": "BSpace", "Escape": "Escape",
	"Up": "Up", "Down": "Down", "Left": "Left", "Right": "Right", "PageUp": "PPage", "PageDown": "NPage",
}

var (
	typeRE  = regexp.MustCompile(`^Type(?:@\S+)?\s+"((?:[^"\\]|\\.)*)"\s*$`)
	waitRE  = regexp.MustCompile(`^Wait\+Screen(?:@\S+)?\s+/(.*)/\s*$`)
	sleepRE = regexp.MustCompile(`^Sleep\s+(\S+)\s*$`)
	setRE   = regexp.MustCompile(`^Set\s+(\w+)\s+(.+?)\s*$`)
)

// ParseTape reads a tape; a command it does not know is an error naming its line.
func ParseTape(src string) (*Tape, error) {
	t := &Tape{TypingSpeed: 50 * time.Millisecond, WaitTimeout: 15 * time.Second}
	for i, raw := range strings.Split(src, "\n") {
		n := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case word == "Output":
			t.Output = rest
		case word == "Require":
		case word == "Hide":
			t.Commands = append(t.Commands, Command{Kind: Hide, Line: n})
		case word == "Show":
			t.Commands = append(t.Commands, Command{Kind: Show, Line: n})
		case word == "Wait" && rest == "":
			t.Commands = append(t.Commands, Command{Kind: WaitPrompt, Line: n})
		case strings.HasPrefix(word, "Type"):
			m := typeRE.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("line %d: Type needs a text in double quotes: %s", n, line)
			}
			text, err := strconv.Unquote(`"` + m[1] + `"`)
			if err != nil {
				return nil, fmt.Errorf("line %d: the text of Type is not a valid string: %s", n, line)
			}
			t.Commands = append(t.Commands, Command{Kind: Type, Text: text, Line: n})
		case strings.HasPrefix(word, "Wait+Screen"):
			m := waitRE.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("line %d: Wait+Screen needs a /regex/: %s", n, line)
			}
			re, err := regexp.Compile(m[1])
			if err != nil {
				return nil, fmt.Errorf("line %d: Wait+Screen /%s/ is not a regular expression: %v", n, m[1], err)
			}
			t.Commands = append(t.Commands, Command{Kind: WaitScreen, Re: re, Line: n})
		case word == "Sleep":
			m := sleepRE.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("line %d: Sleep needs a duration such as 1.5s or 500ms: %s", n, line)
			}
			d, err := time.ParseDuration(m[1])
			if err != nil {
				return nil, fmt.Errorf("line %d: Sleep needs a duration such as 1.5s or 500ms: %s", n, line)
			}
			t.Commands = append(t.Commands, Command{Kind: Sleep, Dur: d, Line: n})
		case word == "Set":
			if err := t.set(line, n); err != nil {
				return nil, err
			}
		case keys[word] != "" && rest == "":
			t.Commands = append(t.Commands, Command{Kind: Key, Key: keys[word], Line: n})
		default:
			return nil, fmt.Errorf("line %d: %q is not a tape command this recorder knows (Type, Enter, Tab, arrows, Sleep, Wait, Wait+Screen, Hide, Show, Set, Output, Require)", n, word)
		}
	}
	return t, nil
}

func (t *Tape) set(line string, n int) error {
	m := setRE.FindStringSubmatch(line)
	if m == nil {
		return fmt.Errorf("line %d: Set needs a name and a value: %s", n, line)
	}
	if m[1] != "TypingSpeed" && m[1] != "WaitTimeout" {
		return nil
	}
	d, err := time.ParseDuration(m[2])
	if err != nil {
		return fmt.Errorf("line %d: Set %s needs a duration: %s", n, m[1], line)
	}
	if m[1] == "TypingSpeed" {
		t.TypingSpeed = d
	} else {
		t.WaitTimeout = d
	}
	return nil
}
