package cmdutil

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// RenderFlags are the flags that choose how a profile is drawn.
type RenderFlags struct {
	View      string
	NoGroup   bool
	Threshold float64
}

// Add registers the flags on cmd.
func (r *RenderFlags) Add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&r.View, "view", "", "the `view`: "+strings.Join(kinds(), ", ")+" (default critical)")
	fl.BoolVar(&r.NoGroup, "no-group", false, "keep library and runtime frames instead of folding them")
	fl.Float64Var(&r.Threshold, "threshold", 0, "hide call-tree nodes below this `fraction` of the total (text; default 0.005)")
	cmd.RegisterFlagCompletionFunc("view", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return kinds(), cobra.ShellCompDirectiveNoFileComp
	})
}

func kinds() []string {
	var out []string
	for _, k := range view.Kinds() {
		out = append(out, string(k))
	}
	return out
}

// Options returns the render options, the view checked.
func (r *RenderFlags) Options(ios *IOStreams) (render.Options, error) {
	k, err := view.ParseKind(r.View)
	if err != nil {
		return render.Options{}, FlagErrorf("%v", err)
	}
	if r.Threshold < 0 || r.Threshold >= 1 {
		return render.Options{}, FlagErrorf("invalid value %v for --threshold: want a fraction in [0, 1)", r.Threshold)
	}
	return render.Options{View: k, NoGroup: r.NoGroup, Threshold: r.Threshold, Color: ios.OutTTY, Unicode: ios.OutTTY}, nil
}

// AggregateOptions are the aggregate options of the flags.
func (r *RenderFlags) AggregateOptions() aggregate.Options {
	return aggregate.Options{NoGroup: r.NoGroup}
}

// TypeOfView returns the aggregate sample type that stands for a view:
// critical for the critical path, wall for the others.
func TypeOfView(k view.Kind) string {
	if k == view.Critical || k == "" {
		return aggregate.Critical
	}
	return aggregate.Wall
}

// WriteProfile renders p in format f (a registry format, or reqagg: the
// aggregate of p).
func WriteProfile(w io.Writer, p *profile.Profile, f string, o render.Options, source string) error {
	if f == AggregateFormat {
		a, err := aggregate.From(p, aggregate.Options{NoGroup: o.NoGroup, Source: source})
		if err != nil {
			return err
		}
		return a.Encode(w)
	}
	return render.Write(w, p, render.Format(f), o)
}

// WriteAggregate renders a in format f: reqagg, or a registry format that
// draws stack sets (its default type that of the options' view).
func WriteAggregate(w io.Writer, a *aggregate.Aggregate, f string, o render.Options) error {
	if f == AggregateFormat {
		return a.Encode(w)
	}
	d, ok := render.Lookup(render.Format(f))
	if !ok {
		_, err := render.ParseFormat(f)
		return err
	}
	if d.WriteStacks == nil {
		return fmt.Errorf("format %s draws one profile's %s, not an aggregate: use text, folded, pprof or reqagg", f, d.Takes)
	}
	set := a.StackSet()
	if o.View != "" {
		i, err := a.Type(TypeOfView(o.View))
		if err != nil {
			return err
		}
		set.Default = i
	}
	return render.WriteStacks(w, set, render.Format(f), o)
}

// CompleteFormats completes a format flag with formats.
func CompleteFormats(formats func() []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats(), cobra.ShellCompDirectiveNoFileComp
	}
}

// CompleteFiles completes arguments with files of the extensions (and
// directories).
func CompleteFiles(exts ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var trimmed []string
	for _, e := range exts {
		trimmed = append(trimmed, strings.TrimPrefix(e, "."))
	}
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return trimmed, cobra.ShellCompDirectiveFilterFileExt
	}
}
