package profile

// Well-known attribute keys (Profile.Attrs). Delivery code (the HTTP
// middleware, a gRPC interceptor, a job runner) sets them, the store lists
// them as labels and filters by them, views and renderers show them; other
// keys are free-form.
const (
	AttrKind     = "kind"           // what kind of work: KindHTTP, KindGRPC, KindJob, ...
	AttrMethod   = "method"         // HTTP method, gRPC "POST"
	AttrRoute    = "route"          // route pattern: "GET /users/{id}", "/pkg.Svc/Method", a job's name: what profiles are grouped by
	AttrURL      = "url"            // request URL, redacted
	AttrStatus   = "status"         // response status code, gRPC code, "ok" or "error" for a job
	AttrBytes    = "response bytes" // response body size
	AttrRemote   = "remote"         // the client's address
	AttrReason   = "reason"         // why the profile was taken: requested, slow, sampled
	AttrPanic    = "panic"          // the panic value (bounded), when the work panicked
	AttrPanicAt  = "panic at"       // where the work panicked: function file:line
	AttrOutcome  = "outcome"        // how the work ended when not by returning: goexit, client disconnected
	AttrTruncate = "truncated"      // why the capture ended before the work did
	AttrError    = "error"          // the error the work returned (bounded)
	// AttrTraceID and AttrSpanID are the OpenTelemetry trace and span the
	// work ran in (contrib/otel records them), in lowercase hex (32 and 16
	// digits), under the names Pyroscope gives them: the UI lists and
	// filters profiles by trace id, render/pprof labels every sample with
	// both.
	AttrTraceID = "trace_id"
	AttrSpanID  = "span_id"
	// AttrOverhead is the time the profiler added to the work outside its
	// window, before it began (admitting it, starting the flight recorder
	// and CPU sampling, beginning the task), as a Go duration ("1.2ms").
	// The profiler's time inside the window is on the root goroutine's
	// stacks: views show it as "[reqprof]".
	AttrOverhead = "reqprof overhead"
)

// Values of AttrKind.
const (
	KindHTTP = "http"
	KindGRPC = "grpc"
	KindJob  = "job"
)

// Values of AttrReason.
const (
	ReasonRequested = "requested" // the client or the caller asked for it
	ReasonSlow      = "slow"      // slow-request capture kept it
	ReasonSampled   = "sampled"   // a sampler picked it (see serve.PerRoute)
)
