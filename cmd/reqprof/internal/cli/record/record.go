// Package record implements `reqprof record`: profile requests to a
// server running reqprof's middleware, and fetch their profiles.
package record

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/cmd/reqprof/internal/cli/cmdutil"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/text"
)

// Options are the command's settings, from its flags.
type Options struct {
	IO      *cmdutil.IOStreams
	Context context.Context
	URL     string
	Format  string
	Out     string
	N       int
	Token   string
	Method  string
	Headers []string
	Data    string
	Render  cmdutil.RenderFlags
	// Client sends the requests (default: one with a 2-minute timeout).
	Client *http.Client
}

// Headers of reqprof's middleware.
const (
	headerTrigger = "X-Reqprof"
	headerURL     = "Reqprof-Url"
	headerStatus  = "Reqprof-Status"
	headerToken   = "X-Reqprof-Token"
)

// NewCmdRecord returns the command; runF, when not nil, replaces its work.
func NewCmdRecord(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "record [-n N] [-f FORMAT] [-o OUT] URL",
		Short: "Profile requests to a server that runs reqprof's middleware",
		Long: `Send a request to URL asking for its profile (the X-Reqprof: 1 header), fetch
the profile from the address the server gives in its Reqprof-Url header,
write it, and print its text tree.

With -n N, send N requests one after the other and merge their profiles into
an aggregate: the many-request answer to where the route's time goes.

The server decides who may ask: by default loopback clients only; a server
behind a proxy takes a token, given with --token or REQPROF_TOKEN. The
request's own response is read and discarded.`,
		Example: `  $ reqprof demo &
  $ reqprof record http://127.0.0.1:8080/characters/42
  $ reqprof record -o req.speedscope.json http://127.0.0.1:8080/slow
  $ reqprof record -n 50 -o std.reqagg http://127.0.0.1:8080/characters/42
  $ REQPROF_TOKEN=s3cret reqprof record -X POST -d '{"name":"x"}' -H 'Content-Type: application/json' https://api.example.com/items`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.URL = args[0]
			u, err := url.Parse(opts.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return cmdutil.FlagErrorf("invalid URL %q: want http://HOST/PATH or https://...", opts.URL)
			}
			if opts.N < 1 {
				return cmdutil.FlagErrorf("invalid value %d for -n: want at least 1", opts.N)
			}
			for _, h := range opts.Headers {
				if k, _, ok := strings.Cut(h, ":"); !ok || strings.TrimSpace(k) == "" {
					return cmdutil.FlagErrorf("invalid header %q: want 'Name: value'", h)
				}
			}
			if opts.Token == "" {
				opts.Token = os.Getenv("REQPROF_TOKEN")
			}
			opts.Context = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return recordRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Format, "format", "f", "", "the output `format` (default text, or -o's extension)")
	fl.StringVarP(&opts.Out, "output", "o", "", "write to `FILE` (default: the text tree on standard output)")
	fl.IntVarP(&opts.N, "requests", "n", 1, "send `N` requests and merge their profiles")
	fl.StringVar(&opts.Token, "token", "", "the server's reqprof `token` (default $REQPROF_TOKEN)")
	fl.StringVarP(&opts.Method, "request", "X", "GET", "the request's `method`")
	fl.StringArrayVarP(&opts.Headers, "header", "H", nil, "add a request `header` ('Name: value'; repeatable)")
	fl.StringVarP(&opts.Data, "data", "d", "", "the request's `body`")
	opts.Render.Add(cmd)
	cmd.RegisterFlagCompletionFunc("format", cmdutil.CompleteFormats(func() []string { return cmdutil.Registered(cmdutil.AggregateFormat) }))
	return cmd
}

