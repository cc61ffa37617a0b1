package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// The rule for every file jitpwiz writes in a workspace (keys, certificates, the session
// file, the workspace lock, the local IoT Core's state, lock and event files, the debug
// log): it is written only as a regular file of its own, never through a symbolic link
// and never into a FIFO, device, socket or directory that sits at its name. A planted
// link would otherwise make jitpwiz truncate or append to the file it points to.
//
//   - WriteFile (temp + rename) refuses such a path before it writes anything; its temp
//     file is created with O_EXCL, which never follows a link.
//   - OpenFile is os.OpenFile with O_NOFOLLOW, and an fstat check that the opened file is
//     regular, for files that are opened in place (locks, append-only logs).
//   - CheckRegular is the same check for a path that another library opens.
//
// Each refusal is a *NotRegularError that names the file and the fix.

// ErrNotRegular is matched (errors.Is) by *NotRegularError.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError: jitpwiz refused to write to (or use) Path because it is a symbolic
// link or something else than a regular file.
type NotRegularError struct {
	Path   string
	Kind   string // "a symbolic link", "a directory", "a named pipe", ... (in the user's language)
	Target string // the link's target, for a symbolic link
}

func (e *NotRegularError) Error() string {
	if e.Target != "" {
		return words("err.symlink", map[string]string{"Path": e.Path, "Target": e.Target})
	}
	return words("err.not-regular", map[string]string{"Path": e.Path, "Kind": e.Kind})
}

// Is makes errors.Is(err, ErrNotRegular) true.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// CheckRegular returns nil when path does not exist or is a regular file, and a
// *NotRegularError otherwise. It never follows a symbolic link.
func CheckRegular(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil // missing, or unreadable: the open that follows reports it
	}
	return notRegular(path, fi)
}

func notRegular(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	e := &NotRegularError{Path: path}
	switch {
	case m&fs.ModeSymlink != 0:
		e.Kind = words("kind.symlink", nil)
		e.Target, _ = os.Readlink(path)
		if e.Target == "" {
			e.Target = "?"
		}
	case m.IsDir():
		e.Kind = words("kind.directory", nil)
	case m&fs.ModeNamedPipe != 0:
		e.Kind = words("kind.pipe", nil)
	case m&fs.ModeSocket != 0:
		e.Kind = words("kind.socket", nil)
	case m&fs.ModeDevice != 0:
		e.Kind = words("kind.device", nil)
	default:
		e.Kind = words("kind.other", map[string]string{"Mode": m.Type().String()})
	}
	return e
}

// OpenFile is os.OpenFile for a file jitpwiz opens in place for writing (a lock file, an
// append-only log): the open never follows a symbolic link (O_NOFOLLOW) and does not block
// on a FIFO (O_NONBLOCK, which regular files ignore), and anything but a regular file is
// refused with a *NotRegularError naming path. Other errors name path too.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	if err := CheckRegular(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, flag|openFlags, perm)
	if err != nil {
		// A link or FIFO that appeared after the check: say what it is.
		if cerr := CheckRegular(path); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := notRegular(path, fi); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
