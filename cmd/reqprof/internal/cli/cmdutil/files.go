package cmdutil

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/spf13/cobra"
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

// Select chooses, among the profiles read, those to merge.
type Select struct {
	// Route and Reason, when set, keep the profiles whose route (or, with
	// none, name) and reason attributes are these.
	Route, Reason string
}

// Add registers the flags on cmd.
func (s *Select) Add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&s.Route, "route", "", "only the profiles of this `ROUTE` (or name): 'GET /users/{id}'")
	fl.StringVar(&s.Reason, "reason", "", "only the profiles taken for this `REASON`: requested, slow, sampled")
}

func (s Select) any() bool { return s.Route != "" || s.Reason != "" }

// Match reports whether s keeps p.
func (s Select) Match(p *profile.Profile) bool {
	route := p.Attr(profile.AttrRoute)
	if route == "" {
		route = p.Name
	}
	return (s.Route == "" || route == s.Route) && (s.Reason == "" || p.Attr(profile.AttrReason) == s.Reason)
}

// Aggregate reads the files (profiles and aggregates) and merges those sel
// keeps, showing progress on a terminal.
func Aggregate(ios *IOStreams, paths []string, o aggregate.Options, sel Select) (*aggregate.Aggregate, error) {
	m := aggregate.NewMerger(o)
	prog := ios.Progress("reading", int64(len(paths)), "files")
	defer prog.Done()
	kept := 0
	for i, path := range paths {
		p, a, err := ReadAny(path)
		if err != nil {
			return nil, err
		}
		switch {
		case p != nil && !sel.Match(p):
		case p != nil:
			err = m.AddProfile(p, filepath.Base(path))
			kept++
		case sel.any():
			return nil, fmt.Errorf("%s: --route and --reason select profiles, and an aggregate's cannot be told apart", path)
		default:
			err = m.Add(a)
			kept++
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		prog.Set(int64(i + 1))
	}
	if kept == 0 {
		return nil, fmt.Errorf("none of the %d profiles is of route %q and reason %q", len(paths), sel.Route, sel.Reason)
	}
	return m.Aggregate(), nil
}
