package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/reqprof/reqprof/profile"
)

// A sidecar, <id>.json, holds a stored profile's Meta.
//
// Version 2 (written since labels replaced the HTTP columns):
//
//	{"v":2,"id":"…","time":"…","name":"GET /x","size":1234,
//	 "summary":{"duration":1500000,"cpu":…,"waiting":…,"runnable":…,"syscall":…,"goroutines":3,
//	            "cpu_inferred":…,"overhead":…,"overhead_before":…},
//	 "labels":{"method":"GET","route":"GET /x","status":"200"}}
//
// The last three summary fields came later, optional: a sidecar without
// them reads as zeros.
//
// Version 1 had no "v" and HTTP columns at the top level: method, path,
// route, status, duration, cpu, wait (everything off the CPU), goroutines,
// reason, panic. It is migrated on read (see migrate).
const sidecarVersion = 2

// maxSidecar bounds the size of a sidecar read back: Put writes much less
// (see the label bounds), so a larger file is damaged or not ours, and is
// skipped without being read whole.
const maxSidecar = 256 << 10

type sidecar struct {
	V       int               `json:"v,omitempty"`
	ID      string            `json:"id"`
	Time    time.Time         `json:"time"`
	Name    string            `json:"name"`
	Size    int64             `json:"size"`
	Summary *wireSummary      `json:"summary,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`

	// Version 1.
	Method     string        `json:"method,omitempty"`
	Path       string        `json:"path,omitempty"`
	Route      string        `json:"route,omitempty"`
	Status     int           `json:"status,omitempty"`
	Duration   time.Duration `json:"duration,omitempty"`
	CPU        time.Duration `json:"cpu,omitempty"`
	Wait       time.Duration `json:"wait,omitempty"`
	Goroutines int           `json:"goroutines,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	Panic      bool          `json:"panic,omitempty"`
}

type wireSummary struct {
	Duration   time.Duration `json:"duration"`
	CPU        time.Duration `json:"cpu"`
	Waiting    time.Duration `json:"waiting"`
	Runnable   time.Duration `json:"runnable"`
	Syscall    time.Duration `json:"syscall"`
	Goroutines int           `json:"goroutines"`
	// Since the summary told sampled running time from unsampled and
	// the profiler's cost; absent, they are zero.
	CPUInferred    time.Duration `json:"cpu_inferred,omitempty"`
	Overhead       time.Duration `json:"overhead,omitempty"`
	OverheadBefore time.Duration `json:"overhead_before,omitempty"`
}

func encodeSidecar(m Meta) ([]byte, error) {
	s := wireSummary(m.Summary)
	js, err := json.Marshal(sidecar{V: sidecarVersion, ID: m.ID, Time: m.Time, Name: m.Name, Size: m.Size, Summary: &s, Labels: m.Labels})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if len(js) > maxSidecar { // cannot happen within the label bounds
		return nil, fmt.Errorf("store: %w: metadata of %d bytes", ErrInvalidMeta, len(js))
	}
	return js, nil
}

// metaReads counts the Metas read from disk (sidecars, and the headers of
// profile files), for the tests of the index.
var metaReads atomic.Int64

// readSidecar reads and decodes the sidecar of id at name.
func readSidecar(name, id string) (Meta, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return Meta{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	metaReads.Add(1)
	b, err := io.ReadAll(io.LimitReader(f, maxSidecar+1))
	if err != nil {
		return Meta{}, fmt.Errorf("store: %s.json: %w", id, err)
	}
	if len(b) > maxSidecar {
		return Meta{}, fmt.Errorf("store: %s.json: %w: larger than %d KiB, skipped", id, ErrCorrupt, maxSidecar>>10)
	}
	return decodeSidecar(b, id, id+".json")
}

// decodeSidecar decodes the Meta of id, read from the file named file.
func decodeSidecar(b []byte, id, file string) (Meta, error) {
	var s sidecar
	if err := json.Unmarshal(b, &s); err != nil {
		return Meta{}, fmt.Errorf("store: %s: %w: %v", file, ErrCorrupt, err)
	}
	if s.ID != id {
		return Meta{}, fmt.Errorf("store: %s: %w: holds id %q", file, ErrCorrupt, s.ID)
	}
	if s.V > sidecarVersion {
		return Meta{}, fmt.Errorf("store: %s: %w: version %d, this build reads up to %d", file, ErrCorrupt, s.V, sidecarVersion)
	}
	if s.V < 2 {
		return s.migrate(), nil
	}
	m := Meta{ID: s.ID, Time: s.Time, Name: s.Name, Size: s.Size, Labels: s.Labels}
	if s.Summary != nil {
		m.Summary = Summary(*s.Summary)
	}
	return m, nil
}

// migrate converts a version 1 sidecar, written by the HTTP middleware,
// to a Meta. Version 1 lumped every off-CPU state into "wait": it becomes
// Waiting.
func (s *sidecar) migrate() Meta {
	m := Meta{ID: s.ID, Time: s.Time, Name: s.Name, Size: s.Size,
		Summary: Summary{Duration: s.Duration, CPU: s.CPU, Waiting: s.Wait, Goroutines: s.Goroutines}}
	l := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			l[k] = v
		}
	}
	if s.Method != "" {
		l[profile.AttrKind] = profile.KindHTTP
	}
	set(profile.AttrMethod, s.Method)
	set(profile.AttrRoute, s.Route)
	set(profile.AttrURL, s.Path)
	if s.Status != 0 {
		l[profile.AttrStatus] = strconv.Itoa(s.Status)
	}
	set(profile.AttrReason, s.Reason)
	if s.Panic {
		l[profile.AttrPanic] = "true"
	}
	if len(l) > 0 {
		m.Labels = l
	}
	return m
}

// normalize bounds m's name and labels as Put stores them.
func normalize(m Meta) (Meta, error) {
	m.Name = cut(m.Name, maxName)
	if len(m.Labels) > MaxLabels {
		return m, fmt.Errorf("store: %w: %d labels, at most %d", ErrInvalidMeta, len(m.Labels), MaxLabels)
	}
	if len(m.Labels) == 0 {
		m.Labels = nil
		return m, nil
	}
	l := make(map[string]string, len(m.Labels))
	for k, v := range m.Labels {
		if k == "" || len(k) > MaxLabelKey {
			return m, fmt.Errorf("store: %w: label key %.80q (keys have 1 to %d bytes)", ErrInvalidMeta, k, MaxLabelKey)
		}
		l[k] = cut(v, MaxLabelValue)
	}
	m.Labels = l
	return m, nil
}

// cut returns s, or s cut at a rune boundary to at most max bytes ending in
// an ellipsis.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	n := max - len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n]) + ellipsis
}
