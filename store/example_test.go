package store_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/store"
)

func ExampleDir() {
	dir, _ := os.MkdirTemp("", "reqprof-example")
	defer os.RemoveAll(dir)
	d, err := store.OpenDir(dir, store.Retention{MaxCount: 100})
	if err != nil {
		panic(err)
	}
	// The caller describes the work: its attributes become labels.
	p := tiny("GET /users/{id}")
	p.SetAttr(profile.AttrKind, profile.KindHTTP)
	p.SetAttr(profile.AttrRoute, "GET /users/{id}")
	p.SetAttr(profile.AttrStatus, "200")
	now := time.Now()
	m := store.Meta{
		ID: store.NewID(now), Time: now, Name: p.Name,
		Summary: store.Summary{Duration: 1500 * time.Microsecond, CPU: 500 * time.Microsecond, Waiting: time.Millisecond, Goroutines: 1},
		Labels:  store.LabelsOf(p),
	}
	if err := d.Put(context.Background(), m, p); err != nil {
		panic(err)
	}
	slow, _ := d.List(context.Background(), store.Filter{
		Labels:      map[string]string{profile.AttrRoute: "GET /users/{id}"},
		MinDuration: time.Millisecond,
	})
	for _, m := range slow {
		fmt.Println(m.Name, m.Label(profile.AttrStatus), m.Duration, m.CPU)
	}
	// Output: GET /users/{id} 200 1.5ms 500µs
}
