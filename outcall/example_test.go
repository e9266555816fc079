package outcall_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/outcall"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/formats"
	"github.com/reqprof/reqprof/store"
)

// A handler that calls another service: in its profile, the call is a
// frame named after the dependency.
func ExampleTransport() {
	dependency := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "42")
	}))
	defer dependency.Close()
	client := &http.Client{Transport: outcall.Transport(http.DefaultTransport)}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /answer", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", dependency.URL+"/answers/7?key=secret", nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	dir, _ := os.MkdirTemp("", "reqprof-example-")
	defer os.RemoveAll(dir)
	st, err := store.OpenDir(dir, store.Retention{})
	if err != nil {
		log.Fatal(err)
	}
	p, err := httpprof.New(httpprof.Options{Enabled: true, Store: st})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(p.Wrap(mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/answer?profile=true")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	p.Close() // waits for the profile to be stored
	prof, _, err := st.Get(resp.Request.Context(), resp.Header.Get(httpprof.HeaderID))
	if err != nil {
		log.Fatal(err)
	}
	var text strings.Builder
	formats.Write(&text, prof, formats.Text, render.Options{})
	for _, line := range strings.Split(text.String(), "\n") {
		if i := strings.Index(line, "HTTP: "); i >= 0 {
			host := strings.TrimPrefix(dependency.URL, "http://")
			fmt.Println(strings.Fields(strings.ReplaceAll(line[i:], host, "HOST"))[:3])
			break
		}
	}
	// Output: [HTTP: GET HOST/answers/{id}]
}
