package sqlprof_test

//lint:file-ignore SA1019 a driver wrapper forwards and adapts the deprecated driver interfaces, as database/sql does

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"reflect"
	"runtime/trace"
	"slices"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/sqlprof"
	xtrace "golang.org/x/exp/trace"
)

var kinds = []string{"minimal", "legacy", "full"}

// script drives database/sql through every kind of call, and returns what
// it saw.
func script(ctx context.Context, db *sql.DB, rec *recorder) []string {
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	readRows := func(what string, rows *sql.Rows, err error) {
		if err != nil {
			say("%s: error %v", what, err)
			return
		}
		defer rows.Close()
		cts, err := rows.ColumnTypes()
		if err != nil {
			say("%s: column types: %v", what, err)
		}
		for _, ct := range cts {
			l, lok := ct.Length()
			n, nok := ct.Nullable()
			p, s, pok := ct.DecimalSize()
			say("%s: column %s %v %q %d/%v %v/%v %d,%d/%v", what, ct.Name(), ct.ScanType(), ct.DatabaseTypeName(), l, lok, n, nok, p, s, pok)
		}
		for set := 0; ; set++ {
			for rows.Next() {
				var a int64
				var b string
				if err := rows.Scan(&a, &b); err != nil {
					say("%s: scan: %v", what, err)
				}
				say("%s: set %d row %d %s", what, set, a, b)
			}
			if !rows.NextResultSet() {
				break
			}
		}
		say("%s: err %v", what, rows.Err())
	}
	result := func(what string, r sql.Result, err error) {
		if err != nil {
			say("%s: error %v", what, err)
			return
		}
		n, err := r.RowsAffected()
		say("%s: %d rows %v", what, n, err)
	}

	rows, err := db.QueryContext(ctx, "SELECT a, b FROM t WHERE c = ?", 7)
	readRows("query", rows, err)
	rows, err = db.QueryContext(ctx, "SKIP a, b FROM t WHERE c = ?", upper{"skip", rec})
	readRows("query skipped", rows, err)
	r, err := db.ExecContext(ctx, "UPDATE t SET a = ?", upper{"x", rec})
	result("exec valuer", r, err)
	r, err = db.ExecContext(ctx, "UPDATE t SET a = ?", sql.Named("n", 1))
	result("exec named", r, err)

	stmt, err := db.PrepareContext(ctx, "SELECT a, b FROM t WHERE c = ?")
	if err != nil {
		say("prepare: %v", err)
	} else {
		rows, err = stmt.QueryContext(ctx, upper{"q", rec})
		readRows("stmt query", rows, err)
		r, err = stmt.ExecContext(ctx, 5)
		result("stmt exec", r, err)
		r, err = stmt.ExecContext(ctx, sql.Named("m", 5))
		result("stmt exec named", r, err)
		say("stmt close: %v", stmt.Close())
	}

	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	say("begin serializable: %v", err)
	if err == nil {
		say("rollback: %v", tx.Rollback())
	}
	tx, err = db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	say("begin read-only: %v", err)
	if err == nil {
		say("rollback: %v", tx.Rollback())
	}
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		say("begin: %v", err)
	} else {
		r, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", 1, "one")
		result("tx exec", r, err)
		var a int64
		var b string
		err = tx.QueryRowContext(ctx, "SELECT a, b FROM t WHERE c = ?", 1).Scan(&a, &b)
		say("tx query row: %d %s %v", a, b, err)
		say("commit: %v", tx.Commit())
	}
	tx, err = db.Begin()
	if err != nil {
		say("begin: %v", err)
	} else {
		say("rollback: %v", tx.Rollback())
	}
	say("ping: %v", db.PingContext(ctx))
	conn, err := db.Conn(ctx)
	if err != nil {
		say("conn: %v", err)
	} else {
		err := conn.Raw(func(dc any) error {
			say("raw: %T", sqlprof.Unwrap(dc.(driver.Conn)))
			return nil
		})
		say("raw: %v", err)
		conn.Close()
	}
	return out
}

// runScript runs the script on a fresh database of the fake driver, as is
// or wrapped, and returns what the script saw and the driver's calls. The
// full driver gives its connector; the others are opened by name, as
// sql.Open and Open adapt them.
func runScript(t *testing.T, kind string, wrap bool) (seen, calls []string) {
	t.Helper()
	var db *sql.DB
	var rec *recorder
	if kind == "full" {
		var d driver.Driver
		d, rec = newFake(kind)
		c, err := d.(driver.DriverContext).OpenConnector("dsn")
		if err != nil {
			t.Fatal(err)
		}
		if wrap {
			c = sqlprof.Wrap(c)
		}
		db = sql.OpenDB(c)
	} else {
		rec = registered[kind]
		open := sql.Open
		if wrap {
			open = func(name, dsn string) (*sql.DB, error) { return sqlprof.Open(name, dsn) }
		}
		var err error
		if db, err = open("sqlprof-fake-"+kind, "dsn"); err != nil {
			t.Fatal(err)
		}
	}
	db.SetMaxOpenConns(1)
	rec.take()
	seen = script(context.Background(), db, rec)
	db.Close()
	return seen, rec.take()
}

