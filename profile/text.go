package profile

import (
	"strconv"
	"strings"
	"time"
)

// String returns a human-readable dump of the whole profile, one item per
// line, in the model's order: metadata, frames, stacks, goroutines (each
// followed by its intervals), samples, regions and logs. Strings are quoted
// with Go syntax, times are nanoseconds as in the model and Start is shown
// in UTC, so the dump is deterministic and suits golden tests. String does
// not require p to be valid.
func (p *Profile) String() string {
	if p == nil {
		return "<nil profile>\n"
	}
	var b []byte
	line := func(parts ...string) {
		b = append(b, strings.Join(parts, " ")...)
		b = append(b, '\n')
	}
	q := strconv.Quote
	d := func(n int64) string { return strconv.FormatInt(n, 10) }
	span := func(start, end int64) string { return "[" + d(start) + "," + d(end) + ")" }
	stack := func(id StackID) string { return "stack=" + d(int64(id)) }

	line("name:", q(p.Name))
	line("start:", p.Start.UTC().Format(time.RFC3339Nano))
	line("duration:", d(p.Duration))
	line("go_version:", q(p.GoVersion))
	line("host:", q(p.Host))
	line("base:", d(int64(p.Base)))
	line("work:", d(int64(p.Work)))
	if p.SamplePeriod != 0 {
		line("sample_period:", d(p.SamplePeriod))
	}
	for _, l := range p.Library {
		line("library:", q(l))
	}
	for _, a := range p.Attrs {
		line("attr:", q(a.Key), q(a.Value))
	}
	for _, w := range p.Warnings {
		line("warning:", q(w))
	}

	line("frames:", d(int64(len(p.Frames))))
	for i, f := range p.Frames {
		line(" ", d(int64(i))+":", q(f.Func), q(f.File)+":"+d(int64(f.Line)))
	}
	line("stacks:", d(int64(len(p.Stacks))))
	for i, s := range p.Stacks {
		parts := []string{" ", d(int64(i)) + ":"}
		for _, f := range s.Frames {
			parts = append(parts, d(int64(f)))
		}
		line(parts...)
	}

	line("goroutines:", d(int64(len(p.Goroutines))))
	for _, g := range p.Goroutines {
		parts := []string{" ", "goroutine", d(g.ID)}
		if g.Member {
			parts = append(parts, "member")
		} else {
			parts = append(parts, "non-member")
		}
		parts = append(parts,
			"parent="+d(g.Parent),
			"created_at="+d(int64(g.CreatedAt)),
			"entry="+d(int64(g.Entry)),
			span(g.Start, g.End))
		if g.Exited {
			parts = append(parts, "exited")
		}
		if g.Task != "" {
			parts = append(parts, "task="+q(g.Task))
		}
		line(parts...)
		for _, iv := range g.Intervals {
			parts := []string{"   ", span(iv.Start, iv.End), iv.State.String(), stack(iv.Stack)}
			if iv.Reason != "" {
				parts = append(parts, "reason="+q(iv.Reason))
			}
			if iv.Waker != 0 {
				parts = append(parts, "waker="+d(iv.Waker))
			}
			if iv.Inferred {
				parts = append(parts, "inferred")
			}
			line(parts...)
		}
	}

	line("samples:", d(int64(len(p.Samples))))
	for _, s := range p.Samples {
		line(" ", "t="+d(s.Time), "g="+d(s.Goroutine), stack(s.Stack))
	}
	line("regions:", d(int64(len(p.Regions))))
	for _, r := range p.Regions {
		line(" ", "g="+d(r.Goroutine), span(r.Start, r.End), q(r.Type), stack(r.Stack))
	}
	line("logs:", d(int64(len(p.Logs))))
	for _, l := range p.Logs {
		line(" ", "t="+d(l.Time), "g="+d(l.Goroutine), q(l.Category), q(l.Message))
	}
	return string(b)
}
