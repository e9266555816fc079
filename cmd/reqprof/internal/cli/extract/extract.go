// Package extract implements `reqprof extract`: profiles out of an
// execution trace file, for programs that never imported reqprof but use
// runtime/trace tasks (or none: a goroutine's profile).
package extract

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
	"github.com/reqprof/reqprof/internal/tracedec"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
)

// Options are the command's settings, from its flags.
type Options struct {
	IO        *cmdutil.IOStreams
	Trace     string
	Task      string
	Goroutine int64
	All       string
	Format    string
	Out       string
	Render    cmdutil.RenderFlags
	// Lines bounds the tasks and goroutines listed.
	Lines int
}

// NewCmdExtract returns the command; runF, when not nil, replaces its work.
func NewCmdExtract(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "extract [--task ID|TYPE | --goroutine ID | --all TYPE] [-f FORMAT] [-o OUT] TRACE",
		Short: "Extract profiles from an execution trace file",
		Long: `Read an execution trace file — written by runtime/trace.Start, go test -trace,
or /debug/pprof/trace — and make reqprof profiles from it: per-request
profiles for services that never imported reqprof but wrap their requests
in runtime/trace tasks.

Without a selection, list the trace's tasks with their durations, their
types, and its longest goroutines. --task makes the profile of one task, by
id or by type (when only one task has it); --all the aggregate of every
task of a type; --goroutine the profile of one goroutine over its life in
the trace, with every goroutine it started.

The trace is read as a stream, keeping in memory only what the wanted
profiles need; progress shows on a terminal.`,
		Example: `  $ go test -trace=trace.out -run TestCheckout ./shop
  $ reqprof extract trace.out
  $ reqprof extract --task 42 trace.out
  $ reqprof extract --task checkout -o checkout.speedscope.json trace.out
  $ reqprof extract --all 'GET /users/{id}' -o users.reqagg trace.out
  $ curl -o trace.out 'http://localhost:6060/debug/pprof/trace?seconds=5' && reqprof extract --goroutine 1 trace.out`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Trace = args[0]
			n := 0
			if opts.Task != "" {
				n++
			}
			if cmd.Flags().Changed("goroutine") {
				n++
				if opts.Goroutine <= 0 {
					return cmdutil.FlagErrorf("invalid value %d for --goroutine: want a goroutine id", opts.Goroutine)
				}
			}
			if opts.All != "" {
				n++
			}
			if n > 1 {
				return cmdutil.FlagErrorf("--task, --goroutine and --all select one thing: give one of them")
			}
			if runF != nil {
				return runF(opts)
			}
			return extractRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Task, "task", "", "the task to extract: its `ID`, or its type when only one task has it")
	fl.Int64Var(&opts.Goroutine, "goroutine", 0, "the goroutine to extract, by `ID`")
	fl.StringVar(&opts.All, "all", "", "extract every task of this `TYPE`, merged into an aggregate")
	fl.StringVarP(&opts.Format, "format", "f", "", "the output `format` (default text, or -o's extension)")
	fl.StringVarP(&opts.Out, "output", "o", "", "write to `FILE` (default standard output)")
	fl.IntVarP(&opts.Lines, "lines", "n", 20, "list at most `N` tasks, and as many goroutines")
	opts.Render.Add(cmd)
	cmd.RegisterFlagCompletionFunc("format", cmdutil.CompleteFormats(func() []string { return cmdutil.Registered(cmdutil.AggregateFormat) }))
	return cmd
}

func extractRun(opts *Options) error {
	formats := cmdutil.Registered(cmdutil.AggregateFormat)
	f, err := cmdutil.FormatFor(opts.Format, opts.Out, "text", formats)
	if err != nil {
		return err
	}
	ro, err := opts.Render.Options(opts.IO)
	if err != nil {
		return err
	}
	if opts.Out != "" && opts.Out != "-" {
		ro.Color, ro.Unicode = false, false
	}
	path, cleanup, err := spool(opts)
	if err != nil {
		return err
	}
	defer cleanup()
	do := capture.DecodeOptions()
	read := func(fn func(r io.Reader, progress tracedec.Progress) error) error {
		file, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%s: %w", opts.Trace, err)
		}
		defer file.Close()
		var size int64
		if st, err := file.Stat(); err == nil {
			size = st.Size()
		}
		m := opts.IO.Progress("reading "+opts.Trace, size, "bytes")
		defer m.Done()
		if err := fn(file, m.Set); err != nil {
			return fmt.Errorf("%s: %w", opts.Trace, err)
		}
		return nil
	}

	if opts.All != "" {
		merger := aggregate.NewMerger(opts.Render.AggregateOptions())
		var n int
		err := read(func(r io.Reader, progress tracedec.Progress) (err error) {
			n, err = tracedec.EachTask(r, opts.All, do, progress, func(p *profile.Profile) error {
				return merger.AddProfile(p, opts.Trace)
			})
			return err
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s: no complete task of type %q (reqprof extract %s lists the tasks)", opts.Trace, opts.All, opts.Trace)
		}
		a := merger.Aggregate()
		return cmdutil.WriteOutput(opts.IO, opts.Out, cmdutil.Binary(f), func(w io.Writer) error {
			return cmdutil.WriteAggregate(w, a, f, ro)
		})
	}

	var l *tracedec.Listing
	if err := read(func(r io.Reader, progress tracedec.Progress) (err error) {
		l, err = tracedec.List(r, progress)
		return err
	}); err != nil {
		return err
	}
	var p *profile.Profile
	switch {
	case opts.Task != "":
		tk, err := findTask(l, opts.Task, opts.Trace)
		if err != nil {
			return err
		}
		err = read(func(r io.Reader, progress tracedec.Progress) (err error) {
			p, err = tracedec.ExtractTask(r, tk.ID, do, progress)
			return err
		})
		if err != nil {
			return err
		}
	case opts.Goroutine != 0:
		i := slices.IndexFunc(l.Goroutines, func(g tracedec.GoroutineInfo) bool { return g.ID == opts.Goroutine })
		if i < 0 {
			return fmt.Errorf("%s: no goroutine %d in the trace (reqprof extract %s lists the longest)", opts.Trace, opts.Goroutine, opts.Trace)
		}
		err = read(func(r io.Reader, progress tracedec.Progress) (err error) {
			p, err = tracedec.ExtractGoroutine(r, l.Goroutines[i], do, progress)
			return err
		})
		if err != nil {
			return err
		}
	default:
		return cmdutil.WriteOutput(opts.IO, "", false, func(w io.Writer) error { return list(w, opts.Trace, l, opts.Lines) })
	}
	return cmdutil.WriteOutput(opts.IO, opts.Out, cmdutil.Binary(f), func(w io.Writer) error {
		return cmdutil.WriteProfile(w, p, f, ro, opts.Trace)
	})
}

