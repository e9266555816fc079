package serve_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/store"
)

// An adapter for a job queue: every job is a profiled unit.
func Example() {
	dir, _ := os.MkdirTemp("", "reqprof-example-")
	defer os.RemoveAll(dir)
	st, err := store.OpenDir(dir, store.Retention{})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan serve.Result, 1)
	core, err := serve.New(serve.Config{Store: st, OnProfile: func(r serve.Result) { done <- r }})
	if err != nil {
		log.Fatal(err)
	}
	defer core.Close()

	runJob := func(ctx context.Context, name string, job func(context.Context) error) error {
		if why := core.Admit(); why != "" {
			return job(ctx) // over a limit: run unprofiled
		}
		u, err := core.Begin(ctx, serve.Info{Name: "job " + name})
		if err != nil {
			return job(ctx)
		}
		var jerr error
		defer func() {
			info := serve.Info{}
			info.Set(profile.AttrStatus, strconv.FormatBool(jerr == nil))
			u.End(info)
		}()
		jerr = u.Run(job)
		return jerr
	}

	runJob(context.Background(), "resize", func(ctx context.Context) error { return nil })
	r := <-done
	fmt.Println(r.Err, r.Meta.Name, r.Profile.Attr(profile.AttrReason))
	// Output: <nil> job resize requested
}
