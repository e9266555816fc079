// Package pgxtrace attributes the time of pgx's native API (pgx.Conn,
// pgxpool.Pool) to SQL statements in reqprof profiles, as package sqlprof
// does for database/sql: a statement's time appears under a frame named
// "SQL: <statement>".
//
// # Usage
//
//	cfg, err := pgxpool.ParseConfig(dsn)
//	if err != nil { ... }
//	pgxtrace.Configure(cfg.ConnConfig) // before creating the pool
//	pool, err := pgxpool.NewWithConfig(ctx, cfg)
//
// or, for one connection, pgxtrace.Configure(connConfig) before
// pgx.ConnectConfig(ctx, connConfig). Configure keeps a tracer already in
// the configuration (both run, through pgx's multitracer).
//
// # Frames
//
//   - "SQL: <statement>" for Query, QueryRow, Exec, Prepare, and each
//     statement of a batch (SendBatch), the statement text as pgx was given
//     it (never the arguments), white space collapsed, at most 120 runes
//     (sqlprof.MaxLen), the full text logged under sqlprof.LogCategory when
//     truncated. pgx runs transactions as statements: "SQL: begin",
//     "SQL: commit", "SQL: rollback", as pgx sends them. What pgx prepares
//     on its own for an operation (a query's statement description) is
//     part of that operation's frame.
//   - "SQL: COPY <table> (<columns>) FROM STDIN" for CopyFrom (with the
//     query pgx makes to learn the columns' types).
//   - "SQL: CONNECT" for establishing a connection.
//
// # What the frames hold, and why not more
//
// A region frame needs a runtime/trace region that starts and ends on one
// goroutine, properly nested with every other region of that goroutine: a
// region ended on another goroutine, or out of order, makes the execution
// trace unreadable (the parser rejects the whole trace, so no profile of
// that period can be made). pgx's tracer hooks cannot guarantee that for
// queries: TraceQueryStart runs in Conn.Query, on the caller's goroutine,
// but TraceQueryEnd runs when the rows are closed, which may be on another
// goroutine and is after arbitrary caller code (a region the caller starts
// while reading the rows, pgx.CollectRows inside trace.WithRegion, two
// queries' rows closed in the order they were opened). Exec, Prepare,
// CopyFrom and connecting call both hooks within one call, but the hooks
// cannot tell an Exec from a Query.
//
// So the tracer only notes which statement a connection is running, and the
// connection's network I/O runs in that statement's region, one region per
// Read or Write call on the connection: always on one goroutine, always
// nested. Configure installs both parts: the Tracer, and a dial function
// that wraps the connections (under TLS, which stays the outermost layer,
// so channel binding keeps working). A statement's frame therefore holds
// the time spent sending it and waiting for and reading its results (on a
// network, the "[wait: network]" beneath it) and not pgx's own encoding and
// decoding (which appears beside it, in pgx's frames under the caller's
// call). A row read from pgx's buffer without I/O is not in the frame.
// Connecting happens within one pgx call: "SQL: CONNECT" is a region over
// the whole of it.
//
// Don't combine this with sqlprof over pgx's database/sql driver on the
// same connections: the frames would nest twice.
//
// When tracing is off (no profile is being taken), the hooks and the
// wrapped connections check runtime/trace.IsEnabled and do nothing else.
package pgxtrace

import (
	"context"
	"crypto/tls"
	"net"
	"runtime/trace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/sqlprof/internal/sqlname"
)

// Configure sets cfg up for SQL attribution: it installs a Tracer (beside
// cfg.Tracer, if any) and wraps cfg.DialFunc with WrapDial. Call it before
// connecting or creating a pool with cfg (for pgxpool, on its ConnConfig).
func Configure(cfg *pgx.ConnConfig, opts ...sqlprof.Option) {
	t := New(opts...)
	switch old := cfg.Tracer.(type) {
	case nil:
		cfg.Tracer = t
	case *multitracer.Tracer:
		m := *old
		m.QueryTracers = append(m.QueryTracers[:len(m.QueryTracers):len(m.QueryTracers)], t)
		m.BatchTracers = append(m.BatchTracers[:len(m.BatchTracers):len(m.BatchTracers)], t)
		m.CopyFromTracers = append(m.CopyFromTracers[:len(m.CopyFromTracers):len(m.CopyFromTracers)], t)
		m.PrepareTracers = append(m.PrepareTracers[:len(m.PrepareTracers):len(m.PrepareTracers)], t)
		m.ConnectTracers = append(m.ConnectTracers[:len(m.ConnectTracers):len(m.ConnectTracers)], t)
		cfg.Tracer = &m
	default:
		cfg.Tracer = multitracer.New(old, t)
	}
	cfg.DialFunc = WrapDial(cfg.DialFunc)
}

