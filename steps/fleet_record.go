package steps

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/jitpwiz/jitpwiz/pki"
	"github.com/jitpwiz/jitpwiz/steps/i18n"
)

// What a fleet leaves in the workspace, so that its report can be read and `clean` can
// remove it — also after the fleet was killed:
//
//	fleet/<id>/fleet.json          the manifest: names, size, key type, CA, target (written first)
//	fleet/<id>/certificates.jsonl  one line per device certificate issued: name, thing, certificate ID,
//	                               appended and fsynced before any of those devices connects
//	fleet/<id>/report.json         the --json report (written at the end, also when interrupted)
//	fleet/<id>/devices.csv         one row per device (columns: fleetCSVHeader)
//	fleet/<id>/cleaned.jsonl       certificate IDs `clean` has removed (so a killed clean resumes)
//	fleet/<id>/devices/<name>/     keys and certificates, only with --save-keys
//
// Keys: by default a fleet's device keys live in memory only and are never written; see
// FleetOptions.SaveKeys for why and for the alternative.

// FleetDir is the directory of the fleets inside a workspace.
const FleetDir = "fleet"

// Files of one fleet.
const (
	fleetManifestFile = "fleet.json"
	fleetJournalFile  = "certificates.jsonl"
	fleetReportFile   = "report.json"
	fleetCSVFile      = "devices.csv"
	fleetCleanedFile  = "cleaned.jsonl"
	fleetKeysDir      = "devices"
)

// fleetManifest is fleet/<id>/fleet.json.
type fleetManifest struct {
	Version     int        `json:"version"`
	ID          string     `json:"id"`
	Names       string     `json:"names"`
	Devices     int        `json:"devices"`
	KeyType     string     `json:"keyType"`
	Target      string     `json:"target"` // targetID: target/region/account(/endpoint URL)
	CAID        string     `json:"caCertificateId"`
	KeysSaved   bool       `json:"keysSaved,omitempty"`
	Created     time.Time  `json:"created"`
	Finished    *time.Time `json:"finished,omitempty"`
	Interrupted bool       `json:"interrupted,omitempty"`
	// Policies are the policies JITP attached to the fleet's certificates, as seen at the end.
	Policies []string `json:"policies,omitempty"`
	// Cleaned: clean removed every device of the fleet.
	Cleaned bool `json:"cleaned,omitempty"`
}

// fleetDevice is one line of certificates.jsonl.
type fleetDevice struct {
	Name   string `json:"name"`  // the certificate's CN
	Thing  string `json:"thing"` // the thing the template makes of it ("" when it makes none)
	CertID string `json:"certificateId"`
}

// fleetRecord is a fleet found in the workspace.
type fleetRecord struct {
	dir      string
	manifest fleetManifest
}

func (r *fleetRecord) path(name string) string { return filepath.Join(r.dir, name) }

// saveManifest rewrites fleet.json atomically.
func (r *fleetRecord) saveManifest() error {
	b, err := json.MarshalIndent(r.manifest, "", "  ")
	if err != nil {
		return err
	}
	return pki.WriteFile(r.path(fleetManifestFile), append(b, '\n'), pki.CertMode, true)
}

// devices reads certificates.jsonl: every certificate the fleet issued (a line cut short by
// a kill is ignored: its device never connected, the line is fsynced before).
func (r *fleetRecord) devices() ([]fleetDevice, error) {
	return readJSONLines[fleetDevice](r.path(fleetJournalFile))
}

// cleaned reads cleaned.jsonl: the certificate IDs clean has removed.
func (r *fleetRecord) cleaned() (map[string]bool, error) {
	lines, err := readJSONLines[fleetDevice](r.path(fleetCleanedFile))
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(lines))
	for _, l := range lines {
		out[l.CertID] = true
	}
	return out, nil
}

func readJSONLines[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var v T
		if json.Unmarshal(sc.Bytes(), &v) == nil {
			out = append(out, v)
		}
	}
	return out, sc.Err()
}

// fleets returns the workspace's fleets, oldest first. A directory without a readable
// manifest is skipped (it is not a fleet jitpwiz wrote).
func fleets(s *Session) []*fleetRecord {
	ents, err := os.ReadDir(s.Path(FleetDir))
	if err != nil {
		return nil
	}
	var out []*fleetRecord
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(s.Path(FleetDir), e.Name())
		b, err := os.ReadFile(filepath.Join(dir, fleetManifestFile))
		if err != nil {
			continue
		}
		r := &fleetRecord{dir: dir}
		if json.Unmarshal(b, &r.manifest) != nil || r.manifest.ID != e.Name() {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].manifest.ID < out[j].manifest.ID })
	return out
}

// appendLog is an append-only JSON-lines file (certificates.jsonl, cleaned.jsonl): created
// 0600 without following a symbolic link, each batch written and fsynced before the caller
// goes on.
type appendLog struct{ f *os.File }

func openAppendLog(path string) (*appendLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, pki.KeyMode)
	if err != nil {
		return nil, i18n.WrapError(err, "fleet.record.open", i18n.Args{"File": path})
	}
	return &appendLog{f: f}, nil
}

func (l *appendLog) write(lines ...any) error {
	var b bytes.Buffer
	for _, v := range lines {
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	if _, err := l.f.Write(b.Bytes()); err != nil {
		return i18n.WrapError(err, "fleet.record.write", i18n.Args{"File": l.f.Name()})
	}
	return l.f.Sync()
}

func (l *appendLog) close() error { return l.f.Close() }

// newFleetID names a new fleet after the time it starts (UTC), unique in the workspace.
func newFleetID(s *Session, now time.Time) string {
	base := now.UTC().Format("20060102-150405")
	id := base
	for n := 2; pki.FileExists(filepath.Join(s.Path(FleetDir), id)); n++ {
		id = fmt.Sprintf("%s-%d", base, n)
	}
	return id
}

// usedFleetNames are the device names of the workspace's fleets that clean has not removed
// yet, each with its fleet: a new fleet must not reuse them (JITP would attach a second
// certificate to the thing, and clean of one fleet would delete the other's thing).
func usedFleetNames(s *Session) (map[string]string, error) {
	used := map[string]string{}
	for _, r := range fleets(s) {
		if r.manifest.Cleaned {
			continue
		}
		devs, err := r.devices()
		if err != nil {
			return nil, fmt.Errorf("fleet %s: %w", r.manifest.ID, err)
		}
		for _, d := range devs {
			used[d.Name] = r.manifest.ID
			if d.Thing != "" {
				used[d.Thing] = r.manifest.ID
			}
		}
	}
	return used, nil
}
