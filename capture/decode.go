package capture

import (
	"slices"

	"github.com/reqprof/reqprof/internal/tracedec"
)

// DecodeOptions returns how the decoder recognises a capture in an
// execution trace (its id log, its begin mark, the harness code), for the
// tools of this repository that read trace files, whether written by
// reqprof or by runtime/trace alone (the reqprof command's extract): a
// file's tasks made by reqprof then have their work's boundary, and the
// logs of other tasks are kept as logs.
func DecodeOptions() tracedec.Options {
	o := decodeOptions
	o.Harness = slices.Clone(o.Harness)
	return o
}