// WrapDial returns a dial function whose connections run each Read and
// Write in the region of the statement that a Tracer says the pgx
// connection is running. nil wraps pgx's default dialer.
func WrapDial(dial pgconn.DialFunc) pgconn.DialFunc {
	if dial == nil {
		d := &net.Dialer{KeepAlive: 5 * time.Minute}
		dial = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &conn{Conn: c}, nil
	}
}

// Tracer is a pgx tracer (pgx.QueryTracer, BatchTracer, CopyFromTracer,
// PrepareTracer and ConnectTracer) that tells connections dialled through
// WrapDial which statement they run. On connections not dialled through
// WrapDial it only adds the "SQL: CONNECT" frames.
type Tracer struct {
	cfg *sqlname.Config
}

var (
	_ pgx.QueryTracer    = (*Tracer)(nil)
	_ pgx.BatchTracer    = (*Tracer)(nil)
	_ pgx.CopyFromTracer = (*Tracer)(nil)
	_ pgx.PrepareTracer  = (*Tracer)(nil)
	_ pgx.ConnectTracer  = (*Tracer)(nil)
)

// New returns a Tracer; sqlprof.MaxLen bounds the statement text in frame
// names.
func New(opts ...sqlprof.Option) *Tracer {
	cfg := sqlname.NewConfig()
	for _, o := range opts {
		if o != nil {
			o(cfg)
		}
	}
	return &Tracer{cfg: cfg}
}

// --- the connection ------------------------------------------------------------

// conn is a network connection of a pgx connection.
type conn struct {
	net.Conn
	cur atomic.Pointer[op] // the statement running, innermost first
}

// op is a statement, or a batch of them, that a connection runs.
type op struct {
	ctx    context.Context
	names  []*sqlname.Name // one, or a batch's in order
	next   atomic.Int32    // for a batch: the statement whose results are read next
	logged atomic.Int32    // 1 + the index of the last name whose full text was logged
	prev   *op
}

func (o *op) name() (*sqlname.Name, int32) {
	i := min(int(o.next.Load()), len(o.names)-1)
	return o.names[i], int32(i)
}

// start starts the region of the op's current statement; the first region
// of a truncated statement logs its full text.
func (o *op) start() *trace.Region {
	n, i := o.name()
	if n.Full != "" && o.logged.Swap(i+1) != i+1 {
		return n.Start(o.ctx)
	}
	return sqlname.StartRegion(o.ctx, n.Region)
}

func (c *conn) Read(b []byte) (int, error) {
	if !trace.IsEnabled() {
		return c.Conn.Read(b)
	}
	o := c.cur.Load()
	if o == nil {
		return c.Conn.Read(b)
	}
	defer o.start().End()
	return c.Conn.Read(b)
}

func (c *conn) Write(b []byte) (int, error) {
	if !trace.IsEnabled() {
		return c.Conn.Write(b)
	}
	o := c.cur.Load()
	if o == nil {
		return c.Conn.Write(b)
	}
	defer o.start().End()
	return c.Conn.Write(b)
}

// push makes o the connection's current statement.
func (c *conn) push(o *op) {
	for {
		prev := c.cur.Load()
		o.prev = prev
		if c.cur.CompareAndSwap(prev, o) {
			return
		}
	}
}

// pop ends o, the current statement, restoring the one it interrupted (a
// query's statement description is prepared within the query). An op that
// is no longer current is left alone.
func (c *conn) pop(o *op) { c.cur.CompareAndSwap(o, o.prev) }

// connOf returns the wrapped network connection of a pgx connection, or nil.
func connOf(pc *pgx.Conn) *conn {
	if pc == nil {
		return nil
	}
	pg := pc.PgConn()
	if pg == nil {
		return nil
	}
	nc := pg.Conn()
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	c, _ := nc.(*conn)
	return c
}

type opKey struct{}

// begin pushes an op of the named statements on pc's connection, when
// tracing, and returns the context for the hook's end.
func (t *Tracer) begin(ctx context.Context, pc *pgx.Conn, names func() []*sqlname.Name) context.Context {
	if !trace.IsEnabled() {
		return ctx
	}
	c := connOf(pc)
	if c == nil {
		return ctx
	}
	o := &op{ctx: ctx, names: names()}
	c.push(o)
	return context.WithValue(ctx, opKey{}, o)
}

