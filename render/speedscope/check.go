package speedscope

import (
	"errors"
	"fmt"
)

var units = map[string]bool{"bytes": true, "microseconds": true, "milliseconds": true, "nanoseconds": true, "none": true, "seconds": true}

// CheckValid reports whether f follows Speedscope's schema and the rules of
// its importer, which the schema does not state: every frame index is in
// the frame table; an evented profile's events have non-decreasing times
// within [startValue, endValue], each close event closes the frame on top
// of the stack, and nothing is left open at the end; a sampled profile has
// one non-negative weight per sample, adding up to at most endValue -
// startValue; activeProfileIndex names a profile (else Speedscope silently
// shows its landing page).
func (f *File) CheckValid() error {
	if f.Schema != Schema {
		return fmt.Errorf("speedscope: $schema is %q, want %q", f.Schema, Schema)
	}
	if f.Shared.Frames == nil {
		return errors.New("speedscope: no shared.frames")
	}
	for i, fr := range f.Shared.Frames {
		if fr.Name == "" {
			return fmt.Errorf("speedscope: frame %d has no name", i)
		}
		if fr.Line < 0 {
			return fmt.Errorf("speedscope: frame %d (%s): negative line", i, fr.Name)
		}
	}
	if len(f.Profiles) == 0 {
		return errors.New("speedscope: no profiles")
	}
	if f.ActiveProfileIndex < 0 || f.ActiveProfileIndex >= len(f.Profiles) {
		return fmt.Errorf("speedscope: activeProfileIndex %d out of range (%d profiles)", f.ActiveProfileIndex, len(f.Profiles))
	}
	nf := len(f.Shared.Frames)
	for i, p := range f.Profiles {
		if err := p.check(nf); err != nil {
			return fmt.Errorf("speedscope: profile %d (%q): %w", i, p.Name, err)
		}
	}
	return nil
}

func (p *Profile) check(nframes int) error {
	if !units[p.Unit] {
		return fmt.Errorf("unit %q is not a Speedscope unit", p.Unit)
	}
	if p.EndValue < p.StartValue {
		return fmt.Errorf("endValue %d < startValue %d", p.EndValue, p.StartValue)
	}
	switch p.Type {
	case Evented:
		if p.Samples != nil || p.Weights != nil {
			return errors.New("evented profile with samples")
		}
		if p.Events == nil {
			return errors.New("evented profile without an events array")
		}
		var stack []int
		last := p.StartValue
		for j, e := range p.Events {
			if e.Frame < 0 || e.Frame >= nframes {
				return fmt.Errorf("event %d: frame %d out of range (%d frames)", j, e.Frame, nframes)
			}
			if e.At < last {
				return fmt.Errorf("event %d: at %d before the previous event's %d", j, e.At, last)
			}
			if e.At > p.EndValue {
				return fmt.Errorf("event %d: at %d after endValue %d", j, e.At, p.EndValue)
			}
			last = e.At
			switch e.Type {
			case OpenFrame:
				stack = append(stack, e.Frame)
			case CloseFrame:
				if len(stack) == 0 {
					return fmt.Errorf("event %d: closes frame %d with nothing open", j, e.Frame)
				}
				if top := stack[len(stack)-1]; top != e.Frame {
					return fmt.Errorf("event %d: closes frame %d, but frame %d is on top", j, e.Frame, top)
				}
				stack = stack[:len(stack)-1]
			default:
				return fmt.Errorf("event %d: type %q", j, e.Type)
			}
		}
		if len(stack) > 0 {
			return fmt.Errorf("%d frames left open at the end (innermost %d)", len(stack), stack[len(stack)-1])
		}
	case Sampled:
		if p.Events != nil {
			return errors.New("sampled profile with events")
		}
		if p.Samples == nil || p.Weights == nil {
			return errors.New("sampled profile without samples or weights arrays")
		}
		if len(p.Samples) != len(p.Weights) {
			return fmt.Errorf("%d samples but %d weights", len(p.Samples), len(p.Weights))
		}
		var sum int64
		for j, s := range p.Samples {
			for _, id := range s {
				if id < 0 || id >= nframes {
					return fmt.Errorf("sample %d: frame %d out of range (%d frames)", j, id, nframes)
				}
			}
			if p.Weights[j] < 0 {
				return fmt.Errorf("sample %d: negative weight %d", j, p.Weights[j])
			}
			sum += p.Weights[j]
		}
		if sum > p.EndValue-p.StartValue {
			return fmt.Errorf("weights add up to %d, more than endValue-startValue %d", sum, p.EndValue-p.StartValue)
		}
	default:
		return fmt.Errorf("type %q is neither %q nor %q", p.Type, Evented, Sampled)
	}
	return nil
}
