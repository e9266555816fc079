package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reqprof/reqprof/profile"
)

// Retention bounds what a Dir keeps; the oldest profiles go first. Zero
// fields take the defaults.
type Retention struct {
	MaxCount int           // default 200
	MaxBytes int64         // default 512 MiB
	MaxAge   time.Duration // default 7 days
}

func (r Retention) withDefaults() Retention {
	if r.MaxCount <= 0 {
		r.MaxCount = 200
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = 512 << 20
	}
	if r.MaxAge <= 0 {
		r.MaxAge = 7 * 24 * time.Hour
	}
	return r
}

// Dir stores profiles as files in one directory: <id>.reqprof (the native
// file) and <id>.json (its Meta). Writes are atomic (temporary file, then
// rename), so readers never see half a file.
type Dir struct {
	path string
	keep Retention
	mu   sync.Mutex // serialises retention
	now  func() time.Time
}

// DefaultDir returns the default directory: reqprof-<uid> under the OS
// temporary directory.
func DefaultDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("reqprof-%d", os.Getuid()))
}

// OpenDir opens (creating it, mode 0700) a directory store.
func OpenDir(path string, keep Retention) (*Dir, error) {
	if path == "" {
		path = DefaultDir()
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Temporary files of writes that a crash interrupted.
	if old, _ := filepath.Glob(filepath.Join(abs, ".tmp-*")); len(old) > 0 {
		for _, f := range old {
			if st, err := os.Stat(f); err == nil && time.Since(st.ModTime()) > time.Hour {
				os.Remove(f)
			}
		}
	}
	return &Dir{path: abs, keep: keep.withDefaults(), now: time.Now}, nil
}

// Path returns the directory.
func (d *Dir) Path() string { return d.path }

func (d *Dir) file(id, ext string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return filepath.Join(d.path, id+ext), nil
}

// Put implements Store. The profile is written before its summary, so a
// listed profile is always readable.
func (d *Dir) Put(ctx context.Context, m Meta, p *profile.Profile) error {
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		return fmt.Errorf("store: encode %s: %w", m.ID, err)
	}
	return d.PutEncoded(ctx, m, buf.Bytes())
}

// PutEncoded implements EncodedPutter: data must be a profile encoded with
// profile.Encode.
func (d *Dir) PutEncoded(ctx context.Context, m Meta, data []byte) error {
	pf, err := d.file(m.ID, ".reqprof")
	if err != nil {
		return err
	}
	mf, _ := d.file(m.ID, ".json")
	m.Size = int64(len(data))
	if err := writeAtomic(pf, data); err != nil {
		return err
	}
	js, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := writeAtomic(mf, js); err != nil {
		os.Remove(pf)
		return err
	}
	return d.enforce()
}

func writeAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, name)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: write %s: %w", filepath.Base(name), werr)
	}
	return nil
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, id string) (*profile.Profile, Meta, error) {
	m, err := d.meta(id)
	if err != nil {
		return nil, Meta{}, err
	}
	pf, _ := d.file(id, ".reqprof")
	f, err := os.Open(pf)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Meta{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, Meta{}, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	p, err := profile.Decode(f)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("store: %s: %w", id, err)
	}
	return p, m, nil
}

func (d *Dir) meta(id string) (Meta, error) {
	mf, err := d.file(id, ".json")
	if err != nil {
		return Meta{}, err
	}
	b, err := os.ReadFile(mf)
	if errors.Is(err, fs.ErrNotExist) {
		return Meta{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("store: %w", err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, fmt.Errorf("store: %s.json: %w", id, err)
	}
	if m.ID != id {
		return Meta{}, fmt.Errorf("store: %s.json holds id %q", id, m.ID)
	}
	return m, nil
}

// List implements Store.
func (d *Dir) List(ctx context.Context) ([]Meta, error) {
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []Meta
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !ValidID(id) {
			continue
		}
		m, err := d.meta(id)
		if err != nil {
			continue // deleted meanwhile, or not ours
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Meta) int { return strings.Compare(b.ID, a.ID) })
	return out, nil
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, id string) error {
	mf, err := d.file(id, ".json")
	if err != nil {
		return err
	}
	pf, _ := d.file(id, ".reqprof")
	err = os.Remove(mf)
	perr := os.Remove(pf)
	if errors.Is(err, fs.ErrNotExist) && errors.Is(perr, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	if perr != nil && !errors.Is(perr, fs.ErrNotExist) {
		return fmt.Errorf("store: %w", perr)
	}
	return nil
}

// enforce applies the retention limits, deleting the oldest first.
func (d *Dir) enforce() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ms, err := d.List(context.Background())
	if err != nil {
		return err
	}
	cutoff := d.now().Add(-d.keep.MaxAge)
	var total int64
	var errs []error
	for i, m := range ms { // newest first
		total += m.Size
		if i < d.keep.MaxCount && total <= d.keep.MaxBytes && !m.Time.Before(cutoff) {
			continue
		}
		if err := d.Delete(context.Background(), m.ID); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
