package store_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/reqprof/reqprof/store"
)

func ExampleDir() {
	dir, _ := os.MkdirTemp("", "reqprof-example")
	defer os.RemoveAll(dir)
	d, err := store.OpenDir(dir, store.Retention{MaxCount: 100})
	if err != nil {
		panic(err)
	}
	m := store.Meta{ID: store.NewID(time.Now()), Time: time.Now(), Name: "GET /users/{id}"}
	if err := d.Put(context.Background(), m, tiny("GET /users/{id}")); err != nil {
		panic(err)
	}
	list, _ := d.List(context.Background())
	fmt.Println(len(list), list[0].Name)
	// Output: 1 GET /users/{id}
}
