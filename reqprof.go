package reqprof

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/internal/version"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/formats"
	"github.com/reqprof/reqprof/view"
)

// Profile is one profiled unit of work. The model is in the embedded
// [profile.Profile]; views derived from it are in package view.
type Profile struct {
	*profile.Profile
}

// Do runs fn, exactly once, with a context carrying a runtime/trace task,
// and returns the profile of fn and every goroutine it started.
//
// fn's error is returned as is when the profile was made; when profiling
// failed (another flight recorder is active, the work outgrew the
// recorder's window), the returned error joins fn's error and the
// profiling error, and the profile is nil. A panic in fn propagates, and a
// runtime.Goexit in fn (t.Fatal, t.Skip) goes on, after the capture is
// released.
func Do(ctx context.Context, name string, fn func(context.Context) error) (*Profile, error) {
	return DoWith(capture.Default, ctx, name, fn)
}

// DoWith is [Do] with a given capture manager.
func DoWith(m *capture.Manager, ctx context.Context, name string, fn func(context.Context) error) (*Profile, error) {
	cctx, c, cerr := m.Start(ctx, name)
	if cerr != nil {
		return nil, errors.Join(fn(ctx), cerr)
	}
	returned := false
	defer func() {
		// fn panicked, or called runtime.Goexit (t.Fatal, t.Skip): release
		// the recorder and let the panic or the exit go on.
		if !returned {
			c.Discard()
		}
	}()
	fnErr := capture.Run(cctx, fn)
	returned = true
	p, perr := c.Stop()
	if perr != nil {
		return nil, errors.Join(fnErr, perr)
	}
	return &Profile{p}, fnErr
}

// Load reads a profile from its native file (FormatReqprof).
func Load(r io.Reader) (*Profile, error) {
	p, err := profile.Decode(r)
	if err != nil {
		return nil, err
	}
	return &Profile{p}, nil
}

// Format is an output format: a name in the registry of package render
// (package render/formats, which reqprof imports, links every format).
type Format = formats.Format

const (
	// FormatText is a console call tree.
	FormatText = formats.Text
	// FormatReqprof is the native file, which Load reads back.
	FormatReqprof = formats.Reqprof
	// FormatSpeedscope is Speedscope's JSON (evented profiles: the
	// critical path, then one per goroutine).
	FormatSpeedscope = formats.Speedscope
	// FormatPprof is a gzipped profile.proto for go tool pprof.
	FormatPprof = formats.Pprof
	// FormatFolded is Brendan Gregg's folded stacks.
	FormatFolded = formats.Folded
	// FormatChrome is Chrome Trace Event JSON, for Perfetto and
	// chrome://tracing.
	FormatChrome = formats.Chrome
	// FormatHTML is a self-contained HTML report (call tree, flame graph,
	// timeline), which opens offline.
	FormatHTML = formats.HTML
)

// View selects a view of the profile.
type View = view.Kind

// The views.
const (
	ViewCritical   View = view.Critical
	ViewGoroutines View = view.Goroutines
	ViewAll        View = view.All
)

// Version is reqprof's version, written into the files it exports.
const Version = version.Version

// Views lists the views.
func Views() []View { return view.Kinds() }

// Formats returns the output formats, sorted.
func Formats() []Format { return formats.All() }

// ParseFormat checks a format name, returning an error that lists the valid
// ones.
func ParseFormat(s string) (Format, error) {
	f, err := formats.Parse(s)
	if err != nil {
		return "", fmt.Errorf("reqprof: %w", err)
	}
	return f, nil
}

// WriteOptions choose what Write shows. The zero value is the critical
// path with library frames grouped.
type WriteOptions struct {
	// View is the view to render (default ViewCritical).
	View View
	// NoGroup keeps library and runtime frames instead of folding them.
	NoGroup bool
	// UserCode is a regular expression of the functions that are user
	// code; "" means the profiled program's main module.
	UserCode string
	// Threshold drops call-tree nodes below this share of the total (0.01
	// is one percent); 0 uses the format's default.
	Threshold float64
	// TimeOrder keeps call trees in time order instead of merging calls.
	TimeOrder bool
	// Color forces colour and Unicode in text output; by default they are
	// on when writing to a terminal.
	Color *bool
}

// Write renders the profile in format f with default options.
func (p *Profile) Write(w io.Writer, f Format) error {
	return p.WriteWith(w, f, WriteOptions{})
}

// WriteWith renders the profile in format f.
func (p *Profile) WriteWith(w io.Writer, f Format, o WriteOptions) error {
	if _, ok := formats.Lookup(f); !ok {
		_, err := ParseFormat(string(f))
		return err
	}
	k, err := view.ParseKind(string(o.View))
	if err != nil {
		return fmt.Errorf("reqprof: %w", err)
	}
	ro := render.Options{View: k, NoGroup: o.NoGroup, Threshold: o.Threshold, TimeOrder: o.TimeOrder}
	if o.UserCode != "" {
		re, err := regexp.Compile(o.UserCode)
		if err != nil {
			return fmt.Errorf("reqprof: user code pattern: %w", err)
		}
		ro.User = view.UserRegexp(re)
	}
	if o.Color != nil {
		ro.Color, ro.Unicode = *o.Color, *o.Color
	} else if isTerminal(w) {
		ro.Color, ro.Unicode = true, true
	}
	if p == nil || p.Profile == nil {
		return errors.New("reqprof: nil profile")
	}
	return formats.Write(w, p.Profile, f, ro)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
