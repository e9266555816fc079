package sqlprof_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
)

// Fake drivers that log every call, with three sets of optional
// interfaces:
//
//   - "minimal": driver.Conn, Stmt, Rows and Tx only;
//   - "legacy": the deprecated Queryer and Execer, and a Stmt with a
//     ColumnConverter;
//   - "full": every optional interface of conns, statements and rows, and
//     driver.DriverContext.

type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.log = append(r.log, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log
	r.log = nil
	return l
}

// upper is an argument type with a driver.Valuer that logs its calls.
type upper struct {
	s   string
	rec *recorder
}

func (u upper) Value() (driver.Value, error) {
	u.rec.add("Valuer.Value %s", u.s)
	return strings.ToUpper(u.s), nil
}

func fmtArgs(args []driver.NamedValue) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a.Name != "" {
			b.WriteString(a.Name + "=")
		}
		fmt.Fprintf(&b, "%d:%v", a.Ordinal, a.Value)
	}
	return b.String()
}

func fmtValues(args []driver.Value) string { return fmt.Sprint(args) }

// --- minimal -------------------------------------------------------------------

type fakeDriver struct {
	kind string
	rec  *recorder
}

func (d *fakeDriver) Open(name string) (driver.Conn, error) {
	d.rec.add("driver.Open %s", name)
	return d.newConn(), nil
}

func (d *fakeDriver) newConn() driver.Conn {
	m := &minConn{rec: d.rec}
	switch d.kind {
	case "legacy":
		return &legacyConn{m}
	case "full":
		return &fullConn{m}
	}
	return m
}

type fullDriver struct{ *fakeDriver }

func (d fullDriver) OpenConnector(name string) (driver.Connector, error) {
	d.rec.add("driver.OpenConnector %s", name)
	return &fakeConnector{d: d.fakeDriver, name: name}, nil
}

type fakeConnector struct {
	d    *fakeDriver
	name string
}

func (c *fakeConnector) Connect(context.Context) (driver.Conn, error) {
	c.d.rec.add("connector.Connect %s", c.name)
	return c.d.newConn(), nil
}

func (c *fakeConnector) Driver() driver.Driver { return fullDriver{c.d} }

type closingConnector struct{ *fakeConnector }

func (c closingConnector) Close() error {
	c.d.rec.add("connector.Close")
	return nil
}

type minConn struct {
	rec *recorder
}

func (c *minConn) Prepare(query string) (driver.Stmt, error) {
	c.rec.add("conn.Prepare %s", query)
	return c.newStmt(query, false), nil
}

func (c *minConn) newStmt(query string, legacy bool) driver.Stmt {
	s := &minStmt{rec: c.rec, query: query}
	if legacy {
		return &legacyStmt{s}
	}
	return s
}

func (c *minConn) Close() error {
	c.rec.add("conn.Close")
	return nil
}

func (c *minConn) Begin() (driver.Tx, error) {
	c.rec.add("conn.Begin")
	return &fakeTx{rec: c.rec}, nil
}

type fakeTx struct{ rec *recorder }

func (t *fakeTx) Commit() error {
	t.rec.add("tx.Commit")
	return nil
}

func (t *fakeTx) Rollback() error {
	t.rec.add("tx.Rollback")
	return nil
}

type minStmt struct {
	rec   *recorder
	query string
}

func (s *minStmt) Close() error {
	s.rec.add("stmt.Close %s", s.query)
	return nil
}

func (s *minStmt) NumInput() int { return strings.Count(s.query, "?") }

func (s *minStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.rec.add("stmt.Exec %s %s", s.query, fmtValues(args))
	return driver.RowsAffected(3), nil
}

func (s *minStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.rec.add("stmt.Query %s %s", s.query, fmtValues(args))
	return newRows(s.rec, false), nil
}

type minRows struct {
	rec *recorder
	n   int
}

func newRows(rec *recorder, full bool) driver.Rows {
	r := &minRows{rec: rec}
	if full {
		return &fullRows{r, 0}
	}
	return r
}

func (r *minRows) Columns() []string { return []string{"a", "b"} }

func (r *minRows) Close() error {
	r.rec.add("rows.Close")
	return nil
}

func (r *minRows) Next(dest []driver.Value) error {
	r.rec.add("rows.Next")
	if r.n >= 2 {
		return io.EOF
	}
	r.n++
	dest[0] = int64(r.n)
	dest[1] = fmt.Sprint("row", r.n)
	return nil
}

// --- legacy --------------------------------------------------------------------

type legacyConn struct{ *minConn }

func (c *legacyConn) Prepare(query string) (driver.Stmt, error) {
	c.rec.add("conn.Prepare %s", query)
	return c.newStmt(query, true), nil
}

