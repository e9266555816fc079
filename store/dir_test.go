package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

func put(t *testing.T, d *store.Dir, at time.Time, name string) store.Meta {
	t.Helper()
	m := store.Meta{ID: store.NewID(at), Time: at, Name: name}
	if err := d.Put(context.Background(), m, tiny(name)); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDirRoundTrip(t *testing.T) {
	d, err := store.OpenDir(t.TempDir(), store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	m := put(t, d, time.Now(), "GET /x")
	p, got, err := d.Get(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "GET /x" || got.ID != m.ID || got.Size == 0 {
		t.Errorf("got %q %+v", p.Name, got)
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
	d, err := store.OpenDir(filepath.Join(dir, "profiles"), store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
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
		d, _ := store.OpenDir(t.TempDir(), store.Retention{MaxCount: 3})
		var ms []store.Meta
		for i := range 5 {
			ms = append(ms, put(t, d, now.Add(time.Duration(i)*time.Second), "p"))
		}
		list, _ := d.List(context.Background())
		if len(list) != 3 || list[0].ID != ms[4].ID || list[2].ID != ms[2].ID {
			t.Errorf("kept %d, newest first: %+v", len(list), list)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		d, _ := store.OpenDir(t.TempDir(), store.Retention{})
		one := put(t, d, now, "p").Size
		_ = one
		m, _ := d.List(context.Background())
		size := m[0].Size
		d2, _ := store.OpenDir(t.TempDir(), store.Retention{MaxBytes: 2*size + size/2})
		for i := range 4 {
			put(t, d2, now.Add(time.Duration(i)*time.Second), "p")
		}
		list, _ := d2.List(context.Background())
		if len(list) != 2 {
			t.Errorf("kept %d profiles of %d bytes under a %d-byte limit", len(list), size, 2*size+size/2)
		}
	})
	t.Run("age", func(t *testing.T) {
		d, _ := store.OpenDir(t.TempDir(), store.Retention{MaxAge: time.Hour})
		put(t, d, now.Add(-2*time.Hour), "old")
		put(t, d, now, "new")
		list, _ := d.List(context.Background())
		if len(list) != 1 || list[0].Name != "new" {
			t.Errorf("kept %+v", list)
		}
	})
}

func TestDirConcurrentAndAtomic(t *testing.T) {
	dir := t.TempDir()
	d, _ := store.OpenDir(dir, store.Retention{MaxCount: 1000})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			put(t, d, time.Now(), "p")
		}()
	}
	wg.Wait()
	list, err := d.List(context.Background())
	if err != nil || len(list) != 20 {
		t.Fatalf("%d profiles, %v", len(list), err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}
