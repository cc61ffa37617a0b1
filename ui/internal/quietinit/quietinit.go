// Package quietinit keeps bubbletea v1's package init from asking the terminal for its
// background colour. That init (tea_init.go) calls lipgloss.HasDarkBackground on the
// default output, and termenv then sends OSC 11 and a cursor position request and waits up
// to 5 s for an answer — before main runs, in every command of a binary that links
// bubbletea, and for the whole 5 s on a terminal that answers neither.
//
// termenv asks no terminal whose TERM is "dumb", so this package sets TERM=dumb in its
// init and Restore, called from ui's init, puts TERM back. The trick depends on the Go
// specification's order of package initialisation (Go 1.21 and later): packages sorted by
// import path, each initialised as soon as all its imports are. This package imports
// nothing but os, which termenv imports too, and its path sorts before
// github.com/muesli/termenv, so it is initialised before termenv, lipgloss and bubbletea.
// Keep it that way: no other import here (TestQuietInitImportsOnlyOS guards it).
package quietinit

import "os"

var term, hadTerm = os.LookupEnv("TERM")

func init() {
	_ = os.Setenv("TERM", "dumb")
}

// Restore puts TERM back as it was before this package's init.
func Restore() {
	if hadTerm {
		_ = os.Setenv("TERM", term)
		return
	}
	_ = os.Unsetenv("TERM")
}
