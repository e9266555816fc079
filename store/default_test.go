package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/store"
)

// withCache points the user's cache directory at a fresh directory.
func withCache(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("the default directory's checks need Unix permissions")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	return home
}

func TestDefaultDir(t *testing.T) {
	withCache(t)
	want := store.DefaultDir()
	if !strings.HasSuffix(want, filepath.Join("reqprof", "store.test")) {
		t.Errorf("DefaultDir() = %s, want …/reqprof/<program name>", want)
	}
	d, err := store.OpenDir("", store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Path() != want {
		t.Errorf("OpenDir(\"\") uses %s, want %s", d.Path(), want)
	}
	for _, p := range []string{want, filepath.Dir(want)} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, mode %v, want 0700", p, err, st.Mode())
		}
	}
	// Deleted, it comes back, checked again.
	os.RemoveAll(filepath.Dir(want))
	put(t, d, timeNow(), "after")
	if st, err := os.Lstat(want); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("recreated default directory: %v %v", st, err)
	}
}

func TestDefaultDirFallsBackToTemp(t *testing.T) {
	withCache(t)
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	d, err := store.OpenDir("", store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(tmp, "reqprof-"+itoa(os.Getuid()), "store.test"); d.Path() != want || store.DefaultDir() != want {
		t.Errorf("without a cache directory: %s (DefaultDir %s), want %s", d.Path(), store.DefaultDir(), want)
	}
}

// TestDefaultDirRefusesUnsafe plants the default directory, or its parent,
// as another user could: in the shared temporary directory, a symbolic link
// to a directory of theirs, or a directory anyone can write.
func TestDefaultDirRefusesUnsafe(t *testing.T) {
	for _, c := range []struct {
		name  string
		plant func(t *testing.T, dir string)
		want  string
	}{
		{"symlink", func(t *testing.T, dir string) {
			target := t.TempDir()
			must(t, os.MkdirAll(filepath.Dir(dir), 0o700))
			must(t, os.Symlink(target, dir))
		}, "is a symbolic link"},
		{"symlinked parent", func(t *testing.T, dir string) {
			target := t.TempDir()
			must(t, os.MkdirAll(filepath.Dir(filepath.Dir(dir)), 0o700))
			must(t, os.Symlink(target, filepath.Dir(dir)))
		}, "is a symbolic link"},
		{"writable by others", func(t *testing.T, dir string) {
			must(t, os.MkdirAll(dir, 0o700))
			must(t, os.Chmod(dir, 0o777))
		}, "is writable by group or others (mode 0777)"},
		{"parent writable by others", func(t *testing.T, dir string) {
			must(t, os.MkdirAll(filepath.Dir(dir), 0o700))
			must(t, os.Chmod(filepath.Dir(dir), 0o777))
		}, "is writable by group or others (mode 0777)"},
		{"not a directory", func(t *testing.T, dir string) {
			must(t, os.MkdirAll(filepath.Dir(dir), 0o700))
			must(t, os.WriteFile(dir, nil, 0o600))
		}, "is not a directory"},
		{"another user's", func(t *testing.T, dir string) {
			if os.Getuid() != 0 {
				t.Skip("giving a directory to another user needs root")
			}
			must(t, os.MkdirAll(dir, 0o700))
			must(t, os.Chown(dir, 4242, 4242))
		}, "is owned by uid 4242, not by this user (uid 0)"},
	} {
		for _, where := range []string{"cache", "temp"} {
			t.Run(c.name+"/"+where, func(t *testing.T) {
				withCache(t)
				if where == "temp" {
					t.Setenv("HOME", "")
					t.Setenv("XDG_CACHE_HOME", "")
					t.Setenv("TMPDIR", t.TempDir())
				}
				dir := store.DefaultDir()
				c.plant(t, dir)
				d, err := store.OpenDir("", store.Retention{})
				if !errors.Is(err, store.ErrUnsafeDir) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("OpenDir(\"\") = %v, %v; want ErrUnsafeDir: …%s…", d, err, c.want)
				}
				t.Log(err)
			})
		}
	}
}

// TestDefaultDirRefusedOnRecreate: a directory planted after the store's
// own was deleted is refused by the next Put, not written into.
func TestDefaultDirRefusedOnRecreate(t *testing.T) {
	withCache(t)
	d, err := store.OpenDir("", store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.RemoveAll(d.Path()))
	target := t.TempDir()
	must(t, os.Symlink(target, d.Path()))
	now := timeNow()
	err = d.Put(t.Context(), store.Meta{ID: store.NewID(now), Time: now}, tiny("x"))
	if !errors.Is(err, store.ErrUnsafeDir) {
		t.Errorf("Put into a planted symlink = %v, want ErrUnsafeDir", err)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("wrote %d files through the symlink", len(ents))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func timeNow() time.Time { return time.Now() }
