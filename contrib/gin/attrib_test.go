package ginprof_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/profile"
)

var sink uint64

// listUsers is the handler's work: about 2ms of CPU, in rounds of a
// function of its own. (Work in one frameless leaf function — a loop that
// calls nothing and spills nothing — hides its caller from the stacks of
// its preemptions, which are unwound by frame pointers: see the README's
// known limits. Real work calls functions.)
//
//go:noinline
func listUsers(n int) {
	for range n / 1024 {
		sink += mix(sink, 1024)
	}
}

//go:noinline
func mix(x uint64, n int) uint64 {
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// A short gin handler's running time is under the handler and the
// function doing the work, never gin's own ("[self]" of
// gin.(*Engine).ServeHTTP, as issue 10 saw on a gin + gorm app).
func TestShortHandlerAttributed(t *testing.T) {
	if testing.Short() {
		t.Skip("profiles 6 requests of 2ms of CPU")
	}
	n := adaptertest.Calibrate(2*time.Millisecond, listUsers)
	a := newApp(t, httpprof.Options{PerMinute: 1000}, func(e *gin.Engine, a *app) {
		api := e.Group("/api")
		api.Use(func(c *gin.Context) { c.Next() }) // a middleware of the app's
		api.GET("/user/", func(c *gin.Context) {
			listUsers(n)
			c.JSON(http.StatusOK, gin.H{"users": []string{"ann", "bob"}})
		})
	})
	// Warm up unprofiled: a first request pays the framework's one-time
	// set-up, the framework's own time.
	get(t, "GET", a.url+"/api/user/")
	for i := range 6 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			// The handler, the function it calls, and the app's own
			// middleware (user code too: a stretch that ended there, or a
			// sample in it, is the application's time, not the
			// framework's).
			adaptertest.CheckAttributedRequest(t, func() *profile.Profile {
				r := get(t, "GET", a.url+"/api/user/?profile=true")
				if r.status != http.StatusOK {
					t.Fatalf("status %d", r.status)
				}
				p, _ := adaptertest.Stored(t, a.p.HTTP().Core(), a.p.HTTP().Store(), r.header.Get(httpprof.HeaderID))
				return p
			}, ".listUsers", ".mix", ".TestShortHandlerAttributed.func1.2", ".TestShortHandlerAttributed.func1.1")
		})
	}
}
