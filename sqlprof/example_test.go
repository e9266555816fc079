package sqlprof_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/sqlprof"
)

// The frame a statement gets: white space collapsed, never its arguments.
func ExampleFrameName() {
	fmt.Println(sqlprof.FrameName("SELECT id, name\n\t  FROM characters\n\t WHERE id = $1"))
	fmt.Println(sqlprof.FrameName("SELECT * FROM events WHERE payload LIKE '%long%' ORDER BY created_at DESC", sqlprof.MaxLen(40)))
	// Output:
	// SQL: SELECT id, name FROM characters WHERE id = $1
	// SQL: SELECT * FROM events WHERE payload LIKE…
}

// Open a database by its registered driver's name, and use it as usual:
// in a profiled request (or reqprof.Do), each statement is a frame of the
// profile. (Here with the "sqlite" driver of modernc.org/sqlite, which the
// program imports for its side effect; pgx's is "pgx".)
func ExampleOpen() {
	db, err := sqlprof.Open("sqlite", "file:app.db")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	p, err := reqprof.Do(context.Background(), "report", func(ctx context.Context) error {
		var n int
		return db.QueryRowContext(ctx, "SELECT count(*) FROM characters").Scan(&n)
	})
	if err == nil {
		p.Write(os.Stdout, reqprof.FormatText) // the tree holds "SQL: SELECT count(*) FROM characters"
	}
}

// Wrap a connector, for drivers opened by connector (pgx's stdlib, a
// driver's own Config).
func ExampleWrap() {
	var connector driver.Connector // e.g. stdlib.GetConnector(*pgxConfig)
	db := sql.OpenDB(sqlprof.Wrap(connector))
	defer db.Close()
}
