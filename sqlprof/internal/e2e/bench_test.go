package e2e_test

import (
	"database/sql"
	"testing"

	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/sqlprof/internal/proftest"
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
				proftest.BenchSelect1(b, db, traced)
			})
		}
	}
}
