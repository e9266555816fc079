// Package httpsec holds the HTTP request checks that the middleware and the
// UI share: cross-site requests, forwarding proxies and loopback host names.
package httpsec

import (
	"net"
	"net/http"
	"strings"
)

// CrossSite reports whether a browser sent r on behalf of another site
// (Sec-Fetch-Site other than same-origin or none, or an Origin other than
// the Host): such a request may neither trigger a profile nor change state.
func CrossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		// The browser says so (and may send Origin: null under a strict
		// referrer policy).
		return false
	case "":
	default:
		return true
	}
	if o := r.Header.Get("Origin"); o != "" {
		if o == "null" {
			return true
		}
		rest, ok := strings.CutPrefix(o, "http://")
		if !ok {
			rest, ok = strings.CutPrefix(o, "https://")
		}
		if !ok || !strings.EqualFold(rest, r.Host) {
			return true
		}
	}
	return false
}

// Forwarded reports whether r was forwarded by a proxy that says so
// (Forwarded, X-Forwarded-For, X-Real-IP).
func Forwarded(r *http.Request) bool {
	h := r.Header
	return len(h["Forwarded"]) > 0 || len(h["X-Forwarded-For"]) > 0 || len(h["X-Real-Ip"]) > 0
}

// LoopbackPeer reports whether r's peer address is a loopback address.
func LoopbackPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackHost reports whether a Host header names this machine's loopback
// interface ("localhost", "*.localhost", a loopback address), or one of
// the allowed names (with or without the port).
func LoopbackHost(hostport string, allowed []string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	for _, a := range allowed {
		if strings.EqualFold(host, a) || strings.EqualFold(hostport, a) {
			return true
		}
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SetPageHeaders sets the headers every page and download of the UI
// carries: no caching, no framing, no sniffing, no referrer to other sites, and a CSP that
// allows the page's own scripts and styles only.
func SetPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Vary", "Authorization, X-Reqprof-Token, Cookie, Sec-Fetch-Site, Origin")
}
