package cmdutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reqprof/reqprof/render"
)

// AggregateFormat is the name of the aggregate file's format, beside the
// render registry's.
const AggregateFormat = "reqagg"

// FormatFor returns the output format: flag (-f) when given, else the one
// whose extension ends path (-o), else def. Only the formats in allowed
// are accepted (render's registry, plus names such as "reqagg"); the
// error lists them.
func FormatFor(flag, path, def string, allowed []string) (string, error) {
	if f := strings.ToLower(strings.TrimSpace(flag)); f != "" {
		if slices.Contains(allowed, f) {
			return f, nil
		}
		return "", FlagErrorf("unknown format %q (valid: %s)", flag, strings.Join(allowed, ", "))
	}
	if path != "" && path != "-" {
		best, bestLen := "", 0
		for _, f := range allowed {
			ext := Extension(f)
			if ext != "" && strings.HasSuffix(path, ext) && len(ext) > bestLen {
				best, bestLen = f, len(ext)
			}
		}
		if best != "" {
			return best, nil
		}
	}
	return def, nil
}

// Extension returns a format's file extension.
func Extension(f string) string {
	switch f {
	case AggregateFormat:
		return AggregateExt
	case "html":
		return ".html"
	}
	return render.Format(f).Extension()
}

// Binary reports whether a format's output is not text.
func Binary(f string) bool {
	switch f {
	case AggregateFormat, "pprof", "reqprof":
		return true
	}
	return false
}

// Registered returns the render registry's formats, with extra names.
func Registered(extra ...string) []string {
	var out []string
	for _, f := range render.Formats() {
		out = append(out, string(f))
	}
	out = append(out, extra...)
	slices.Sort(out)
	return slices.Compact(out)
}

// WriteOutput writes what write writes to path, or to standard output
// when path is "" or "-". A file is written whole or not at all (a
// temporary file renamed). Binary output is never written to a terminal.
func WriteOutput(ios *IOStreams, path string, binary bool, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		if binary && ios.OutTTY {
			return errors.New("not writing binary output to a terminal: give -o FILE, or redirect standard output")
		}
		bw := bufio.NewWriter(ios.Out)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	bw := bufio.NewWriter(tmp)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
