// Package convert implements `reqprof convert`: a profile or an aggregate
// in another format.
package convert

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
)

// Options are the command's settings, from its flags.
type Options struct {
	IO     *cmdutil.IOStreams
	File   string
	Format string
	Out    string
	Render cmdutil.RenderFlags
}

// NewCmdConvert returns the command; runF, when not nil, replaces its work.
func NewCmdConvert(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "convert [-f FORMAT] [-o OUT] FILE",
		Short: "Convert a profile or an aggregate to another format",
		Long: `Convert a .reqprof profile, or a .reqagg aggregate of many, to another format.

The format is -f's, else the one whose extension ends -o's file name, else
text. A profile converts to every format; an aggregate to those that draw
stacks (text, folded, pprof) and to reqagg. Formats: ` + formatList() + `.`,
		Example: `  $ reqprof convert req.reqprof                       # a text tree on the terminal
  $ reqprof convert -o req.speedscope.json req.reqprof  # open in speedscope.app
  $ reqprof convert -f pprof --view all req.reqprof > req.pb.gz
  $ reqprof convert -o route.pb.gz route.reqagg         # go tool pprof -http=: route.pb.gz`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cmdutil.CompleteFiles(cmdutil.ProfileExt, cmdutil.AggregateExt),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(opts)
			}
			return convertRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Format, "format", "f", "", "the output `format`")
	fl.StringVarP(&opts.Out, "output", "o", "", "write to `FILE` (default standard output)")
	opts.Render.Add(cmd)
	cmd.RegisterFlagCompletionFunc("format", cmdutil.CompleteFormats(formats))
	return cmd
}

func formats() []string { return cmdutil.Registered(cmdutil.AggregateFormat) }

func formatList() string {
	s := ""
	for i, f := range formats() {
		if i > 0 {
			s += ", "
		}
		s += f
	}
	return s
}

func convertRun(opts *Options) error {
	f, err := cmdutil.FormatFor(opts.Format, opts.Out, "text", formats())
	if err != nil {
		return err
	}
	o, err := opts.Render.Options(opts.IO)
	if err != nil {
		return err
	}
	if opts.Out != "" && opts.Out != "-" {
		o.Color, o.Unicode = false, false
	}
	p, a, err := cmdutil.ReadAny(opts.File)
	if err != nil {
		return err
	}
	return cmdutil.WriteOutput(opts.IO, opts.Out, cmdutil.Binary(f), func(w io.Writer) error {
		if p != nil {
			return cmdutil.WriteProfile(w, p, f, o, opts.File)
		}
		return cmdutil.WriteAggregate(w, a, f, o)
	})
}
