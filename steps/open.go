package steps

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// Opening a workspace: reading its jitpwiz.json (or starting a new one) and overlaying the
// options given on the saved ones, each checked before anything is written.

// OpenExisting is Open for commands that act on a workspace a run already made (clean,
// doctor): a directory without a session file is an error naming --dir.
func OpenExisting(o Options) (*Session, error) {
	if o.Dir == "" {
		return nil, i18n.NewError("session.dir-empty")
	}
	if _, err := os.Stat(filepath.Join(o.Dir, SessionFile)); err != nil {
		return nil, i18n.NewError("session.no-workspace", i18n.Args{"Dir": o.Dir, "File": SessionFile})
	}
	return Open(o)
}

// Open validates o, then loads the workspace's session (if any) and overlays o on the saved
// options: options o leaves empty keep their saved value, or take their default in a new
// workspace. Bad input is an error naming the flag and the fix, and nothing is written.
// Open does not connect to any back-end; call Connect.
func Open(o Options) (*Session, error) {
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, i18n.WrapError(err, "session.dir", i18n.Args{"Dir": o.Dir})
	}
	s := &Session{Version: sessionVersion, dir: dir}
	path := filepath.Join(dir, SessionFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, s); err != nil {
			return nil, i18n.NewError("session.not-session", i18n.Args{"File": path, "Problem": jsonProblem(b, err)})
		}
		if s.Version > sessionVersion {
			return nil, i18n.NewError("session.newer", i18n.Args{"File": path, "Version": s.Version})
		}
		s.dir = dir
		s.sanitize()
	default:
		// A file where the workspace should be makes ReadFile fail with ENOTDIR, not
		// "does not exist": check for it first so the message says what is wrong.
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			return nil, i18n.NewError("session.not-dir", i18n.Args{"Dir": o.Dir})
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, i18n.WrapError(err, "session.unreadable", i18n.Args{"Dir": o.Dir, "File": path})
		}
	}
	saved := s.Options
	// Switching to a thing the workspace already has: its subject options come back unless
	// new ones are given.
	if o.Thing != "" && o.Thing != saved.Thing {
		if d := s.Devices[o.Thing]; d != nil && d.SubjectOptions != nil && o.Country == "" && o.Org == "" && o.OrgUnit == "" && o.State == "" {
			saved.Country, saved.Org, saved.OrgUnit, saved.State = d.SubjectOptions.Country, d.SubjectOptions.Org, d.SubjectOptions.OrgUnit, d.SubjectOptions.State
		}
	}
	eff := saved.overlay(o)
	eff.Dir = dir
	// A region saved for the local target (its default us-east-2, or one chosen for it) is
	// not AWS's: moved to --target aws without --region, the region comes from AWS_REGION or
	// the profile, as for any AWS tool.
	if saved.Target == TargetLocal && eff.Target == TargetAWS && o.Region == "" && saved.Region != "" {
		s.notices = append(s.notices, i18n.T("session.region-not-carried", i18n.Args{"Region": saved.Region}))
		eff.Region = ""
	}
	if err := eff.resolve(s.IsNew()); err != nil {
		return nil, err
	}
	if err := eff.Validate(); err != nil {
		return nil, err
	}
	if err := checkTemplateOption(&eff); err != nil {
		return nil, err
	}
	if err := eff.checkGiven(o); err != nil {
		return nil, err
	}
	s.Options = eff
	if err := s.checkSupplied(); err != nil {
		return nil, err
	}
	return s, nil
}