func (c *legacyConn) Query(query string, args []driver.Value) (driver.Rows, error) {
	c.rec.add("conn.Query %s %s", query, fmtValues(args))
	if strings.HasPrefix(query, "SKIP") {
		return nil, driver.ErrSkip
	}
	return newRows(c.rec, false), nil
}

func (c *legacyConn) Exec(query string, args []driver.Value) (driver.Result, error) {
	c.rec.add("conn.Exec %s %s", query, fmtValues(args))
	return driver.RowsAffected(2), nil
}

type legacyStmt struct{ *minStmt }

func (s *legacyStmt) ColumnConverter(idx int) driver.ValueConverter {
	s.rec.add("stmt.ColumnConverter %d", idx)
	return driver.DefaultParameterConverter
}

// --- full ------------------------------------------------------------------------

type fullConn struct{ *minConn }

func (c *fullConn) Prepare(query string) (driver.Stmt, error) {
	c.rec.add("conn.Prepare %s", query)
	return &fullStmt{&minStmt{rec: c.rec, query: query}}, nil
}

func (c *fullConn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	c.rec.add("conn.PrepareContext %s", query)
	return &fullStmt{&minStmt{rec: c.rec, query: query}}, nil
}

func (c *fullConn) BeginTx(_ context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.rec.add("conn.BeginTx %d %v", opts.Isolation, opts.ReadOnly)
	return &fakeTx{rec: c.rec}, nil
}

func (c *fullConn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.rec.add("conn.QueryContext %s %s", query, fmtArgs(args))
	if strings.HasPrefix(query, "SKIP") {
		return nil, driver.ErrSkip
	}
	return newRows(c.rec, true), nil
}

func (c *fullConn) ExecContext(_ context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.rec.add("conn.ExecContext %s %s", query, fmtArgs(args))
	return driver.RowsAffected(1), nil
}

func (c *fullConn) Ping(context.Context) error {
	c.rec.add("conn.Ping")
	return nil
}

func (c *fullConn) ResetSession(context.Context) error {
	c.rec.add("conn.ResetSession")
	return nil
}

func (c *fullConn) IsValid() bool {
	c.rec.add("conn.IsValid")
	return true
}

func (c *fullConn) CheckNamedValue(nv *driver.NamedValue) error {
	c.rec.add("conn.CheckNamedValue %d %T", nv.Ordinal, nv.Value)
	if u, ok := nv.Value.(upper); ok {
		nv.Value = "conn-checked:" + u.s
		return nil
	}
	return driver.ErrSkip
}

type fullStmt struct{ *minStmt }

func (s *fullStmt) ExecContext(_ context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.rec.add("stmt.ExecContext %s %s", s.query, fmtArgs(args))
	return driver.RowsAffected(4), nil
}

func (s *fullStmt) QueryContext(_ context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.rec.add("stmt.QueryContext %s %s", s.query, fmtArgs(args))
	return newRows(s.rec, true), nil
}

func (s *fullStmt) CheckNamedValue(nv *driver.NamedValue) error {
	s.rec.add("stmt.CheckNamedValue %d %T", nv.Ordinal, nv.Value)
	if u, ok := nv.Value.(upper); ok {
		nv.Value = "stmt-checked:" + u.s
		return nil
	}
	return driver.ErrSkip
}

type fullRows struct {
	*minRows
	set int
}

func (r *fullRows) HasNextResultSet() bool {
	r.rec.add("rows.HasNextResultSet")
	return r.set == 0
}

func (r *fullRows) NextResultSet() error {
	r.rec.add("rows.NextResultSet")
	if r.set > 0 {
		return io.EOF
	}
	r.set++
	r.n = 1 // one more row
	return nil
}

func (r *fullRows) ColumnTypeScanType(i int) reflect.Type {
	if i == 0 {
		return reflect.TypeFor[int64]()
	}
	return reflect.TypeFor[string]()
}

func (r *fullRows) ColumnTypeDatabaseTypeName(i int) string { return fmt.Sprint("TYPE", i) }

func (r *fullRows) ColumnTypeLength(i int) (int64, bool) { return int64(10 + i), true }

func (r *fullRows) ColumnTypeNullable(i int) (bool, bool) { return i == 1, true }

func (r *fullRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return int64(i), 2, i == 0
}

// newFake returns a fake driver of the kind, and the recorder of its calls.
func newFake(kind string) (driver.Driver, *recorder) {
	rec := &recorder{}
	d := &fakeDriver{kind: kind, rec: rec}
	if kind == "full" {
		return fullDriver{d}, rec
	}
	return d, rec
}

// registered holds the recorders of the fake drivers registered as
// "sqlprof-fake-<kind>".
var registered = map[string]*recorder{}

func init() {
	for _, kind := range []string{"minimal", "legacy", "full"} {
		d, rec := newFake(kind)
		sql.Register("sqlprof-fake-"+kind, d)
		registered[kind] = rec
	}
}
