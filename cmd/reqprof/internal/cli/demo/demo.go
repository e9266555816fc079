// Package demo implements `reqprof demo`: the characters API of
// examples/characters, profiled, on a local port.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
	"github.com/reqprof/reqprof/examples/characters"
)

// Options are the demo's settings, from its flags.
type Options struct {
	IO *cmdutil.IOStreams
	// Context ends the demo (Ctrl-C).
	Context context.Context

	Addr string
	DB   string
	JSON string
	Dir  string
	// Sample is how many requests a minute of each route are profiled
	// without being asked (0: none).
	Sample int
}

// NewCmdDemo returns the demo command. runF, when not nil, replaces the
// command's work (tests use it to check the flags alone).
func NewCmdDemo(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a demo API with profiling on",
		Long: heredoc(`
			Run the characters API, a small JSON API over a real database, with
			reqprof's middleware on, and print where it listens.

			GET /characters/{id} runs three SQL statements and decodes JSON stored
			in the database; GET /characters?limit=&offset=&name= lists; GET /slow
			fans out to goroutines and calls a slow loopback HTTP dependency.

			Add ?profile=true to a request: the Reqprof-Url response header says
			where its profile is (add ?format=text for a text tree); all profiles
			are listed at /debug/reqprof/.

			The database is SQLite in a temporary directory unless --db names one:
			file:PATH for SQLite, postgres://... for PostgreSQL. It is created and
			seeded with 1,000 characters on first start.`),
		Example: `  $ reqprof demo
  $ curl -i 'http://127.0.0.1:8080/characters/42?profile=true'
  $ reqprof demo --json fast --addr 127.0.0.1:8081
  $ reqprof demo --sample 60 --dir /tmp/profiles   # then: reqprof merge -o route.reqagg /tmp/profiles
  $ reqprof demo --db 'postgres://user:password@localhost:5432/demo'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(characters.JSONLibraries(), opts.JSON) {
				return cmdutil.FlagErrorf("invalid value %q for --json: want one of %s", opts.JSON, strings.Join(characters.JSONLibraries(), ", "))
			}
			if opts.Sample < 0 {
				return cmdutil.FlagErrorf("invalid value %d for --sample: want a number of requests a minute", opts.Sample)
			}
			if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
				return cmdutil.FlagErrorf("invalid value %q for --addr: want HOST:PORT", opts.Addr)
			}
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return demoRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", characters.DefaultAddr, "listen on `HOST:PORT`")
	fl.StringVar(&opts.DB, "db", "", "the `database`: file:PATH (SQLite) or postgres://... (default: SQLite in a new temporary directory)")
	fl.StringVar(&opts.JSON, "json", "std", "the JSON `library` for the characters' data: std (encoding/json) or fast (github.com/goccy/go-json)")
	fl.StringVar(&opts.Dir, "dir", "", "the `directory` profiles are stored in (default: reqprof/<program> in the user cache directory)")
	fl.IntVar(&opts.Sample, "sample", 0, "also profile up to `N` requests a minute of each route nobody asked about (stored with reason sampled)")
	return cmd
}

func demoRun(opts *Options) error {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	out := opts.IO.Out
	log := slog.New(slog.NewTextHandler(opts.IO.ErrOut, &slog.HandlerOptions{ReplaceAttr: shortTime}))

	// Listen first: a busy port is reported before the database is seeded.
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "reqprof demo: the characters API, profiled per request")
	cfg := characters.Config{DB: opts.DB, JSON: opts.JSON, Dir: opts.Dir, Logger: log}
	if opts.Sample > 0 {
		cfg.Sample = reqprof.PerRoute(opts.Sample, time.Minute)
	}
	app, err := characters.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	info := app.Info()
	seeded := "already seeded"
	if info.Seeded > 0 {
		seeded = fmt.Sprintf("seeded %d characters in %s", info.Seeded, info.SeedTime.Round(time.Millisecond))
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "  database  %s (%s)\n", info.Database, seeded)
	fmt.Fprintf(out, "  JSON      %s\n", info.JSON)
	fmt.Fprintf(out, "  profiles  %s\n", info.Profiles)
	if cfg.Sample != nil {
		fmt.Fprintf(out, "  sampling  %d requests a minute of each route\n", opts.Sample)
	}
	fmt.Fprintf(out, "\nListening on %s/\n", base)
	fmt.Fprintf(out, "Profiles:   %s/debug/reqprof/\n", base)
	fmt.Fprintf(out, "\nProfile a request (its Reqprof-Url header says where the profile is):\n")
	fmt.Fprintf(out, "  curl -i '%s/characters/42?profile=true'\n", base)
	fmt.Fprintf(out, "\nPress Ctrl-C to stop.\n")

	err = app.Serve(ctx, ln)
	fmt.Fprintln(out, "\nShutting down: finishing requests and pending profiles...")
	err = errors.Join(err, app.Close())
	if err == nil {
		fmt.Fprintln(out, "Stopped.")
	}
	return err
}

// shortTime logs the time of day only.
func shortTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05.000"))
	}
	return a
}

// heredoc removes the common indentation of s's lines and its leading
// newline.
func heredoc(s string) string {
	lines := strings.Split(strings.TrimPrefix(s, "\n"), "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t "))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		} else {
			lines[i] = strings.TrimSpace(l)
		}
	}
	return strings.Join(lines, "\n")
}
