package profile

// Well-known attribute keys (Profile.Attrs). Delivery code sets them, the
// store lists them as labels, views and renderers show them; other keys
// are free-form.
const (
	AttrMethod   = "method"         // HTTP method, gRPC "POST"
	AttrRoute    = "route"          // route pattern: "GET /users/{id}", "/pkg.Svc/Method"
	AttrURL      = "url"            // request URL, redacted
	AttrStatus   = "status"         // response status code
	AttrBytes    = "response bytes" // response body size
	AttrRemote   = "remote"         // the client's address
	AttrReason   = "reason"         // why the profile was taken: requested, slow, sampled
	AttrPanic    = "panic"          // the panic value (bounded), when the work panicked
	AttrPanicAt  = "panic at"       // where the work panicked: function file:line
	AttrOutcome  = "outcome"        // how the work ended when not by returning: goexit, client disconnected
	AttrTruncate = "truncated"      // why the capture ended before the work did
)
