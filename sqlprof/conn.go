package sqlprof

//lint:file-ignore SA1019 a driver wrapper forwards and adapts the deprecated driver interfaces, as database/sql does

import (
	"context"
	"database/sql/driver"
	"errors"
	"runtime/trace"

	"github.com/reqprof/reqprof/sqlprof/internal/sqlname"
)

// conn wraps a driver connection.
//
// It implements the optional interfaces that database/sql gives a defined
// behaviour when they are absent, and reproduces that behaviour when the
// underlying connection lacks them: QueryerContext and ExecerContext
// (driver.ErrSkip, so database/sql prepares a statement; or the legacy
// Queryer and Execer, adapted as database/sql does), ConnPrepareContext,
// ConnBeginTx, Pinger and NamedValueChecker. SessionResetter and Validator
// change what database/sql does with a connection after a rolled back
// transaction when both are present, so they are implemented only when the
// underlying connection has them: the types connR, connV and connRV.
type conn struct {
	c   driver.Conn
	cfg *config

	qc   driver.QueryerContext
	q    driver.Queryer
	ec   driver.ExecerContext
	e    driver.Execer
	pc   driver.ConnPrepareContext
	bt   driver.ConnBeginTx
	ping driver.Pinger
	nvc  driver.NamedValueChecker
}

type connR struct{ *conn }
type connV struct{ *conn }
type connRV struct{ *conn }

func (c connR) ResetSession(ctx context.Context) error {
	return c.c.(driver.SessionResetter).ResetSession(ctx)
}
func (c connV) IsValid() bool { return c.c.(driver.Validator).IsValid() }
func (c connRV) ResetSession(ctx context.Context) error {
	return c.c.(driver.SessionResetter).ResetSession(ctx)
}
func (c connRV) IsValid() bool { return c.c.(driver.Validator).IsValid() }

// The interfaces each wrapper type has.
var (
	_ interface {
		driver.Conn
		driver.QueryerContext
		driver.ExecerContext
		driver.ConnPrepareContext
		driver.ConnBeginTx
		driver.Pinger
		driver.NamedValueChecker
	} = (*conn)(nil)
	_ driver.SessionResetter = connR{}
	_ driver.Validator       = connV{}
	_ interface {
		driver.SessionResetter
		driver.Validator
	} = connRV{}
)

func newConn(dc driver.Conn, cfg *config) driver.Conn {
	c := &conn{c: dc, cfg: cfg}
	c.qc, _ = dc.(driver.QueryerContext)
	c.q, _ = dc.(driver.Queryer)
	c.ec, _ = dc.(driver.ExecerContext)
	c.e, _ = dc.(driver.Execer)
	c.pc, _ = dc.(driver.ConnPrepareContext)
	c.bt, _ = dc.(driver.ConnBeginTx)
	c.ping, _ = dc.(driver.Pinger)
	c.nvc, _ = dc.(driver.NamedValueChecker)
	_, r := dc.(driver.SessionResetter)
	_, v := dc.(driver.Validator)
	switch {
	case r && v:
		return connRV{c}
	case r:
		return connR{c}
	case v:
		return connV{c}
	}
	return c
}

func (c *conn) base() *conn { return c }

func (c *conn) Close() error { return c.c.Close() }

// --- queries -------------------------------------------------------------------

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.qc == nil && c.q == nil {
		return nil, driver.ErrSkip
	}
	if !trace.IsEnabled() {
		return c.query(ctx, query, args)
	}
	return c.tracedQuery(ctx, query, args)
}

func (c *conn) tracedQuery(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	n := c.cfg.Name(query)
	defer n.Start(ctx).End()
	rows, err := c.query(ctx, query, args)
	if err != nil {
		return rows, err
	}
	return wrapRows(ctx, rows, n), nil
}

// query is database/sql's ctxDriverQuery.
func (c *conn) query(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.qc != nil {
		return c.qc.QueryContext(ctx, query, args)
	}
	dargs, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.q.Query(query, dargs)
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.ec == nil && c.e == nil {
		return nil, driver.ErrSkip
	}
	if !trace.IsEnabled() {
		return c.exec(ctx, query, args)
	}
	return c.tracedExec(ctx, query, args)
}

func (c *conn) tracedExec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	defer c.cfg.Name(query).Start(ctx).End()
	return c.exec(ctx, query, args)
}

