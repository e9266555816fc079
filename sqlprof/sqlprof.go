package sqlprof

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"runtime/trace"

	"github.com/reqprof/reqprof/sqlprof/internal/sqlname"
)

// LogCategory is the runtime/trace.Log category under which the full text
// of a truncated statement is logged inside its region.
const LogCategory = sqlname.LogCategory

// DefaultMaxLen is the default bound, in runes, of the statement text in a
// frame name.
const DefaultMaxLen = sqlname.DefaultMaxLen

// Frame names of the operations that have no statement text of their own.
const (
	FrameBegin    = sqlname.Begin    // "SQL: BEGIN"
	FrameCommit   = sqlname.Commit   // "SQL: COMMIT"
	FrameRollback = sqlname.Rollback // "SQL: ROLLBACK"
	FrameConnect  = sqlname.Connect  // "SQL: CONNECT"
)

type config = sqlname.Config

// Option configures Wrap and Open.
type Option func(*config)

// MaxLen bounds the statement text in a frame name to n runes (default
// DefaultMaxLen, 120), the last of them "…" when the text was longer.
// n <= 0 means no bound.
func MaxLen(n int) Option { return func(c *config) { c.MaxLen = n } }

func newConfig(opts []Option) *config {
	c := sqlname.NewConfig()
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// FrameName returns the frame name that a statement with text query gets
// by default ("SQL: " and the text, white space collapsed, at most 120
// runes), or with the given options.
func FrameName(query string, opts ...Option) string {
	return sqlname.New(query, newConfig(opts).MaxLen).Region
}

// Wrap returns a driver.Connector whose connections run every query, exec,
// prepare, begin/commit/rollback in a runtime/trace region, so profiles show
// time per statement. Use it with sql.OpenDB:
//
//	db := sql.OpenDB(sqlprof.Wrap(connector))
//
// Wrapping a connector that Wrap returned wraps its underlying connector
// again, with the new options.
func Wrap(c driver.Connector, opts ...Option) driver.Connector {
	if c == nil {
		panic("sqlprof: Wrap of a nil driver.Connector")
	}
	if w, ok := c.(*connector); ok {
		c = w.c
	}
	return &connector{c: c, cfg: newConfig(opts)}
}

// Open is like sql.Open for a registered driver name, with the connector
// wrapped: drivers implementing driver.DriverContext give their connector;
// others are adapted (each connection is opened with the driver's Open and
// dataSourceName).
func Open(driverName, dataSourceName string, opts ...Option) (*sql.DB, error) {
	// database/sql has no look-up of a driver by name but sql.Open, which
	// does not connect.
	probe, err := sql.Open(driverName, dataSourceName)
	if err != nil {
		return nil, err
	}
	d := probe.Driver()
	probe.Close()
	c, err := connectorOf(d, dataSourceName)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(Wrap(c, opts...)), nil
}

func connectorOf(d driver.Driver, dsn string) (driver.Connector, error) {
	if dc, ok := d.(driver.DriverContext); ok {
		return dc.OpenConnector(dsn)
	}
	return dsnConnector{dsn: dsn, d: d}, nil
}

// Unwrap returns the driver connection that c, a connection of a wrapped
// connector, wraps, or c itself. Use it where code type-asserts the driver
// connection, in sql.Conn.Raw:
//
//	conn.Raw(func(dc any) error {
//		pc := sqlprof.Unwrap(dc.(driver.Conn)).(*stdlib.Conn)
//		...
//	})
func Unwrap(c driver.Conn) driver.Conn {
	if w, ok := c.(interface{ base() *conn }); ok {
		return w.base().c
	}
	return c
}

// --- connector and driver --------------------------------------------------

type connector struct {
	c   driver.Connector
	cfg *config
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	var dc driver.Conn
	var err error
	if trace.IsEnabled() {
		dc, err = c.tracedConnect(ctx)
	} else {
		dc, err = c.c.Connect(ctx)
	}
	if err != nil {
		return nil, err
	}
	return newConn(dc, c.cfg), nil
}

func (c *connector) tracedConnect(ctx context.Context) (driver.Conn, error) {
	defer sqlname.StartRegion(ctx, FrameConnect).End()
	return c.c.Connect(ctx)
}

// Driver returns the underlying connector's driver, wrapped: connections
// that its Open and OpenConnector make are wrapped too.
func (c *connector) Driver() driver.Driver { return &wrappedDriver{d: c.c.Driver(), cfg: c.cfg} }

// Close closes the underlying connector if it is an io.Closer (sql.DB.Close
// calls it).
func (c *connector) Close() error {
	if cl, ok := c.c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

type wrappedDriver struct {
	d   driver.Driver
	cfg *config
}

func (d *wrappedDriver) Open(name string) (driver.Conn, error) {
	var dc driver.Conn
	var err error
	if trace.IsEnabled() {
		dc, err = d.tracedOpen(name)
	} else {
		dc, err = d.d.Open(name)
	}
	if err != nil {
		return nil, err
	}
	return newConn(dc, d.cfg), nil
}

func (d *wrappedDriver) tracedOpen(name string) (driver.Conn, error) {
	defer sqlname.StartRegion(context.Background(), FrameConnect).End()
	return d.d.Open(name)
}

// OpenConnector behaves as sql.Open does with the underlying driver.
func (d *wrappedDriver) OpenConnector(name string) (driver.Connector, error) {
	c, err := connectorOf(d.d, name)
	if err != nil {
		return nil, err
	}
	return &connector{c: c, cfg: d.cfg}, nil
}

// dsnConnector is database/sql's adapter of a driver without
// driver.DriverContext.
type dsnConnector struct {
	dsn string
	d   driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }
