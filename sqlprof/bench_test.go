package sqlprof_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"testing"

	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/sqlprof/internal/proftest"
)

// A trivial in-process driver, so that the benchmark measures database/sql
// and the wrapper rather than a database: QueryContext answers one row
// with the value 1.

type nopConnector struct{}

func (nopConnector) Connect(context.Context) (driver.Conn, error) { return nopConn{}, nil }
func (nopConnector) Driver() driver.Driver                        { return nopDriver{} }

type nopDriver struct{}

func (nopDriver) Open(string) (driver.Conn, error) { return nopConn{}, nil }

type nopConn struct{}

func (nopConn) Prepare(string) (driver.Stmt, error) { return nil, driver.ErrSkip }
func (nopConn) Close() error                        { return nil }
func (nopConn) Begin() (driver.Tx, error)           { return nil, driver.ErrSkip }
func (nopConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	return &nopRows{}, nil
}

type nopRows struct{ done bool }

func (*nopRows) Columns() []string { return []string{"x"} }
func (*nopRows) Close() error      { return nil }
func (r *nopRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = int64(1)
	return nil
}

// BenchmarkWrapOverhead measures a `SELECT 1` through database/sql, with
// the connector as is and wrapped, on the trivial driver ("nop"); "driver"
// is the trivial driver's QueryContext called directly, wrapped or not, to
// isolate the wrapper. Tracing is off unless the name says "traced" (then
// an execution trace is written to io.Discard, as while a profile is
// taken). The same on an in-memory SQLite is BenchmarkWrapOverheadSQLite
// in sqlprof/internal/e2e, the module that requires a SQLite driver (this
// one does not).
//
//	go test ./sqlprof -run '^$' -bench WrapOverhead -benchmem -count 5
func BenchmarkWrapOverhead(b *testing.B) {
	type dbCase struct {
		name string
		open func(b *testing.B, wrap bool) *sql.DB
	}
	cases := []dbCase{
		{"nop", func(b *testing.B, wrap bool) *sql.DB {
			var c driver.Connector = nopConnector{}
			if wrap {
				c = sqlprof.Wrap(c)
			}
			return sql.OpenDB(c)
		}},
	}
	// The wrapper alone: a driver-level QueryContext on the trivial conn,
	// as database/sql makes it, without database/sql.
	for _, wrap := range []bool{false, true} {
		name := "driver/unwrapped"
		if wrap {
			name = "driver/wrapped"
		}
		b.Run(name, func(b *testing.B) {
			var c driver.Connector = nopConnector{}
			if wrap {
				c = sqlprof.Wrap(c)
			}
			conn, err := c.Connect(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			q := conn.(driver.QueryerContext)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := q.QueryContext(ctx, "SELECT 1", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, traced := range []bool{false, true} {
		for _, c := range cases {
			for _, wrap := range []bool{false, true} {
				name := c.name + "/unwrapped"
				if wrap {
					name = c.name + "/wrapped"
				}
				if traced {
					name += "/traced"
				}
				b.Run(name, func(b *testing.B) {
					db := c.open(b, wrap)
					defer db.Close()
					proftest.BenchSelect1(b, db, traced)
				})
			}
		}
	}
}
