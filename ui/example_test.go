package ui_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/ui"
)

// Serve the profiles of a directory, e.g. on a side listener.
func Example() {
	dir, _ := os.MkdirTemp("", "reqprof-example-")
	defer os.RemoveAll(dir)
	st, err := store.OpenDir(dir, store.Retention{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/reqprof/", http.StripPrefix("/debug/reqprof", ui.New(ui.Config{Store: st, Authorize: httpprof.LoopbackOnly})))

	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/reqprof/")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("X-Frame-Options"))
	// Output: 200 OK DENY
}
