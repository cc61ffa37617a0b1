package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFirstFramePTY smoke-tests the wizard's pseudo-terminal measurement with stand-ins for
// the wizard (shell scripts): the first frame is found on the silent terminal, and the
// answering one answers the OSC 11 query. It asserts what happens, never how fast.
func TestFirstFramePTY(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := script("plain", `printf ' jitpwiz · AWS IoT %s\n' 'Just-in-Time Provisioning'; sleep 30`)
	// asks as termenv does, and draws only once the answer came (raw: no newline ends it)
	asks := script("asks", `stty raw -echo; printf '\033]11;?\033\\'; head -c 5 >/dev/null; printf 'Just-in-Time Provisioning'; sleep 30`)
	if d, err := firstFramePTY(plain, filepath.Join(dir, "ws1"), nil, 20*time.Second); err != nil || d <= 0 {
		t.Fatalf("silent terminal: %v %v", d, err)
	}
	if d, err := firstFramePTY(asks, filepath.Join(dir, "ws2"), answering, 20*time.Second); err != nil || d <= 0 {
		t.Fatalf("answering terminal: %v %v", d, err)
	}
	if _, err := firstFramePTY(asks, filepath.Join(dir, "ws3"), nil, 2*time.Second); err == nil {
		t.Fatal("a program waiting for an answer the silent terminal never gives drew a frame")
	}
}
