package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
)

func tiny(name string) *profile.Profile {
	return &profile.Profile{
		Name:     name,
		Duration: 1000,
		Stacks:   []profile.Stack{{}},
		Goroutines: []profile.Goroutine{{
			ID: 1, Member: true, End: 1000,
			Intervals: []profile.Interval{{Start: 0, End: 1000, State: profile.Running}},
		}},
	}
}

func put(t testing.TB, d *store.Dir, at time.Time, name string) store.Meta {
	t.Helper()
	m := store.Meta{ID: store.NewID(at), Time: at, Name: name}
	if err := d.Put(context.Background(), m, tiny(name)); err != nil {
		t.Fatal(err)
	}
	return m
}

func open(t testing.TB, dir string, keep store.Retention) *store.Dir {
	t.Helper()
	d, err := store.OpenDir(dir, keep)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func list(t testing.TB, d *store.Dir, f store.Filter) []store.Meta {
	t.Helper()
	ms, err := d.List(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func ids(ms []store.Meta) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// files returns the names of the files in dir, apart from the hidden ones
// (temporary files, spares), which it returns second.
func files(t testing.TB, dir string) (names, hidden []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			hidden = append(hidden, e.Name())
		} else {
			names = append(names, e.Name())
		}
	}
	return names, hidden
}

func TestDirRoundTrip(t *testing.T) {
	d := open(t, t.TempDir(), store.Retention{})
	now := time.Now()
	m := store.Meta{
		ID: store.NewID(now), Time: now, Name: "GET /x",
		Summary: store.Summary{Duration: 1000, CPU: 400, Waiting: 300, Runnable: 200, Syscall: 100, Goroutines: 2, CPUInferred: 150, Overhead: 20, OverheadBefore: 700},
		Labels:  map[string]string{profile.AttrKind: profile.KindHTTP, profile.AttrRoute: "GET /x", profile.AttrStatus: "200"},
	}
	if err := d.Put(context.Background(), m, tiny("GET /x")); err != nil {
		t.Fatal(err)
	}
	p, got, err := d.Get(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Size == 0 {
		t.Errorf("Size not set: %+v", got)
	}
	m.Size = got.Size
	if p.Name != "GET /x" || !reflect.DeepEqual(got, m) {
		t.Errorf("Get = %q %+v, want %+v", p.Name, got, m)
	}
	// A new Dir on the same directory reads it back from the sidecar.
	again := list(t, open(t, d.Path(), store.Retention{}), store.Filter{})
	if len(again) != 1 || again[0].Summary != m.Summary || !reflect.DeepEqual(again[0].Labels, m.Labels) || !again[0].Time.Equal(m.Time) || again[0].Size != m.Size {
		t.Errorf("read back %+v, want %+v", again, m)
	}
	if err := d.Delete(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Get(context.Background(), m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := d.Delete(context.Background(), m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestLabelsOf(t *testing.T) {
	p := tiny("x")
	p.SetAttr(profile.AttrRoute, "GET /x")
	p.SetAttr(profile.ModuleAttr, "example.com/app")
	p.SetAttr("tenant", "acme")
	got := store.LabelsOf(p)
	want := map[string]string{profile.AttrRoute: "GET /x", "tenant": "acme"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LabelsOf = %v, want %v", got, want)
	}
}

func TestDirBoundsMeta(t *testing.T) {
	d := open(t, t.TempDir(), store.Retention{})
	now := time.Now()
	long := strings.Repeat("é", 4<<10)
	m := store.Meta{ID: store.NewID(now), Time: now, Name: long, Labels: map[string]string{"url": long}}
	if err := d.Put(context.Background(), m, tiny("x")); err != nil {
		t.Fatal(err)
	}
	got := list(t, d, store.Filter{})[0]
	for what, s := range map[string]string{"name": got.Name, "label": got.Labels["url"]} {
		if len(s) > store.MaxLabelValue || !strings.HasSuffix(s, "…") || !strings.HasPrefix(long, strings.TrimSuffix(s, "…")) {
			t.Errorf("%s of %d bytes stored as %d bytes %q…", what, len(long), len(s), s[:10])
		}
	}
	many := map[string]string{}
	for i := range store.MaxLabels + 1 {
		many[fmt.Sprint("k", i)] = "v"
	}
	for name, labels := range map[string]map[string]string{
		"too many labels": many,
		"empty key":       {"": "v"},
		"long key":        {strings.Repeat("k", store.MaxLabelKey+1): "v"},
	} {
		m := store.Meta{ID: store.NewID(now), Time: now, Labels: labels}
		if err := d.Put(context.Background(), m, tiny("x")); !errors.Is(err, store.ErrInvalidMeta) {
			t.Errorf("%s: Put = %v, want ErrInvalidMeta", name, err)
		}
	}
}

func TestDirList(t *testing.T) {
	d := open(t, t.TempDir(), store.Retention{})
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	var ms []store.Meta
	for i, c := range []struct {
		name   string
		dur    time.Duration
		labels map[string]string
	}{
		{"GET /a", 10 * time.Millisecond, map[string]string{profile.AttrKind: profile.KindHTTP, profile.AttrRoute: "GET /a", profile.AttrStatus: "200"}},
		{"GET /a", 30 * time.Millisecond, map[string]string{profile.AttrKind: profile.KindHTTP, profile.AttrRoute: "GET /a", profile.AttrStatus: "500"}},
		{"/pkg.Svc/Call", 20 * time.Millisecond, map[string]string{profile.AttrKind: profile.KindGRPC, profile.AttrRoute: "/pkg.Svc/Call", profile.AttrStatus: "OK"}},
		{"nightly-report", 5 * time.Second, map[string]string{profile.AttrKind: profile.KindJob}},
	} {
		at := t0.Add(time.Duration(i) * time.Minute)
		m := store.Meta{ID: store.NewID(at), Time: at, Name: c.name, Summary: store.Summary{Duration: c.dur}, Labels: c.labels}
		if err := d.Put(context.Background(), m, tiny(c.name)); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	for _, c := range []struct {
		name string
		f    store.Filter
		want []int // indexes in ms, newest first
	}{
		{"all", store.Filter{}, []int{3, 2, 1, 0}},
		{"route", store.Filter{Labels: map[string]string{profile.AttrRoute: "GET /a"}}, []int{1, 0}},
		{"route and status", store.Filter{Labels: map[string]string{profile.AttrRoute: "GET /a", profile.AttrStatus: "500"}}, []int{1}},
		{"kind", store.Filter{Labels: map[string]string{profile.AttrKind: profile.KindGRPC}}, []int{2}},
		{"without a label", store.Filter{Labels: map[string]string{profile.AttrRoute: ""}}, []int{3}},
		{"name", store.Filter{Name: "nightly-report"}, []int{3}},
		{"since", store.Filter{Since: t0.Add(time.Minute)}, []int{3, 2, 1}},
		{"until", store.Filter{Until: t0.Add(time.Minute)}, []int{0}},
		{"time range", store.Filter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []int{2, 1}},
		{"min duration", store.Filter{MinDuration: 20 * time.Millisecond}, []int{3, 2, 1}},
		{"max duration", store.Filter{MaxDuration: 20 * time.Millisecond}, []int{2, 0}},
		{"limit", store.Filter{Limit: 2}, []int{3, 2}},
		{"filter and limit", store.Filter{Labels: map[string]string{profile.AttrKind: profile.KindHTTP}, Limit: 1}, []int{1}},
		{"nothing", store.Filter{Labels: map[string]string{profile.AttrRoute: "GET /b"}}, nil},
	} {
		var want []string
		for _, i := range c.want {
			want = append(want, ms[i].ID)
		}
		if got := ids(list(t, d, c.f)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", c.name, got, want)
		}
	}
}

// TestDirReadsVersion1 reads a directory written by the store before
// labels: its sidecars held HTTP columns.
func TestDirReadsVersion1(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	id := store.NewID(at)
	// A sidecar exactly as version 1 wrote it.
	v1 := fmt.Sprintf(`{"id":%q,"time":"2025-06-01T12:00:00Z","name":"GET /items/{id}","method":"GET","path":"/items/7","route":"GET /items/{id}","status":500,"duration":3000000,"cpu":1000000,"wait":2000000,"goroutines":3,"size":%d,"reason":"slow","panic":true}`, id, 123)
	var buf strings.Builder
	if err := tiny("GET /items/{id}").Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, id+".reqprof"), []byte(buf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, id+".json"), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	want := store.Meta{
		ID: id, Time: at, Name: "GET /items/{id}", Size: 123,
		Summary: store.Summary{Duration: 3 * time.Millisecond, CPU: time.Millisecond, Waiting: 2 * time.Millisecond, Goroutines: 3},
		Labels: map[string]string{
			profile.AttrKind: profile.KindHTTP, profile.AttrMethod: "GET", profile.AttrRoute: "GET /items/{id}",
			profile.AttrURL: "/items/7", profile.AttrStatus: "500", profile.AttrReason: profile.ReasonSlow, profile.AttrPanic: "true",
		},
	}
	d := open(t, dir, store.Retention{})
	ms := list(t, d, store.Filter{Labels: map[string]string{profile.AttrRoute: "GET /items/{id}", profile.AttrStatus: "500"}})
	if len(ms) != 1 || !reflect.DeepEqual(ms[0], want) {
		t.Fatalf("List = %+v\nwant %+v", ms, want)
	}
	if _, m, err := open(t, dir, store.Retention{}).Get(context.Background(), id); err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("Get = %+v, %v", m, err)
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	t0 := time.Now()
	for i := range 1000 {
		id := store.NewID(t0.Add(time.Duration(i) * time.Microsecond))
		if !store.ValidID(id) || seen[id] || id <= prev {
			t.Fatalf("id %q (previous %q) not valid, unique and time-sorted", id, prev)
		}
		seen[id] = true
		prev = id
	}
}

func TestDirRejectsPathTricks(t *testing.T) {
	dir := t.TempDir()
	d := open(t, filepath.Join(dir, "profiles"), store.Retention{})
	os.WriteFile(filepath.Join(dir, "secret.json"), []byte(`{"id":"x"}`), 0o600)
	for _, id := range []string{"../secret", "..", "", "/etc/passwd", "0000000000000000-0000000g", "0000000000000000-00000000/../../secret", "0000000000000000-00000000\x00"} {
		if _, _, err := d.Get(context.Background(), id); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("Get(%q): %v", id, err)
		}
		if err := d.Delete(context.Background(), id); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("Delete(%q): %v", id, err)
		}
		if err := d.Put(context.Background(), store.Meta{ID: id}, tiny("x")); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("Put(%q): %v", id, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.json")); err != nil {
		t.Error("a file outside the store was touched")
	}
}

func TestDirRetention(t *testing.T) {
	now := time.Now()
	t.Run("count", func(t *testing.T) {
		d := open(t, t.TempDir(), store.Retention{MaxCount: 3})
		var ms []store.Meta
		for i := range 5 {
			ms = append(ms, put(t, d, now.Add(time.Duration(i)*time.Second), "p"))
		}
		got := ids(list(t, d, store.Filter{}))
		if want := ids([]store.Meta{ms[4], ms[3], ms[2]}); !reflect.DeepEqual(got, want) {
			t.Errorf("kept %v, want %v", got, want)
		}
		if files, hidden := files(t, d.Path()); len(files) != 3 || len(hidden) > 2 {
			t.Errorf("files %v and hidden files %v left for 3 profiles, want one each and at most 2 spares", files, hidden)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		d := open(t, t.TempDir(), store.Retention{})
		put(t, d, now, "p")
		size := list(t, d, store.Filter{})[0].Size
		d2 := open(t, t.TempDir(), store.Retention{MaxBytes: 2*size + size/2})
		for i := range 4 {
			put(t, d2, now.Add(time.Duration(i)*time.Second), "p")
		}
		if n := len(list(t, d2, store.Filter{})); n != 2 {
			t.Errorf("kept %d profiles of %d bytes under a %d-byte limit", n, size, 2*size+size/2)
		}
	})
	t.Run("age", func(t *testing.T) {
		d := open(t, t.TempDir(), store.Retention{MaxAge: time.Hour})
		put(t, d, now.Add(-2*time.Hour), "old")
		put(t, d, now, "new")
		if ms := list(t, d, store.Filter{}); len(ms) != 1 || ms[0].Name != "new" {
			t.Errorf("kept %+v", ms)
		}
	})
}

func TestDirTooLarge(t *testing.T) {
	d := open(t, t.TempDir(), store.Retention{MaxBytes: 64})
	now := time.Now()
	err := d.Put(context.Background(), store.Meta{ID: store.NewID(now), Time: now}, tiny("x"))
	if !errors.Is(err, store.ErrTooLarge) || !strings.Contains(err.Error(), "more than the store keeps") {
		t.Errorf("Put of a profile larger than Retention.MaxBytes = %v, want ErrTooLarge", err)
	}
	if ents, _ := os.ReadDir(d.Path()); len(ents) != 0 {
		t.Errorf("files left: %v", ents)
	}
}

func TestDirDiskFull(t *testing.T) {
	d := open(t, t.TempDir(), store.Retention{})
	kept := put(t, d, time.Now(), "kept")
	restore := store.SetWriteFile(func(*os.File, []byte) error {
		return &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	})
	now := time.Now()
	err := d.Put(context.Background(), store.Meta{ID: store.NewID(now), Time: now}, tiny("x"))
	restore()
	if !errors.Is(err, store.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Put on a full disk = %v, want ErrNoSpace wrapping ENOSPC", err)
	}
	if got := ids(list(t, d, store.Filter{})); !reflect.DeepEqual(got, []string{kept.ID}) {
		t.Errorf("listed %v after a failed Put, want only %s", got, kept.ID)
	}
	if ents, _ := os.ReadDir(d.Path()); len(ents) != 1 || ents[0].Name() != kept.ID+".reqprof" {
		t.Errorf("files left: %v, want only the kept profile's", ents)
	}
	if _, _, err := d.Get(context.Background(), kept.ID); err != nil {
		t.Errorf("the kept profile after a failed Put: %v", err)
	}
}

// TestDirPutCostFlat checks that Put does not read the stored sidecars or
// list the directory, however many profiles are stored: it used to read
// every sidecar on every Put (2.7 ms at 205 profiles, 57.8 ms at 4,005).
// Counting the file system work, rather than timing it, keeps the test
// exact on a loaded machine; BenchmarkDirPut shows the times.
func TestDirPutCostFlat(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Now()
	w := open(t, dir, store.Retention{MaxCount: 2000})
	for i := range 1000 {
		put(t, w, t0.Add(time.Duration(i)*time.Millisecond), "p")
	}
	d := open(t, dir, store.Retention{MaxCount: 2000})
	r0, s0 := store.MetaReads(), store.DirScans()
	put(t, d, t0.Add(time.Second), "first")
	if r, s := store.MetaReads()-r0, store.DirScans()-s0; r != 1000 || s != 1 {
		t.Errorf("the first Put into 1000 stored profiles read %d sidecars in %d directory listings, want 1000 in 1", r, s)
	}
	r0, s0 = store.MetaReads(), store.DirScans()
	for i := range 100 {
		put(t, d, t0.Add(2*time.Second+time.Duration(i)*time.Millisecond), "p")
	}
	_, _, err := d.Get(context.Background(), list(t, d, store.Filter{Limit: 1})[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if r, s := store.MetaReads()-r0, store.DirScans()-s0; r != 0 || s != 1 {
		t.Errorf("100 Puts, a List and a Get read %d sidecars in %d directory listings, want 0 in 1 (the List's)", r, s)
	}
	if n := len(list(t, d, store.Filter{})); n != 1101 {
		t.Errorf("listed %d profiles, want 1101", n)
	}
}

// TestDirSkipsBadSidecars plants a huge sidecar (sparse: 300 MiB of
// zeros) and a damaged one: listing skips them without reading them whole.
func TestDirSkipsBadSidecars(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, store.Retention{})
	good := put(t, d, time.Now(), "good")
	huge, bad := store.NewID(time.Now()), store.NewID(time.Now())
	f, err := os.Create(filepath.Join(dir, huge+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.WriteFile(filepath.Join(dir, bad+".json"), []byte(`{"id":`), 0o600)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d2 := open(t, dir, store.Retention{})
	got := ids(list(t, d2, store.Filter{}))
	runtime.ReadMemStats(&after)
	if !reflect.DeepEqual(got, []string{good.ID}) {
		t.Errorf("listed %v, want only %s", got, good.ID)
	}
	// Reading the huge file would allocate 300 MiB; its first 256 KiB are
	// all a bounded read needs.
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("listing allocated %d MiB", n>>20)
	}
	skipped := d2.Skipped()
	for id, want := range map[string]string{huge: "larger than 256 KiB", bad: "unexpected end of JSON"} {
		if err := skipped[id]; !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), want) {
			t.Errorf("Skipped()[%s] = %v, want ErrCorrupt: …%s…", id, err, want)
		}
		if _, _, err := d2.Get(context.Background(), id); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("Get(%s) = %v, want ErrCorrupt", id, err)
		}
	}
	// Deleting one removes it.
	if err := d2.Delete(context.Background(), huge); err != nil {
		t.Fatal(err)
	}
	if _, ok := d2.Skipped()[huge]; ok {
		t.Error("a deleted sidecar is still reported")
	}
}

func TestDirRecreatesDeletedDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "profiles")
	d := open(t, dir, store.Retention{})
	put(t, d, time.Now(), "before")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if ms := list(t, d, store.Filter{}); len(ms) != 0 {
		t.Errorf("listed %d profiles in a deleted directory", len(ms))
	}
	after := put(t, d, time.Now(), "after")
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("directory not recreated: %v", err)
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm != 0o700 {
		t.Errorf("recreated with mode %#o, want 0700", perm)
	}
	if got := ids(list(t, d, store.Filter{})); !reflect.DeepEqual(got, []string{after.ID}) {
		t.Errorf("listed %v, want %s", got, after.ID)
	}
	if _, _, err := d.Get(context.Background(), after.ID); err != nil {
		t.Error(err)
	}
}

// TestDirSharedDirectory: profiles another process adds to or removes
// from the directory show in List.
func TestDirSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir, store.Retention{}), open(t, dir, store.Retention{})
	ma := put(t, a, time.Now(), "a")
	mb := put(t, b, time.Now().Add(time.Millisecond), "b")
	if got, want := ids(list(t, a, store.Filter{})), []string{mb.ID, ma.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("a lists %v, want %v", got, want)
	}
	if err := b.Delete(context.Background(), ma.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(list(t, a, store.Filter{})); !reflect.DeepEqual(got, []string{mb.ID}) {
		t.Errorf("after b deleted %s, a lists %v", ma.ID, got)
	}
	if _, _, err := a.Get(context.Background(), ma.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of a profile deleted by another process: %v", err)
	}
}

func TestDirConcurrentAndAtomic(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, store.Retention{MaxCount: 1000})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			put(t, d, time.Now(), "p")
			list(t, d, store.Filter{Limit: 5})
		}()
	}
	wg.Wait()
	if ms := list(t, d, store.Filter{}); len(ms) != 20 {
		t.Fatalf("%d profiles", len(ms))
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestDirOneFilePerProfile: a profile is stored as one file, <id>.reqprof,
// private to the user, which stays a .reqprof that profile.Decode reads
// (the Meta is in its gzip header, which gzip readers skip).
func TestDirOneFilePerProfile(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, store.Retention{})
	now := time.Now().UTC() // as read back: no monotonic clock
	m := store.Meta{ID: store.NewID(now), Time: now, Name: "GET /x", Summary: store.Summary{Duration: 1000, CPU: 1000, Goroutines: 1},
		Labels: map[string]string{profile.AttrRoute: "GET /x"}}
	if err := d.Put(context.Background(), m, tiny("GET /x")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != m.ID+".reqprof" {
		t.Fatalf("files %v, want only %s.reqprof", ents, m.ID)
	}
	st, err := os.Stat(filepath.Join(dir, m.ID+".reqprof"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm != 0o600 {
		t.Errorf("stored with mode %#o, want 0600", perm)
	}
	f, err := os.Open(filepath.Join(dir, m.ID+".reqprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Decode(f)
	if err != nil || p.Name != "GET /x" {
		t.Fatalf("profile.Decode of the stored file = %v, %v", p, err)
	}
	got := list(t, open(t, dir, store.Retention{}), store.Filter{})
	m.Size = got[0].Size
	if len(got) != 1 || !reflect.DeepEqual(got[0], m) {
		t.Errorf("a new Dir lists %+v, want %+v", got, m)
	}
}

// oldLayout writes a profile as the store wrote them before one file per
// profile: <id>.reqprof, then its sidecar <id>.json (version 2).
func oldLayout(t *testing.T, dir string, at time.Time, name string) store.Meta {
	t.Helper()
	var buf strings.Builder
	if err := tiny(name).Encode(&buf); err != nil {
		t.Fatal(err)
	}
	m := store.Meta{ID: store.NewID(at), Time: at.UTC(), Name: name, Size: int64(buf.Len()),
		Summary: store.Summary{Duration: 1000, CPU: 600, Waiting: 400, Goroutines: 1, CPUInferred: 100},
		Labels:  map[string]string{profile.AttrKind: profile.KindHTTP, profile.AttrRoute: name, profile.AttrStatus: "200"}}
	// Exactly as encodeSidecar wrote it.
	js := fmt.Sprintf(`{"v":2,"id":%q,"time":%q,"name":%q,"size":%d,"summary":{"duration":1000,"cpu":600,"waiting":400,"runnable":0,"syscall":0,"goroutines":1,"cpu_inferred":100},"labels":{"kind":"http","route":%q,"status":"200"}}`,
		m.ID, m.Time.Format(time.RFC3339Nano), name, m.Size, name)
	if err := os.WriteFile(filepath.Join(dir, m.ID+".reqprof"), []byte(buf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, m.ID+".json"), []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDirReadsTwoFileLayout opens a directory written with a sidecar per
// profile: it lists and reads those profiles, new ones join them, and
// retention and Delete remove both files of an old one.
func TestDirReadsTwoFileLayout(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Now().Add(-time.Hour)
	var old []store.Meta
	for i := range 3 {
		old = append(old, oldLayout(t, dir, t0.Add(time.Duration(i)*time.Second), fmt.Sprint("GET /old", i)))
	}
	d := open(t, dir, store.Retention{MaxCount: 4})
	got := list(t, d, store.Filter{})
	if want := []store.Meta{old[2], old[1], old[0]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("List of the old layout = %+v\nwant %+v", got, want)
	}
	if p, m, err := d.Get(context.Background(), old[1].ID); err != nil || p.Name != "GET /old1" || !reflect.DeepEqual(m, old[1]) {
		t.Errorf("Get = %v, %+v, %v", p, m, err)
	}
	// Two new profiles: the store holds 4, the oldest goes with its sidecar.
	n1 := put(t, d, t0.Add(time.Minute), "new1")
	n2 := put(t, d, t0.Add(2*time.Minute), "new2")
	if got, want := ids(list(t, d, store.Filter{})), []string{n2.ID, n1.ID, old[2].ID, old[1].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("after two Puts: %v, want %v", got, want)
	}
	if err := d.Delete(context.Background(), old[2].ID); err != nil {
		t.Fatal(err)
	}
	var names []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{old[1].ID + ".json", old[1].ID + ".reqprof", n1.ID + ".reqprof", n2.ID + ".reqprof"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	// A new Dir reads the mixed directory alike.
	if got, want := ids(list(t, open(t, dir, store.Retention{}), store.Filter{})), []string{n2.ID, n1.ID, old[1].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("a new Dir lists %v, want %v", got, want)
	}
	// Putting an old profile's id again stores it in one file.
	m := old[1]
	m.Name = "again"
	if err := d.Put(context.Background(), m, tiny("again")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, m.ID+".json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old sidecar of a profile stored again: %v", err)
	}
	if ms := list(t, open(t, dir, store.Retention{}), store.Filter{Name: "again"}); len(ms) != 1 || ms[0].ID != m.ID {
		t.Errorf("the profile stored again reads back as %+v", ms)
	}
}

// TestDirLargeMetaTwoFiles: a Meta too large for the gzip header (labels
// near their bounds, in characters that JSON escapes) is stored in a
// sidecar, as before.
func TestDirLargeMetaTwoFiles(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, store.Retention{})
	labels := map[string]string{}
	for i := range store.MaxLabels {
		labels[fmt.Sprint("k", i)] = strings.Repeat("<", store.MaxLabelValue)
	}
	now := time.Now()
	m := store.Meta{ID: store.NewID(now), Time: now, Name: "big", Labels: labels}
	if err := d.Put(context.Background(), m, tiny("big")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, m.ID+".json")); err != nil {
		t.Errorf("no sidecar for a large Meta: %v", err)
	}
	ms := list(t, open(t, dir, store.Retention{}), store.Filter{})
	if len(ms) != 1 || !reflect.DeepEqual(ms[0].Labels, labels) {
		t.Fatalf("read back %d profiles", len(ms))
	}
	if err := d.Delete(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files left after Delete: %v", ents)
	}
}

// TestDirCrashLeftovers: what a crash leaves (a half-written temporary
// file, a profile of the two-file layout without its sidecar) is not
// listed, reported or in the way of a Put.
func TestDirCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, store.Retention{})
	kept := put(t, d, time.Now(), "kept")
	var buf strings.Builder
	tiny("x").Encode(&buf)
	half := buf.String()[:buf.Len()/2]
	at := time.Now().Add(time.Millisecond)
	tmpID, orphanID := store.NewID(at), store.NewID(at)
	os.WriteFile(filepath.Join(dir, ".tmp-"+tmpID+".reqprof.part"), []byte(half), 0o600)
	os.WriteFile(filepath.Join(dir, orphanID+".reqprof"), []byte(buf.String()), 0o600)
	d2 := open(t, dir, store.Retention{})
	if got := ids(list(t, d2, store.Filter{})); !reflect.DeepEqual(got, []string{kept.ID}) {
		t.Errorf("listed %v, want only %s", got, kept.ID)
	}
	if s := d2.Skipped(); len(s) != 0 {
		t.Errorf("Skipped() = %v", s)
	}
	if _, _, err := d2.Get(context.Background(), orphanID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of a profile without Meta = %v, want ErrNotFound", err)
	}
	// The temporary file's name is taken: the Put still succeeds.
	m := store.Meta{ID: tmpID, Time: at, Name: "p"}
	if err := d2.Put(context.Background(), m, tiny("p")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d2.Get(context.Background(), tmpID); err != nil {
		t.Error(err)
	}
	// The orphan's sidecar arrives (another process was writing it): it
	// is listed.
	os.WriteFile(filepath.Join(dir, orphanID+".json"), fmt.Appendf(nil, `{"v":2,"id":%q,"name":"late"}`, orphanID), 0o600)
	if ms := list(t, d2, store.Filter{Name: "late"}); len(ms) != 1 {
		t.Errorf("the orphan with its sidecar: listed %+v", ms)
	}
}

// TestDirDamagedProfileFiles: a .reqprof that is not a gzip stream, or
// whose Meta is damaged or holds another id, is skipped and reported.
func TestDirDamagedProfileFiles(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, store.Retention{})
	good := put(t, d, time.Now(), "good")
	other := put(t, d, time.Now().Add(time.Millisecond), "other")
	data, err := os.ReadFile(filepath.Join(dir, other.ID+".reqprof"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Second)
	notGzip, renamed, damaged, cut := store.NewID(at), store.NewID(at), store.NewID(at), store.NewID(at)
	os.WriteFile(filepath.Join(dir, notGzip+".reqprof"), []byte("reqprof profile\n{}"), 0o600)
	os.WriteFile(filepath.Join(dir, renamed+".reqprof"), data, 0o600)
	bad := slices.Clone(data)
	i := bytes.Index(bad, []byte(`"name"`))
	bad[i] = '!'
	os.WriteFile(filepath.Join(dir, damaged+".reqprof"), bad, 0o600)
	os.WriteFile(filepath.Join(dir, cut+".reqprof"), data[:i], 0o600)
	d2 := open(t, dir, store.Retention{})
	if got, want := ids(list(t, d2, store.Filter{})), []string{other.ID, good.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	skipped := d2.Skipped()
	for id, want := range map[string]string{notGzip: "not a gzip stream", renamed: "holds id", damaged: "invalid character", cut: "truncated"} {
		if err := skipped[id]; !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), want) {
			t.Errorf("Skipped()[%s] = %v, want ErrCorrupt: …%s…", id, err, want)
		}
	}
}

// TestDirReadersNeverSeeHalfAProfile: while one Dir stores profiles into a
// full store (each Put deleting the oldest), another (as another process
// would) lists and reads them: every profile it lists is whole, or gone.
func TestDirReadersNeverSeeHalfAProfile(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, store.Retention{MaxCount: 10})
	r := open(t, dir, store.Retention{MaxCount: 10})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t0 := time.Now()
		for i := range 300 {
			put(t, w, t0.Add(time.Duration(i)*time.Millisecond), "p")
		}
		close(done)
	}()
	reads := 0
	for {
		select {
		case <-done:
			wg.Wait()
			if reads == 0 {
				t.Error("the reader read nothing")
			}
			if s := r.Skipped(); len(s) != 0 {
				t.Errorf("the reader skipped %v", s)
			}
			return
		default:
		}
		for _, m := range list(t, r, store.Filter{Limit: 3}) {
			p, _, err := r.Get(context.Background(), m.ID)
			switch {
			case errors.Is(err, store.ErrNotFound): // deleted by retention meanwhile
			case err != nil:
				t.Fatalf("Get(%s) while another Dir writes: %v", m.ID, err)
			case p.Name != "p":
				t.Fatalf("Get(%s) = profile %q", m.ID, p.Name)
			default:
				reads++
			}
		}
	}
}

// TestDirFullStoreRecycles: in a full store, each Put writes the file of a
// profile that retention removed (on Linux), and every profile reads back
// as itself.
func TestDirFullStoreRecycles(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, store.Retention{MaxCount: 5})
	t0 := time.Now()
	var last store.Meta
	c0 := store.FileCreates()
	for i := range 40 {
		// Larger and smaller files in turn: a file written again over a
		// larger one must lose the larger one's end.
		name := fmt.Sprint("p", i)
		for j := range 60 * (i % 3) {
			name += fmt.Sprintf("-%x", (i*7919+j*104729)%65521)
		}
		last = put(t, d, t0.Add(time.Duration(i)*time.Millisecond), name)
	}
	// 5 files, a sixth for the Put that made the store full (it has no
	// spare yet), and no more.
	if n := store.FileCreates() - c0; runtime.GOOS == "linux" && n != 6 {
		t.Errorf("40 Puts into a store of 5 created %d files, want 6", n)
	}
	for _, d := range []*store.Dir{d, open(t, dir, store.Retention{MaxCount: 5})} {
		ms := list(t, d, store.Filter{})
		if len(ms) != 5 || ms[0].ID != last.ID {
			t.Fatalf("listed %d profiles, the newest %s; want 5, the newest %s", len(ms), ms[0].ID, last.ID)
		}
		for _, m := range ms {
			p, _, err := d.Get(context.Background(), m.ID)
			if err != nil || p.Name != m.Name {
				t.Errorf("Get(%s) of %.10q… = %v", m.ID, m.Name, err)
			}
		}
	}
	names, hidden := files(t, dir)
	if len(names) != 5 || len(hidden) > 2 {
		t.Errorf("files %v, hidden %v", names, hidden)
	}
	for _, h := range hidden {
		// reqprof top DIR reads every .reqprof in DIR.
		if strings.HasSuffix(h, ".reqprof") {
			t.Errorf("hidden file %s is named as a profile", h)
		}
	}
}

