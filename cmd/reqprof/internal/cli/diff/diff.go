// Package diff implements `reqprof diff`: what changed between two sets of
// requests, per request.
package diff

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
	rdiff "github.com/reqprof/reqprof/render/diff"
	"github.com/reqprof/reqprof/view"
)

// Options are the command's settings, from its flags.
type Options struct {
	IO        *cmdutil.IOStreams
	Args      []string
	Format    string
	Out       string
	View      string
	Type      string
	Threshold float64
	NoGroup   bool
	Slow      bool
	Select    cmdutil.Select
}

var formats = []string{"text", "html", "pprof"}

// NewCmdDiff returns the command; runF, when not nil, replaces its work.
func NewCmdDiff(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "diff [-f text|html|pprof] [-o OUT] BEFORE AFTER | --slow PROFILES",
		Short: "Compare two sets of requests, per request",
		Long: `Compare two sets of requests — before and after a change — node by node of
their call trees: what each node cost per request on each side, the change,
and the relative change. BEFORE and AFTER are each a profile, an aggregate,
a directory of them, or a quoted glob pattern; each side is merged first,
and every time is divided by the side's number of requests, so 50 requests
compare with 500.

With --slow, one set of profiles is split instead: the requests at or above
its 90th percentile of duration against the typical ones, between the 40th
and 60th percentiles: what do the slow requests do differently?

Formats: text (a table; the default), html (a self-contained page with a
differential flame graph: red is slower, blue faster), pprof (the after
side with the before side negated, as go tool pprof -diff_base builds it:
go tool pprof -top diff.pb.gz).`,
		Example: `  $ reqprof diff before/ after/
  $ reqprof diff -o diff.html std.reqagg fast.reqagg
  $ reqprof diff -f pprof 'old/*.reqprof' 'new/*.reqprof' > diff.pb.gz && go tool pprof -top diff.pb.gz
  $ reqprof diff --slow profiles/`,
		ValidArgsFunction: cmdutil.CompleteFiles(cmdutil.ProfileExt, cmdutil.AggregateExt),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if opts.Slow && len(args) != 1 {
				return cmdutil.FlagErrorf("--slow takes one set of profiles, got %d arguments", len(args))
			}
			if !opts.Slow && len(args) != 2 {
				return cmdutil.FlagErrorf("want BEFORE and AFTER, got %d arguments (quote glob patterns)", len(args))
			}
			if runF != nil {
				return runF(opts)
			}
			return diffRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Format, "format", "f", "", "the output `format`: text, html or pprof (default text, or -o's extension)")
	fl.StringVarP(&opts.Out, "output", "o", "", "write to `FILE` (default standard output)")
	fl.StringVar(&opts.View, "view", "", "the `view`: critical (default) or all")
	fl.StringVar(&opts.Type, "type", "", "the sample `type` compared: critical, wall, cpu, cpu_sampled (overrides --view)")
	fl.Float64Var(&opts.Threshold, "threshold", 0, "text: hide nodes whose change is below this `fraction` of the total (default 0.01)")
	fl.BoolVar(&opts.NoGroup, "no-group", false, "keep library and runtime frames instead of folding them")
	opts.Select.Add(cmd)
	fl.BoolVar(&opts.Slow, "slow", false, "compare the slow requests (p90 and above) of one set with its typical ones (p40 to p60)")
	cmd.RegisterFlagCompletionFunc("format", cmdutil.CompleteFormats(func() []string { return formats }))
	cmd.RegisterFlagCompletionFunc("type", cmdutil.CompleteFormats(func() []string { return aggregate.Types }))
	return cmd
}

