package echoprof_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/labstack/echo/v4"

	echoprof "github.com/reqprof/reqprof/contrib/echo"
	"github.com/reqprof/reqprof/httpprof"
)

// One line in an echo application; the UI on a group.
func Example() {
	dir, _ := os.MkdirTemp("", "reqprof-example-")
	defer os.RemoveAll(dir)

	e := echo.New()
	p, err := echoprof.New(httpprof.Options{Enabled: true, Dir: dir, UIPath: "-"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	e.Use(p.Middleware()) // or: e.Use(echoprof.Middleware(opts))
	e.GET("/users/:id", func(c echo.Context) error { return c.String(http.StatusOK, "user "+c.Param("id")) })
	p.MountUI(e.Group("/ops/reqprof"))

	srv := httptest.NewServer(e) // or e.Start(":8080")
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/users/42?profile=true")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	p.Close() // waits for the profile to be stored
	_, meta, err := p.HTTP().Store().Get(resp.Request.Context(), resp.Header.Get(httpprof.HeaderID))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Header.Get(httpprof.HeaderStatus), meta.Name, resp.Header.Get(httpprof.HeaderURL)[:15])
	// Output: profiled GET /users/:id /ops/reqprof/p/
}
