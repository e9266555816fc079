package grpcprof_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	grpcprof "github.com/reqprof/reqprof/contrib/grpc"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
)

// health is the service under test: the standard health service, whose
// answers depend on the service name asked about.
type health struct {
	healthpb.UnimplementedHealthServer
	calls      atomic.Int64
	profiled   atomic.Int64
	downstream healthpb.HealthClient // called for "down"
	block      chan struct{}         // waited on for "block"
	entered    chan struct{}
}

func (h *health) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.calls.Add(1)
	if serve.Profiled(ctx) {
		h.profiled.Add(1)
	}
	grpc.SetHeader(ctx, metadata.Pairs("x-app", "1"))
	grpc.SetTrailer(ctx, metadata.Pairs("x-app-trailer", "2"))
	switch req.Service {
	case "missing":
		return nil, status.Error(codes.NotFound, "no such service")
	case "panic":
		panic("boom")
	case "block":
		h.entered <- struct{}{}
		<-h.block
	case "down":
		// The dependency takes 20 ms.
		time.Sleep(0)
		if _, err := h.downstream.Check(ctx, &healthpb.HealthCheckRequest{Service: "slow"}); err != nil {
			return nil, err
		}
	case "slow":
		time.Sleep(20 * time.Millisecond)
	case "slower":
		time.Sleep(150 * time.Millisecond)
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (h *health) Watch(req *healthpb.HealthCheckRequest, s healthpb.Health_WatchServer) error {
	h.calls.Add(1)
	if serve.Profiled(s.Context()) {
		h.profiled.Add(1)
	}
	for range 3 {
		if err := s.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
	}
	if req.Service == "missing" {
		return status.Error(codes.NotFound, "no such service")
	}
	return nil
}

type server struct {
	p      *grpcprof.Profiler
	h      *health
	client healthpb.HealthClient
	addr   string
	uiURL  string // the side listener serving the UI
}

// newServer serves the health service with reqprof's interceptors on a
// loopback port, the UI on another, and dials it.
func newServer(t *testing.T, opts httpprof.Options, h *health) *server {
	t.Helper()
	opts.Enabled = true
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	p, err := grpcprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if h == nil {
		h = &health{}
	}
	s := &server{p: p, h: h}
	srv := grpc.NewServer(p.ServerOptions()...)
	healthpb.RegisterHealthServer(srv, h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	s.addr = ln.Addr().String()

	uiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ui := &http.Server{Handler: p.UIHandler()}
	go ui.Serve(uiLn)
	t.Cleanup(func() { ui.Close() })
	s.uiURL = "http://" + uiLn.Addr().String()

	s.client = healthpb.NewHealthClient(dial(t, s.addr))
	return s
}

func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

type result struct {
	resp     *healthpb.HealthCheckResponse
	err      error
	header   metadata.MD
	trailer  metadata.MD
	reqprofs []string // reqprof-* header keys
}

func check(t *testing.T, c healthpb.HealthClient, service string, md ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	var r result
	r.resp, r.err = c.Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.Header(&r.header), grpc.Trailer(&r.trailer))
	for k := range r.header {
		if strings.HasPrefix(k, "reqprof") {
			r.reqprofs = append(r.reqprofs, k)
		}
	}
	return r
}

// same reports whether two calls' results are the same, reqprof's header
// metadata aside.
func same(a, b result) bool {
	if !proto.Equal(a.resp, b.resp) || status.Convert(a.err).Proto().String() != status.Convert(b.err).Proto().String() {
		return false
	}
	strip := func(md metadata.MD) metadata.MD {
		out := metadata.MD{}
		for k, v := range md {
			if !strings.HasPrefix(k, "reqprof") {
				out[k] = v
			}
		}
		return out
	}
	ha, hb := strip(a.header), strip(b.header)
	if len(ha) != len(hb) || len(a.trailer) != len(b.trailer) {
		return false
	}
	for k, v := range ha {
		if strings.Join(v, "\x00") != strings.Join(hb[k], "\x00") {
			return false
		}
	}
	for k, v := range a.trailer {
		if strings.Join(v, "\x00") != strings.Join(b.trailer[k], "\x00") {
			return false
		}
	}
	return true
}

func one(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func TestUnaryProfiledOnceIdentical(t *testing.T) {
	s := newServer(t, httpprof.Options{}, nil)
	plain := check(t, s.client, "")
	n := s.h.calls.Load()
	prof := check(t, s.client, "", grpcprof.MetadataTrigger, "1")
	if d := s.h.calls.Load() - n; d != 1 || s.h.profiled.Load() != 1 {
		t.Fatalf("the handler ran %d times, %d with a profiled context", d, s.h.profiled.Load())
	}
	if !same(prof, plain) || prof.err != nil {
		t.Errorf("profiled: %v %v %v %v\nplain: %v %v %v %v", prof.resp, prof.err, prof.header, prof.trailer, plain.resp, plain.err, plain.header, plain.trailer)
	}
	if len(plain.reqprofs) != 0 {
		t.Errorf("unprofiled call has reqprof metadata %v", plain.reqprofs)
	}
	id := one(prof.header, grpcprof.MetadataID)
	if one(prof.header, grpcprof.MetadataStatus) != "profiled" || one(prof.header, grpcprof.MetadataURL) != httpprof.DefaultUIPath+"p/"+id {
		t.Fatalf("header metadata %v", prof.header)
	}
	p, m := adaptertest.Stored(t, s.p.HTTP().Core(), s.p.HTTP().Store(), id)
	const method = "/grpc.health.v1.Health/Check"
	if p.Name != method || m.Route != method || m.Method != "POST" || m.Status != 200 || p.Attr(grpcprof.AttrCode) != "OK" || m.Path != method {
		t.Errorf("stored: name %q route %q method %q status %d code %q path %q", p.Name, m.Route, m.Method, m.Status, p.Attr(grpcprof.AttrCode), m.Path)
	}
	// The UI, on its side listener, serves the profile.
	resp, err := http.Get(s.uiURL + one(prof.header, grpcprof.MetadataURL) + "?format=text")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), method) {
		t.Errorf("UI: %d %.200q", resp.StatusCode, body)
	}
}

