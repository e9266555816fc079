// Package top implements `reqprof top`: flat tables of where the time of
// one or many requests went.
package top

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/view"
)

// Options are the command's settings, from its flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Files   []string
	View    string
	Type    string
	N       int
	NoGroup bool
	Select  cmdutil.Select
}

// NewCmdTop returns the command; runF, when not nil, replaces its work.
func NewCmdTop(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "top [--view VIEW | --type TYPE] [-n N] FILE|DIR|GLOB...",
		Short: "List functions by self and total time, waits by reason, regions and SQL",
		Long: `List where the time went: functions by self (flat) and total (cumulative)
time, the waits of the critical path by reason, and the regions — SQL
statements, outgoing calls, your own trace regions — by time.

Several files (profiles, aggregates, directories of them, glob patterns)
are merged first, and every time is per request: summed over the requests,
divided by their number. The "requests" column says how many requests
reached a function, "median" its median time in those.

The sample type is the view's (critical path by default, wall time of all
goroutines for --view all) or --type's: critical, wall, cpu (running time),
cpu_sampled (CPU profile samples, 10ms each).`,
		Example: `  $ reqprof top req.reqprof
  $ reqprof top --view all -n 20 profiles/
  $ reqprof top --type cpu_sampled 'profiles/*.reqprof'`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: cmdutil.CompleteFiles(cmdutil.ProfileExt, cmdutil.AggregateExt),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if opts.N < 1 {
				return cmdutil.FlagErrorf("invalid value %d for -n: want at least 1", opts.N)
			}
			if runF != nil {
				return runF(opts)
			}
			return topRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.View, "view", "", "the `view`: critical (default) or all")
	fl.StringVar(&opts.Type, "type", "", "the sample `type`: "+strings.Join(aggregate.Types, ", ")+" (overrides --view)")
	fl.IntVarP(&opts.N, "lines", "n", 15, "list `N` functions and regions")
	fl.BoolVar(&opts.NoGroup, "no-group", false, "keep library and runtime frames instead of folding them")
	opts.Select.Add(cmd)
	cmd.RegisterFlagCompletionFunc("type", cmdutil.CompleteFormats(func() []string { return aggregate.Types }))
	cmd.RegisterFlagCompletionFunc("view", cmdutil.CompleteFormats(func() []string { return []string{"critical", "all"} }))
	return cmd
}

func topRun(opts *Options) error {
	k, err := view.ParseKind(opts.View)
	if err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	typ := opts.Type
	if typ == "" {
		typ = cmdutil.TypeOfView(k)
	}
	paths, err := cmdutil.Expand(opts.Files)
	if err != nil {
		return err
	}
	a, err := cmdutil.Aggregate(opts.IO, paths, aggregate.Options{NoGroup: opts.NoGroup}, opts.Select)
	if err != nil {
		return err
	}
	i, err := a.Type(typ)
	if err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	return cmdutil.WriteOutput(opts.IO, "", false, func(w io.Writer) error { return Write(w, a, i, opts.N) })
}

// Write writes the tables of type i of a, n lines each.
func Write(w io.Writer, a *aggregate.Aggregate, i, n int) error {
	bw := bufio.NewWriter(w)
	N := int64(max(a.N(), 1))
	per := func(v int64) string { return text.Dur(v / N) }
	total := a.Total(i)
	share := func(v int64) string {
		if total <= 0 {
			return "0%"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(v)/float64(total))
	}
	s := aggregate.Summary(a)
	fmt.Fprintf(bw, "reqprof top  %s (%d requests)   %s, per request\n", render.Escape(a.Title()), a.N(), a.Types[i])
	fmt.Fprintf(bw, "Duration: mean %s, p50 %s, p90 %s, p99 %s, max %s   CPU %s   waiting %s\n\n",
		text.Dur(int64(s.Mean)), text.Dur(s.P50), text.Dur(s.P90), text.Dur(s.P99), text.Dur(s.Max), text.Dur(int64(s.CPU)), text.Dur(int64(s.Waiting)))

	fs := a.Top(i, aggregate.TreeOptions{})
	fmt.Fprintf(bw, "%10s %6s %10s %6s %9s %10s  %s\n", "flat", "flat%", "cum", "cum%", "requests", "median", "function")
	shown := 0
	for _, f := range fs {
		if shown == n || f.Flat == 0 {
			break
		}
		shown++
		reqs, med := "", ""
		if f.Dist != nil {
			reqs, med = fmt.Sprintf("%d/%d", f.Dist.N, a.N()), text.Dur(f.Dist.Median())
		}
		fmt.Fprintf(bw, "%10s %6s %10s %6s %9s %10s  %s\n", per(f.Flat), share(f.Flat), per(f.Cum), share(f.Cum), reqs, med, name(f.Frame))
	}
	if shown == 0 {
		fmt.Fprintln(bw, "(no time)")
	}

	if len(a.Waits) > 0 {
		fmt.Fprintf(bw, "\nWaits on the critical path by reason:\n%10s %6s %10s %9s  %s\n", "time", "share", "waits", "requests", "reason")
		ws := append([]aggregate.WaitStat(nil), a.Waits...)
		sortWaits(ws)
		wall := a.Wall()
		for _, w := range ws {
			sh := "0%"
			if wall > 0 {
				sh = fmt.Sprintf("%.1f%%", 100*float64(w.Time)/float64(wall))
			}
			fmt.Fprintf(bw, "%10s %6s %10.1f %9s  %s\n", per(w.Time), sh, float64(w.Count)/float64(N), fmt.Sprintf("%d/%d", w.Requests, a.N()), render.Escape(w.Reason))
		}
	}

	var regions []aggregate.FuncStat
	for _, f := range fs {
		if f.Frame.Kind == view.Region {
			regions = append(regions, f)
		}
	}
	sortByCum(regions)
	if len(regions) > 0 {
		fmt.Fprintf(bw, "\nRegions (SQL statements, outgoing calls, trace regions) by time:\n%10s %6s %9s %10s  %s\n", "cum", "cum%", "requests", "median", "region")
		for j, f := range regions {
			if j == n {
				fmt.Fprintf(bw, "%10s  (%d more)\n", "", len(regions)-n)
				break
			}
			reqs, med := "", ""
			if f.Dist != nil {
				reqs, med = fmt.Sprintf("%d/%d", f.Dist.N, a.N()), text.Dur(f.Dist.Median())
			}
			fmt.Fprintf(bw, "%10s %6s %9s %10s  %s\n", per(f.Cum), share(f.Cum), reqs, med, render.Escape(f.Frame.Name))
		}
	}
	return bw.Flush()
}

func name(f view.Frame) string {
	n := render.Escape(f.Name)
	if f.Kind == view.Func {
		return text.ShortFunc(n)
	}
	return n
}
