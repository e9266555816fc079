package cmdutil

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/profile"
)

// ProfileExt and AggregateExt are the extensions of the files the
// commands read.
const (
	ProfileExt   = ".reqprof"
	AggregateExt = aggregate.Extension
)

// Expand turns arguments — files, directories, glob patterns — into the
// files they name, sorted and without duplicates: a file as is, a
// directory's .reqprof and .reqagg files (not those of its
// subdirectories), a pattern's matches. A missing file, a directory
// without profiles and a pattern that matches nothing are errors.
func Expand(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		switch {
		case err == nil && st.IsDir():
			ents, err := os.ReadDir(a)
			if err != nil {
				return nil, err
			}
			n := len(out)
			for _, e := range ents {
				if !e.IsDir() && (strings.HasSuffix(e.Name(), ProfileExt) || strings.HasSuffix(e.Name(), AggregateExt)) {
					out = append(out, filepath.Join(a, e.Name()))
				}
			}
			if len(out) == n {
				return nil, fmt.Errorf("%s: no %s or %s files in the directory", a, ProfileExt, AggregateExt)
			}
		case err == nil:
			out = append(out, a)
		case errors.Is(err, fs.ErrNotExist) && strings.ContainsAny(a, "*?["):
			m, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, fmt.Errorf("%s: %v", a, gerr)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("%s: no file matches", a)
			}
			for _, f := range m {
				if st, err := os.Stat(f); err == nil && !st.IsDir() {
					out = append(out, f)
				}
			}
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%s: no such file or directory", a)
		default:
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ReadProfile reads a .reqprof file; errors name the file.
func ReadProfile(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openError(path, err)
	}
	defer f.Close()
	p, err := profile.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ReadAny reads a profile or an aggregate file, telling them apart by
// their content: exactly one of the results is set.
func ReadAny(path string) (*profile.Profile, *aggregate.Aggregate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, openError(path, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if aggregate.IsProfile(br) {
		p, err := profile.Decode(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return p, nil, nil
	}
	a, err := aggregate.Decode(br)
	if err != nil {
		if errors.Is(err, aggregate.ErrNotAggregate) {
			return nil, nil, fmt.Errorf("%s: not a reqprof profile or aggregate file", path)
		}
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return nil, a, nil
}

func openError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no such file", path)
	}
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%s: permission denied", path)
	}
	return err
}

// Aggregate reads the files (profiles and aggregates) and merges them,
// showing progress on a terminal.
func Aggregate(ios *IOStreams, paths []string, o aggregate.Options) (*aggregate.Aggregate, error) {
	m := aggregate.NewMerger(o)
	prog := ios.Progress("reading", int64(len(paths)), "files")
	defer prog.Done()
	for i, path := range paths {
		p, a, err := ReadAny(path)
		if err != nil {
			return nil, err
		}
		if p != nil {
			err = m.AddProfile(p, filepath.Base(path))
		} else {
			err = m.Add(a)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		prog.Set(int64(i + 1))
	}
	return m.Aggregate(), nil
}