// exec is database/sql's ctxDriverExec.
func (c *conn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.ec != nil {
		return c.ec.ExecContext(ctx, query, args)
	}
	dargs, err := namedValueToValue(args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.e.Exec(query, dargs)
}

// CheckNamedValue checks the arguments of QueryContext and ExecContext
// (database/sql asks the statement when there is one): the underlying
// connection's checker when it has one. When it has neither Queryer nor
// Execer, QueryContext and ExecContext return driver.ErrSkip, database/sql
// prepares a statement and converts the original arguments for it: the
// values are accepted as they are here, as database/sql would not have
// converted them at all. Otherwise driver.ErrSkip asks database/sql for its
// default conversion, which it would have used. (A driver with a Queryer
// but no Execer, or the reverse, without a NamedValueChecker, has the
// arguments of the missing one converted by default once more than
// without the wrapper, before the statement converts them.)
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if c.nvc != nil {
		return c.nvc.CheckNamedValue(nv)
	}
	if c.qc == nil && c.q == nil && c.ec == nil && c.e == nil {
		return nil
	}
	return driver.ErrSkip
}

// --- statements --------------------------------------------------------------

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	if !trace.IsEnabled() {
		si, err := c.c.Prepare(query)
		if err != nil {
			return nil, err
		}
		return c.wrapStmt(si, query, nil), nil
	}
	n := c.cfg.Name(query)
	defer n.Start(context.Background()).End()
	si, err := c.c.Prepare(query)
	if err != nil {
		return nil, err
	}
	return c.wrapStmt(si, query, n), nil
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if !trace.IsEnabled() {
		si, err := c.prepare(ctx, query)
		if err != nil {
			return nil, err
		}
		return c.wrapStmt(si, query, nil), nil
	}
	return c.tracedPrepare(ctx, query)
}

func (c *conn) tracedPrepare(ctx context.Context, query string) (driver.Stmt, error) {
	n := c.cfg.Name(query)
	defer n.Start(ctx).End()
	si, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return c.wrapStmt(si, query, n), nil
}

// prepare is database/sql's ctxDriverPrepare.
func (c *conn) prepare(ctx context.Context, query string) (driver.Stmt, error) {
	if c.pc != nil {
		return c.pc.PrepareContext(ctx, query)
	}
	si, err := c.c.Prepare(query)
	if err == nil && ctx.Err() != nil {
		si.Close()
		return nil, ctx.Err()
	}
	return si, err
}

// --- transactions --------------------------------------------------------------

func (c *conn) Begin() (driver.Tx, error) {
	if !trace.IsEnabled() {
		return c.c.Begin()
	}
	ctx := context.Background()
	defer sqlname.StartRegion(ctx, FrameBegin).End()
	t, err := c.c.Begin()
	if err != nil {
		return nil, err
	}
	return &tx{t: t, ctx: ctx}, nil
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if !trace.IsEnabled() {
		return c.begin(ctx, opts)
	}
	return c.tracedBegin(ctx, opts)
}

func (c *conn) tracedBegin(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	defer sqlname.StartRegion(ctx, FrameBegin).End()
	t, err := c.begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &tx{t: t, ctx: ctx}, nil
}

// begin is database/sql's ctxDriverBegin.
func (c *conn) begin(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.bt != nil {
		return c.bt.BeginTx(ctx, opts)
	}
	if opts.Isolation != driver.IsolationLevel(0) {
		return nil, errors.New("sql: driver does not support non-default isolation level")
	}
	if opts.ReadOnly {
		return nil, errors.New("sql: driver does not support read-only transactions")
	}
	t, err := c.c.Begin()
	if err == nil && ctx.Err() != nil {
		t.Rollback()
		return nil, ctx.Err()
	}
	return t, err
}

// tx wraps a transaction begun while tracing was on.
type tx struct {
	t   driver.Tx
	ctx context.Context
}

func (t *tx) Commit() error {
	if !trace.IsEnabled() {
		return t.t.Commit()
	}
	defer sqlname.StartRegion(t.ctx, FrameCommit).End()
	return t.t.Commit()
}

func (t *tx) Rollback() error {
	if !trace.IsEnabled() {
		return t.t.Rollback()
	}
	defer sqlname.StartRegion(t.ctx, FrameRollback).End()
	return t.t.Rollback()
}

// --- the rest --------------------------------------------------------------------

func (c *conn) Ping(ctx context.Context) error {
	if c.ping == nil {
		return nil // database/sql does not ping a connection without Pinger
	}
	return c.ping.Ping(ctx)
}

func namedValueToValue(named []driver.NamedValue) ([]driver.Value, error) {
	dargs := make([]driver.Value, len(named))
	for n, param := range named {
		if len(param.Name) > 0 {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		dargs[n] = param.Value
	}
	return dargs, nil
}