// The wrapper is transparent: database/sql makes the same calls to the
// driver, with the same arguments, in the same order, and gets the same
// results, wrapped or not, traced or not.
func TestTransparent(t *testing.T) {
	for _, traced := range []bool{false, true} {
		for _, kind := range kinds {
			t.Run(fmt.Sprintf("%s/traced=%v", kind, traced), func(t *testing.T) {
				if traced {
					var buf bytes.Buffer
					if err := trace.Start(&buf); err != nil {
						t.Skipf("cannot trace: %v", err)
					}
					defer func() {
						trace.Stop()
						checkRegions(t, &buf, kind)
					}()
				}
				seen0, calls0 := runScript(t, kind, false)
				seen1, calls1 := runScript(t, kind, true)
				if d := diff(seen0, seen1); d != "" {
					t.Errorf("database/sql sees a difference (- unwrapped, + wrapped):\n%s", d)
				}
				if d := diff(calls0, calls1); d != "" {
					t.Errorf("the driver sees a difference (- unwrapped, + wrapped):\n%s", d)
				}
				if testing.Verbose() && traced && kind != "legacy" {
					t.Logf("seen:\n%s\ncalls:\n%s", strings.Join(seen1, "\n"), strings.Join(calls1, "\n"))
				}
			})
		}
	}
}

// checkRegions checks the trace of the script: well-nested regions, all
// named "SQL: ...", none holding an argument.
func checkRegions(t *testing.T, buf *bytes.Buffer, kind string) {
	t.Helper()
	r, err := xtrace.NewReader(buf)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the trace does not parse (misnested regions?): %v", err)
		}
		if ev.Kind() == xtrace.EventRegionBegin {
			names[ev.Region().Type]++
		}
	}
	for name := range names {
		if !strings.HasPrefix(name, "SQL: ") {
			t.Errorf("region %q", name)
		}
		for _, secret := range []string{"skip", "one", "SKIP", "ONE", "=", "7"} {
			if strings.Contains(strings.TrimPrefix(name, "SQL: "), secret) && !strings.Contains(name, "WHERE c = ?") && !strings.Contains(name, "SKIP a") && !strings.Contains(name, "SET a = ?") {
				t.Errorf("region %q holds %q", name, secret)
			}
		}
	}
	for _, want := range []string{
		"SQL: SELECT a, b FROM t WHERE c = ?", "SQL: UPDATE t SET a = ?", "SQL: INSERT INTO t VALUES (?, ?)",
		sqlprof.FrameBegin, sqlprof.FrameCommit, sqlprof.FrameRollback,
	} {
		if names[want] == 0 {
			t.Errorf("%s: no region %q in %v", kind, want, names)
		}
	}
}

func diff(a, b []string) string {
	if slices.Equal(a, b) {
		return ""
	}
	var out strings.Builder
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	fmt.Fprintf(&out, "first difference at line %d:\n", i+1)
	for j := i; j < len(a) && j < i+5; j++ {
		fmt.Fprintf(&out, "- %s\n", a[j])
	}
	for j := i; j < len(b) && j < i+5; j++ {
		fmt.Fprintf(&out, "+ %s\n", b[j])
	}
	return out.String()
}

