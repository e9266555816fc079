// Package grpcprof is reqprof's adapter for gRPC (grpc-go): server
// interceptors that profile the calls asking for it (metadata
// x-reqprof: 1), named by their full method, with the options, limits and
// authorization of the net/http middleware (package httpprof); and client
// interceptors that name a profiled request's outgoing gRPC calls.
//
//	p, err := grpcprof.New(httpprof.Options{Enabled: true})
//	srv := grpc.NewServer(p.ServerOptions()...)
//	go http.Serve(uiListener, p.UIHandler()) // the UI, on a side HTTP listener
//
// A client asks with metadata:
//
//	grpcurl -H 'x-reqprof: 1' -plaintext 127.0.0.1:50051 my.pkg.Service/Method
//
// and gets, in the response's header metadata, reqprof-id, reqprof-url (a
// path on the UI's listener, unless Options.ProfileURL makes it absolute)
// and reqprof-status. x-reqprof-format: F (text, speedscope, pprof, ...)
// makes reqprof-url a download of that format; an unknown format fails the
// call with InvalidArgument before the handler runs.
//
// # What is recorded
//
// The profile's name and route are the full method ("/pkg.Service/Method"),
// its method attribute "POST", its status the HTTP equivalent of the gRPC
// status code (OK 200, InvalidArgument 400, NotFound 404, Internal 500,
// Unavailable 503, ... as grpc-gateway maps them), so that the UI sorts and
// colours them like HTTP requests, and the code's name is the "grpc code"
// attribute. A stream's profile covers the whole stream, from the
// handler's start to its return.
//
// # Authorization
//
// Options.Authorize (default httpprof.LoopbackOnly) is asked about an
// *http.Request that stands for the call (see Request): its headers are the
// call's metadata, RemoteAddr the peer's address, Host the :authority. So
// the default allows a loopback peer that names a loopback authority and
// sends no forwarding metadata (x-forwarded-for, ...); httpprof.TokenAuth
// reads the token from "authorization: Bearer ..." or x-reqprof-token
// metadata. An unauthorized client learns nothing: its call runs as if
// reqprof were absent (no metadata, no InvalidArgument).
//
// # The UI
//
// gRPC serves no web pages: UIHandler serves the UI at Options.UIPath on an
// HTTP listener of your choice (keep it on loopback, or behind TokenAuth).
// A service that also serves HTTP can share one Profiler's store, limits
// and UI: build the HTTP middleware with httpprof.New and pass it to
// NewWith.
//
// # Outgoing calls
//
// UnaryClientInterceptor and StreamClientInterceptor run each call made
// with a profiled request's context in a runtime/trace region named
// "gRPC: /pkg.Service/Method", which reqprof shows as a frame on the
// critical path; they cost nothing else for requests not profiled:
//
//	conn, err := grpc.NewClient(target,
//		grpc.WithChainUnaryInterceptor(grpcprof.UnaryClientInterceptor()),
//		grpc.WithChainStreamInterceptor(grpcprof.StreamClientInterceptor()))
package grpcprof

import (
	"context"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render/formats"
	"github.com/reqprof/reqprof/serve"
)

// Metadata keys.
const (
	// MetadataTrigger, set to 1 (or true) in a call's metadata, asks for a
	// profile.
	MetadataTrigger = "x-reqprof"
	// MetadataFormat names the format reqprof-url downloads.
	MetadataFormat = "x-reqprof-format"
	// Response header metadata.
	MetadataID     = "reqprof-id"
	MetadataURL    = "reqprof-url"
	MetadataStatus = "reqprof-status"
)

// AttrCode is the profile attribute holding the gRPC status code's name.
const AttrCode = "grpc code"

// Profiler holds the interceptors with their UI and store.
type Profiler struct {
	hp    *httpprof.Profiler
	hooks httpprof.Hooks
	owned bool // Close closes hp
}

// New validates opts and returns the profiler.
func New(opts httpprof.Options) (*Profiler, error) {
	hp, err := httpprof.New(opts)
	if err != nil {
		return nil, err
	}
	return &Profiler{hp: hp, hooks: opts.Hooks, owned: true}, nil
}

// NewWith returns interceptors that share hp's store, limits,
// authorization, UI and hooks (hooks must be the Options.Hooks hp was made
// with, since a Profiler does not give them back), for a service that
// serves HTTP too. Closing the returned Profiler does not close hp.
func NewWith(hp *httpprof.Profiler, hooks httpprof.Hooks) *Profiler {
	return &Profiler{hp: hp, hooks: hooks}
}

