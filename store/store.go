// Package store keeps profiles: a [Store] interface and [Dir], a directory
// implementation with unique time-sortable ids, atomic writes and retention
// by count, bytes and age.
//
// A stored profile is its native .reqprof file plus a small JSON sidecar
// with the summary the list page shows, so that listing never decodes
// profiles.
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

// Meta summarises a stored profile.
type Meta struct {
	ID         string        `json:"id"`
	Time       time.Time     `json:"time"`
	Name       string        `json:"name"`
	Method     string        `json:"method,omitempty"`
	Path       string        `json:"path,omitempty"`
	Route      string        `json:"route,omitempty"`
	Status     int           `json:"status,omitempty"`
	Duration   time.Duration `json:"duration"`
	CPU        time.Duration `json:"cpu"`
	Wait       time.Duration `json:"wait"`
	Goroutines int           `json:"goroutines"`
	Size       int64         `json:"size"`
	// Reason says why the profile was taken: "requested", "slow".
	Reason string `json:"reason,omitempty"`
	Panic  bool   `json:"panic,omitempty"`
}

// Store keeps profiles by id.
type Store interface {
	// Put stores p under m.ID, which must be a valid id (see NewID).
	Put(ctx context.Context, m Meta, p *profile.Profile) error
	// Get returns a stored profile and its summary; ErrNotFound if absent.
	Get(ctx context.Context, id string) (*profile.Profile, Meta, error)
	// List returns the summaries of the stored profiles, newest first.
	List(ctx context.Context) ([]Meta, error)
	// Delete removes a profile; ErrNotFound if absent.
	Delete(ctx context.Context, id string) error
}

// EncodedPutter is implemented by stores that can take a profile already
// encoded in its native format (profile.Encode), so that a caller that
// needed the encoding anyway (to check its size) does not encode twice.
type EncodedPutter interface {
	PutEncoded(ctx context.Context, m Meta, data []byte) error
}

// ErrNotFound is returned for an id that is not stored.
var ErrNotFound = errors.New("profile not found")

// ErrInvalidID is returned for a string that is not an id.
var ErrInvalidID = errors.New("invalid profile id")

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
