// Package cli implements the reqprof command: a root command and one
// subcommand per package below it, each testable on its own (an Options
// struct, NewCmdX(f, runF), and xRun(opts)).
package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/reqprof/reqprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/convert"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/demo"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/diff"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/extract"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/merge"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/record"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/top"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/view"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	// exitInternal is a bug's: a panic caught.
	exitInternal = 3
)

// Main runs the reqprof command with the process's arguments and streams,
// and returns its exit status. The first Ctrl-C (or SIGTERM) cancels the
// command's context, for a graceful stop; a second one kills the process.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore the default handling: the next signal kills
	}()
	f := &cmdutil.Factory{IOStreams: cmdutil.System(), Version: version()}
	return run(ctx, f, os.Args[1:])
}

// run executes the root command with args and returns the exit status.
// Errors are one line on stderr, never a stack trace: a panic is reported
// as an internal error.
func run(ctx context.Context, f *cmdutil.Factory, args []string) (status int) {
	errOut := f.IOStreams.ErrOut
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(errOut, "reqprof: internal error: %s (please report it)\n", oneLine(fmt.Sprint(v)))
			status = exitInternal
		}
	}()
	root := NewCmdRoot(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	msg := oneLine(err.Error())
	var fe *cmdutil.FlagError
	if errors.As(err, &fe) || strings.HasPrefix(msg, "unknown command ") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires at least ") || strings.HasPrefix(msg, "unknown flag") {
		fmt.Fprintf(errOut, "reqprof: %s\nRun '%s --help' for usage.\n", msg, cmd.CommandPath())
		return exitUsage
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(errOut, "reqprof: interrupted")
		return exitError
	}
	fmt.Fprintf(errOut, "reqprof: %s\n", msg)
	return exitError
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// NewCmdRoot returns the reqprof command with its subcommands.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "reqprof",
		Short: "Per-request wall-clock profiler for Go",
		Long: `reqprof answers one question for a Go service: where did the wall-clock time
of this one request go? On the CPU and off it, in every goroutine the request
started, as a call tree that sums to the request's latency.

Start with the demo:

  reqprof demo
  curl -i 'http://127.0.0.1:8080/characters/42?profile=true'

Then, from the command line: record requests, look at their profiles,
merge many, and compare two sets:

  reqprof record -n 50 -o before.reqagg http://127.0.0.1:8080/characters/42
  reqprof top before.reqagg
  reqprof diff before.reqagg after.reqagg
  reqprof view DIR      # the directory the demo lists under "profiles"

Shell completion: reqprof completion bash|zsh|fish|powershell --help.`,
		Version:       f.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("reqprof {{.Version}}\n")
	root.SetIn(f.IOStreams.In)
	root.SetOut(f.IOStreams.Out)
	root.SetErr(f.IOStreams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.FlagError{Err: err} })
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(
		demo.NewCmdDemo(f, nil),
		record.NewCmdRecord(f, nil),
		convert.NewCmdConvert(f, nil),
		top.NewCmdTop(f, nil),
		merge.NewCmdMerge(f, nil),
		diff.NewCmdDiff(f, nil),
		view.NewCmdView(f, nil),
		extract.NewCmdExtract(f, nil),
	)
	return root
}

// version returns the module version and Go version the binary was built
// with.
func version() string {
	v := reqprof.Version
	goVersion := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		goVersion = bi.GoVersion
	}
	if goVersion != "" {
		v += " " + goVersion
	}
	return v
}
