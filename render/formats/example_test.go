package formats_test

import (
	"fmt"

	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/formats"
)

// Once the package is linked, the registry knows every format: the native
// file's, registered by package render, and those of the format packages.
func Example() {
	for _, f := range formats.All() {
		d, _ := render.Lookup(f)
		fmt.Printf("%-10s %-16s %-32s %s\n", f, d.Extension, d.ContentType, d.Takes)
	}
	// Output:
	// chrome     .trace.json      application/json                 timelines
	// folded     .folded          text/plain; charset=utf-8        stacks
	// html       .html            text/html; charset=utf-8         timelines
	// pprof      .pb.gz           application/octet-stream         stacks
	// reqprof    .reqprof         application/octet-stream         model
	// speedscope .speedscope.json application/json                 timelines
	// text       .txt             text/plain; charset=utf-8        stacks
}