// HTTP returns the underlying net/http middleware (its Store, Core, UI).
func (p *Profiler) HTTP() *httpprof.Profiler { return p.hp }

// Close waits for the profiles being extracted to be stored and stops
// slow-request capture.
func (p *Profiler) Close() error {
	if !p.owned {
		return nil
	}
	return p.hp.Close()
}

// ServerOptions returns the options that install both server
// interceptors: grpc.NewServer(p.ServerOptions()...). They chain with
// other interceptors; put them first to have the profile hold the others.
func (p *Profiler) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(p.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(p.StreamServerInterceptor()),
	}
}

// UIHandler returns an http.Handler that serves the profiles UI at
// Options.UIPath (default /debug/reqprof/), and 404 elsewhere, for a side
// listener.
func (p *Profiler) UIHandler() http.Handler {
	mux := http.NewServeMux()
	if path := p.hp.UIPath(); path != "-" && p.hp.Enabled() {
		mux.Handle(path, http.StripPrefix(strings.TrimSuffix(path, "/"), p.hp.UI()))
	}
	return mux
}

// Request returns the *http.Request that stands for a call in
// Options.Authorize: method POST, URL path the full method, headers the
// incoming metadata (pseudo-headers left out), Host the :authority,
// RemoteAddr the peer's address, and ctx as its context.
func Request(ctx context.Context, fullMethod string) *http.Request {
	r := (&http.Request{
		Method:     http.MethodPost,
		URL:        &neturl.URL{Path: fullMethod},
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     http.Header{},
		RequestURI: fullMethod,
	}).WithContext(ctx)
	md, _ := metadata.FromIncomingContext(ctx)
	for k, vs := range md {
		if strings.HasPrefix(k, ":") {
			continue
		}
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if a := md.Get(":authority"); len(a) > 0 {
		r.Host = a[0]
	}
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		r.RemoteAddr = pr.Addr.String()
	}
	return r
}

// call is one call being served: what the interceptors share.
type call struct {
	ctx        context.Context
	fullMethod string
	ss         grpc.ServerStream // nil for a unary call
}

// setHeader adds md to the call's response header metadata.
func (c call) setHeader(md metadata.MD) error {
	if c.ss != nil {
		return c.ss.SetHeader(md)
	}
	return grpc.SetHeader(c.ctx, md)
}

// plan says how a call is served: unprofiled (no unit), profiled (asked
// for or sampled), or as a slow-capture candidate.
type plan struct {
	unit   *serve.Unit
	reason string // the sample reason; "" when asked for or slow
	slow   bool
}

// begin decides and starts a call's profile. It returns a non-nil error
// (InvalidArgument) only to an authorized client asking for an unknown
// format. The fast path (nothing asked, no sampling, no slow capture)
// allocates nothing.
func (p *Profiler) begin(c call) (plan, error) {
	core := p.hp.Core()
	if core == nil || core.Closed() {
		return plan{}, nil
	}
	if truthy(metadata.ValueFromIncomingContext(c.ctx, MetadataTrigger)) && p.hp.Authorize(Request(c.ctx, c.fullMethod)) {
		var format formats.Format
		if f := metadata.ValueFromIncomingContext(c.ctx, MetadataFormat); len(f) > 0 && f[0] != "" {
			ff, err := formats.Parse(f[0])
			if err != nil {
				return plan{}, status.Error(codes.InvalidArgument, "reqprof: "+err.Error())
			}
			format = ff
		}
		return p.profile(c, "", true, format), nil
	}
	if p.hooks.Sample != nil {
		if reason := p.hooks.Sample(c.ctx); reason != "" {
			return p.profile(c, reason, p.hp.Authorize(Request(c.ctx, c.fullMethod)), ""), nil
		}
	}
	return p.beginSlow(c), nil
}

