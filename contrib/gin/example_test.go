package ginprof_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gin-gonic/gin"

	ginprof "github.com/reqprof/reqprof/contrib/gin"
	"github.com/reqprof/reqprof/httpprof"
)

// One line in a gin application; the UI on a router group.
func Example() {
	dir, _ := os.MkdirTemp("", "reqprof-example-")
	defer os.RemoveAll(dir)

	router := gin.New()
	p, err := ginprof.New(httpprof.Options{Enabled: true, Dir: dir, UIPath: "-"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	router.Use(p.Handler()) // or: router.Use(ginprof.Middleware(opts))
	router.GET("/users/:id", func(c *gin.Context) { c.String(http.StatusOK, "user %s", c.Param("id")) })
	p.MountUI(router.Group("/ops/reqprof"))

	srv := httptest.NewServer(router) // or router.Run(":8080")
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
