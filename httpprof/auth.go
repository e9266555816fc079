package httpprof

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/reqprof/reqprof/internal/httpsec"
)

// Who may profile and see the UI. The default, LoopbackOnly, trusts a
// client on the same machine that talks to the server directly:
//
//   - its address is a loopback address;
//   - it does not forward for someone else (no Forwarded, X-Forwarded-For
//     or X-Real-IP header): behind a reverse proxy on the same host every
//     remote client would otherwise be "loopback";
//   - the Host it asked for is a loopback name or address (or one of
//     Options.AllowedHosts), which defeats DNS rebinding: a page of
//     evil.example that re-points its name at 127.0.0.1 still sends
//     Host: evil.example.
//
// A proxy can also strip forwarding headers, so behind any proxy use a
// token (TokenAuth), or an Authorize that knows the proxy.
//
// Whatever authorizes, a browser's cross-site request (Sec-Fetch-Site
// cross-site or same-site, or an Origin other than the Host) never
// triggers a profile nor changes the UI's state: a page elsewhere cannot
// make a developer's browser profile, fill the store or delete profiles.

// LoopbackOnly allows direct requests from loopback clients to a loopback
// host name: the default authorization.
func LoopbackOnly(r *http.Request) bool { return loopback(r, nil) }

// loopbackWith is LoopbackOnly accepting the given Host names too.
func loopbackWith(hosts []string) func(*http.Request) bool {
	if len(hosts) == 0 {
		return LoopbackOnly
	}
	return func(r *http.Request) bool { return loopback(r, hosts) }
}

func loopback(r *http.Request, hosts []string) bool {
	return httpsec.LoopbackPeer(r) && !httpsec.Forwarded(r) && httpsec.LoopbackHost(r.Host, hosts)
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
			a := r.Header.Get("Authorization")
			if len(a) < 7 || !strings.EqualFold(a[:7], "bearer ") {
				return false
			}
			got = strings.TrimSpace(a[7:])
		}
		return subtle.ConstantTimeCompare([]byte(got), want) == 1
	}
}

func crossSite(r *http.Request) bool { return httpsec.CrossSite(r) }
