package e2e_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/view"
)

// Profile a function that queries SQLite, and list the statements in its
// critical path.
func Example() {
	db, err := sqlprof.Open("sqlite", ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one in-memory database
	if _, err := db.Exec("CREATE TABLE characters (id INTEGER PRIMARY KEY, name TEXT)"); err != nil {
		log.Fatal(err)
	}

	p, err := reqprof.Do(context.Background(), "get character", func(ctx context.Context) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "INSERT INTO characters (name) VALUES (?)", "Ada"); err != nil {
			return err
		}
		var name string
		err = tx.QueryRowContext(ctx, `
			SELECT name
			  FROM characters
			 WHERE id = ?`, 1).Scan(&name)
		if err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		log.Fatal(err)
	}
	// p.Write(os.Stdout, reqprof.FormatText) shows the whole tree.
	_, trees, err := render.Options{}.Trees(p.Profile)
	if err != nil {
		log.Fatal(err)
	}
	var frames []string
	trees[0].Walk(func(n *view.Node, _ int) {
		if strings.HasPrefix(n.Frame.Name, "SQL: ") && !slices.Contains(frames, n.Frame.Name) {
			frames = append(frames, n.Frame.Name)
		}
	})
	slices.Sort(frames)
	for _, f := range frames {
		fmt.Println(f)
	}
	// Output:
	// SQL: BEGIN
	// SQL: COMMIT
	// SQL: INSERT INTO characters (name) VALUES (?)
	// SQL: SELECT name FROM characters WHERE id = ?
}

func ExampleOpen() {
	// A driver registered with database/sql (here github.com/jackc/pgx/v5/stdlib,
	// as "pgx"), with statement texts cut at 80 runes in frame names.
	db, err := sqlprof.Open("pgx", os.Getenv("DATABASE_URL"), sqlprof.MaxLen(80))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	// Use db as usual.
}

func ExampleWrap() {
	cfg, err := pgx.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(sqlprof.Wrap(stdlib.GetConnector(*cfg)))
	defer db.Close()
	// Use db as usual.
}

func ExampleFrameName() {
	fmt.Println(sqlprof.FrameName("SELECT id, name\n\t FROM characters\n\t WHERE id = $1"))
	fmt.Println(sqlprof.FrameName("SELECT id, name FROM characters WHERE id = $1", sqlprof.MaxLen(20)))
	// Output:
	// SQL: SELECT id, name FROM characters WHERE id = $1
	// SQL: SELECT id, name FRO…
}
