package muxprof_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gorilla/mux"

	muxprof "github.com/reqprof/reqprof/contrib/gorilla"
	"github.com/reqprof/reqprof/httpprof"
)

// reqprof around a gorilla/mux router, named by its route templates.
func ExampleRoute() {
	dir, _ := os.MkdirTemp("", "reqprof-example-")
	defer os.RemoveAll(dir)

	router := mux.NewRouter()
	router.HandleFunc("/users/{id:[0-9]+}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "user "+mux.Vars(r)["id"])
	}).Methods("GET")
	p, err := httpprof.New(httpprof.Options{Enabled: true, Dir: dir, Route: muxprof.Route(router)})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(p.Wrap(router))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/users/42?profile=true")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	p.Close() // waits for the profile to be stored
	_, meta, err := p.Store().Get(resp.Request.Context(), resp.Header.Get(httpprof.HeaderID))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(meta.Name)
	// Output: GET /users/{id:[0-9]+}
}
