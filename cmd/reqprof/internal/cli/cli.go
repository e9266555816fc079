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
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/demo"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
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
func run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	errOut := f.IOStreams.ErrOut
	var fe *cmdutil.FlagError
	if errors.As(err, &fe) || strings.HasPrefix(err.Error(), "unknown command ") {
		fmt.Fprintf(errOut, "reqprof: %v\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
		return exitUsage
	}
	fmt.Fprintf(errOut, "reqprof: %v\n", err)
	return exitError
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
  curl -i 'http://127.0.0.1:8080/characters/42?profile=true'`,
		Version:       f.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("reqprof {{.Version}}\n")
	root.SetIn(f.IOStreams.In)
	root.SetOut(f.IOStreams.Out)
	root.SetErr(f.IOStreams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.FlagError{Err: err} })
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(demo.NewCmdDemo(f, nil))
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
