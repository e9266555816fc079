package reqprof

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reqprof/reqprof/capture"
	"github.com/reqprof/reqprof/internal/tracedec"
	"github.com/reqprof/reqprof/internal/tracestr"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render/text"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/view"
)

// Options configure the HTTP middleware. The zero value is sensible: off
// unless REQPROF_ENABLED=1, loopback clients only, profiles kept under the
// OS temporary directory, the UI at /debug/reqprof/.
type Options struct {
	// Enabled turns profiling on. It is also on when the environment has
	// REQPROF_ENABLED=1 (or true).
	Enabled bool
	// UIPath is where the middleware serves the profiles UI (default
	// "/debug/reqprof/"); "-" serves no UI (mount Handler.UI yourself).
	UIPath string
	// Dir is the directory the default store keeps profiles in (default
	// reqprof-<uid> under the OS temporary directory). Ignored with Store.
	Dir string
	// Retention bounds the default store.
	Retention store.Retention
	// Store keeps the profiles; nil uses a directory store at Dir.
	Store store.Store
	// Authorize decides who may trigger profiles and see the UI. The
	// default allows loopback clients only; see TokenAuth.
	Authorize func(*http.Request) bool
	// DefaultFormat is the format of profile_response=1 and of the UI's
	// download link when no profile_format is given (default speedscope).
	DefaultFormat Format
	// MaxConcurrent bounds the profiled requests in flight (default 4).
	MaxConcurrent int
	// PerMinute bounds the profiles started per minute (default 60).
	PerMinute int
	// MaxProfileBytes bounds the size of one stored profile (default
	// 32 MiB); a larger one is dropped and logged.
	MaxProfileBytes int64
	// CaptureSlowerThan, when positive, keeps the flight recorder running
	// and stores every request slower than it, after the fact, at most
	// SlowPerMinute per minute (default 6). Each request then runs in a
	// runtime/trace task, and the process pays for continuous execution
	// tracing: see BENCHMARKS.md.
	CaptureSlowerThan time.Duration
	SlowPerMinute     int
	// QueryOnly makes the profile=true query parameter the only trigger,
	// saving the X-Reqprof header lookup (a map lookup, about 8 ns) on
	// every request that does not ask for a profile.
	QueryOnly bool
	// Route names a request's route for display and filtering; the default
	// is r.Pattern (set by net/http's ServeMux), else the path. It is called
	// on the request's goroutine after the handler returns, e.g. with chi:
	// chi.RouteContext(r.Context()).RoutePattern().
	Route func(*http.Request) string
	// Manager runs the captures (default capture.Default). Its Config
	// bounds the recorder's window for slow-request capture.
	Manager *capture.Manager
	// Logger receives errors that cannot reach a client (default
	// slog.Default()).
	Logger *slog.Logger
}

// Response headers.
const (
	HeaderID     = "Reqprof-Id"
	HeaderURL    = "Reqprof-Url"
	HeaderStatus = "Reqprof-Status"
	// HeaderTrigger, set to 1 on a request, asks for a profile like the
	// profile=true query parameter.
	HeaderTrigger = "X-Reqprof"
)

// Handler is the HTTP middleware with its UI and store. Create it with New;
// Middleware is the one-line form.
type Handler struct {
	opts    Options
	enabled bool
	uiPath  string
	store   store.Store
	mgr     *capture.Manager
	log     *slog.Logger
	ui      http.Handler

	inflight atomic.Int64
	rate     *limiter
	slowRate *limiter
	held     bool

	mu      sync.Mutex
	pending map[string]chan struct{} // ids being extracted
	wg      sync.WaitGroup
	closed  atomic.Bool
}

// Middleware returns net/http (and chi) middleware that profiles requests
// asking for it (?profile=true, or the X-Reqprof: 1 header) and serves the
// profiles UI at Options.UIPath. It panics on invalid options; use New to
// get errors, the UI handler, and Close.
func Middleware(opts Options) func(http.Handler) http.Handler {
	h, err := New(opts)
	if err != nil {
		panic(err)
	}
	return h.Wrap
}

