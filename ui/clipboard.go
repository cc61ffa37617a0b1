package ui

import (
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/aymanbagabas/go-osc52/v2"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// What `c` does with a command, and what the wizard then says: a terminal never confirms an
// OSC 52 copy, so the words say where the text was sent, not that it arrived.
const (
	copiedOSC52  i18n.Key = "ui.copied.osc52"
	copiedScreen i18n.Key = "ui.copied.screen"
	// tmux: its set-clipboard option decides what it does with OSC 52 from a program.
	copiedTmuxOn       i18n.Key = "ui.copied.tmux-on"
	copiedTmuxExternal i18n.Key = "ui.copied.tmux-external"
	copiedTmuxOff      i18n.Key = "ui.copied.tmux-off"
	copiedTmuxUnknown  i18n.Key = "ui.copied.tmux-unknown"
)

// Clipboard returns the wizard's copy function for the terminal w. Outside tmux it writes an
// OSC 52 sequence (wrapped in DCS passthrough for GNU screen, which needs it). Inside tmux it
// follows tmux's set-clipboard: with "on" tmux itself takes a plain OSC 52 (tmux 3.3 drops the
// DCS-wrapped form unless allow-passthrough is on), and with "external" or "off", which ignore
// OSC 52 from programs, the text goes in with `tmux load-buffer` (-w passes it on to the
// terminal's clipboard where tmux may).
func Clipboard(w io.Writer) func(string) (string, error) {
	return func(text string) (string, error) {
		if os.Getenv("TMUX") != "" {
			return tmuxCopy(w, text)
		}
		seq, how := osc52.New(text), copiedOSC52
		if strings.HasPrefix(os.Getenv("TERM"), "screen") {
			seq, how = seq.Screen(), copiedScreen
		}
		if _, err := seq.WriteTo(w); err != nil {
			return "", err
		}
		return i18n.T(how), nil
	}
}

func tmuxCopy(w io.Writer, text string) (string, error) {
	out, err := exec.Command("tmux", "show-options", "-sv", "set-clipboard").Output()
	setting := strings.TrimSpace(string(out))
	if err != nil || setting == "on" {
		if _, err := osc52.New(text).WriteTo(w); err != nil {
			return "", err
		}
		if setting == "on" {
			return i18n.T(copiedTmuxOn), nil
		}
		return i18n.T(copiedTmuxUnknown), nil
	}
	args, how := []string{"load-buffer", "-w", "-"}, copiedTmuxExternal
	if setting == "off" {
		args, how = []string{"load-buffer", "-"}, copiedTmuxOff
	}
	cmd := exec.Command("tmux", args...)
	cmd.Stdin = strings.NewReader(text)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", &copyError{what: strings.TrimSpace(string(msg))}
	}
	return i18n.T(how), nil
}

// copyError is a tmux that refused the text.
type copyError struct{ what string }

func (e *copyError) Error() string {
	return i18n.T("ui.copied.tmux-refused", i18n.Args{"What": e.what})
}
