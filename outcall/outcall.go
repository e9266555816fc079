package outcall

import (
	"context"
	"io"
	"net/http"
	"runtime/trace"
	"strings"

	"github.com/reqprof/reqprof/internal/tracestr"
	"github.com/reqprof/reqprof/serve"
)

// Profiled reports whether work done with ctx is being profiled now: the
// runtime tracer is on and ctx belongs to a unit that reqprof profiles (a
// request asking for a profile, or a slow-capture candidate). It does not
// allocate, and when tracing is off it is one atomic load.
func Profiled(ctx context.Context) bool {
	return trace.IsEnabled() && serve.Profiled(ctx)
}

// StartRegion starts a runtime/trace region named name (cut to what the
// tracer accepts) on the calling goroutine. Call it only when Profiled, and
// end the region on the same goroutine:
//
//	if outcall.Profiled(ctx) {
//		defer outcall.StartRegion(ctx, "Redis: GET").End()
//	}
func StartRegion(ctx context.Context, name string) *trace.Region {
	return trace.StartRegion(ctx, tracestr.Bound(name))
}

// Option configures Transport.
type Option func(*transport)

// WithName names each call's frame with fn instead of RegionName (the
// result is bounded; fn is called only while profiling).
func WithName(fn func(*http.Request) string) Option {
	return func(t *transport) { t.name = fn }
}

// Transport returns base (http.DefaultTransport when nil) wrapped so that
// each request made with a profiled context runs in a region named by
// RegionName. It forwards CloseIdleConnections.
func Transport(base http.RoundTripper, opts ...Option) http.RoundTripper {
	if t, ok := base.(*transport); ok {
		base = t.base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{base: base, name: RegionName}
	for _, o := range opts {
		if o != nil {
			o(t)
		}
	}
	return t
}

type transport struct {
	base http.RoundTripper
	name func(*http.Request) string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !trace.IsEnabled() || !serve.Profiled(req.Context()) {
		return t.base.RoundTrip(req)
	}
	return t.traced(req)
}

//go:noinline
func (t *transport) traced(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	name := tracestr.Bound(t.name(req))
	r := trace.StartRegion(ctx, name)
	resp, err := t.base.RoundTrip(req)
	r.End()
	if err == nil && resp != nil && resp.Body != nil && resp.Body != http.NoBody {
		if _, rw := resp.Body.(io.Writer); !rw {
			resp.Body = &body{rc: resp.Body, ctx: ctx, name: name}
		}
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of the wrapped
// transport, if it has that method (http.Client.CloseIdleConnections calls
// it).
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// body reads a profiled call's response in regions of the call's name.
type body struct {
	rc   io.ReadCloser
	ctx  context.Context
	name string
}

func (b *body) Read(p []byte) (int, error) {
	if !Profiled(b.ctx) {
		return b.rc.Read(p)
	}
	defer trace.StartRegion(b.ctx, b.name).End()
	return b.rc.Read(p)
}

func (b *body) Close() error {
	if !Profiled(b.ctx) {
		return b.rc.Close()
	}
	defer trace.StartRegion(b.ctx, b.name).End()
	return b.rc.Close()
}

// RegionName is the default frame name of an outgoing request:
// "HTTP: GET host/path-pattern", the path as PathPattern gives it, without
// query, fragment or user information.
func RegionName(req *http.Request) string {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host, path := "", "/"
	if u := req.URL; u != nil {
		host, path = u.Host, u.Path
		if host == "" {
			host = req.Host
		}
	}
	return "HTTP: " + method + " " + host + PathPattern(path)
}

// PathPattern returns path with each segment that looks like an
// identifier replaced by "{id}": all digits, a UUID, 16 or more hexadecimal
// digits, 20 or more characters mixing letters and digits, or any segment
// holding "@". An empty path is "/".
func PathPattern(path string) string {
	if path == "" {
		return "/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	var b strings.Builder
	start := 1
	copied := 0 // path[:copied] is in b (or b is unused)
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		if seg := path[start:i]; identifier(seg) {
			if copied == 0 {
				b.Grow(len(path))
			}
			b.WriteString(path[copied:start])
			b.WriteString("{id}")
			copied = i
		}
		start = i + 1
	}
	if copied == 0 {
		return path
	}
	b.WriteString(path[copied:])
	return b.String()
}

// identifier reports whether a path segment looks like an identifier
// rather than a name.
func identifier(s string) bool {
	if s == "" {
		return false
	}
	if strings.IndexByte(s, '@') >= 0 {
		return true
	}
	digits, hex, letters, other := 0, 0, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hex++
			letters++
		case c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z':
			letters++
		case c == '-' || c == '_' || c == '.' || c == '=' || c == '~' || c == '+':
			other++
		default:
			return false
		}
	}
	switch {
	case digits == len(s):
		return true
	case uuid(s):
		return true
	case hex == len(s) && len(s) >= 16:
		return true
	case len(s) >= 20 && digits > 0 && letters > 0:
		return true
	}
	return false
}

// uuid reports whether s is a UUID in its 8-4-4-4-12 form.
func uuid(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
