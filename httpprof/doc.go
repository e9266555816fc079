// Package httpprof is reqprof's net/http adapter: middleware that profiles
// the requests asking for it (?profile=true, or the header X-Reqprof: 1),
// stores their profiles, and serves the profiles UI — on top of the
// framework-neutral core in package serve. The root package's
// reqprof.Middleware forwards here.
//
// # Usage examples
//
//	handler := httpprof.Middleware(httpprof.Options{Enabled: true})(mux)
//
// then, from the same machine:
//
//	curl -i 'http://127.0.0.1:8080/users/42?profile=true'   # Reqprof-Url: /debug/reqprof/p/<id>
//	curl 'http://127.0.0.1:8080/debug/reqprof/p/<id>?format=text'
//	curl 'http://127.0.0.1:8080/users/42?profile=true&profile_response=1&profile_format=text'
//
// # What a request asks
//
//   - profile=true (or X-Reqprof: 1): profile this request. The response
//     carries Reqprof-Id, Reqprof-Url and Reqprof-Status.
//   - profile_format=F: the format of profile_response (text, speedscope,
//     pprof, folded, chrome, reqprof); an unknown one is a 400 listing the
//     formats, before the handler runs.
//   - profile_response=1: the rendered profile replaces the response body.
//
// # Security
//
// A profiler is a debug endpoint. By default (LoopbackOnly) only a client
// on the same machine, talking to the server directly, to a loopback host
// name, may profile and see the UI: a request forwarded by a proxy (with
// Forwarded, X-Forwarded-For or X-Real-IP) is refused, and so is a Host
// that is not a loopback name (DNS rebinding). A proxy may also strip
// those headers: behind any proxy, use TokenAuth (or an Authorize of your
// own). A browser's cross-site request never triggers a profile and never
// changes the UI's state. An unauthorized client learns nothing: its
// request, UI paths included, goes to your handler as if reqprof were not
// there — no header, no 400.
//
// Every string that reaches the runtime's tracer is bounded (the tracer
// aborts the process on a 64 KiB name); a profiled request has a maximum
// duration (Options.MaxDuration) after which its capture ends; WebSocket
// upgrades are left out of slow-request capture. Query values with
// sensitive names are redacted in stored URLs, as a best effort.
package httpprof
