package serve_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

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

// Slow-request capture for the same queue: every job is a candidate,
// kept only if it takes longer than CaptureSlowerThan. EndFunc describes
// a job only when it is kept, so that the many fast jobs pay nothing for
// the description.
func ExampleUnit_EndFunc() {
	dir, _ := os.MkdirTemp("", "reqprof-example-")
	defer os.RemoveAll(dir)
	st, err := store.OpenDir(dir, store.Retention{})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan serve.Result, 1)
	core, err := serve.New(serve.Config{Store: st, CaptureSlowerThan: 200 * time.Millisecond, OnProfile: func(r serve.Result) { done <- r }})
	if err != nil {
		log.Fatal(err)
	}
	defer core.Close()

	runJob := func(ctx context.Context, queue string, job func(context.Context) error) {
		u, err := core.BeginSlow(ctx, serve.Info{Name: "job " + queue})
		if err != nil {
			job(ctx)
			return
		}
		jerr := u.Run(job)
		u.EndFunc(queue, func() serve.Info {
			info := serve.Info{}
			info.Set(profile.AttrRoute, queue)
			info.Set(profile.AttrStatus, strconv.FormatBool(jerr == nil))
			return info
		})
		if u.Kept() {
			fmt.Println("kept", u.ID() != "")
		}
	}

	runJob(context.Background(), "thumbnails", func(ctx context.Context) error { return nil })
	runJob(context.Background(), "thumbnails", func(ctx context.Context) error { time.Sleep(250 * time.Millisecond); return nil })
	r := <-done
	fmt.Println(r.Err, r.Meta.Name, r.Profile.Attr(profile.AttrReason), r.Profile.Attr(profile.AttrStatus))
	// Output:
	// kept true
	// <nil> job thumbnails slow true
}