func TestStatusCodeRecorded(t *testing.T) {
	s := newServer(t, httpprof.Options{}, nil)
	plain := check(t, s.client, "missing")
	prof := check(t, s.client, "missing", grpcprof.MetadataTrigger, "true")
	if !same(prof, plain) || status.Code(prof.err) != codes.NotFound {
		t.Fatalf("profiled %v, plain %v", prof.err, plain.err)
	}
	p, m := adaptertest.Stored(t, s.p.HTTP().Core(), s.p.HTTP().Store(), one(prof.header, grpcprof.MetadataID))
	if m.Status != 404 || p.Attr(grpcprof.AttrCode) != "NotFound" {
		t.Errorf("status %d, code %q", m.Status, p.Attr(grpcprof.AttrCode))
	}
}

func TestPanicRecorded(t *testing.T) {
	// grpc-go does not recover panics: a recovering interceptor outside
	// reqprof's stands for the application's.
	opts := httpprof.Options{Enabled: true, Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
	p, err := grpcprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	recovering := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = status.Error(codes.Internal, "recovered")
			}
		}()
		return handler(ctx, req)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(recovering, p.UnaryServerInterceptor()))
	healthpb.RegisterHealthServer(srv, &health{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Stop()
	r := check(t, healthpb.NewHealthClient(dial(t, ln.Addr().String())), "panic", grpcprof.MetadataTrigger, "1")
	if status.Code(r.err) != codes.Internal {
		t.Fatalf("err %v", r.err)
	}
	prof, m := adaptertest.Stored(t, p.HTTP().Core(), p.HTTP().Store(), one(r.header, grpcprof.MetadataID))
	if prof.Attr(profile.AttrPanic) != "boom" || m.Status != 500 || prof.Attr(grpcprof.AttrCode) != "Internal" {
		t.Errorf("panic %q status %d code %q", prof.Attr(profile.AttrPanic), m.Status, prof.Attr(grpcprof.AttrCode))
	}
}

func TestStream(t *testing.T) {
	s := newServer(t, httpprof.Options{}, nil)
	watch := func(service string, md ...string) (n int, header metadata.MD, err error) {
		ctx := metadata.AppendToOutgoingContext(context.Background(), md...)
		st, err := s.client.Watch(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return 0, nil, err
		}
		header, _ = st.Header()
		for {
			if _, err = st.Recv(); err != nil {
				break
			}
			n++
		}
		if err == io.EOF {
			err = nil
		}
		return n, header, err
	}
	pn, _, perr := watch("missing")
	n0 := s.h.calls.Load()
	n, header, err := watch("missing", grpcprof.MetadataTrigger, "1")
	if n != pn || n != 3 || status.Code(err) != codes.NotFound || status.Code(perr) != codes.NotFound || s.h.calls.Load()-n0 != 1 || s.h.profiled.Load() != 1 {
		t.Fatalf("profiled stream: %d messages, %v; plain: %d, %v; handler runs %d, profiled %d", n, err, pn, perr, s.h.calls.Load()-n0, s.h.profiled.Load())
	}
	p, m := adaptertest.Stored(t, s.p.HTTP().Core(), s.p.HTTP().Store(), one(header, grpcprof.MetadataID))
	if m.Route != "/grpc.health.v1.Health/Watch" || m.Status != 404 || p.Attr(grpcprof.AttrCode) != "NotFound" {
		t.Errorf("stream: route %q status %d code %q", m.Route, m.Status, p.Attr(grpcprof.AttrCode))
	}
}

func TestUnknownFormatAuthorizedOnly(t *testing.T) {
	s := newServer(t, httpprof.Options{Authorize: httpprof.TokenAuth("s3cret")}, nil)
	n := s.h.calls.Load()
	bad := check(t, s.client, "", grpcprof.MetadataTrigger, "1", grpcprof.MetadataFormat, "nope", "authorization", "Bearer s3cret")
	if status.Code(bad.err) != codes.InvalidArgument || !strings.Contains(status.Convert(bad.err).Message(), "nope") || s.h.calls.Load() != n {
		t.Errorf("authorized, unknown format: %v, handler ran %d times", bad.err, s.h.calls.Load()-n)
	}
	plain := check(t, s.client, "")
	un := check(t, s.client, "", grpcprof.MetadataTrigger, "1", grpcprof.MetadataFormat, "nope", "authorization", "Bearer wrong")
	if !same(un, plain) || len(un.reqprofs) != 0 || un.err != nil {
		t.Errorf("unauthorized: %v, reqprof metadata %v", un.err, un.reqprofs)
	}
	// A known format makes reqprof-url a download of it.
	ok := check(t, s.client, "", grpcprof.MetadataTrigger, "1", grpcprof.MetadataFormat, "text", "x-reqprof-token", "s3cret")
	if u := one(ok.header, grpcprof.MetadataURL); !strings.HasSuffix(u, "?format=text") {
		t.Errorf("reqprof-url %q", u)
	}
	if c := adaptertest.Count(t, s.p.HTTP().Store()); c > 1 {
		t.Errorf("%d profiles stored, want the authorized one alone", c)
	}
}

func TestLoopbackAuthorityAndForwarding(t *testing.T) {
	s := newServer(t, httpprof.Options{}, nil)
	// Through a proxy (forwarding metadata): refused by the default.
	fwd := check(t, s.client, "", grpcprof.MetadataTrigger, "1", "x-forwarded-for", "203.0.113.9")
	if len(fwd.reqprofs) != 0 {
		t.Errorf("forwarded call was profiled: %v", fwd.header)
	}
	// A non-loopback authority (DNS rebinding's equivalent): refused.
	other := healthpb.NewHealthClient(dial(t, s.addr, grpc.WithAuthority("evil.example:443")))
	if r := check(t, other, "", grpcprof.MetadataTrigger, "1"); len(r.reqprofs) != 0 || r.err != nil {
		t.Errorf("call to authority evil.example: %v %v", r.err, r.header)
	}
}

func TestLimitsHonoured(t *testing.T) {
	h := &health{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	s := newServer(t, httpprof.Options{MaxConcurrent: 1}, h)
	var wg sync.WaitGroup
	var first result
	wg.Go(func() { first = check(t, s.client, "block", grpcprof.MetadataTrigger, "1") })
	<-h.entered
	second := check(t, s.client, "", grpcprof.MetadataTrigger, "1")
	close(h.block)
	wg.Wait()
	if one(first.header, grpcprof.MetadataStatus) != "profiled" {
		t.Errorf("first: %v", first.header)
	}
	if st := one(second.header, grpcprof.MetadataStatus); !strings.HasPrefix(st, "skipped:") || one(second.header, grpcprof.MetadataID) != "" || second.err != nil {
		t.Errorf("second, over MaxConcurrent 1: %q %v", st, second.err)
	}
}

func TestClientInterceptorNamesOutgoingCalls(t *testing.T) {
	down := newServer(t, httpprof.Options{}, nil)
	conn := dial(t, down.addr,
		grpc.WithChainUnaryInterceptor(grpcprof.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(grpcprof.StreamClientInterceptor()))
	s := newServer(t, httpprof.Options{}, &health{downstream: healthpb.NewHealthClient(conn)})
	r := check(t, s.client, "down", grpcprof.MetadataTrigger, "1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	p, _ := adaptertest.Stored(t, s.p.HTTP().Core(), s.p.HTTP().Store(), one(r.header, grpcprof.MetadataID))
	tree := adaptertest.Tree(t, p)
	n := adaptertest.Find(tree, "gRPC: ")
	if n == nil || n.Frame.Name != "gRPC: /grpc.health.v1.Health/Check" {
		t.Fatalf("no gRPC frame:\n%s", adaptertest.Dump(tree))
	}
	// The dependency sleeps 20 ms: its frame holds at least 15 (timer
	// slack aside), at most the whole call.
	if n.Total < int64(15*time.Millisecond) || n.Total > p.Duration {
		t.Errorf("the outgoing call's frame holds %v of %v", time.Duration(n.Total), time.Duration(p.Duration))
	}
	// Unprofiled calls through the interceptor: nothing but the call.
	if r := check(t, s.client, "down"); r.err != nil || len(r.reqprofs) != 0 {
		t.Errorf("unprofiled call: %v %v", r.err, r.header)
	}
}

func TestServerFastPathAllocatesNothing(t *testing.T) {
	p, err := grpcprof.New(httpprof.Options{Enabled: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in := p.UnaryServerInterceptor()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(":authority", "127.0.0.1:1", "content-type", "application/grpc", "user-agent", "grpc-go"))
	info := &grpc.UnaryServerInfo{FullMethod: "/x.Y/Z"}
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	if n := testing.AllocsPerRun(1000, func() { in(ctx, nil, info, handler) }); n != 0 {
		t.Errorf("unprofiled call through the interceptor: %v allocations, want 0", n)
	}
	cin := grpcprof.UnaryClientInterceptor()
	invoker := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		return nil
	}
	if n := testing.AllocsPerRun(1000, func() { cin(ctx, "/x.Y/Z", nil, nil, nil, invoker) }); n != 0 {
		t.Errorf("unprofiled call through the client interceptor: %v allocations, want 0", n)
	}
}

// BenchmarkServerInterceptor measures an unprofiled unary call through the
// server interceptor, against the handler alone:
//
//	go test ./contrib/grpc -run '^$' -bench ServerInterceptor -benchmem
func BenchmarkServerInterceptor(b *testing.B) {
	p, err := grpcprof.New(httpprof.Options{Enabled: true, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	in := p.UnaryServerInterceptor()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(":authority", "127.0.0.1:1", "content-type", "application/grpc", "user-agent", "grpc-go"))
	info := &grpc.UnaryServerInfo{FullMethod: "/x.Y/Z"}
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			handler(ctx, nil)
		}
	})
	b.Run("intercepted", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			in(ctx, nil, info, handler)
		}
	})
}

