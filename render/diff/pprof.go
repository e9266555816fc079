package diff

import (
	"bytes"
	"fmt"
	"io"

	pprofile "github.com/google/pprof/profile"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/pprof"
	"github.com/reqprof/reqprof/view"
)

// BaseLabel is the label pprof gives the samples of a -diff_base profile;
// its value is "true".
const BaseLabel = "pprof::base"

// Pprof writes the diff as a gzipped pprof profile, every value in
// nanoseconds per request: the after aggregate's samples as they are, the
// before aggregate's negated and labelled pprof::base=true, which is what
// `go tool pprof -diff_base=before after` builds. pprof then shows the
// change of every function (`-top`), percentages of the before total, and
// its web UI draws the diff. The diff's type is the default sample type;
// every type is in the file.
func Pprof(w io.Writer, d *aggregate.Diff) error {
	after, err := perRequest(d.B, d.Type)
	if err != nil {
		return err
	}
	before, err := perRequest(d.A, d.Type)
	if err != nil {
		return err
	}
	for _, s := range before.Sample {
		for i := range s.Value {
			s.Value[i] = -s.Value[i]
		}
		if s.Label == nil {
			s.Label = map[string][]string{}
		}
		s.Label[BaseLabel] = []string{"true"}
	}
	// Merge wants the same sample types, in the same order, and period.
	before.DefaultSampleType = after.DefaultSampleType
	before.Comments, before.TimeNanos, before.DurationNanos = nil, 0, 0
	merged, err := pprofile.Merge([]*pprofile.Profile{after, before})
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	merged.Comments = append([]string{
		render.Escape(fmt.Sprintf("reqprof diff: before %s (%d requests), after %s (%d requests)", d.A.Title(), d.A.N(), d.B.Title(), d.B.N())),
		"values are nanoseconds per request; samples labelled pprof::base=true are the before side, negated (as go tool pprof -diff_base makes them)",
	}, after.Comments...)
	return merged.Write(w)
}

// perRequest returns a's stacks as a pprof profile, each value divided by
// a's number of profiles, the default sample type that of index def.
func perRequest(a *aggregate.Aggregate, def int) (*pprofile.Profile, error) {
	set := a.StackSet()
	n := int64(max(a.N(), 1))
	scaled := view.NewStackSet(set.Name, set.Types...)
	scaled.Default = def
	scaled.Start, scaled.Duration, scaled.Comments = set.Start, set.Duration/n, set.Comments
	for _, st := range set.Stacks {
		for i, v := range st.Values {
			if v/n != 0 {
				scaled.Add(i, st, v/n, st.Counts[i])
			}
		}
	}
	var buf bytes.Buffer
	if err := pprof.RenderStacks(&buf, scaled, render.Options{}); err != nil {
		return nil, err
	}
	return pprofile.Parse(&buf)
}
