package e2e_test

import (
	"context"
	"database/sql"
	"io"
	"runtime/trace"
	"testing"

	"github.com/reqprof/reqprof/sqlprof"
)

// BenchmarkWrapOverheadSQLite is sqlprof's BenchmarkWrapOverhead on an
// in-memory SQLite (modernc.org/sqlite): a `SELECT 1` through
// database/sql, opened with sql.Open or sqlprof.Open, with tracing off or
// ("traced") an execution trace written to io.Discard, as while a profile
// is taken.
//
//	go test ./sqlprof/internal/e2e -run '^$' -bench WrapOverheadSQLite -benchmem -count 6
func BenchmarkWrapOverheadSQLite(b *testing.B) {
	for _, traced := range []bool{false, true} {
		for _, wrap := range []bool{false, true} {
			name := "unwrapped"
			open := sql.Open
			if wrap {
				name = "wrapped"
				open = func(driverName, dsn string) (*sql.DB, error) { return sqlprof.Open(driverName, dsn) }
			}
			if traced {
				name += "/traced"
			}
			b.Run(name, func(b *testing.B) {
				db, err := open("sqlite", ":memory:")
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				db.SetMaxIdleConns(1)
				db.SetMaxOpenConns(1)
				ctx := context.Background()
				var n int
				if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
					b.Fatal(err)
				}
				if traced {
					if err := trace.Start(io.Discard); err != nil {
						b.Skipf("cannot trace: %v", err)
					}
					defer trace.Stop()
				} else if trace.IsEnabled() {
					b.Fatal("tracing is on")
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
