package pgxtrace_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/sqlprof/internal/proftest"
	"github.com/reqprof/reqprof/sqlprof/pgxtrace"
)

const (
	secretName = "zebra-7731"
	secretNote = "okapi-5519"
	secretCopy = "gnu-3307"
)

const (
	selectSQL = "SELECT id, views\n\t\tFROM pgxtrace_characters\n\t\tWHERE  name = $1"
	insertSQL = "INSERT INTO pgxtrace_visits (character_id, note)\n\t\tVALUES ($1,   $2)"
	updateSQL = "UPDATE pgxtrace_characters\n   SET views = views + 1\n WHERE id = $1"
	countSQL  = "SELECT count(*) FROM pgxtrace_visits WHERE note = $1"
)

func collapse(q string) string { return "SQL: " + strings.Join(strings.Fields(q), " ") }

func setup(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	for _, q := range []string{
		"DROP TABLE IF EXISTS pgxtrace_visits",
		"DROP TABLE IF EXISTS pgxtrace_characters",
		"CREATE TABLE pgxtrace_characters (id INTEGER PRIMARY KEY, name TEXT NOT NULL, views INTEGER NOT NULL DEFAULT 0)",
		"CREATE TABLE pgxtrace_visits (character_id INTEGER NOT NULL, note TEXT NOT NULL)",
		"INSERT INTO pgxtrace_characters (id, name) VALUES (1, 'aardvark-1'), (2, '" + secretName + "'), (3, 'yak-2')",
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP TABLE IF EXISTS pgxtrace_visits")
		pool.Exec(context.Background(), "DROP TABLE IF EXISTS pgxtrace_characters")
	})
}

// scenario: the three statements, the last two in a transaction, then a
// batch and a COPY; returns the wall time the database calls took.
func scenario(ctx context.Context, pool *pgxpool.Pool) (time.Duration, error) {
	var spent time.Duration
	timed := func(f func() error) error {
		t0 := time.Now()
		err := f()
		spent += time.Since(t0)
		return err
	}
	var id, views int
	if err := timed(func() error { return pool.QueryRow(ctx, selectSQL, secretName).Scan(&id, &views) }); err != nil {
		return 0, err
	}
	var tx pgx.Tx
	if err := timed(func() (err error) { tx, err = pool.Begin(ctx); return err }); err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	if err := timed(func() error { _, err := tx.Exec(ctx, insertSQL, id, secretNote); return err }); err != nil {
		return 0, err
	}
	if err := timed(func() error { _, err := tx.Exec(ctx, updateSQL, id); return err }); err != nil {
		return 0, err
	}
	if err := timed(func() error { return tx.Commit(ctx) }); err != nil {
		return 0, err
	}
	err := timed(func() error {
		b := &pgx.Batch{}
		b.Queue(countSQL, secretNote)
		b.Queue(selectSQL, secretName)
		return pool.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, err
	}
	err = timed(func() error {
		_, err := pool.CopyFrom(ctx, pgx.Identifier{"pgxtrace_visits"}, []string{"character_id", "note"},
			pgx.CopyFromRows([][]any{{id, secretCopy}}))
		return err
	})
	return spent, err
}

func run(t *testing.T, cfg *pgxpool.Config, network bool) {
	ctx := context.Background()
	pgxtrace.Configure(cfg.ConnConfig)
	cfg.MinConns, cfg.MaxConns = 1, 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	setup(t, ctx, pool)

	var spent time.Duration
	p, err := reqprof.Do(ctx, "pgxtrace", func(ctx context.Context) error {
		var err error
		spent, err = scenario(ctx, pool)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", proftest.Text(t, p))
	proftest.CheckCriticalPath(t, p)

	root := proftest.Tree(t, p)
	totals := proftest.Totals(root, "SQL: ")
	frames := []string{
		collapse(selectSQL), "SQL: begin", collapse(insertSQL), collapse(updateSQL), "SQL: commit",
		collapse(countSQL), `SQL: COPY "pgxtrace_visits" ("character_id", "note") FROM STDIN`,
	}
	for _, name := range frames {
		if _, ok := totals[name]; !ok {
			t.Errorf("no frame %q in the critical path; SQL frames: %q", name, keys(totals))
		}
		if !network {
			continue
		}
		waits := false
		for _, n := range proftest.Nodes(root, "SQL: ") {
			if n.Frame.Name == name && proftest.Find(n, "[wait: network]") != nil {
				waits = true
			}
		}
		if !waits {
			t.Errorf("no [wait: network] beneath %q", name)
		}
	}
	for name := range totals {
		if !contains(frames, name) {
			t.Errorf("unexpected frame %q", name)
		}
	}
	proftest.CheckOutputs(t, p, []string{"pgxtrace_characters WHERE name = "}, []string{secretName, secretNote, secretCopy})

	var sum time.Duration
	for _, v := range totals {
		sum += v
	}
	t.Logf("SQL frames: %v of %v in database calls (%.0f%%); profile %v", sum, spent, 100*float64(sum)/float64(spent), time.Duration(p.Duration))
	if sum > spent+time.Millisecond {
		t.Errorf("SQL frames add up to %v, more than the %v the database calls took", sum, spent)
	}
	if network {
		// Network I/O is in the frames; with latency, it is most of it.
		if lo := spent / 2; sum < lo {
			t.Errorf("SQL frames add up to %v, less than half the %v the database calls took", sum, spent)
		}
	}
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func keys(m map[string]time.Duration) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPool profiles the scenario through a pgxpool.Pool configured with
// Configure: straight to the server, and through a proxy that adds network
// latency, where every statement must wait on the network beneath its
// frame.
func TestPool(t *testing.T) {
	dsn := proftest.PostgresDSN(t)
	t.Run("direct", func(t *testing.T) {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		run(t, cfg, false)
	})
	t.Run("latency", func(t *testing.T) {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cc := cfg.ConnConfig
		proxy := proftest.LatencyProxy(t, net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))), time.Millisecond)
		host, port, _ := net.SplitHostPort(proxy)
		p, _ := strconv.Atoi(port)
		cc.Host, cc.Port, cc.Fallbacks = host, uint16(p), nil
		run(t, cfg, true)
	})
}

// A connection made during the work shows as SQL: CONNECT.
func TestConnect(t *testing.T) {
	dsn := proftest.PostgresDSN(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pgxtrace.Configure(cfg, sqlprof.MaxLen(10))
	var conn *pgx.Conn
	p, err := reqprof.Do(context.Background(), "connect", func(ctx context.Context) error {
		var err error
		if conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "SELECT 1234567890, $1::text", secretName)
		return err
	})
	if conn != nil {
		defer conn.Close(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	root := proftest.Tree(t, p)
	for _, name := range []string{sqlprof.FrameConnect, "SQL: SELECT 12…"} {
		if proftest.Find(root, name) == nil {
			t.Errorf("no %s frame:\n%s", name, proftest.Text(t, p))
		}
	}
	var logged bool
	for _, l := range p.Logs {
		if l.Category == sqlprof.LogCategory && l.Message == "SELECT 1234567890, $1::text" {
			logged = true
		}
	}
	if !logged {
		t.Errorf("the truncated statement's full text is not logged: %+v", p.Logs)
	}
	proftest.CheckAbsent(t, p, secretName)
}