func diffRun(opts *Options) error {
	f, err := cmdutil.FormatFor(opts.Format, opts.Out, "text", formats)
	if err != nil {
		return err
	}
	k, err := view.ParseKind(opts.View)
	if err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	typ := opts.Type
	if typ == "" {
		typ = cmdutil.TypeOfView(k)
	}
	ao := aggregate.Options{NoGroup: opts.NoGroup}
	var before, after *aggregate.Aggregate
	if opts.Slow {
		before, after, err = slowAndTypical(opts.IO, opts.Args[0], ao, opts.Select)
	} else {
		before, after, err = sides(opts.IO, opts.Args, ao, opts.Select)
	}
	if err != nil {
		return err
	}
	d, err := aggregate.Compare(before, after, aggregate.DiffOptions{Type: typ, NoGroup: opts.NoGroup})
	if err != nil {
		return err
	}
	return cmdutil.WriteOutput(opts.IO, opts.Out, f == "pprof", func(w io.Writer) error {
		switch f {
		case "html":
			return rdiff.HTML(w, d)
		case "pprof":
			return rdiff.Pprof(w, d)
		}
		tty := opts.IO.OutTTY && (opts.Out == "" || opts.Out == "-")
		return rdiff.Text(w, d, rdiff.Options{Threshold: opts.Threshold, Color: tty, Unicode: tty})
	})
}

func sides(ios *cmdutil.IOStreams, args []string, o aggregate.Options, sel cmdutil.Select) (a, b *aggregate.Aggregate, err error) {
	var out [2]*aggregate.Aggregate
	for i, arg := range args {
		paths, err := cmdutil.Expand([]string{arg})
		if err != nil {
			return nil, nil, err
		}
		if out[i], err = cmdutil.Aggregate(ios, paths, o, sel); err != nil {
			return nil, nil, err
		}
	}
	// Name each side by where it came from when its profiles do not
	// tell them apart.
	titles := [2]string{out[0].Title(), out[1].Title()}
	for i, arg := range args {
		if out[i].Name == "" || titles[0] == titles[1] {
			out[i].Name = titles[i] + " (" + filepath.Base(filepath.Clean(arg)) + ")"
		}
	}
	return out[0], out[1], nil
}

// slowAndTypical splits the profiles of arg by duration.
func slowAndTypical(ios *cmdutil.IOStreams, arg string, o aggregate.Options, sel cmdutil.Select) (typical, slow *aggregate.Aggregate, err error) {
	paths, err := cmdutil.Expand([]string{arg})
	if err != nil {
		return nil, nil, err
	}
	var each []*aggregate.Aggregate
	var durations []int64
	prog := ios.Progress("reading", int64(len(paths)), "files")
	defer prog.Done()
	for i, path := range paths {
		p, _, err := cmdutil.ReadAny(path)
		if err != nil {
			return nil, nil, err
		}
		if p == nil {
			return nil, nil, fmt.Errorf("%s: --slow splits profiles by duration, and an aggregate cannot be split", path)
		}
		if !sel.Match(p) {
			continue
		}
		o.Source = filepath.Base(path)
		a, err := aggregate.From(p, o)
		if err != nil {
			return nil, nil, err
		}
		each = append(each, a)
		durations = append(durations, p.Duration)
		prog.Set(int64(i + 1))
	}
	ti, si := aggregate.SlowAndTypical(durations)
	if len(ti) == 0 {
		return nil, nil, fmt.Errorf("%s: --slow needs at least 10 profiles, found %d", arg, len(each))
	}
	pick := func(idx []int, name string) (*aggregate.Aggregate, error) {
		var as []*aggregate.Aggregate
		for _, i := range idx {
			as = append(as, each[i])
		}
		m, err := aggregate.Merge(as...)
		if err == nil && m.Name != "" {
			m.Name += " (" + name + ")"
		} else if err == nil {
			m.Name = name
		}
		return m, err
	}
	if typical, err = pick(ti, "typical: p40-p60"); err != nil {
		return nil, nil, err
	}
	if slow, err = pick(si, "slow: p90+"); err != nil {
		return nil, nil, err
	}
	return typical, slow, nil
}
