package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reqprof/reqprof/store"
)

// BenchmarkDirPut measures one Put into a directory already holding n
// profiles: its cost must not grow with n.
func BenchmarkDirPut(b *testing.B) {
	for _, n := range []int{200, 1000, 4000} {
		b.Run(fmt.Sprintf("stored=%d", n), func(b *testing.B) {
			d, err := store.OpenDir(b.TempDir(), store.Retention{MaxCount: 1 << 30, MaxBytes: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			p := tiny("GET /x")
			t0 := time.Now()
			for i := range n {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				if err := d.Put(context.Background(), store.Meta{ID: store.NewID(at), Time: at, Name: "GET /x"}, p); err != nil {
					b.Fatal(err)
				}
			}
			i := n
			for b.Loop() {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				i++
				if err := d.Put(context.Background(), store.Meta{ID: store.NewID(at), Time: at, Name: "GET /x"}, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