// profile begins a profiled call, telling the client in header metadata
// if tell; over a limit it falls back to slow capture or none.
func (p *Profiler) profile(c call, reason string, tell bool, format formats.Format) plan {
	core := p.hp.Core()
	if why := core.Admit(); why != "" {
		if tell {
			c.setHeader(metadata.Pairs(MetadataStatus, why))
		}
		return p.beginSlow(c)
	}
	u, err := core.Begin(c.ctx, serve.Info{Name: c.fullMethod})
	if err != nil {
		if tell {
			c.setHeader(metadata.Pairs(MetadataStatus, "error: "+oneLine(err.Error())))
		}
		return p.beginSlow(c)
	}
	url := p.hp.ProfileURL(u.ID())
	if tell {
		md := metadata.Pairs(MetadataID, u.ID(), MetadataStatus, "profiled")
		if url != "" && format != "" {
			md.Set(MetadataURL, url+"?format="+neturl.QueryEscape(string(format)))
		} else if url != "" {
			md.Set(MetadataURL, url)
		}
		c.setHeader(md)
	}
	if h := p.hooks.OnProfiled; h != nil {
		h(u.Context(), u.ID(), url)
	}
	return plan{unit: u, reason: reason}
}

func (p *Profiler) beginSlow(c call) plan {
	core := p.hp.Core()
	if !core.SlowCapture() {
		return plan{}
	}
	u, err := core.BeginSlow(c.ctx, serve.Info{Name: c.fullMethod})
	if err != nil {
		return plan{}
	}
	return plan{unit: u, slow: true}
}

// end ends a call's unit with what is known of it.
func (p *Profiler) end(pl plan, c call, err error, panicked bool) {
	u := pl.unit
	// A slow candidate is described only when it is kept: most are not.
	u.EndFunc(c.fullMethod, func() serve.Info { return p.describe(pl, c, err, panicked) })
	if h := p.hooks.OnProfiled; h != nil && pl.slow && u.Kept() {
		h(u.Context(), u.ID(), p.hp.ProfileURL(u.ID()))
	}
}

// describe is what the profile's metadata needs from a call, read on the
// call's goroutine.
func (p *Profiler) describe(pl plan, c call, err error, panicked bool) serve.Info {
	u := pl.unit
	info := serve.Info{Name: c.fullMethod, Attrs: make([]profile.Attr, 0, 10)}
	info.Set(profile.AttrRoute, c.fullMethod)
	info.Set(profile.AttrMethod, http.MethodPost)
	info.Set(profile.AttrURL, c.fullMethod)
	code := status.Code(err)
	if panicked {
		code = codes.Internal
	}
	info.Set(profile.AttrStatus, strconv.Itoa(httpStatus(code)))
	info.Set(AttrCode, code.String())
	if pr, ok := peer.FromContext(c.ctx); ok && pr.Addr != nil {
		info.Set(profile.AttrRemote, pr.Addr.String())
	}
	if pl.reason != "" {
		info.Set(profile.AttrReason, pl.reason)
	}
	if h := p.hooks.Annotate; h != nil {
		for _, a := range h(u.Context()) {
			info.Set(a.Key, a.Value)
		}
	}
	return info
}

// UnaryServerInterceptor returns the unary server interceptor.
func (p *Profiler) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !p.hp.Enabled() {
			return handler(ctx, req)
		}
		c := call{ctx: ctx, fullMethod: info.FullMethod}
		pl, err := p.begin(c)
		if err != nil {
			return nil, err
		}
		if pl.unit == nil {
			return handler(ctx, req)
		}
		var resp any
		var herr error
		finished := false
		defer func() {
			if !finished {
				p.end(pl, c, nil, pl.unit.Panicked())
			}
		}()
		pl.unit.Run(func(uctx context.Context) error {
			resp, herr = handler(uctx, req)
			return herr
		})
		finished = true
		p.end(pl, c, herr, false)
		return resp, herr
	}
}

// StreamServerInterceptor returns the stream server interceptor.
func (p *Profiler) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if !p.hp.Enabled() {
			return handler(srv, ss)
		}
		c := call{ctx: ss.Context(), fullMethod: info.FullMethod, ss: ss}
		pl, err := p.begin(c)
		if err != nil {
			return err
		}
		if pl.unit == nil {
			return handler(srv, ss)
		}
		var herr error
		finished := false
		defer func() {
			if !finished {
				p.end(pl, c, nil, pl.unit.Panicked())
			}
		}()
		pl.unit.Run(func(uctx context.Context) error {
			herr = handler(srv, &stream{ServerStream: ss, ctx: uctx})
			return herr
		})
		finished = true
		p.end(pl, c, herr, false)
		return herr
	}
}

// stream is a server stream with the unit's context.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

func truthy(v []string) bool {
	if len(v) == 0 {
		return false
	}
	switch strings.ToLower(v[0]) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// httpStatus is the HTTP status that stands for a gRPC code (the mapping
// of grpc-gateway and of Google's API design guide).
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499 // client closed request
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError // Unknown, Internal, DataLoss
}
