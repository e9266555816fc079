package formats_test

import (
	"bytes"
	"strings"
	"testing"

	pprofile "github.com/google/pprof/profile"

	"github.com/reqprof/reqprof/internal/testprofile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/pprof"
	"github.com/reqprof/reqprof/view"
)

// TestStackFormatsDrawMergedSets merges the stacks of two profiles and
// draws the merge in every format that takes stack sets: what they draw
// adds up to both profiles.
func TestStackFormatsDrawMergedSets(t *testing.T) {
	a, b := testprofile.Handmade(), testprofile.Handmade()
	b.Name = "GET /orders (again)"
	merged := view.NewStackSet("GET /orders, 2 profiles")
	for _, p := range []func() (*view.StackSet, error){
		func() (*view.StackSet, error) { return pprof.Stacks(a, render.Options{}, true) },
		func() (*view.StackSet, error) { return pprof.Stacks(b, render.Options{}, true) },
	} {
		s, err := p()
		if err != nil {
			t.Fatal(err)
		}
		merged.Merge(s)
		merged.Default = s.Default
	}
	critical := merged.Total(1)
	if merged.Types[1] != pprof.Critical || critical != a.Duration+b.Duration || merged.Duration != critical {
		t.Fatalf("merged critical total %d, duration %d, want %d", critical, merged.Duration, a.Duration+b.Duration)
	}
	n := 0
	for _, f := range render.Formats() {
		if f.Takes() != render.Stacks {
			continue
		}
		n++
		var out bytes.Buffer
		if err := render.WriteStacks(&out, merged, f, render.Options{}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch f {
		case "pprof":
			prof, err := pprofile.Parse(&out)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, s := range prof.Sample {
				sum += s.Value[1]
			}
			if sum != critical || prof.DefaultSampleType != pprof.Critical {
				t.Errorf("pprof: critical sums to %d, want %d; default %q", sum, critical, prof.DefaultSampleType)
			}
		case "folded":
			var sum int64
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var v int64
				for _, c := range line[strings.LastIndexByte(line, ' ')+1:] {
					v = v*10 + int64(c-'0')
				}
				sum += v
				if !strings.HasPrefix(line, "GET /orders, 2 profiles;") {
					t.Errorf("folded line %q not under the set's name", line)
				}
			}
			if want := (critical + 500) / 1000; sum != want {
				t.Errorf("folded sums to %dµs, want %d", sum, want)
			}
		case "text":
			if !strings.Contains(out.String(), "Total: 40.00ms (critical)") || !strings.Contains(out.String(), "40.00ms 100.0%  GET /orders, 2 profiles") {
				t.Errorf("text:\n%s", out.String())
			}
		default:
			t.Errorf("no check for format %s", f)
		}
	}
	if n != 3 {
		t.Errorf("%d formats take stack sets, want 3 (text, folded, pprof)", n)
	}
}
