package pki

import (
	"os"
	"path/filepath"
	"regexp"
)

// staleTempRE matches the temporary files WriteFile creates: "." + the file's name +
// ".tmp-" + os.CreateTemp's random digits.
var staleTempRE = regexp.MustCompile(`^\..+\.tmp-[0-9]{1,20}$`)

// tempPattern is the os.CreateTemp pattern of WriteFile's temporary file for path's base name.
func tempPattern(base string) string { return "." + base + ".tmp-*" }

// RemoveStaleTemps removes the temporary files WriteFile leaves behind when its process
// is killed mid-write (".jitpwiz.json.tmp-123", ".awsRootCA.pem.tmp-456", ...) from dir and
// from the directories matching each of subdirs (filepath.Glob patterns relative to dir,
// e.g. "devices/*"). Only regular files with exactly that name pattern go; nothing is
// followed. Call it only while holding the lock that keeps every other jitpwiz out of
// dir: a temp file is stale only when no writer can be using it. It returns the paths
// it removed.
func RemoveStaleTemps(dir string, subdirs ...string) []string {
	dirs := []string{dir}
	for _, g := range subdirs {
		m, _ := filepath.Glob(filepath.Join(dir, g))
		dirs = append(dirs, m...)
	}
	var removed []string
	for _, d := range dirs {
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			continue
		}
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.Type().IsRegular() || !staleTempRE.MatchString(e.Name()) {
				continue
			}
			p := filepath.Join(d, e.Name())
			if os.Remove(p) == nil {
				removed = append(removed, p)
			}
		}
	}
	if len(removed) > 0 {
		syncDir(dir)
	}
	return removed
}
