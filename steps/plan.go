package steps

// NewPlan is the workspace's plan: the 13 documented steps, in order, over session s. The
// TUI and the headless runner execute the same plan.
//
// The plan is where a mode adapts the procedure: a step that does not apply says so through
// Skip (and is passed over), and a mode that does a step another way puts its own step in
// that place; steps refer to each other only by ID, through the plan.
func NewPlan(s *Session) *Plan {
	return newPlan(s,
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
		&verifyStep{},
		&useStep{},
	)
}
