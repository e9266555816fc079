package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reqprof/reqprof/profile"
)

// Retention bounds what a Dir keeps; the oldest profiles go first. Zero
// fields take the defaults.
type Retention struct {
	MaxCount int           // default 200
	MaxBytes int64         // default 512 MiB; a larger profile is refused with ErrTooLarge
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

// Dir stores profiles as files in one directory, one file per profile:
// <id>.reqprof, the native file, with the profile's Meta in its gzip
// header (see header.go). Directories written before hold two files per
// profile, <id>.reqprof and <id>.json (its Meta): a Dir reads, lists and
// deletes those too. Writes are atomic (temporary file, then rename), so
// readers never see half a file.
//
// A Dir reads the sidecars once, on first use, and keeps their Metas in
// memory: Put and Get cost the same however many profiles are stored. List
// also picks up profiles that another process added to the directory, or
// removed from it. A directory deleted while in use is created again by
// the next Put.
type Dir struct {
	path string
	keep Retention
	// base and guarded are set for the default directory: path is base
	// joined with guarded, directories that must stay private to the user
	// (see secureDir), checked again when Put recreates them.
	base    string
	guarded []string
	now     func() time.Time

	mu      sync.Mutex
	loaded  bool
	index   map[string]Meta
	order   []string // the indexed ids, ascending: oldest first
	total   int64    // sum of the indexed Sizes
	skipped map[string]error
	// sidecars holds the indexed ids stored in the two-file layout (a
	// .json sidecar beside the .reqprof); noMeta the ids of .reqprof
	// files that have neither a Meta in their header nor a sidecar (a
	// two-file write interrupted between its files, or still under way
	// in another process), left out of the index until a sidecar appears.
	sidecars map[string]bool
	noMeta   map[string]bool
	// spares are the hidden files of profiles that retention removed,
	// kept to be written again (see writeProfile).
	spares   []string
	noSpares bool // the file system cannot tell whether a spare is open elsewhere
}

// maxSpares bounds the files of removed profiles a Dir keeps to write
// again: retention removes about one profile per Put once the store is
// full.
const maxSpares = 2

// OpenDir opens a directory store, creating the directory (mode 0700) if
// needed. An empty path opens the default directory (see DefaultDir), which
// OpenDir refuses, with an error wrapping ErrUnsafeDir, when it is a
// symbolic link, is not owned by the user, or is writable by others.
func OpenDir(path string, keep Retention) (*Dir, error) {
	d := &Dir{keep: keep.withDefaults(), now: time.Now}
	if path == "" {
		if err := d.openDefault(); err != nil {
			return nil, err
		}
	} else {
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		d.path = abs
	}
	// Temporary files of writes that a crash interrupted.
	if old, _ := filepath.Glob(filepath.Join(d.path, ".tmp-*")); len(old) > 0 {
		for _, f := range old {
			if st, err := os.Lstat(f); err == nil && st.Mode().IsRegular() && time.Since(st.ModTime()) > time.Hour {
				os.Remove(f)
			}
		}
	}
	return d, nil
}

// openDefault sets d to the default directory, creating it: under the
// user's cache directory, or, when there is none or it cannot be written,
// under the temporary directory.
func (d *Dir) openDefault() error {
	if base, guarded := cacheLocation(); base != "" {
		if err := os.MkdirAll(base, 0o700); err == nil {
			p, _, err := secureDir(base, guarded)
			if err == nil || errors.Is(err, ErrUnsafeDir) {
				d.path, d.base, d.guarded = p, base, guarded
				return err
			}
		}
	}
	base, guarded := tempLocation()
	p, _, err := secureDir(base, guarded)
	d.path, d.base, d.guarded = p, base, guarded
	return err
}

// Path returns the directory.
func (d *Dir) Path() string { return d.path }

func (d *Dir) file(id, ext string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return filepath.Join(d.path, id+ext), nil
}

// Put implements Store. The profile and its Meta appear together, so a
// listed profile is always readable.
func (d *Dir) Put(ctx context.Context, m Meta, p *profile.Profile) error {
	if !ValidID(m.ID) {
		return fmt.Errorf("%w: %q", ErrInvalidID, m.ID)
	}
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
	m, err = normalize(m)
	if err != nil {
		return err
	}
	m.Size = int64(len(data))
	if m.Size > d.keep.MaxBytes {
		return fmt.Errorf("store: %s: %w: %s, more than the store keeps (%s)", m.ID, ErrTooLarge, sizeString(m.Size), sizeString(d.keep.MaxBytes))
	}
	js, err := encodeSidecar(m)
	if err != nil {
		return err
	}
	if err := d.prepare(); err != nil {
		return err
	}
	buf := fileBufs.Get().(*[]byte)
	file, inHeader := withMeta(buf, data, js)
	if inHeader {
		err = d.writeProfile(pf, file)
	} else {
		err = d.writeTwo(pf, data, js)
	}
	if cap(*buf) <= maxPooledBuf {
		fileBufs.Put(buf)
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if inHeader && d.sidecars[m.ID] {
		// The id was stored before in the two-file layout: its sidecar
		// would now describe it wrongly.
		mf, _ := d.file(m.ID, ".json")
		os.Remove(mf)
	}
	d.addLocked(m, !inHeader)
	return d.enforceLocked()
}

// writeProfile writes the file of a profile: into the file of one that
// retention removed when there is one (a spare), else into a new file.
//
// Creating a file is most of the cost of a Put on some file systems (on
// ext4 without a journal, the kernel looks at every inode deleted in the
// last minutes before it picks one, 0.3-2 ms here), and a full store
// creates one and deletes one per Put. Writing a spare again costs an
// open, a write, a truncate and a rename. A spare is a hidden file
// (.tmp-spare-<its old id>, which List ignores and OpenDir removes
// after an hour, as any temporary file); it is written again only when no
// one has it open (a reader that opened the profile before retention
// removed it keeps reading the old profile whole) and it has no other
// name, and it appears under the new name by a rename, so a reader never
// sees it half-written. A write that fails (a full disk) loses no profile:
// the spare was none any more (it is removed). Delete removes files, it
// makes no spares.
func (d *Dir) writeProfile(name string, data []byte) error {
	for {
		d.mu.Lock()
		spare := ""
		if n := len(d.spares); n > 0 {
			spare = d.spares[n-1]
			d.spares = d.spares[:n-1]
		}
		d.mu.Unlock()
		if spare == "" {
			return d.write(name, data)
		}
		done, unsupported, err := rewrite(spare, name, data)
		if unsupported {
			d.mu.Lock()
			d.noSpares = true
			for _, s := range d.spares {
				os.Remove(s)
			}
			d.spares = nil
			d.mu.Unlock()
		}
		if done {
			return err
		}
	}
}

// rewrite writes data to the spare file, then renames it name. It reports
// done false, having removed the spare, when the spare cannot be written
// again (gone, open elsewhere, linked elsewhere), for the caller to write
// another way; unsupported when no spare can be (see exclusive).
func rewrite(spare, name string, data []byte) (done, unsupported bool, err error) {
	f, err := os.OpenFile(spare, os.O_RDWR, 0)
	if err != nil {
		os.Remove(spare)
		return false, false, nil
	}
	ok, unsupported, size := exclusive(f)
	if !ok {
		f.Close()
		os.Remove(spare)
		return false, unsupported, nil
	}
	werr := writeFile(f, data)
	if werr == nil && size > int64(len(data)) {
		werr = f.Truncate(int64(len(data)))
	}
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(spare)
		return true, false, writeError(name, werr)
	}
	if err := rename(spare, name); err != nil {
		// Removed meanwhile (another process cleaning temporary
		// files, the directory deleted): write it another way.
		os.Remove(spare)
		return false, false, nil
	}
	return true, false, nil
}

// writeTwo writes a profile in the two-file layout: the profile before its
// sidecar, so that a listed profile is always readable.
func (d *Dir) writeTwo(pf string, data, js []byte) error {
	if err := d.write(pf, data); err != nil {
		return err
	}
	mf := strings.TrimSuffix(pf, ".reqprof") + ".json"
	if err := d.write(mf, js); err != nil {
		os.Remove(pf)
		return err
	}
	return nil
}

// prepare loads the index on first use. The default directory is checked
// (and created again if it was deleted) before every write, so that a
// directory planted in its place is refused, not written into.
func (d *Dir) prepare() error {
	created := false
	if d.guarded != nil {
		var err error
		if _, created, err = secureDir(d.base, d.guarded); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.loaded || created {
		d.refreshLocked()
	}
	return nil
}

// write writes name atomically, creating the directory again if it was
// deleted.
func (d *Dir) write(name string, data []byte) error {
	err := writeAtomic(name, data)
	if !errors.Is(err, errNoDir) {
		return err
	}
	if err := d.recreate(); err != nil {
		return err
	}
	return writeAtomic(name, data)
}

// recreate creates the directory again after it was deleted, and forgets
// the profiles that went with it.
func (d *Dir) recreate() error {
	var err error
	if d.guarded != nil {
		_, _, err = secureDir(d.base, d.guarded)
	} else if err = os.MkdirAll(d.path, 0o700); err != nil {
		err = fmt.Errorf("store: %w", err)
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.refreshLocked()
	d.mu.Unlock()
	return nil
}

// errNoDir reports that the directory of a file being written is gone.
var errNoDir = errors.New("store directory missing")

// writeFile writes data to f; a variable for the tests of write failures.
var writeFile = func(f *os.File, data []byte) error {
	_, err := f.Write(data)
	return err
}

// writeAtomic writes name by way of a temporary file, .tmp-<name>.part,
// created exclusively (with a random name when that one exists: another
// write of the same id under way, or one a crash left), then renamed. No
// temporary name ends in .reqprof, which would have tools that read a
// directory's profiles (reqprof top DIR) read it.
func writeAtomic(name string, data []byte) error {
	dir, base := filepath.Split(name)
	fileCreates.Add(1)
	f, err := os.OpenFile(filepath.Join(dir, ".tmp-"+base+".part"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		f, err = os.CreateTemp(dir, ".tmp-*")
	}
	if errors.Is(err, fs.ErrNotExist) {
		return errNoDir
	}
	if err != nil {
		return writeError(name, err)
	}
	tmp := f.Name()
	werr := writeFile(f, data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = rename(tmp, name)
	}
	if werr != nil {
		os.Remove(tmp)
		return writeError(name, werr)
	}
	return nil
}

func writeError(name string, err error) error {
	if isNoSpace(err) {
		return fmt.Errorf("store: write %s: %w: %w", filepath.Base(name), ErrNoSpace, err)
	}
	return fmt.Errorf("store: write %s: %w", filepath.Base(name), err)
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, id string) (*profile.Profile, Meta, error) {
	pf, err := d.file(id, ".reqprof")
	if err != nil {
		return nil, Meta{}, err
	}
	m, err := d.meta(id)
	if err != nil {
		return nil, Meta{}, err
	}
	f, err := os.Open(pf)
	if errors.Is(err, fs.ErrNotExist) {
		d.mu.Lock()
		d.dropLocked(id)
		d.mu.Unlock()
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

// meta returns id's Meta from the index, or from its sidecar when another
// process stored it.
func (d *Dir) meta(id string) (Meta, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.loaded {
		d.refreshLocked()
	}
	if m, ok := d.index[id]; ok {
		return m, nil
	}
	if err, ok := d.skipped[id]; ok {
		return Meta{}, err
	}
	mf, _ := d.file(id, ".json")
	m, err := readSidecar(mf, id)
	sidecar := err == nil
	if errors.Is(err, ErrNotFound) {
		pf, _ := d.file(id, ".reqprof")
		var ok bool
		if m, ok, err = readHeaderMeta(pf, id); err == nil && !ok {
			err = fmt.Errorf("%w: %s", ErrNotFound, id)
		}
	}
	if err != nil {
		return Meta{}, err
	}
	d.addLocked(m, sidecar)
	return m, nil
}

// List implements Store. Sidecars that cannot be read (damaged, too large)
// are left out; Get of their id returns why.
func (d *Dir) List(ctx context.Context, f Filter) ([]Meta, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refreshLocked(); err != nil {
		return nil, err
	}
	var out []Meta
	for i := len(d.order) - 1; i >= 0; i-- {
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		if m := d.index[d.order[i]]; f.Match(m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Skipped returns the sidecars that List leaves out, by id, with the
// reason.
func (d *Dir) Skipped() map[string]error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.skipped)
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deleteLocked(id)
}

// retireLocked removes a profile for retention: as Delete does, or, for
// one stored in one file, by renaming its file a spare (see writeProfile).
func (d *Dir) retireLocked(id string) error {
	if _, ok := d.index[id]; !ok || d.sidecars[id] || !recycling || d.noSpares || len(d.spares) >= maxSpares {
		return d.deleteLocked(id)
	}
	pf, _ := d.file(id, ".reqprof")
	spare := filepath.Join(d.path, ".tmp-spare-"+id)
	if err := rename(pf, spare); err != nil {
		return d.deleteLocked(id)
	}
	d.spares = append(d.spares, spare)
	d.dropLocked(id)
	return nil
}

func (d *Dir) deleteLocked(id string) error {
	pf, _ := d.file(id, ".reqprof")
	var err error
	if _, one := d.index[id]; !one || d.sidecars[id] {
		// The two-file layout, or an id this Dir does not know.
		mf, _ := d.file(id, ".json")
		err = os.Remove(mf)
	} else {
		err = fs.ErrNotExist
	}
	perr := os.Remove(pf)
	d.dropLocked(id)
	delete(d.noMeta, id)
	delete(d.skipped, id)
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

// addLocked indexes m, replacing an entry with its id; sidecar says
// whether it is stored in the two-file layout.
func (d *Dir) addLocked(m Meta, sidecar bool) {
	if d.index == nil {
		d.index = map[string]Meta{}
	}
	if old, ok := d.index[m.ID]; ok {
		d.total -= old.Size
	} else {
		i, _ := slices.BinarySearch(d.order, m.ID)
		d.order = slices.Insert(d.order, i, m.ID)
	}
	d.index[m.ID] = m
	d.total += m.Size
	delete(d.skipped, m.ID)
	delete(d.noMeta, m.ID)
	if sidecar {
		if d.sidecars == nil {
			d.sidecars = map[string]bool{}
		}
		d.sidecars[m.ID] = true
	} else {
		delete(d.sidecars, m.ID)
	}
}

func (d *Dir) dropLocked(id string) {
	m, ok := d.index[id]
	if !ok {
		return
	}
	delete(d.index, id)
	delete(d.sidecars, id)
	d.total -= m.Size
	if i, found := slices.BinarySearch(d.order, id); found {
		d.order = slices.Delete(d.order, i, i+1)
	}
}

// refreshLocked brings the index in line with the directory: it reads the
// Metas it has not indexed yet (all of them the first time), and forgets
// the profiles whose files are gone. A missing directory holds nothing.
func (d *Dir) refreshLocked() error {
	dirScans.Add(1)
	ents, err := os.ReadDir(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		ents, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	d.loaded = true
	// What each id has: a sidecar (the two-file layout, whose sidecar
	// is written last) or only its profile file.
	const hasProfile, hasSidecar = 1, 2
	present := make(map[string]uint8, len(ents))
	for _, e := range ents {
		name := e.Name()
		id, ok := strings.CutSuffix(name, ".reqprof")
		has := uint8(hasProfile)
		if !ok {
			id, ok = strings.CutSuffix(name, ".json")
			has = hasSidecar
		}
		if ok && ValidID(id) && e.Type().IsRegular() {
			present[id] |= has
		}
	}
	for id, has := range present {
		if _, ok := d.index[id]; ok {
			continue
		}
		if _, ok := d.skipped[id]; ok {
			continue
		}
		var m Meta
		var err error
		if has&hasSidecar != 0 {
			mf, _ := d.file(id, ".json")
			m, err = readSidecar(mf, id)
		} else {
			if d.noMeta[id] {
				continue
			}
			pf, _ := d.file(id, ".reqprof")
			var ok bool
			m, ok, err = readHeaderMeta(pf, id)
			if err == nil && !ok {
				if d.noMeta == nil {
					d.noMeta = map[string]bool{}
				}
				d.noMeta[id] = true
				continue
			}
		}
		switch {
		case errors.Is(err, ErrNotFound): // deleted meanwhile
		case err != nil:
			if d.skipped == nil {
				d.skipped = map[string]error{}
			}
			d.skipped[id] = err
		default:
			d.addLocked(m, has&hasSidecar != 0)
		}
	}
	for _, id := range slices.Clone(d.order) {
		if present[id] == 0 {
			d.dropLocked(id)
		}
	}
	for id := range d.skipped {
		if present[id] == 0 {
			delete(d.skipped, id)
		}
	}
	for id := range d.noMeta {
		if present[id] != hasProfile {
			delete(d.noMeta, id)
		}
	}
	return nil
}

// dirScans counts the directory listings, for the tests of the index.
var dirScans atomic.Int64

// fileCreates counts the files writeAtomic creates, for the tests of
// writing spares again.
var fileCreates atomic.Int64

// enforceLocked applies the retention limits, deleting the oldest first.
func (d *Dir) enforceLocked() error {
	cutoff := d.now().Add(-d.keep.MaxAge)
	var errs []error
	for len(d.order) > 0 {
		oldest := d.index[d.order[0]]
		if len(d.order) <= d.keep.MaxCount && d.total <= d.keep.MaxBytes && !oldest.Time.Before(cutoff) {
			break
		}
		if err := d.retireLocked(oldest.ID); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
