package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/jitpwiz/jitpwiz/pki/testtool"
)

// The wizard's first frame on a terminal of the benchmark's own (a pseudo-terminal, TERM
// xterm-256color, no multiplexer): one that never answers the background-colour query (OSC
// 11), and one that answers it and the cursor position request at once, as most terminals do.

const (
	osc11Query  = "\x1b]11;?"
	cursorQuery = "\x1b[6n"
	headerText  = "Just-in-Time Provisioning" // on the first frame's first line
)

// answering is a terminal that answers both queries at once (a dark background, the cursor
// at the top left).
func answering(out []byte) []byte {
	var reply []byte
	if bytes.Contains(out, []byte(osc11Query)) {
		reply = append(reply, "\x1b]11;rgb:1e1e/1e1e/1e1e\x1b\\"...)
	}
	if bytes.Contains(out, []byte(cursorQuery)) {
		reply = append(reply, "\x1b[1;1R"...)
	}
	return reply
}

// firstFramePTY starts `bin --dir ws` on a new 100×30 pseudo-terminal (answer: nil for one that
// never answers) and returns the time from the start to the first frame's header.
func firstFramePTY(bin, ws string, answer func([]byte) []byte, limit time.Duration) (time.Duration, error) {
	cmd := exec.Command(bin, "--dir", ws)
	cmd.Env = testtool.XtermEnv()
	r, err := testtool.StartPTY(cmd, 100, 30, answer)
	if err != nil {
		return 0, err
	}
	defer r.Stop()
	d, out, ok := r.WaitFor(headerText, limit)
	if !ok {
		return 0, fmt.Errorf("no first frame within %s; the terminal got %q", limit, lastBytes(out, 300))
	}
	return d, nil
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// benchWizardPTY measures the first frame on the silent and the answering terminal, rounds
// times each, alternated, each start on a new workspace.
func benchWizardPTY(c config, tmp string, r *report) error {
	var silent, answered []time.Duration
	for i := 0; i < c.rounds*2; i++ {
		for _, side := range []struct {
			name   string
			answer func([]byte) []byte
			into   *[]time.Duration
		}{{"silent", nil, &silent}, {"answering", answering, &answered}} {
			d, err := firstFramePTY(c.bin, filepath.Join(tmp, fmt.Sprintf("wizard-%s-%d", side.name, i)), side.answer, 30*time.Second)
			if err != nil {
				return fmt.Errorf("%s terminal: %w", side.name, err)
			}
			*side.into = append(*side.into, d)
		}
	}
	medS, medA := median(silent), median(answered)
	ratio := float64(medS) / float64(medA)
	r.target(medS <= 150*time.Millisecond, "issue 16: wizard first frame ≤ 150 ms on a terminal that never answers the background-colour query: %s (median; %.2f× the answering terminal's %s)", ms(medS), ratio, ms(medA))
	r.printf("The same start on a pseudo-terminal of the benchmark's own (100×30, TERM=xterm-256color, no multiplexer):\none that never answers the background-colour query (OSC 11) and one that answers it and the cursor position\nrequest at once; %d starts each, alternated. Time from exec until the first frame's header arrives.\n\n", len(silent))
	r.printf("| terminal | median | p90 |\n|---|---|---|\n| never answers | %s | %s |\n| answers at once | %s | %s |\n\nSilent ÷ answering (medians): %.2f×.\n\n", ms(medS), ms(quantile(silent, .9)), ms(medA), ms(quantile(answered, .9)), ratio)
	r.printf("Raw (ms): never answers %s; answers %s\n\n", list(silent), list(answered))
	return nil
}
