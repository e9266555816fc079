// Package formats links every output format of reqprof into the render
// registry and names them, so that every way of delivering a profile — the
// root package, the HTTP middleware, the UI, the command line — finds a
// format in one place without importing the format packages itself.
//
// The registry is package render's ([render.Lookup], [render.ParseFormat],
// [render.Formats]): each format package exports its [render.Descriptor]
// and registers it when linked; this package links them all (text,
// speedscope, pprof, folded, chrome, html; the native file's format is
// render's own). Its names are aliases of render's.
package formats

import (
	"io"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	_ "github.com/reqprof/reqprof/render/chrome"     // "chrome"
	_ "github.com/reqprof/reqprof/render/folded"     // "folded"
	_ "github.com/reqprof/reqprof/render/html"       // "html"
	_ "github.com/reqprof/reqprof/render/pprof"      // "pprof"
	_ "github.com/reqprof/reqprof/render/speedscope" // "speedscope"
	_ "github.com/reqprof/reqprof/render/text"       // "text"
)

// Format is an output format's name.
type Format = render.Format

// Descriptor describes one format.
type Descriptor = render.Descriptor

// The formats.
const (
	Text       Format = "text"       // a console call tree
	Reqprof    Format = "reqprof"    // the native file, which profile.Decode reads back
	Speedscope Format = "speedscope" // Speedscope's JSON
	Pprof      Format = "pprof"      // gzipped profile.proto for go tool pprof
	Folded     Format = "folded"     // folded stacks
	Chrome     Format = "chrome"     // Chrome Trace Event JSON (Perfetto)
	HTML       Format = "html"       // a self-contained HTML report
)

// All returns the formats, sorted by name.
func All() []Format { return render.Formats() }

// Lookup returns the descriptor of f.
func Lookup(f Format) (Descriptor, bool) { return render.Lookup(f) }

// Parse checks a format name (case and surrounding space ignored),
// returning an error that lists the valid ones.
func Parse(s string) (Format, error) { return render.ParseFormat(s) }

// Write renders p in format f (see [render.Write]).
func Write(w io.Writer, p *profile.Profile, f Format, o render.Options) error {
	return render.Write(w, p, f, o)
}
