// Package cmdutil holds what the reqprof command's subcommands share: the
// Factory they are built with, their IO streams, and flag errors.
package cmdutil

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// IOStreams are a command's standard streams. Tests use in-memory ones
// (see Test).
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY and ErrTTY report whether Out and ErrOut are terminals:
	// progress is shown only on a terminal, binary output never written
	// to one.
	OutTTY, ErrTTY bool
}

// System returns the process's standard streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr)}
}

// isTerminal reports whether f is a character device (a terminal), which
// is what the REQPROF_PROGRESS=1 environment variable pretends for
// stderr in tests.
func isTerminal(f *os.File) bool {
	if f == os.Stderr && os.Getenv("REQPROF_PROGRESS") == "1" {
		return true
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Test returns in-memory streams and their buffers: input, output, errors.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// Factory carries the dependencies of the subcommands.
type Factory struct {
	IOStreams *IOStreams
	// Version is the command's version string.
	Version string
}

// FlagError is a usage mistake: a bad flag, a bad flag value, a wrong
// number of arguments. The command prints it with a hint to --help and
// exits with status 2.
type FlagError struct {
	Err error
}

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf returns a FlagError with a formatted message.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}