// New validates opts and returns the middleware.
func New(opts Options) (*Handler, error) {
	h := &Handler{opts: opts, pending: map[string]chan struct{}{}}
	h.enabled = opts.Enabled || envEnabled()
	h.uiPath = opts.UIPath
	if h.uiPath == "" {
		h.uiPath = "/debug/reqprof/"
	}
	if h.uiPath != "-" && (!strings.HasPrefix(h.uiPath, "/") || !strings.HasSuffix(h.uiPath, "/")) {
		return nil, fmt.Errorf("reqprof: UIPath %q must start and end with /", h.uiPath)
	}
	if opts.DefaultFormat == "" {
		h.opts.DefaultFormat = FormatSpeedscope
	}
	if _, err := ParseFormat(string(h.opts.DefaultFormat)); err != nil {
		return nil, err
	}
	if opts.MaxConcurrent == 0 {
		h.opts.MaxConcurrent = 4
	}
	if opts.PerMinute == 0 {
		h.opts.PerMinute = 60
	}
	if opts.SlowPerMinute == 0 {
		h.opts.SlowPerMinute = 6
	}
	if opts.MaxProfileBytes == 0 {
		h.opts.MaxProfileBytes = 32 << 20
	}
	if h.opts.MaxConcurrent < 0 || h.opts.PerMinute < 0 || h.opts.SlowPerMinute < 0 || h.opts.MaxProfileBytes < 0 || opts.CaptureSlowerThan < 0 {
		return nil, errors.New("reqprof: negative limit in Options")
	}
	if h.opts.Authorize == nil {
		h.opts.Authorize = LoopbackOnly
	}
	h.mgr = opts.Manager
	if h.mgr == nil {
		h.mgr = capture.Default
	}
	h.log = opts.Logger
	if h.log == nil {
		h.log = slog.Default()
	}
	h.rate = newLimiter(h.opts.PerMinute)
	h.slowRate = newLimiter(h.opts.SlowPerMinute)
	h.store = opts.Store
	if h.store == nil && h.enabled {
		d, err := store.OpenDir(opts.Dir, opts.Retention)
		if err != nil {
			return nil, fmt.Errorf("reqprof: %w", err)
		}
		h.store = d
	}
	if h.enabled && opts.CaptureSlowerThan > 0 {
		if err := h.mgr.Hold(); err != nil {
			return nil, err
		}
		h.held = true
	}
	h.ui = newUI(h)
	return h, nil
}

func envEnabled() bool {
	v := strings.ToLower(os.Getenv("REQPROF_ENABLED"))
	return v == "1" || v == "true" || v == "yes" || v == "on"
}

// Enabled reports whether profiling is on.
func (h *Handler) Enabled() bool { return h.enabled }

// Store returns the store profiles are kept in (nil when disabled).
func (h *Handler) Store() store.Store { return h.store }

// UI returns the profiles UI, to mount under a path of your choice with
// http.StripPrefix; it is protected by Options.Authorize.
func (h *Handler) UI() http.Handler { return h.ui }

// Close waits for the profiles being extracted to be stored and stops
// slow-request capture. Requests served after Close run unprofiled.
func (h *Handler) Close() error {
	if !h.closed.CompareAndSwap(false, true) {
		return nil
	}
	h.wg.Wait()
	if h.held {
		h.mgr.Release()
	}
	return nil
}

// Wrap returns next wrapped by the middleware.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	if !h.enabled {
		return next
	}
	return &wrapped{h: h, next: next}
}

type wrapped struct {
	h    *Handler
	next http.Handler
}

func (x *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The fast path: no defers, no allocations, no query parsing.
	if h := x.h; !h.held && !wants(r, h.opts.QueryOnly) && !h.isUI(r) {
		x.next.ServeHTTP(w, r)
		return
	}
	x.h.serve(w, r, x.next)
}

