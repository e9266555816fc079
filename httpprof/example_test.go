package httpprof_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/reqprof/reqprof/httpprof"
)

// Profile the requests that ask for it, and serve the UI at /debug/reqprof/.
func ExampleMiddleware() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	handler := httpprof.Middleware(httpprof.Options{Enabled: true, Dir: exampleDir()})(mux)

	srv := httptest.NewServer(handler)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/hello?profile=true")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Header.Get(httpprof.HeaderStatus))
	// Output: profiled
}

// Behind a reverse proxy every client looks local: use a token.
func ExampleTokenAuth() {
	p, err := httpprof.New(httpprof.Options{
		Enabled:   true,
		Dir:       exampleDir(),
		Authorize: httpprof.TokenAuth("a long random secret"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	mux := http.NewServeMux()
	// The UI somewhere of your choice, behind the same token.
	mux.Handle("/ops/profiles/", http.StripPrefix("/ops/profiles", p.UI()))
	mux.Handle("/", p.Wrap(http.NotFoundHandler()))
	fmt.Println(p.Enabled())
	// Output: true
}
