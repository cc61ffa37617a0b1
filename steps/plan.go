package steps

// NewPlan is the workspace's plan: the 13 documented steps, in order, over session s, with
// JITR's activate step; the session's --mode picks which are in it (JITP: the 13; JITR: the
// activate step in place of the template step). The TUI and the headless runner execute the
// same plan.
//
// The plan is where a mode adapts the procedure: a step that does not apply says so through
// Skip (and is passed over), and a mode that does a step another way puts its own step in
// that place; steps refer to each other only by ID, through the plan.
func NewPlan(s *Session) *Plan {
	p := newPlan(s,
		&caKeyStep{},
		&openSSLConfStep{},
		&caCertStep{},
		&regCodeStep{},
		&verifCertStep{},
		&roleStep{},
		&templateStep{},
		&registerCAStep{},
		&deviceCertStep{},
		&serverTrustStep{},
		&firstConnectStep{},
		&activateStep{},
		&verifyStep{},
		&useStep{},
	)
	p.in = func(st Step) bool { return inMode(s, st.ID()) }
	return p
}

// inMode says whether a step is in the plan of the session's mode: JITR swaps the template
// step (7) for the activate step (11a).
func inMode(s *Session, id ID) bool {
	switch id {
	case IDTemplate:
		return !s.Options.jitr()
	case IDActivate:
		return s.Options.jitr()
	}
	return true
}