// TestDirNeverRewritesAnOpenProfile: a profile that someone has open (a
// reader in the middle of it, here or in another process) when retention
// removes it is not written again: the reader reads it whole. Nor is one
// with another name (a hard link someone made to keep it).
func TestDirNeverRewritesAnOpenProfile(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, store.Retention{MaxCount: 1})
	t0 := time.Now()
	a := put(t, d, t0, "a")
	f, err := os.Open(filepath.Join(dir, a.ID+".reqprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := put(t, d, t0.Add(time.Millisecond), "b")
	kept := filepath.Join(t.TempDir(), "kept.reqprof")
	if err := os.Link(filepath.Join(dir, b.ID+".reqprof"), kept); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		put(t, d, t0.Add(time.Duration(2+i)*time.Millisecond), fmt.Sprint("later", i))
	}
	for name, r := range map[string]func() (*os.File, error){
		"a, open":   func() (*os.File, error) { return f, nil },
		"b, linked": func() (*os.File, error) { return os.Open(kept) },
	} {
		g, err := r()
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Decode(g)
		if err != nil || p.Name != name[:1] {
			t.Errorf("%s: read %v, %v", name, p, err)
		}
	}
}

// TestDirDiskFullWhenFull: a full disk in a full store (where a Put would
// write the file of a removed profile) loses no profile either.
func TestDirDiskFullWhenFull(t *testing.T) {
	d := open(t, t.TempDir(), store.Retention{MaxCount: 2})
	t0 := time.Now()
	var ms []store.Meta
	for i := range 4 {
		ms = append(ms, put(t, d, t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("p", i)))
	}
	restore := store.SetWriteFile(func(*os.File, []byte) error {
		return &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	})
	for i := range 3 {
		at := t0.Add(time.Duration(10+i) * time.Millisecond)
		if err := d.Put(context.Background(), store.Meta{ID: store.NewID(at), Time: at}, tiny("x")); !errors.Is(err, store.ErrNoSpace) {
			t.Errorf("Put on a full disk = %v, want ErrNoSpace", err)
		}
	}
	restore()
	for _, d := range []*store.Dir{d, open(t, d.Path(), store.Retention{MaxCount: 2})} {
		if got, want := ids(list(t, d, store.Filter{})), []string{ms[3].ID, ms[2].ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("listed %v after failed Puts, want %v", got, want)
		}
		for _, m := range ms[2:] {
			if p, _, err := d.Get(context.Background(), m.ID); err != nil || p.Name != m.Name {
				t.Errorf("Get(%s) = %v, %v", m.ID, p, err)
			}
		}
	}
	if names, _ := files(t, d.Path()); len(names) != 2 {
		t.Errorf("files %v", names)
	}
}
