// Package muxprof names reqprof's profiles after gorilla/mux routes: Route
// gives the net/http middleware (package httpprof) a router's path
// templates ("/users/{id:[0-9]+}"), wherever the middleware is placed.
//
// Outermost, so that the profile holds the routing and every middleware:
//
//	router := mux.NewRouter()
//	router.HandleFunc("/users/{id}", getUser).Methods("GET")
//	handler := httpprof.Middleware(httpprof.Options{Enabled: true, Route: muxprof.Route(router)})(router)
//	http.ListenAndServe(":8080", handler)
//
// or as the router's middleware, router.Use(httpprof.Middleware(opts)),
// where gorilla/mux runs it for matched routes only (so the UI must then be
// mounted on the router, which it can be anywhere):
//
//	router.PathPrefix("/ops/reqprof/").Handler(http.StripPrefix("/ops/reqprof", p.UI()))
//
// with Options.ProfileURL pointing there.
package muxprof

import (
	"net/http"

	"github.com/gorilla/mux"
)

// Route returns a function for httpprof.Options.Route that names a request
// by the path template of its gorilla/mux route: the route the request was
// dispatched to (mux.CurrentRoute, when the middleware runs inside the
// router), else the one router matches it with (when the middleware is
// around the router, which matches the request again, after the handler,
// for profiled requests only). It returns "" when no route matches; router
// may be nil to use mux.CurrentRoute alone.
func Route(router *mux.Router) func(*http.Request) string {
	return func(r *http.Request) string {
		if rt := mux.CurrentRoute(r); rt != nil {
			if t, err := rt.GetPathTemplate(); err == nil {
				return t
			}
		}
		if router == nil {
			return ""
		}
		var m mux.RouteMatch
		if !router.Match(r, &m) || m.Route == nil || m.MatchErr != nil {
			return ""
		}
		t, err := m.Route.GetPathTemplate()
		if err != nil {
			return ""
		}
		return t
	}
}
