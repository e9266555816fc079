package chiprof_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/go-chi/chi/v5"

	chiprof "github.com/reqprof/reqprof/contrib/chi"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/profile"
)

// reqprof outermost, around a chi router: the profile has chi's route.
func Example() {
	dir, _ := os.MkdirTemp("", "reqprof-example-")
	defer os.RemoveAll(dir)

	r := chi.NewRouter()
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "user "+chi.URLParam(r, "id")) })
	p, err := chiprof.New(httpprof.Options{Enabled: true, Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	srv := httptest.NewServer(p.Wrap(r)) // or chiprof.Middleware(opts)(r), or r.Use(p.Wrap)
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
	fmt.Println(meta.Name, meta.Label(profile.AttrRoute))
	// Output: GET /users/{id} /users/{id}
}
