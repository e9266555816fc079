package characters

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/reqprof/reqprof/sqlprof"
)

// The SQL, written with ? placeholders; rebind turns them into $1, $2, ...
// for PostgreSQL. Everything else is portable between SQLite and
// PostgreSQL.
const (
	createCharacters = `CREATE TABLE IF NOT EXISTS characters (
		id    INTEGER PRIMARY KEY,
		name  TEXT    NOT NULL,
		data  TEXT    NOT NULL,
		views INTEGER NOT NULL DEFAULT 0
	)`
	createItems = `CREATE TABLE IF NOT EXISTS character_items (
		character_id INTEGER NOT NULL REFERENCES characters (id),
		slot         INTEGER NOT NULL,
		name         TEXT    NOT NULL,
		kind         TEXT    NOT NULL,
		weight_g     INTEGER NOT NULL,
		gold         INTEGER NOT NULL,
		PRIMARY KEY (character_id, slot)
	)`
	countCharacters = `SELECT COUNT(*) FROM characters`
	insertCharacter = `INSERT INTO characters (id, name, data, views) VALUES (?, ?, ?, 0)`
	insertItem      = `INSERT INTO character_items (character_id, slot, name, kind, weight_g, gold) VALUES (?, ?, ?, ?, ?, ?)`

	selectCharacter = `SELECT id, name, data FROM characters WHERE id = ?`
	selectItems     = `SELECT slot, name, kind, weight_g, gold FROM character_items WHERE character_id = ? ORDER BY slot`
	updateViews     = `UPDATE characters SET views = views + 1 WHERE id = ? RETURNING views`
	listCharacters  = `SELECT id, name, views FROM characters ORDER BY id LIMIT ? OFFSET ?`
	listByName      = `SELECT id, name, views FROM characters WHERE name LIKE ? ORDER BY id LIMIT ? OFFSET ?`
	topViewed       = `SELECT id, name, views FROM characters ORDER BY views DESC, id LIMIT ?`
)

// queries holds the statements in the database's placeholder style.
type queries struct {
	selectCharacter, selectItems, updateViews, list, listByName, topViewed string
	insertCharacter, insertItem                                            string
}

func newQueries(dollar bool) queries {
	b := func(q string) string {
		if dollar {
			return rebind(q)
		}
		return q
	}
	return queries{
		selectCharacter: b(selectCharacter), selectItems: b(selectItems), updateViews: b(updateViews),
		list: b(listCharacters), listByName: b(listByName), topViewed: b(topViewed),
		insertCharacter: b(insertCharacter), insertItem: b(insertItem),
	}
}

// rebind replaces the ? placeholders of q by $1, $2, ... (the queries here
// have no ? inside string literals).
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// database is an opened database and how to describe it.
type database struct {
	db       *sql.DB
	postgres bool
	desc     string // for people: "SQLite /tmp/.../characters.db"
	tmpDir   string // removed on close, if set
}

// openDB opens the database named by Config.DB through sqlprof, so every
// statement runs in a runtime/trace region.
func openDB(ctx context.Context, spec string) (*database, error) {
	d := &database{}
	var driver, dsn string
	switch {
	case spec == "":
		dir, err := os.MkdirTemp("", "reqprof-demo-")
		if err != nil {
			return nil, err
		}
		d.tmpDir = dir
		path := filepath.Join(dir, "characters.db")
		driver, dsn, d.desc = "sqlite", sqliteDSN("file:"+path), "SQLite "+path
	case strings.HasPrefix(spec, "file:"):
		driver, dsn, d.desc = "sqlite", sqliteDSN(spec), "SQLite "+strings.TrimPrefix(strings.SplitN(spec, "?", 2)[0], "file:")
	case isPostgres(spec):
		driver, dsn, d.postgres, d.desc = "pgx", spec, true, "PostgreSQL "+redactDSN(spec)
	default:
		return nil, fmt.Errorf("unsupported database %q: want file:PATH (SQLite) or postgres://... (PostgreSQL)", spec)
	}
	db, err := sqlprof.Open(driver, dsn)
	if err == nil {
		d.db = db
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = db.PingContext(pctx)
		cancel()
	}
	if err != nil {
		d.close()
		return nil, fmt.Errorf("open %s: %w", d.desc, err)
	}
	if !d.postgres {
		// Keep the connections (and SQLite's page cache) between requests.
		db.SetMaxIdleConns(8)
	}
	return d, nil
}

func (d *database) close() error {
	var err error
	if d.db != nil {
		err = d.db.Close()
	}
	if d.tmpDir != "" {
		err = errors.Join(err, os.RemoveAll(d.tmpDir))
	}
	return err
}

// isPostgres reports whether spec names a PostgreSQL database: a
// postgres:// URL, or a key=value connection string.
func isPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://") ||
		(!strings.Contains(spec, "://") && (strings.Contains(spec, "host=") || strings.Contains(spec, "dbname=")))
}

// sqliteDSN adds the pragmas the demo wants to a file: DSN: WAL, so reads
// do not wait for the view counter's writes; a busy timeout instead of
// SQLITE_BUSY; commits without an fsync each (a demo, not a bank).
func sqliteDSN(spec string) string {
	if strings.Contains(spec, "_pragma=") {
		return spec
	}
	sep := "?"
	if strings.Contains(spec, "?") {
		sep = "&"
	}
	return spec + sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
}

// redactDSN hides the password of a PostgreSQL URL or key=value string.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	f := strings.Fields(dsn)
	for i, kv := range f {
		if strings.HasPrefix(kv, "password=") {
			f[i] = "password=xxxxx"
		}
	}
	return strings.Join(f, " ")
}

// seed creates the tables and, if they are empty, fills them with
// seedCount characters, in one transaction with prepared statements. It
// returns how many characters it inserted (0 when already seeded).
func seed(ctx context.Context, db *sql.DB, q queries) (int, error) {
	for _, s := range []string{createCharacters, createItems} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return 0, fmt.Errorf("create tables: %w", err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, countCharacters).Scan(&n); err != nil {
		return 0, err
	}
	if n > 0 {
		return 0, nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	insC, err := tx.PrepareContext(ctx, q.insertCharacter)
	if err != nil {
		return 0, err
	}
	defer insC.Close()
	insI, err := tx.PrepareContext(ctx, q.insertItem)
	if err != nil {
		return 0, err
	}
	defer insI.Close()
	for id := int64(1); id <= seedCount; id++ {
		name, data, items := generate(id)
		b, err := json.Marshal(data)
		if err != nil {
			return 0, err
		}
		if _, err := insC.ExecContext(ctx, id, name, string(b)); err != nil {
			return 0, fmt.Errorf("seed character %d: %w", id, err)
		}
		for _, it := range items {
			if _, err := insI.ExecContext(ctx, id, it.Slot, it.Name, it.Kind, it.WeightG, it.Gold); err != nil {
				return 0, fmt.Errorf("seed items of character %d: %w", id, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return seedCount, nil
}
