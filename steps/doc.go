// Package steps holds the documented JITP procedure: one file per step
// (step01_cakey.go … step13_use.go), each the step's own model — explanation, inputs,
// equivalent commands, action, result and view side by side — embedding the Base every
// step shares. NewPlan orders the steps for a workspace; the TUI (ui/) and the headless
// runner (`jitpwiz run`) execute exactly the same actions.
//
// # Modes
//
// --mode jitr (Just-in-Time Registration) swaps the template step (7) for the activate step,
// step11a_activate.go: it runs after the first connect (11), which registered the certificate
// PENDING_ACTIVATION, and before verify (12), so it is numbered 11a — the documented steps
// keep their walkthrough numbers in both modes (StepLabel; ParseID accepts "11a"), and the
// messages that name "step 8" mean the same step in both. JITR also skips the provisioning
// role (6: no template runs). --ca-mode sni-only skips steps 4–5 and registers the CA with
// certificateMode SNI_ONLY; --port 443 connects with ALPN x-amzn-mqtt-ca (the in-process
// IoT Core opens an ALPN listener for it). What the adapted steps read of the modes is in
// session.go (Options.jitr, sniOnly, alpn443); NewPlan's inMode picks the steps.
//
// # Session and workspace
//
// Open(Options) loads <dir>/jitpwiz.json (or starts a new workspace) and overlays the options
// given on the saved ones: an empty option keeps its saved value, so a re-run needs no flags.
// Session.Connect starts the embedded IoT Core (target local, state in <dir>/.local-iot) or
// builds the AWS client (target aws); Close stops it. Every Step.Run saves the session
// atomically (0600), whoever calls it. The session never holds key material.
//
// Files (commands are shown relative to the workspace, as after `cd <dir>`):
//
//	deviceRootCA.key/.pem/.csr, deviceRootCA_openssl.conf   steps 1–3 (not with --ca-cert)
//	verificationCert.key/.csr/.crt                          step 5
//	jitp_template.json                                      step 7 (the registrationConfig)
//	deviceCert.key/.csr/.crt, deviceCertAndCACert.crt       step 9, the first thing
//	devices/<thing>/deviceCert.*, .../deviceCertAndCACert.crt  step 9, every further thing
//	awsRootCA.pem                                           step 10
//	jitr_policy.json, jitr_rule.json, jitr_activate.mjs     step 11a (JITR: the policy, and
//	                                                        the topic rule + Lambda for production)
//	fleet/<id>/                                             `jitpwiz fleet` (fleet_record.go), not a step
//
// Supplied files (--ca-cert/--ca-key, --device-cert/--device-key) are read where they are and
// never rewritten.
//
// # Resume and invalidation
//
// Each step declares the values it consumes (options such as the country, and results of
// earlier steps such as the CA certificate ID) and the steps it depends on. A finished step
// records those values; it is done while they are unchanged, its files exist and the steps it
// depends on are done. A changed option therefore redoes exactly the dependent steps, and
// StepStatus.Reason says why ("country changed: IN → US"). Device steps (9, 11, 12, 13) are
// recorded per thing, so a new --thing reuses the CA, role and registration. Keys are reused
// whenever their file exists; only --force-new-keys replaces them.
//
// # Layers
//
// The files stand on four layers, and a file uses only the files of the layers under it
// (layers_test.go checks it), so no step uses another step and nothing shared uses a step:
//
//  1. the ground, which says nothing to the user itself: the step IDs (ids.go), the one
//     state machine (state.go), the workspace's data (session.go: jitpwiz.json, Where), a
//     step's input (field.go), small helpers (text.go), line wrapping (wrap.go), the fleet's
//     rate limiter (fleet_limit.go) — and the catalog, steps/i18n;
//  2. what the steps share: base.go (the Base and the Plan), options.go, templatefile.go
//     (template files and their JSON errors), ca.go, keys.go, commands.go, devices.go,
//     provisioned.go, templates.go, lock.go, removal.go, screen_text.go, doctor_report.go,
//     errtext.go, fleet_record.go;
//  3. the steps (stepNN_*.go) and their peers: base_update.go, open.go, connect.go,
//     summary.go, runner_events.go, bundle.go, libtext.go, doctor_cloud/device/files.go,
//     fleet.go, fleet_clean.go;
//  4. what runs them: plan.go (NewPlan), runner.go (Plan.Run), base_view.go, clean.go,
//     doctor.go, script.go, fleet_run.go.
//
// A type's methods may stand on a higher layer than the type (Base's Update is in
// base_update.go, its View in base_view.go; the same for a Field's input widget).
//
// # One state
//
// A step's StepState (pending, editing, running, done, failed, skipped, redo) is one type,
// moved in one place (StepState.next, state.go): the runner reads the session's part of it
// (Status), the wizard drives the rest through the step's Show, Leave, Sync and Update, and
// its sidebar reads State.
package steps
