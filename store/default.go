package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnsafeDir is returned, wrapped, by OpenDir for a default directory
// that someone else could have planted or could write to.
var ErrUnsafeDir = errors.New("unsafe store directory")

// DefaultDir returns the directory OpenDir("") uses: reqprof/<program>
// under the user's cache directory (os.UserCacheDir: ~/.cache on Linux,
// ~/Library/Caches on macOS, %LocalAppData% on Windows), where <program> is
// the running executable's name, so that two programs do not list each
// other's profiles or share one retention. When the user has no cache
// directory, or it cannot be written, OpenDir falls back to
// reqprof-<uid>/<program> under the temporary directory.
func DefaultDir() string {
	base, guarded := cacheLocation()
	if base == "" {
		base, guarded = tempLocation()
	}
	return filepath.Join(append([]string{base}, guarded...)...)
}

// cacheLocation returns the user's cache directory and the directories
// under it that hold the default store, or "" when the user has none.
func cacheLocation() (base string, guarded []string) {
	dir, err := os.UserCacheDir()
	if err != nil || !filepath.IsAbs(dir) {
		return "", nil
	}
	return dir, []string{"reqprof", programName()}
}

// tempLocation is cacheLocation's fallback, in the shared temporary
// directory: there the directories must be checked most carefully.
func tempLocation() (base string, guarded []string) {
	top := "reqprof"
	if uid := os.Getuid(); uid >= 0 {
		top = fmt.Sprintf("reqprof-%d", uid)
	}
	return os.TempDir(), []string{top, programName()}
}

// programName returns the running executable's name, reduced to
// characters that are safe in a file name.
func programName() string {
	name := ""
	if exe, err := os.Executable(); err == nil {
		name = filepath.Base(exe)
	} else if len(os.Args) > 0 {
		name = filepath.Base(os.Args[0])
	}
	name = strings.TrimSuffix(name, ".exe")
	name = strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	if strings.Trim(name, ".") == "" {
		return "program"
	}
	return name
}

// secureDir creates each of the directories guarded, nested under base
// (which must exist), with mode 0700, and checks that each one, created now
// or found, is private to the user: a directory, not a symbolic link,
// owned by the user, not writable by group or others. It returns the
// innermost directory, and whether it had to create any.
func secureDir(base string, guarded []string) (dir string, created bool, err error) {
	p := base
	for _, name := range guarded {
		p = filepath.Join(p, name)
		err := os.Mkdir(p, 0o700)
		switch {
		case err == nil:
			created = true
		case !errors.Is(err, fs.ErrExist):
			return p, created, fmt.Errorf("store: %w", err)
		}
		if err := checkPrivate(p); err != nil {
			return p, created, err
		}
	}
	return p, created, nil
}

func checkPrivate(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	refuse := func(why string) error {
		return fmt.Errorf("store: %w: %s %s; remove it, or configure another directory", ErrUnsafeDir, p, why)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return refuse("is a symbolic link")
	case !fi.IsDir():
		return refuse("is not a directory")
	}
	if why := notPrivate(fi); why != "" {
		return refuse(why)
	}
	return nil
}
