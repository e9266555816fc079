// Package view implements `reqprof view`: the profiles UI, on a local
// port, for profile files and directories of them.
package view

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	rdiff "github.com/reqprof/reqprof/render/diff"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/ui"
	rview "github.com/reqprof/reqprof/view"
)

// Options are the command's settings, from its flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Context context.Context
	Files   []string
	Addr    string
	Open    bool
	URLFile string
}

// NewCmdView returns the command; runF, when not nil, replaces its work.
func NewCmdView(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "view [--open] FILE|DIR|GLOB...",
		Short: "Browse profiles in the reqprof UI, on a local port",
		Long: `Serve the reqprof UI for profile files, directories of them (such as the
directory the middleware stores profiles in) and glob patterns, on
127.0.0.1 at a random port unless --addr says otherwise, and print its URL.

Beside the list of profiles and each profile in every view and format, the
UI has, for all the profiles given, their aggregate (/aggregate: the merged
call tree; /aggregate.pb.gz for go tool pprof) and, with 10 profiles or
more, what the slow ones do differently (/slow: the requests at or above
the 90th percentile of duration against those between the 40th and 60th,
as a differential flame graph). Aggregate files are shown on those pages.

It serves until interrupted (Ctrl-C).`,
		Example: `  $ reqprof view req.reqprof
  $ reqprof view --open /tmp/reqprof-1000
  $ reqprof view --addr 127.0.0.1:7070 'profiles/*.reqprof' route.reqagg`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: cmdutil.CompleteFiles(cmdutil.ProfileExt, cmdutil.AggregateExt),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			host, _, err := net.SplitHostPort(opts.Addr)
			if err != nil {
				return cmdutil.FlagErrorf("invalid value %q for --addr: want HOST:PORT", opts.Addr)
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return cmdutil.FlagErrorf("invalid value %q for --addr: the UI listens on loopback addresses only", opts.Addr)
			}
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return viewRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:0", "listen on `HOST:PORT` (loopback only; port 0 picks one)")
	fl.BoolVar(&opts.Open, "open", false, "open the UI in a web browser")
	fl.StringVar(&opts.URLFile, "url-file", "", "also write the UI's URL to `FILE` once it serves (for scripts)")
	return cmd
}

func viewRun(opts *Options) error {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	paths, err := cmdutil.Expand(opts.Files)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "reqprof-view-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	st, err := store.OpenDir(tmp, store.Retention{MaxCount: 1 << 30, MaxBytes: 1 << 50, MaxAge: 1 << 62})
	if err != nil {
		return err
	}
	merger := aggregate.NewMerger(aggregate.Options{})
	var each []*aggregate.Aggregate
	var durations []int64
	profiles := 0
	prog := opts.IO.Progress("reading", int64(len(paths)), "files")
	for i, path := range paths {
		p, a, err := cmdutil.ReadAny(path)
		if err != nil {
			prog.Done()
			return err
		}
		if a != nil {
			if err := merger.Add(a); err != nil {
				prog.Done()
				return fmt.Errorf("%s: %w", path, err)
			}
			continue
		}
		profiles++
		pa, err := aggregate.From(p, aggregate.Options{Source: filepath.Base(path)})
		if err == nil {
			err = merger.Add(pa)
		}
		if err == nil {
			err = st.Put(ctx, metaOf(p), p)
		}
		if err != nil {
			prog.Done()
			return fmt.Errorf("%s: %w", path, err)
		}
		each = append(each, pa)
		durations = append(durations, p.Duration)
		prog.Set(int64(i + 1))
	}
	prog.Done()
	all := merger.Aggregate()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /aggregate", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		if err := cmdutil.WriteAggregate(&b, all, "text", render.Options{}); err != nil {
			http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(b.Bytes())
	})
	mux.HandleFunc("GET /aggregate.pb.gz", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		if err := cmdutil.WriteAggregate(&b, all, "pprof", render.Options{}); err != nil {
			http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="aggregate.pb.gz"`)
		w.Write(b.Bytes())
	})
	slow := len(each) >= 10
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		d, err := slowVsTypical(each, durations)
		if err != nil {
			http.Error(w, "reqprof: "+err.Error(), http.StatusNotFound)
			return
		}
		var b bytes.Buffer
		if err := rdiff.HTML(&b, d); err != nil {
			http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", rdiff.HTMLContentType)
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src "+rdiff.ScriptSrc()+"; style-src 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(b.Bytes())
	})
	mux.Handle("/", ui.New(ui.Config{Store: st, Authorize: httpprof.LoopbackOnly}))

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String() + "/"
	out := opts.IO.Out
	fmt.Fprintf(out, "Serving %d profiles", profiles)
	if n := all.N() - profiles; n > 0 {
		fmt.Fprintf(out, " and aggregates of %d more", n)
	}
	fmt.Fprintf(out, " at %s\n", base)
	fmt.Fprintf(out, "  aggregate      %saggregate  (pprof: %saggregate.pb.gz)\n", base, base)
	if slow {
		fmt.Fprintf(out, "  slow requests  %sslow\n", base)
	}
	fmt.Fprintf(out, "Press Ctrl-C to stop.\n")
	if f, ok := out.(interface{ Sync() error }); ok {
		f.Sync()
	}
	if opts.URLFile != "" {
		if err := os.WriteFile(opts.URLFile, []byte(base+"\n"), 0o600); err != nil {
			srv.Close()
			return err
		}
	}
	if opts.Open {
		if err := openBrowser(base); err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "reqprof: could not open a browser (%v): open %s yourself\n", err, base)
		}
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

func slowVsTypical(each []*aggregate.Aggregate, durations []int64) (*aggregate.Diff, error) {
	ti, si := aggregate.SlowAndTypical(durations)
	if len(ti) == 0 {
		return nil, fmt.Errorf("slow against typical requests needs 10 profiles or more, there are %d", len(each))
	}
	pick := func(idx []int, name string) (*aggregate.Aggregate, error) {
		var as []*aggregate.Aggregate
		for _, i := range idx {
			as = append(as, each[i])
		}
		m, err := aggregate.Merge(as...)
		if err != nil {
			return nil, err
		}
		m.Name = strings.TrimSpace(m.Name + " (" + name + ")")
		return m, nil
	}
	typical, err := pick(ti, "typical: p40-p60")
	if err != nil {
		return nil, err
	}
	slow, err := pick(si, "slow: p90+")
	if err != nil {
		return nil, err
	}
	return aggregate.Compare(typical, slow, aggregate.DiffOptions{})
}

// metaOf is the listing's summary of a profile, as the delivery core
// stores it.
func metaOf(p *profile.Profile) store.Meta {
	sum := rview.Summarize(p)
	t := p.Start
	if t.IsZero() {
		t = time.Now()
	}
	return store.Meta{
		ID: store.NewID(t), Time: t, Name: p.Name,
		Summary: store.Summary{
			Duration: time.Duration(p.Duration), CPU: time.Duration(sum.CPU), Waiting: time.Duration(sum.Waiting),
			Runnable: time.Duration(sum.Runnable), Syscall: time.Duration(sum.Syscall), Goroutines: sum.Goroutines,
			CPUInferred: time.Duration(sum.CPUInferred), Overhead: time.Duration(sum.Overhead), OverheadBefore: time.Duration(sum.OverheadBefore),
		},
		Labels: store.LabelsOf(p),
	}
}

func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