// LoopbackOnly allows requests from loopback addresses only: the default
// authorisation.
func LoopbackOnly(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TokenAuth allows requests carrying the token in the Authorization header
// ("Bearer <token>") or the X-Reqprof-Token header, compared in constant
// time. It panics on an empty token.
func TokenAuth(token string) func(*http.Request) bool {
	if token == "" {
		panic("reqprof: TokenAuth with an empty token")
	}
	want := []byte(token)
	return func(r *http.Request) bool {
		got := r.Header.Get("X-Reqprof-Token")
		if got == "" {
			got, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		return subtle.ConstantTimeCompare([]byte(got), want) == 1
	}
}

// wants reports whether r asks for a profile, cheaply: the query string is
// parsed only when it mentions profile.
func wants(r *http.Request, queryOnly bool) bool {
	if q := r.URL.RawQuery; q != "" && strings.Contains(q, "profile") && truthy(r.URL.Query().Get("profile")) {
		return true
	}
	if queryOnly {
		return false
	}
	v := r.Header[HeaderTrigger]
	return len(v) > 0 && truthy(v[0])
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (h *Handler) isUI(r *http.Request) bool {
	return h.uiPath != "-" && strings.HasPrefix(r.URL.Path, h.uiPath)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if h.isUI(r) {
		http.StripPrefix(strings.TrimSuffix(h.uiPath, "/"), h.ui).ServeHTTP(w, r)
		return
	}
	requested := wants(r, h.opts.QueryOnly)
	if !requested && !h.held {
		next.ServeHTTP(w, r)
		return
	}
	if h.closed.Load() {
		next.ServeHTTP(w, r)
		return
	}
	format, respond := h.opts.DefaultFormat, false
	if requested {
		q := r.URL.Query()
		if s := q.Get("profile_format"); s != "" {
			f, err := ParseFormat(s)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			format = f
		}
		respond = truthy(q.Get("profile_response"))
		if why := h.admit(r); why != "" {
			w.Header().Set(HeaderStatus, why)
			if h.held {
				h.serveSlow(w, r, next)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		defer h.inflight.Add(-1)
	} else {
		h.serveSlow(w, r, next)
		return
	}

	// Everything that need not be in the profile's window happens first.
	id := store.NewID(time.Now())
	var out http.ResponseWriter = w
	if respond {
		out = &bufferedWriter{header: http.Header{}}
	} else {
		w.Header().Set(HeaderID, id)
		w.Header().Set(HeaderURL, h.profileURL(id))
		w.Header().Set(HeaderStatus, "profiled")
	}
	rec := &recorder{ResponseWriter: out}
	done := h.track(id)
	ctx, c, err := h.mgr.Start(r.Context(), r.Method+" "+r.URL.Path)
	if err != nil {
		done()
		w.Header().Del(HeaderID)
		w.Header().Del(HeaderURL)
		w.Header().Set(HeaderStatus, "error: "+oneLine(err.Error()))
		next.ServeHTTP(w, r)
		return
	}
	r2 := r.WithContext(ctx)
	panicked := true
	defer func() {
		if !panicked {
			return
		}
		// Store the profile, marked, and let the panic go on.
		info := h.describe(r2, rec, "requested", true)
		c.StopFunc(func(p *profile.Profile, err error) {
			h.finish(id, info, p, err)
			done()
		})
	}()
	runMarked(next, rec, r2)
	panicked = false
	info := h.describe(r2, rec, "requested", false)
	if !respond {
		c.StopFunc(func(p *profile.Profile, err error) {
			h.finish(id, info, p, err)
			done()
		})
		return
	}
	// profile_response=1: the rendered profile replaces the body.
	p, err := c.Stop()
	h.finish(id, info, p, err)
	done()
	if err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var body bytes.Buffer
	if err := (&Profile{p}).Write(&body, format); err != nil {
		http.Error(w, "reqprof: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set(HeaderID, id)
	w.Header().Set(HeaderURL, h.profileURL(id))
	w.Header().Set(HeaderStatus, "profiled")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", "profile-"+id+format.Extension()))
	w.Write(body.Bytes())
}

// serveSlow runs r in a task while slow-request capture holds the recorder,
// and keeps its profile only if it was slow.
func (h *Handler) serveSlow(w http.ResponseWriter, r *http.Request, next http.Handler) {
	ctx, c, err := h.mgr.Start(r.Context(), r.Method+" "+r.URL.Path)
	if err != nil {
		next.ServeHTTP(w, r)
		return
	}
	r2 := r.WithContext(ctx)
	rec := &recorder{ResponseWriter: w}
	panicked := true
	defer func() {
		if panicked {
			c.Discard()
		}
	}()
	runHandler(next, rec, r2)
	panicked = false
	if time.Since(c.StartTime()) < h.opts.CaptureSlowerThan || !h.slowRate.allow() {
		c.Discard()
		return
	}
	id := store.NewID(c.StartTime())
	done := h.track(id)
	info := h.describe(r2, rec, "slow", false)
	c.StopFunc(func(p *profile.Profile, err error) {
		h.finish(id, info, p, err)
		done()
	})
}

//go:noinline
func runHandler(next http.Handler, w http.ResponseWriter, r *http.Request) { next.ServeHTTP(w, r) }

// runMarked is runHandler with marks where the handler begins and ends,
// which tell the profiler's own time from the handler's in the profile.
//
//go:noinline
func runMarked(next http.Handler, w http.ResponseWriter, r *http.Request) {
	trace.Log(r.Context(), tracedec.MarkCategory, "begin")
	next.ServeHTTP(w, r)
	trace.Log(r.Context(), tracedec.MarkCategory, "end")
}

// admit applies authorisation and limits; it returns why a request may not
// be profiled, or "" after reserving a slot.
func (h *Handler) admit(r *http.Request) string {
	if !h.opts.Authorize(r) {
		return "refused: not authorized to profile"
	}
	if n := h.inflight.Add(1); n > int64(h.opts.MaxConcurrent) {
		h.inflight.Add(-1)
		return fmt.Sprintf("skipped: %d profiled requests in flight (limit %d)", n-1, h.opts.MaxConcurrent)
	}
	if !h.rate.allow() {
		h.inflight.Add(-1)
		return fmt.Sprintf("skipped: rate limit of %d profiles per minute reached", h.opts.PerMinute)
	}
	return ""
}

func (h *Handler) profileURL(id string) string {
	if h.uiPath == "-" {
		return ""
	}
	return h.uiPath + "p/" + id
}

// track marks id as being extracted until done is called.
func (h *Handler) track(id string) (done func()) {
	ch := make(chan struct{})
	h.mu.Lock()
	h.pending[id] = ch
	h.mu.Unlock()
	h.wg.Add(1)
	return func() {
		h.mu.Lock()
		delete(h.pending, id)
		h.mu.Unlock()
		close(ch)
		h.wg.Done()
	}
}

// wait blocks until id is no longer being extracted, or ctx ends.
func (h *Handler) wait(ctx context.Context, id string) {
	h.mu.Lock()
	ch := h.pending[id]
	h.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// reqInfo is what the profile's metadata needs from a request, read on the
// request's goroutine (routers such as chi recycle their state afterwards).
type reqInfo struct {
	method, path, route, url, remote, reason string
	status                                   int
	bytes                                    int64
	panicked                                 bool
}

func (h *Handler) describe(r *http.Request, rec *recorder, reason string, panicked bool) reqInfo {
	in := reqInfo{method: r.Method, path: r.URL.Path, url: tracestr.BoundTo(RedactURL(r.URL), maxURL), remote: r.RemoteAddr,
		reason: reason, status: rec.status, bytes: rec.bytes, panicked: panicked}
	if h.opts.Route != nil {
		in.route = h.opts.Route(r)
	} else {
		in.route = r.Pattern
	}
	if in.status == 0 {
		in.status = http.StatusOK
	}
	if panicked {
		in.status = http.StatusInternalServerError
	}
	return in
}

// finish stores a request's profile with its metadata.
func (h *Handler) finish(id string, in reqInfo, p *profile.Profile, err error) {
	if err != nil {
		h.log.Error("reqprof: profile not made", "id", id, "method", in.method, "path", in.path, "err", err)
		return
	}
	p.Name = tracestr.Bound(in.method + " " + in.path)
	if in.route != "" {
		p.Name = tracestr.Bound(in.method + " " + routePath(in.route))
	}
	p.SetAttr("method", in.method)
	if in.route != "" {
		p.SetAttr("route", in.route)
	}
	p.SetAttr("url", in.url)
	p.SetAttr("status", strconv.Itoa(in.status))
	p.SetAttr("response bytes", strconv.FormatInt(in.bytes, 10))
	p.SetAttr("remote", in.remote)
	p.SetAttr("reason", in.reason)
	if in.panicked {
		p.SetAttr("panic", "true")
	}
	sp := text.SplitOf(view.CriticalPath(p).Segments)
	members := 0
	for _, g := range p.Goroutines {
		if g.Member {
			members++
		}
	}
	m := store.Meta{
		ID: id, Time: p.Start, Name: p.Name, Method: in.method, Path: in.path, Route: in.route,
		Status: in.status, Duration: time.Duration(p.Duration), CPU: time.Duration(sp.Running),
		Wait: time.Duration(sp.Waiting + sp.Syscall + sp.Runnable), Goroutines: members,
		Reason: in.reason, Panic: in.panicked,
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		h.log.Error("reqprof: cannot encode profile", "id", id, "err", err)
		return
	}
	if int64(buf.Len()) > h.opts.MaxProfileBytes {
		h.log.Warn("reqprof: profile too large, not stored", "id", id, "bytes", buf.Len(), "limit", h.opts.MaxProfileBytes)
		return
	}
	var err2 error
	if ep, ok := h.store.(store.EncodedPutter); ok {
		err2 = ep.PutEncoded(context.Background(), m, buf.Bytes())
	} else {
		err2 = h.store.Put(context.Background(), m, p)
	}
	if err2 != nil {
		h.log.Error("reqprof: cannot store profile", "id", id, "err", err2)
	}
}

// maxURL bounds the URL kept in a profile's metadata.
const maxURL = 8 << 10

// routePath turns a ServeMux pattern "GET /users/{id}" into its path part.
func routePath(route string) string {
	if i := strings.IndexByte(route, ' '); i >= 0 {
		return route[i+1:]
	}
	return route
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// sensitive names query parameters whose values are redacted.
var sensitive = []string{"token", "password", "passwd", "secret", "key", "auth", "session", "signature", "sig", "credential", "code", "jwt", "otp"}

// RedactURL returns u without its profile* parameters and with the values of
// sensitive-looking parameters (token, password, key, ...) replaced by
// "REDACTED"; user info is dropped.
func RedactURL(u *url.URL) string {
	c := *u
	c.User = nil
	q := c.Query()
	for k := range q {
		lk := strings.ToLower(k)
		if lk == "profile" || strings.HasPrefix(lk, "profile_") {
			delete(q, k)
			continue
		}
		for _, s := range sensitive {
			if strings.Contains(lk, s) {
				vs := q[k]
				for i := range vs {
					vs[i] = "REDACTED"
				}
				break
			}
		}
	}
	c.RawQuery = q.Encode()
	c.ForceQuery = false
	return c.RequestURI()
}

// --- response recording -------------------------------------------------------

// recorder passes everything through to the ResponseWriter and notes the
// status and the bytes written. It keeps Flusher, Hijacker and ReaderFrom
// working, and Unwrap serves http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

var (
	_ http.Flusher  = (*recorder)(nil)
	_ http.Hijacker = (*recorder)(nil)
	_ io.ReaderFrom = (*recorder)(nil)
)

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{r.ResponseWriter}, src)
	}
	r.bytes += n
	return n, err
}

func (r *recorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// bufferedWriter collects the handler's response when the profile replaces
// it (profile_response=1).
type bufferedWriter struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedWriter) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}
func (b *bufferedWriter) Flush() {}

// --- rate limiting ------------------------------------------------------------

// limiter allows n events per minute (a token bucket refilled continuously).
type limiter struct {
	mu     sync.Mutex
	n      float64
	tokens float64
	last   time.Time
}

func newLimiter(perMinute int) *limiter {
	return &limiter{n: float64(perMinute), tokens: float64(perMinute), last: time.Now()}
}

func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.tokens = min(l.n, l.tokens+now.Sub(l.last).Minutes()*l.n)
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
