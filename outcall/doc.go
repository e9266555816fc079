// Package outcall names a profiled request's outgoing calls in its profile.
//
// A handler that calls another service over HTTP waits in
// net/http.(*Client).Do, woken by the transport's readLoop goroutine: its
// profile shows "[wait: select]" and that goroutine, and nothing says which
// service was called. Wrap the client's transport:
//
//	client := &http.Client{Transport: outcall.Transport(http.DefaultTransport)}
//
// and each call made with the context of a profiled request runs in a
// runtime/trace region named after it, which reqprof shows as a frame on
// the critical path, as package sqlprof names SQL statements:
//
//	main.fetchQuote  handlers.go:214
//	`- http.(*Client).Do  client.go:590  [8 frames hidden] net/http, github.com/reqprof/reqprof/outcall
//	   `- HTTP: GET 127.0.0.1:41234/quotes/{id}
//	      `- [wait: select]  [via goroutine 57: net/http.(*persistConn).readLoop]
//
// # Names
//
// The frame is "HTTP: " + method + " " + host + path pattern (RegionName):
// the URL's host (with its port), and its path with every segment that looks
// like an identifier replaced by "{id}" (PathPattern): all digits, a UUID, a
// hexadecimal string of 16 characters or more, a string of 20 characters or
// more mixing letters and digits, or one holding "@". The query, the
// fragment and user information are dropped, so that a secret in a URL does
// not reach the profile and calls to one endpoint share one frame. The
// whole name is bounded (1 KiB). Name your endpoints yourself with
// WithName.
//
// The response body is wrapped too, while profiled: each Read and Close
// runs in a region of the same name, so a slow download is named as well.
// (The wrapped body is a plain io.ReadCloser; code that type-asserts
// resp.Body sees the wrapper during profiled requests. A 101 Switching
// Protocols body, which is also an io.Writer, is left as it is.)
//
// # Costs
//
// Nothing is done unless runtime/trace is on and the request's context is
// a profiled unit's ([serve.Profiled]): the wrapper then costs a function
// call and an atomic load, and no allocation (BenchmarkTransport). While
// profiling, a call costs one region (two trace events, about a
// microsecond) and the name (one or two small allocations).
//
// The gRPC client interceptor in module
// github.com/reqprof/reqprof/contrib/grpc does the same for gRPC calls
// ("gRPC: /pkg.Service/Method"), with Profiled and StartRegion.
package outcall
