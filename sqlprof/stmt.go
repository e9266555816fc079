package sqlprof

//lint:file-ignore SA1019 a driver wrapper forwards and adapts the deprecated driver interfaces, as database/sql does

import (
	"context"
	"database/sql/driver"
	"reflect"
	"runtime/trace"
	"sync/atomic"

	"github.com/reqprof/reqprof/sqlprof/internal/sqlname"
)

// stmt wraps a prepared statement. Statements are always wrapped, tracing
// or not, as they are often prepared once and used for long.
//
// It implements StmtExecContext and StmtQueryContext (adapting the legacy
// methods as database/sql does) and NamedValueChecker (the statement's
// checker, else its connection's, as database/sql asks them in that order,
// else driver.ErrSkip, which leads database/sql to the column converter or
// its default conversion, as without a checker). ColumnConverter changes
// database/sql's conversions by its mere presence: stmtCC has it when the
// underlying statement does.
type stmt struct {
	s    driver.Stmt
	conn *conn
	text string
	name atomic.Pointer[sqlname.Name]

	ec  driver.StmtExecContext
	qc  driver.StmtQueryContext
	nvc driver.NamedValueChecker
}

type stmtCC struct{ *stmt }

func (s stmtCC) ColumnConverter(idx int) driver.ValueConverter {
	return s.s.(driver.ColumnConverter).ColumnConverter(idx)
}

var (
	_ interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
		driver.NamedValueChecker
	} = (*stmt)(nil)
	_ driver.ColumnConverter = stmtCC{}
)

func (c *conn) wrapStmt(si driver.Stmt, query string, n *sqlname.Name) driver.Stmt {
	s := &stmt{s: si, conn: c, text: query}
	if n != nil {
		s.name.Store(n)
	}
	s.ec, _ = si.(driver.StmtExecContext)
	s.qc, _ = si.(driver.StmtQueryContext)
	s.nvc, _ = si.(driver.NamedValueChecker)
	if _, ok := si.(driver.ColumnConverter); ok {
		return stmtCC{s}
	}
	return s
}

// regionName returns the statement's name, computed when first needed.
func (s *stmt) regionName() *sqlname.Name {
	if n := s.name.Load(); n != nil {
		return n
	}
	n := s.conn.cfg.Name(s.text)
	s.name.Store(n)
	return n
}

func (s *stmt) NumInput() int { return s.s.NumInput() }

func (s *stmt) Close() error {
	if !trace.IsEnabled() {
		return s.s.Close()
	}
	defer sqlname.StartRegion(context.Background(), s.regionName().Region).End()
	return s.s.Close()
}

func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if s.nvc != nil {
		return s.nvc.CheckNamedValue(nv)
	}
	if s.conn.nvc != nil {
		return s.conn.nvc.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	if !trace.IsEnabled() {
		return s.s.Exec(args)
	}
	defer s.regionName().Start(context.Background()).End()
	return s.s.Exec(args)
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	if !trace.IsEnabled() {
		return s.s.Query(args)
	}
	ctx := context.Background()
	n := s.regionName()
	defer n.Start(ctx).End()
	rows, err := s.s.Query(args)
	if err != nil {
		return rows, err
	}
	return wrapRows(ctx, rows, n), nil
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if !trace.IsEnabled() {
		return s.exec(ctx, args)
	}
	defer s.regionName().Start(ctx).End()
	return s.exec(ctx, args)
}

// exec is database/sql's ctxDriverStmtExec.
func (s *stmt) exec(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.ec != nil {
		return s.ec.ExecContext(ctx, args)
	}
	dargs, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.s.Exec(dargs)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if !trace.IsEnabled() {
		return s.query(ctx, args)
	}
	n := s.regionName()
	defer n.Start(ctx).End()
	rows, err := s.query(ctx, args)
	if err != nil {
		return rows, err
	}
	return wrapRows(ctx, rows, n), nil
}

// query is database/sql's ctxDriverStmtQuery.
func (s *stmt) query(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.qc != nil {
		return s.qc.QueryContext(ctx, args)
	}
	dargs, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.s.Query(dargs)
}

// --- rows --------------------------------------------------------------------------

// rows wraps the rows of a query run while tracing was on: fetching rows
// (Next, NextResultSet) and closing them run in the statement's region, one
// region per call, so that the time the driver spends reading rows is the
// statement's, while the caller's own work between rows is not.
//
// It implements the RowsColumnType interfaces, giving database/sql's
// defaults when the underlying rows lack one; RowsNextResultSet changes
// what database/sql does at the end of the rows by its mere presence:
// rowsNRS has it when the underlying rows do.
type rows struct {
	r    driver.Rows
	ctx  context.Context
	name *sqlname.Name
}

type rowsNRS struct{ *rows }

var (
	_ interface {
		driver.Rows
		driver.RowsColumnTypeScanType
		driver.RowsColumnTypeDatabaseTypeName
		driver.RowsColumnTypeLength
		driver.RowsColumnTypeNullable
		driver.RowsColumnTypePrecisionScale
	} = (*rows)(nil)
	_ driver.RowsNextResultSet = rowsNRS{}
)

func wrapRows(ctx context.Context, r driver.Rows, n *sqlname.Name) driver.Rows {
	if r == nil {
		return nil
	}
	w := &rows{r: r, ctx: ctx, name: n}
	if _, ok := r.(driver.RowsNextResultSet); ok {
		return rowsNRS{w}
	}
	return w
}

func (r *rows) Columns() []string { return r.r.Columns() }

func (r *rows) Close() error {
	if !trace.IsEnabled() {
		return r.r.Close()
	}
	defer sqlname.StartRegion(r.ctx, r.name.Region).End()
	return r.r.Close()
}

func (r *rows) Next(dest []driver.Value) error {
	if !trace.IsEnabled() {
		return r.r.Next(dest)
	}
	defer sqlname.StartRegion(r.ctx, r.name.Region).End()
	return r.r.Next(dest)
}

func (r rowsNRS) HasNextResultSet() bool {
	return r.r.(driver.RowsNextResultSet).HasNextResultSet()
}

func (r rowsNRS) NextResultSet() error {
	nrs := r.r.(driver.RowsNextResultSet)
	if !trace.IsEnabled() {
		return nrs.NextResultSet()
	}
	defer sqlname.StartRegion(r.ctx, r.name.Region).End()
	return nrs.NextResultSet()
}

func (r *rows) ColumnTypeScanType(index int) reflect.Type {
	if p, ok := r.r.(driver.RowsColumnTypeScanType); ok {
		return p.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}

func (r *rows) ColumnTypeDatabaseTypeName(index int) string {
	if p, ok := r.r.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return p.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

func (r *rows) ColumnTypeLength(index int) (length int64, ok bool) {
	if p, ok := r.r.(driver.RowsColumnTypeLength); ok {
		return p.ColumnTypeLength(index)
	}
	return 0, false
}

func (r *rows) ColumnTypeNullable(index int) (nullable, ok bool) {
	if p, ok := r.r.(driver.RowsColumnTypeNullable); ok {
		return p.ColumnTypeNullable(index)
	}
	return false, false
}

func (r *rows) ColumnTypePrecisionScale(index int) (precision, scale int64, ok bool) {
	if p, ok := r.r.(driver.RowsColumnTypePrecisionScale); ok {
		return p.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}