func recordRun(opts *Options) error {
	f, err := cmdutil.FormatFor(opts.Format, opts.Out, "text", cmdutil.Registered(cmdutil.AggregateFormat))
	if err != nil {
		return err
	}
	ro, err := opts.Render.Options(opts.IO)
	if err != nil {
		return err
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	toFile := opts.Out != "" && opts.Out != "-"
	if toFile {
		ro.Color, ro.Unicode = false, false
	}
	if opts.N == 1 {
		p, err := recordOne(ctx, client, opts)
		if err != nil {
			return err
		}
		if err := cmdutil.WriteOutput(opts.IO, opts.Out, cmdutil.Binary(f), func(w io.Writer) error {
			return cmdutil.WriteProfile(w, p, f, ro, opts.URL)
		}); err != nil {
			return err
		}
		if toFile {
			// The file is written; the tree goes to standard output.
			ro.Color, ro.Unicode = opts.IO.OutTTY, opts.IO.OutTTY
			return cmdutil.WriteOutput(opts.IO, "", false, func(w io.Writer) error { return render.Write(w, p, "text", ro) })
		}
		return nil
	}
	m := aggregate.NewMerger(opts.Render.AggregateOptions())
	prog := opts.IO.Progress("recording", int64(opts.N), "requests")
	for i := range opts.N {
		p, err := recordOne(ctx, client, opts)
		if err != nil {
			prog.Done()
			return fmt.Errorf("request %d of %d: %w", i+1, opts.N, err)
		}
		if err := m.AddProfile(p, opts.URL); err != nil {
			prog.Done()
			return err
		}
		prog.Set(int64(i + 1))
	}
	prog.Done()
	a := m.Aggregate()
	if err := cmdutil.WriteOutput(opts.IO, opts.Out, cmdutil.Binary(f), func(w io.Writer) error {
		return cmdutil.WriteAggregate(w, a, f, ro)
	}); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "recorded %d requests of %s: duration p50 %s, p90 %s, p99 %s, max %s\n", a.N(), render.Escape(a.Title()),
		text.Dur(a.Percentile(0.5)), text.Dur(a.Percentile(0.9)), text.Dur(a.Percentile(0.99)), text.Dur(a.Percentile(1)))
	if toFile {
		ro.Color, ro.Unicode = opts.IO.OutTTY, opts.IO.OutTTY
		return cmdutil.WriteOutput(opts.IO, "", false, func(w io.Writer) error { return cmdutil.WriteAggregate(w, a, "text", ro) })
	}
	return nil
}

// recordOne sends one request and fetches its profile.
func recordOne(ctx context.Context, client *http.Client, opts *Options) (*profile.Profile, error) {
	var body io.Reader
	if opts.Data != "" {
		body = strings.NewReader(opts.Data)
	}
	req, err := http.NewRequestWithContext(ctx, opts.Method, opts.URL, body)
	if err != nil {
		return nil, err
	}
	for _, h := range opts.Headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	req.Header.Set(headerTrigger, "1")
	auth(req, opts.Token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, oneLine(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get(headerURL)
	if loc == "" {
		if st := resp.Header.Get(headerStatus); st != "" {
			return nil, fmt.Errorf("%s %s: %s; the request was not profiled: %s", opts.Method, opts.URL, resp.Status, st)
		}
		return nil, fmt.Errorf("%s %s: %s, without a %s header: is reqprof's middleware on (REQPROF_ENABLED=1), and may this client ask (loopback, or --token)?", opts.Method, opts.URL, resp.Status, headerURL)
	}
	pu, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("bad %s header %q: %v", headerURL, loc, err)
	}
	q := pu.Query()
	q.Set("format", "reqprof")
	pu.RawQuery = q.Encode()
	preq, err := http.NewRequestWithContext(ctx, http.MethodGet, pu.String(), nil)
	if err != nil {
		return nil, err
	}
	auth(preq, opts.Token)
	presp, err := client.Do(preq)
	if err != nil {
		return nil, oneLine(err)
	}
	defer presp.Body.Close()
	if presp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(presp.Body, 512))
		return nil, fmt.Errorf("fetching the profile from %s: %s: %s", pu.Redacted(), presp.Status, strings.TrimSpace(string(msg)))
	}
	p, err := profile.Decode(bufio.NewReader(presp.Body))
	if err != nil {
		return nil, fmt.Errorf("the profile from %s: %w", pu.Redacted(), err)
	}
	return p, nil
}

func auth(r *http.Request, token string) {
	if token != "" {
		r.Header.Set(headerToken, token)
	}
}

// oneLine keeps a transport error to its message: no URL dumps.
func oneLine(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %v", ue.Op, ue.URL, ue.Err)
	}
	return err
}
