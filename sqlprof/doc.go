// Package sqlprof attributes database time to SQL statements in reqprof
// profiles: it wraps a database/sql driver so that every query, exec,
// prepare, begin, commit and rollback runs in a runtime/trace region, which
// reqprof shows as a frame named after the statement, with what the driver
// did beneath it (on PostgreSQL, "[wait: network]"):
//
//	main.getCharacter  characters.go:41
//	`- sql.(*DB).QueryRowContext  sql.go:1842  [10 frames hidden] database/sql, github.com/reqprof/reqprof/sqlprof
//	   `- SQL: SELECT id, name, data FROM characters WHERE id = $1
//	      `- sqlprof.(*conn).query  conn.go:123  [49 frames hidden] github.com/jackc/pgx/v5/stdlib, github.com/jackc/pgx/v5, ...
//	         |- [wait: network]
//	         `- [syscall]
//
// # Usage
//
// Open a database by the name of a registered driver:
//
//	import _ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
//	import _ "modernc.org/sqlite"             // registers "sqlite"
//
//	db, err := sqlprof.Open("pgx", "postgres://...")
//	db, err := sqlprof.Open("sqlite", "file:app.db")
//
// or wrap a connector:
//
//	db := sql.OpenDB(sqlprof.Wrap(stdlib.GetConnector(*pgxConfig)))
//
// and use db as usual. Regions exist only while runtime/trace is enabled,
// that is while reqprof takes a profile (or someone else traces); otherwise
// each wrapped call checks runtime/trace.IsEnabled, calls the driver, and
// does nothing else: no region, no string work, no allocation
// (BenchmarkWrapOverhead).
//
// For pgx's native API (pgx.Conn, pgxpool.Pool), see package
// github.com/reqprof/reqprof/sqlprof/pgxtrace.
//
// # Frames
//
//   - "SQL: <statement>": a query or exec on a connection or transaction, the
//     Exec or Query of a prepared statement, preparing it, reading its rows
//     (each Rows.Next, Rows.NextResultSet) and closing them or the
//     statement. The text is the statement's as the program wrote it,
//     never its arguments: a parameter's value never reaches a profile
//     (values written into the SQL text itself do; use placeholders). Every
//     run of white space and control characters becomes one space, the ends
//     are trimmed, invalid UTF-8 becomes U+FFFD, and text longer than
//     MaxLen runes (default 120) is cut to MaxLen runes, the last one "…".
//     A statement with no text is "SQL: (empty)".
//   - "SQL: BEGIN", "SQL: COMMIT", "SQL: ROLLBACK" for transactions
//     (FrameBegin, FrameCommit, FrameRollback), whatever their options.
//   - "SQL: CONNECT" for opening a connection (FrameConnect), which
//     database/sql does on the caller's goroutine when its pool has no idle
//     connection.
//
// FrameName gives the frame name of a statement text.
//
// When a statement's text was truncated, its full text (white space
// collapsed) is logged with runtime/trace.Log under LogCategory
// ("reqprof.sql"), inside the region, once each time the statement is sent
// (a query, exec or prepare; not for each row), so the profile keeps it.
// Untruncated statements are not logged: the frame holds their whole text.
//
// A statement's frames add up to the time its driver calls took: the call
// that sent it, and the calls that fetched its rows. database/sql's own work
// around those calls (taking a connection from the pool, converting
// arguments, scanning rows into variables) and the program's work between
// rows are outside the frames, in the caller's frames.
//
// # Regions
//
// Each region starts and ends within one call of a wrapper method, on the
// goroutine that calls it, so regions always nest properly, whoever calls
// (database/sql closes rows and rolls back transactions from its own
// goroutines when a context is canceled). This matters: the execution trace
// parser rejects a whole trace in which a region ends on another goroutine
// or out of order. For the same reason a statement's rows are not one
// region from the query to Rows.Close, which could end elsewhere, after
// any code of the caller.
//
// # Driver interfaces
//
// The wrapper is transparent to database/sql: it makes the same driver
// calls, with the same arguments and results, as without it (TestTransparent
// checks this with drivers that have every optional interface, none, or
// only the legacy ones). Wrapped connections, statements and rows forward
// every optional interface the driver implements. Of those the driver
// lacks:
//
//   - the ones whose absence database/sql handles by a defined fallback are
//     implemented, reproducing that fallback: QueryerContext and
//     ExecerContext return driver.ErrSkip (database/sql then prepares a
//     statement) or adapt the legacy Queryer and Execer; ConnPrepareContext,
//     ConnBeginTx, StmtExecContext and StmtQueryContext adapt the legacy
//     methods with database/sql's checks; Pinger does nothing; the
//     NamedValueChecker of connections and statements defers to the driver's
//     checker, or to database/sql's conversions; the RowsColumnType
//     interfaces give database/sql's defaults; io.Closer on the connector
//     does nothing.
//   - the ones whose mere presence changes what database/sql does are
//     implemented only when the driver has them: SessionResetter and
//     Validator on connections (together they let database/sql keep a
//     connection after a canceled transaction), ColumnConverter on
//     statements, RowsNextResultSet on rows.
//
// Code that type-asserts the driver's connection in sql.Conn.Raw gets the
// wrapper; Unwrap returns the driver's own connection.
//
// # Costs
//
// With tracing off: nothing measurable (BenchmarkWrapOverhead, tracing off:
// the same allocations as unwrapped and a few nanoseconds of calls and
// atomic loads, within the noise of a trivial in-process driver). With
// tracing on, each wrapped call costs one region (two trace events with
// stacks, about 0.3 µs here), and a query's rows one small allocation.
// Frame names are computed once per statement text and cached (up to 4096
// texts of up to 4 KiB each per wrapped connector).
package sqlprof
