package steps

// Session is the options and results of one workspace, persisted as <workspace>/jitpwiz.json.
// It never holds key material. (Filled in by the steps/session issue.)
type Session struct {
	// Report, when set, receives progress events from a running step. Not persisted.
	Report func(Event) `json:"-"`
}

// report sends an event if anyone listens.
func (s *Session) report(e Event) {
	if s != nil && s.Report != nil {
		s.Report(e)
	}
}