// end pops the op that begin pushed.
func (t *Tracer) end(ctx context.Context, pc *pgx.Conn) {
	c := connOf(pc)
	if c == nil || c.cur.Load() == nil {
		return
	}
	if o, ok := ctx.Value(opKey{}).(*op); ok && o != within {
		c.pop(o)
	}
}

// within marks the context of a hook that pushed nothing, being within
// another operation.
var within = &op{}

func (t *Tracer) one(sql string) func() []*sqlname.Name {
	return func() []*sqlname.Name { return []*sqlname.Name{t.cfg.Name(sql)} }
}

// --- the hooks -------------------------------------------------------------------

// TraceQueryStart notes the statement that Query, QueryRow or Exec runs.
func (t *Tracer) TraceQueryStart(ctx context.Context, pc *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.IsEnabled() {
		return ctx
	}
	return t.begin(ctx, pc, t.one(data.SQL))
}

// TraceQueryEnd forgets it.
func (t *Tracer) TraceQueryEnd(ctx context.Context, pc *pgx.Conn, _ pgx.TraceQueryEndData) {
	t.end(ctx, pc)
}

// TracePrepareStart notes the statement being prepared, unless pgx
// prepares it for another operation (a query describing its statement, a
// COPY describing its columns), whose statement it stays.
func (t *Tracer) TracePrepareStart(ctx context.Context, pc *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	if !trace.IsEnabled() {
		return ctx
	}
	if c := connOf(pc); c != nil && c.cur.Load() != nil {
		return context.WithValue(ctx, opKey{}, within)
	}
	return t.begin(ctx, pc, t.one(data.SQL))
}

// TracePrepareEnd forgets it.
func (t *Tracer) TracePrepareEnd(ctx context.Context, pc *pgx.Conn, _ pgx.TracePrepareEndData) {
	t.end(ctx, pc)
}

// TraceBatchStart notes the batch's statements: the batch is sent under the
// first one, each statement's results are read under its own.
func (t *Tracer) TraceBatchStart(ctx context.Context, pc *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if !trace.IsEnabled() || data.Batch == nil || len(data.Batch.QueuedQueries) == 0 {
		return ctx
	}
	return t.begin(ctx, pc, func() []*sqlname.Name {
		names := make([]*sqlname.Name, len(data.Batch.QueuedQueries))
		for i, q := range data.Batch.QueuedQueries {
			names[i] = t.cfg.Name(q.SQL)
		}
		return names
	})
}

// TraceBatchQuery moves on to the batch's next statement.
func (t *Tracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchQueryData) {
	if o, ok := ctx.Value(opKey{}).(*op); ok && o != within {
		o.next.Add(1)
	}
}

// TraceBatchEnd forgets the batch.
func (t *Tracer) TraceBatchEnd(ctx context.Context, pc *pgx.Conn, _ pgx.TraceBatchEndData) {
	t.end(ctx, pc)
}

// TraceCopyFromStart notes the COPY statement.
func (t *Tracer) TraceCopyFromStart(ctx context.Context, pc *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if !trace.IsEnabled() {
		return ctx
	}
	return t.begin(ctx, pc, func() []*sqlname.Name {
		cols := make([]string, len(data.ColumnNames))
		for i, c := range data.ColumnNames {
			cols[i] = pgx.Identifier{c}.Sanitize()
		}
		return []*sqlname.Name{t.cfg.Name("COPY " + data.TableName.Sanitize() + " (" + strings.Join(cols, ", ") + ") FROM STDIN")}
	})
}

// TraceCopyFromEnd forgets it.
func (t *Tracer) TraceCopyFromEnd(ctx context.Context, pc *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	t.end(ctx, pc)
}

type regionKey struct{}

// TraceConnectStart starts the "SQL: CONNECT" region: pgx ends it in the
// same call, on the same goroutine.
func (t *Tracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	if !trace.IsEnabled() {
		return ctx
	}
	return context.WithValue(ctx, regionKey{}, sqlname.StartRegion(ctx, sqlname.Connect))
}

// TraceConnectEnd ends it.
func (t *Tracer) TraceConnectEnd(ctx context.Context, _ pgx.TraceConnectEndData) {
	if r, ok := ctx.Value(regionKey{}).(*trace.Region); ok {
		r.End()
	}
}