// spool returns the trace's path: the file, or standard input copied to a
// temporary file (the trace is read more than once).
func spool(opts *Options) (string, func(), error) {
	if opts.Trace != "-" {
		st, err := os.Stat(opts.Trace)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", nil, fmt.Errorf("%s: no such file", opts.Trace)
			}
			return "", nil, err
		}
		if st.IsDir() {
			return "", nil, fmt.Errorf("%s: a directory, not an execution trace file", opts.Trace)
		}
		return opts.Trace, func() {}, nil
	}
	tmp, err := os.CreateTemp("", "reqprof-trace-*")
	if err != nil {
		return "", nil, err
	}
	_, err = io.Copy(tmp, opts.IO.In)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", nil, err
	}
	return tmp.Name(), func() { os.Remove(tmp.Name()) }, nil
}

// findTask finds the task named by s: an id, else a type only one
// complete task has.
func findTask(l *tracedec.Listing, s, trace string) (tracedec.TaskInfo, error) {
	if id, err := strconv.ParseUint(s, 10, 64); err == nil {
		for _, tk := range l.Tasks {
			if tk.ID == id {
				if !tk.Complete() {
					return tk, fmt.Errorf("%s: task %d is cut by the trace's window (its begin or end is not in the trace)", trace, id)
				}
				return tk, nil
			}
		}
	}
	var match []tracedec.TaskInfo
	for _, tk := range l.Tasks {
		if tk.Type == s && tk.Complete() {
			match = append(match, tk)
		}
	}
	switch len(match) {
	case 0:
		return tracedec.TaskInfo{}, fmt.Errorf("%s: no task %q (reqprof extract %s lists the tasks)", trace, s, trace)
	case 1:
		return match[0], nil
	}
	return tracedec.TaskInfo{}, fmt.Errorf("%s: %d tasks of type %q: give one's id (reqprof extract %s lists them), or --all %q to merge them", trace, len(match), s, trace, s)
}

// list writes the trace's tasks, task types and longest goroutines.
func list(w io.Writer, name string, l *tracedec.Listing, n int) error {
	d := func(t time.Duration) string { return text.Dur(int64(t)) }
	esc := render.Escape
	fmt.Fprintf(w, "%s: %d events over %s\n", esc(name), l.Events, d(l.Span))
	complete := 0
	types := map[string][]int64{}
	var order []string
	for _, tk := range l.Tasks {
		if tk.Complete() {
			complete++
			if _, ok := types[tk.Type]; !ok {
				order = append(order, tk.Type)
			}
			types[tk.Type] = append(types[tk.Type], int64(tk.Duration()))
		}
	}
	fmt.Fprintf(w, "\nTasks: %d complete", complete)
	if k := len(l.Tasks) - complete; k > 0 {
		fmt.Fprintf(w, ", %d cut by the trace's window", k)
	}
	fmt.Fprintln(w)
	if complete > 0 {
		fmt.Fprintf(w, "%8s %10s %10s  %s\n", "id", "duration", "goroutine", "type")
		shown := 0
		for _, tk := range l.Tasks {
			if !tk.Complete() {
				continue
			}
			if shown == n {
				fmt.Fprintf(w, "%8s  (%d more)\n", "", complete-n)
				break
			}
			shown++
			fmt.Fprintf(w, "%8d %10s %10d  %s\n", tk.ID, d(tk.Duration()), tk.Goroutine, esc(tk.Type))
		}
		fmt.Fprintf(w, "\nTask types:\n%8s %10s %10s %10s  %s\n", "tasks", "p50", "p90", "max", "type")
		for _, typ := range order {
			ds := types[typ]
			slices.Sort(ds)
			fmt.Fprintf(w, "%8d %10s %10s %10s  %s\n", len(ds), text.Dur(aggregate.Percentile(ds, 0.5)), text.Dur(aggregate.Percentile(ds, 0.9)), text.Dur(ds[len(ds)-1]), esc(typ))
		}
	}
	fmt.Fprintf(w, "\nLongest goroutines (%d in the trace):\n%8s %10s %10s  %s\n", len(l.Goroutines), "id", "life", "running", "entry")
	for i, g := range l.Goroutines {
		if i == n {
			break
		}
		life := d(g.End - g.Start)
		if !g.Created || !g.Exited {
			life += "+"
		}
		fmt.Fprintf(w, "%8d %10s %10s  %s\n", g.ID, life, d(g.Running), esc(g.Entry))
	}
	fmt.Fprintf(w, "\n(+: alive at the trace's start or end.) Extract one with --task ID, --all TYPE or --goroutine ID.\n")
	return nil
}
