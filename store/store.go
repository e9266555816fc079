// Package store keeps profiles: a [Store] interface and [Dir], a directory
// implementation with unique time-sortable ids, atomic writes and retention
// by count, bytes and age.
//
// A stored profile is its native .reqprof file, which also holds its
// [Meta] (in the gzip header, where other readers of the file skip it): the
// numbers and labels a list shows and filters by, so that listing never
// decodes profiles. Nothing in a Meta is specific to
// HTTP: labels are the profile's attributes, under the well-known keys of
// package profile ([profile.AttrRoute], [profile.AttrStatus], ...), so an
// HTTP request, a gRPC call and a job are stored, listed and grouped alike.
package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/reqprof/reqprof/profile"
)

// Meta describes a stored profile.
type Meta struct {
	ID   string
	Time time.Time // when the work started
	Name string    // the profile's name: "GET /users/{id}", a job name
	// Summary holds the numbers the caller computed from the profile
	// (package store does not derive views); its fields are promoted, so
	// m.Duration is m.Summary.Duration.
	Summary
	// Size is the size of the profile's encoding in bytes (the stored
	// file adds the Meta to it); Put sets it.
	Size int64
	// Labels are the profile's attributes worth listing and filtering
	// by, under the keys of package profile ([profile.AttrRoute], ...);
	// see [LabelsOf]. Put bounds them: at most [MaxLabels] labels, keys
	// of at most [MaxLabelKey] bytes, values cut to [MaxLabelValue] bytes.
	Labels map[string]string
}

// Label returns the value of the label named key, or "".
func (m Meta) Label(key string) string { return m.Labels[key] }

// Summary is what a list of profiles shows about each: the wall time of the
// work and how it was spent along its critical path (CPU + Waiting +
// Runnable + Syscall = Duration), and how many goroutines took part.
type Summary struct {
	Duration   time.Duration
	CPU        time.Duration // running on a CPU
	Waiting    time.Duration // blocked: network, locks, channels, sleeps
	Runnable   time.Duration // ready, waiting for a CPU
	Syscall    time.Duration // in system calls
	Goroutines int           // goroutines of the work (members)
	// CPUInferred is the part of CPU that no CPU sample observed (its
	// place in the code is inferred).
	CPUInferred time.Duration
	// Overhead is the profiler's own time inside the work's window
	// ("[reqprof]"), OverheadBefore the time it added before the window
	// (starting the recorder, admission).
	Overhead, OverheadBefore time.Duration
}

// Bounds on a Meta's labels, which keep every sidecar small.
const (
	MaxLabels     = 32
	MaxLabelKey   = 64
	MaxLabelValue = 1 << 10
	maxName       = 1 << 10
)

// LabelsOf returns the labels a stored profile carries: its attributes,
// except the module path ([profile.ModuleAttr]), which says how to render
// it, not what it was.
func LabelsOf(p *profile.Profile) map[string]string {
	l := make(map[string]string, len(p.Attrs))
	for _, a := range p.Attrs {
		if a.Key != profile.ModuleAttr {
			l[a.Key] = a.Value
		}
	}
	return l
}

// Store keeps profiles by id.
type Store interface {
	// Put stores p under m.ID, which must be a valid id (see NewID). It
	// fails with an error wrapping ErrTooLarge for a profile the store
	// cannot keep, ErrNoSpace when the disk is full, ErrInvalidID or
	// ErrInvalidMeta for a bad m.
	Put(ctx context.Context, m Meta, p *profile.Profile) error
	// Get returns a stored profile and its Meta; ErrNotFound if absent.
	Get(ctx context.Context, id string) (*profile.Profile, Meta, error)
	// List returns the Metas of the stored profiles that f selects,
	// newest first.
	List(ctx context.Context, f Filter) ([]Meta, error)
	// Delete removes a profile; ErrNotFound if absent.
	Delete(ctx context.Context, id string) error
}

// EncodedPutter is implemented by stores that can take a profile already
// encoded in its native format (profile.Encode), so that a caller that
// needed the encoding anyway (to check its size) does not encode twice.
type EncodedPutter interface {
	PutEncoded(ctx context.Context, m Meta, data []byte) error
}

// Filter selects stored profiles. The zero Filter selects all of them.
type Filter struct {
	// Labels selects profiles having every one of these labels with
	// exactly this value (a value of "" selects profiles without the
	// label).
	Labels map[string]string
	// Name, if not empty, selects profiles with exactly this name.
	Name string
	// Since and Until, if not zero, select profiles whose Time is in
	// [Since, Until).
	Since, Until time.Time
	// MinDuration and MaxDuration, if positive, select profiles whose
	// Duration is in [MinDuration, MaxDuration].
	MinDuration, MaxDuration time.Duration
	// Limit, if positive, returns at most this many profiles, the newest.
	Limit int
}

// Match reports whether f selects m (Limit aside).
func (f Filter) Match(m Meta) bool {
	switch {
	case f.Name != "" && m.Name != f.Name,
		!f.Since.IsZero() && m.Time.Before(f.Since),
		!f.Until.IsZero() && !m.Time.Before(f.Until),
		f.MinDuration > 0 && m.Duration < f.MinDuration,
		f.MaxDuration > 0 && m.Duration > f.MaxDuration:
		return false
	}
	for k, v := range f.Labels {
		if m.Labels[k] != v {
			return false
		}
	}
	return true
}

// ErrNotFound is returned for an id that is not stored.
var ErrNotFound = errors.New("profile not found")

// ErrInvalidID is returned for a string that is not an id.
var ErrInvalidID = errors.New("invalid profile id")

// ErrInvalidMeta is returned by Put for a Meta it cannot store (too many
// labels, an empty or overlong label key).
var ErrInvalidMeta = errors.New("invalid profile metadata")

// ErrTooLarge is returned, wrapped, for a profile larger than the store
// keeps (for Dir, larger than Retention.MaxBytes), and by callers that
// enforce their own size limits before storing.
var ErrTooLarge = errors.New("profile too large")

// ErrNoSpace is returned, wrapped together with the system's error, when a
// write fails because the disk (or the user's quota) is full.
var ErrNoSpace = errors.New("no space left for profiles")

// ErrCorrupt is returned, wrapped, for a stored sidecar that cannot be
// read: damaged, too large, or holding another id.
var ErrCorrupt = errors.New("corrupt stored metadata")

// NewID returns a unique id that sorts by creation time: 16 hex digits of
// Unix nanoseconds, a dash, 8 random hex digits.
func NewID(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixNano()))
	if _, err := rand.Read(b[8:]); err != nil {
		panic(fmt.Sprintf("store: crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:8]) + "-" + hex.EncodeToString(b[8:])
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{16}-[0-9a-f]{8}$`)

// ValidID reports whether s is an id as NewID makes them; only such ids
// ever reach the file system.
func ValidID(s string) bool { return idPattern.MatchString(s) }