func TestHooksAndSlowCapture(t *testing.T) {
	var mu sync.Mutex
	onProfiled := map[string]string{}
	var stored []serve.Result
	hooks := httpprof.Hooks{
		Sample: func(ctx context.Context) string {
			if len(metadata.ValueFromIncomingContext(ctx, "x-sample")) > 0 {
				return "sampled"
			}
			return ""
		},
		Annotate: func(ctx context.Context) []profile.Attr { return []profile.Attr{{Key: "trace_id", Value: "abc"}} },
		OnProfiled: func(ctx context.Context, id, url string) {
			mu.Lock()
			defer mu.Unlock()
			onProfiled[id] = url
		},
	}
	// /fast calls take microseconds: 100 ms is far beyond them even on a
	// loaded machine with the race detector; "slower" sleeps 150 ms.
	s := newServer(t, httpprof.Options{
		Hooks: hooks, Authorize: httpprof.TokenAuth("s3cret"), CaptureSlowerThan: 100 * time.Millisecond,
		OnProfile: func(r serve.Result) { mu.Lock(); stored = append(stored, r); mu.Unlock() },
	}, nil)
	// Sampled, unauthorized: profiled, told nothing.
	if r := check(t, s.client, "", "x-sample", "1"); r.err != nil || len(r.reqprofs) != 0 {
		t.Errorf("sampled, unauthorized: %v, reqprof metadata %v", r.err, r.reqprofs)
	}
	// Sampled, authorized: told.
	if r := check(t, s.client, "", "x-sample", "1", "x-reqprof-token", "s3cret"); one(r.header, grpcprof.MetadataStatus) != "profiled" {
		t.Errorf("sampled, authorized: %v", r.header)
	}
	check(t, s.client, "")       // fast: a discarded slow candidate
	check(t, s.client, "slower") // kept as slow
	s.p.Close()
	mu.Lock()
	defer mu.Unlock()
	reasons := map[string]int{}
	for _, r := range stored {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		reasons[r.Meta.Label(profile.AttrReason)]++
		if r.Profile.Attr("trace_id") != "abc" {
			t.Errorf("profile %s (%s) not annotated", r.ID, r.Meta.Label(profile.AttrReason))
		}
		if _, ok := onProfiled[r.ID]; !ok {
			t.Errorf("OnProfiled not called for %s (%s)", r.ID, r.Meta.Label(profile.AttrReason))
		}
	}
	if len(stored) != 3 || reasons["sampled"] != 2 || reasons["slow"] != 1 || len(onProfiled) != 3 {
		t.Errorf("stored %v (reasons %v), OnProfiled for %d", len(stored), reasons, len(onProfiled))
	}
}
