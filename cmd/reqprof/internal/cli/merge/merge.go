// Package merge implements `reqprof merge`: many profiles as one aggregate.
package merge

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
)

// Options are the command's settings, from its flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Files   []string
	Out     string
	Format  string
	Name    string
	NoGroup bool
	Select  cmdutil.Select
}

// NewCmdMerge returns the command; runF, when not nil, replaces its work.
func NewCmdMerge(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "merge -o OUT FILE|DIR|GLOB...",
		Short: "Merge profiles and aggregates into one aggregate",
		Long: `Merge profiles (.reqprof), aggregates (.reqagg), directories of them and glob
patterns into one aggregate: the requests' stacks summed per sample type,
how many requests reached each call-tree node and the distribution of its
time over them, and each request's duration, for percentiles.

Merging is associative: merging merges gives what merging the profiles at
once gives. The output is a .reqagg file unless -f or -o's extension says
text, folded or pprof. What was merged is summarised on stderr.`,
		Example: `  $ reqprof merge -o route.reqagg /tmp/reqprof-1000/*.reqprof
  $ reqprof merge -o all.reqagg monday.reqagg tuesday.reqagg
  $ reqprof merge -o route.pb.gz profiles/ && go tool pprof -http=: route.pb.gz`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: cmdutil.CompleteFiles(cmdutil.ProfileExt, cmdutil.AggregateExt),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if runF != nil {
				return runF(opts)
			}
			return mergeRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Out, "output", "o", "", "write to `FILE` (default standard output, never a terminal)")
	fl.StringVarP(&opts.Format, "format", "f", "", "the output `format`: reqagg (default), text, folded, pprof")
	fl.StringVar(&opts.Name, "name", "", "name the aggregate (default: the route or name its profiles share)")
	fl.BoolVar(&opts.NoGroup, "no-group", false, "keep library and runtime frames instead of folding them")
	opts.Select.Add(cmd)
	cmd.RegisterFlagCompletionFunc("format", cmdutil.CompleteFormats(formats))
	return cmd
}

func formats() []string {
	out := []string{cmdutil.AggregateFormat}
	for _, f := range render.Formats() {
		if d, _ := render.Lookup(f); d.WriteStacks != nil {
			out = append(out, string(f))
		}
	}
	return out
}

func mergeRun(opts *Options) error {
	f, err := cmdutil.FormatFor(opts.Format, opts.Out, cmdutil.AggregateFormat, formats())
	if err != nil {
		return err
	}
	paths, err := cmdutil.Expand(opts.Files)
	if err != nil {
		return err
	}
	a, err := cmdutil.Aggregate(opts.IO, paths, aggregate.Options{NoGroup: opts.NoGroup}, opts.Select)
	if err != nil {
		return err
	}
	if opts.Name != "" {
		a.Name = opts.Name
	}
	err = cmdutil.WriteOutput(opts.IO, opts.Out, cmdutil.Binary(f), func(w io.Writer) error {
		return cmdutil.WriteAggregate(w, a, f, render.Options{})
	})
	if err != nil {
		return err
	}
	where := opts.Out
	if where == "" || where == "-" {
		where = "standard output"
	}
	d := func(ns int64) string { return text.Dur(ns) }
	fmt.Fprintf(opts.IO.ErrOut, "merged %d profiles of %s into %s: duration p50 %s, p90 %s, p99 %s, max %s\n",
		a.N(), render.Escape(a.Title()), where, d(a.Percentile(0.5)), d(a.Percentile(0.9)), d(a.Percentile(0.99)), d(a.Percentile(1)))
	return nil
}