// The wrapped connections, statements and rows have an optional interface
// exactly when the wrapped ones do, for the interfaces whose mere presence
// changes what database/sql does; the others are always there and behave
// as database/sql does without them.
func TestInterfaces(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil { // rows are wrapped while tracing
		t.Skipf("cannot trace: %v", err)
	}
	defer trace.Stop()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			d, _ := newFake(kind)
			c, err := sqlprof.Wrap(&fakeConnector{d: fakeOf(d)}).Connect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			under := fakeOf(d).newConn()
			same := func(what string, got, want bool) {
				t.Helper()
				if got != want {
					t.Errorf("%s: wrapped has it: %v, underlying: %v", what, got, want)
				}
			}
			_, r := c.(driver.SessionResetter)
			_, r0 := under.(driver.SessionResetter)
			same("SessionResetter", r, r0)
			_, v := c.(driver.Validator)
			_, v0 := under.(driver.Validator)
			same("Validator", v, v0)
			for _, always := range []bool{
				is[driver.QueryerContext](c), is[driver.ExecerContext](c), is[driver.ConnPrepareContext](c),
				is[driver.ConnBeginTx](c), is[driver.Pinger](c), is[driver.NamedValueChecker](c),
			} {
				if !always {
					t.Errorf("the wrapped conn lacks a context interface: %T", c)
				}
			}
			if is[driver.Queryer](c) || is[driver.Execer](c) {
				t.Errorf("the wrapped conn has a legacy interface")
			}

			s, err := c.Prepare("SELECT a, b FROM t WHERE c = ?")
			if err != nil {
				t.Fatal(err)
			}
			s0, _ := under.Prepare("SELECT a, b FROM t WHERE c = ?")
			same("ColumnConverter", is[driver.ColumnConverter](s), is[driver.ColumnConverter](s0))
			if !is[driver.StmtExecContext](s) || !is[driver.StmtQueryContext](s) || !is[driver.NamedValueChecker](s) {
				t.Errorf("the wrapped stmt lacks a context interface: %T", s)
			}
			rows, err := s.(driver.StmtQueryContext).QueryContext(context.Background(), []driver.NamedValue{{Ordinal: 1, Value: int64(1)}})
			if err != nil {
				t.Fatal(err)
			}
			var rows0 driver.Rows
			if qc, ok := s0.(driver.StmtQueryContext); ok {
				rows0, _ = qc.QueryContext(context.Background(), []driver.NamedValue{{Ordinal: 1, Value: int64(1)}})
			} else {
				rows0, _ = s0.Query([]driver.Value{int64(1)})
			}
			same("RowsNextResultSet", is[driver.RowsNextResultSet](rows), is[driver.RowsNextResultSet](rows0))
			rows.Close()
			s.Close()
			if got := sqlprof.Unwrap(c); reflect.TypeOf(got) != reflect.TypeOf(under) {
				t.Errorf("Unwrap gives %T, want %T", got, under)
			}
			if got := sqlprof.Unwrap(under); got != under {
				t.Errorf("Unwrap of an unwrapped conn gives %v", got)
			}
			c.Close()
		})
	}
}

func fakeOf(d driver.Driver) *fakeDriver {
	if f, ok := d.(fullDriver); ok {
		return f.fakeDriver
	}
	return d.(*fakeDriver)
}

func is[T any](v any) bool {
	_, ok := v.(T)
	return ok
}

// Open finds the driver by name, uses its connector when it has one and
// adapts it otherwise; the wrapped connector closes the underlying one.
func TestOpen(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			rec := registered[kind]
			rec.take()
			db, err := sqlprof.Open("sqlprof-fake-"+kind, "the-dsn")
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Ping(); err != nil {
				t.Fatal(err)
			}
			if _, ok := db.Driver().(driver.DriverContext); !ok {
				t.Errorf("the wrapped driver %T has no OpenConnector", db.Driver())
			}
			db.Close()
			calls := strings.Join(rec.take(), "; ")
			want := "driver.Open the-dsn"
			if kind == "full" {
				want = "connector.Connect the-dsn"
			}
			if !strings.Contains(calls, want) {
				t.Errorf("calls %q, want %q", calls, want)
			}
		})
	}
	if _, err := sqlprof.Open("no-such-driver", ""); err == nil {
		t.Error("Open of an unknown driver succeeded")
	}

	// Closing the database closes a connector that is an io.Closer.
	d, rec := newFake("full")
	db := sql.OpenDB(sqlprof.Wrap(closingConnector{&fakeConnector{d: fakeOf(d), name: "x"}}))
	db.Close()
	if calls := rec.take(); !slices.Contains(calls, "connector.Close") {
		t.Errorf("the underlying connector was not closed: %q", calls)
	}
	// Wrapping again replaces the options, without nesting.
	w := sqlprof.Wrap(sqlprof.Wrap(&fakeConnector{d: fakeOf(d)}, sqlprof.MaxLen(5)))
	c, err := w.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sqlprof.Unwrap(c).(*fullConn); !ok {
		t.Errorf("a connector wrapped twice gives connections wrapped twice: %T", sqlprof.Unwrap(c))
	}
	// The wrapped driver's connections are wrapped.
	c, err = w.Driver().Open("y")
	if err != nil {
		t.Fatal(err)
	}
	if sqlprof.Unwrap(c) == c {
		t.Errorf("the wrapped driver's Open gives an unwrapped %T", c)
	}
}
