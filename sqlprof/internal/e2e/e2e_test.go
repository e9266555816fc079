package e2e_test

import (
	"context"
	"database/sql"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/sqlprof/internal/proftest"
)

// The parameter values that must never reach a profile.
const (
	secretName = "zebra-7731"
	secretNote = "okapi-5519"
)

// dialect writes the scenario's statements for a database.
type dialect struct {
	name    string
	ph      func(i int) string // the i-th placeholder, from 1
	network bool               // every statement waits on the network
	table   string             // prefix of the scenario's tables
}

var (
	sqliteDialect   = dialect{name: "sqlite", ph: func(int) string { return "?" }, table: "sqlprof_"}
	postgresDialect = dialect{name: "postgres", ph: func(i int) string { return "$" + strconv.Itoa(i) }, table: "sqlprof_"}
)

// statements of the scenario, with the white space the frames collapse.
func (d dialect) selectSQL() string {
	return "SELECT id, views\n\t\tFROM " + d.table + "characters\n\t\tWHERE  name = " + d.ph(1)
}
func (d dialect) insertSQL() string {
	return "INSERT INTO " + d.table + "visits (character_id, note)\n\t\tVALUES (" + d.ph(1) + ",   " + d.ph(2) + ")"
}
func (d dialect) updateSQL() string {
	return "UPDATE " + d.table + "characters\n   SET views = views + 1\n WHERE id = " + d.ph(1)
}

func (d dialect) setup(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, q := range []string{
		"DROP TABLE IF EXISTS " + d.table + "visits",
		"DROP TABLE IF EXISTS " + d.table + "characters",
		"CREATE TABLE " + d.table + "characters (id INTEGER PRIMARY KEY, name TEXT NOT NULL, views INTEGER NOT NULL DEFAULT 0)",
		"CREATE TABLE " + d.table + "visits (character_id INTEGER NOT NULL, note TEXT NOT NULL)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, name := range []string{"aardvark-1", secretName, "yak-2"} {
		if _, err := db.Exec("INSERT INTO "+d.table+"characters (id, name) VALUES ("+d.ph(1)+", "+d.ph(2)+")", i+1, name); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		db.Exec("DROP TABLE IF EXISTS " + d.table + "visits")
		db.Exec("DROP TABLE IF EXISTS " + d.table + "characters")
	})
}

// scenario runs the three statements, the last two in a transaction, and
// returns the wall time the database calls took.
func (d dialect) scenario(ctx context.Context, db *sql.DB) (time.Duration, error) {
	var spent time.Duration
	timed := func(f func() error) error {
		t0 := time.Now()
		err := f()
		spent += time.Since(t0)
		return err
	}
	var id, views int
	if err := timed(func() error {
		return db.QueryRowContext(ctx, d.selectSQL(), secretName).Scan(&id, &views)
	}); err != nil {
		return 0, err
	}
	var tx *sql.Tx
	if err := timed(func() (err error) { tx, err = db.BeginTx(ctx, nil); return err }); err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := timed(func() error { _, err := tx.ExecContext(ctx, d.insertSQL(), id, secretNote); return err }); err != nil {
		return 0, err
	}
	if err := timed(func() error { _, err := tx.ExecContext(ctx, d.updateSQL(), id); return err }); err != nil {
		return 0, err
	}
	return spent, timed(tx.Commit)
}

// collapse is the frame text the scenario's statements should get.
func collapse(q string) string { return "SQL: " + strings.Join(strings.Fields(q), " ") }

func runScenario(t *testing.T, db *sql.DB, d dialect) {
	d.setup(t, db)
	// Warm the pool: the profile shows the statements, not a connect.
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	var spent time.Duration
	p, err := reqprof.Do(context.Background(), "sqlprof "+d.name, func(ctx context.Context) error {
		var err error
		spent, err = d.scenario(ctx, db)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	text := proftest.Text(t, p)
	t.Logf("\n%s", text)
	proftest.CheckCriticalPath(t, p)

	root := proftest.Tree(t, p)
	want := []string{
		collapse(d.selectSQL()), sqlprof.FrameBegin, collapse(d.insertSQL()),
		collapse(d.updateSQL()), sqlprof.FrameCommit,
	}
	if got := collapse(d.selectSQL()); got != "SQL: SELECT id, views FROM "+d.table+"characters WHERE name = "+d.ph(1) {
		t.Fatalf("test bug: collapse gives %q", got)
	}
	totals := proftest.Totals(root, "SQL: ")
	for _, name := range want {
		if _, ok := totals[name]; !ok {
			t.Errorf("no frame %q in the critical path; SQL frames: %q", name, keys(totals))
		}
		if d.network {
			// One of the frames of that name (the call that sent the
			// statement; fetching rows may not wait) waits on the network.
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
	}
	if len(totals) != len(want) {
		t.Errorf("SQL frames %q, want %q", keys(totals), want)
	}
	proftest.CheckOutputs(t, p, []string{d.table + "characters WHERE name = "}, []string{secretName, secretNote})

	// The SQL frames add up to the time the statements took — their
	// regions', exactly —, which is the time the database calls took,
	// less database/sql's own work around the driver calls (and, on a
	// loaded machine, the time the thread waits for a CPU between them:
	// that is why the regions, not the calls' wall time, are the measure).
	var sum time.Duration
	for _, v := range totals {
		sum += v
	}
	var rs [][2]int64
	for _, r := range p.Regions {
		if r.Goroutine == p.Goroutines[0].ID && strings.HasPrefix(r.Type, "SQL: ") {
			rs = append(rs, [2]int64{r.Start, r.End})
		}
	}
	inRegions := time.Duration(union(rs))
	t.Logf("SQL frames: %v of %v in database calls (%.0f%%), %v in the statements' regions; profile %v",
		sum, spent, 100*float64(sum)/float64(spent), inRegions, time.Duration(p.Duration))
	if sum > spent+time.Millisecond {
		t.Errorf("SQL frames add up to %v, more than the %v the database calls took", sum, spent)
	}
	// Nanoseconds of the regions' ends that fall between the critical
	// path's segments are all the tree can lose: 1% is plenty.
	if d := sum - inRegions; d > inRegions/100 || d < -inRegions/100 {
		t.Errorf("SQL frames add up to %v, the statements' regions to %v", sum, inRegions)
	}
	// On an idle machine the statements are nearly all of the calls'
	// time; the lowest share seen under load (two CPU burners, -race) was
	// 18%: a garbage collection started while sqlprof named a statement,
	// before its region, stalled 30ms.
	if inRegions < spent/10 {
		t.Errorf("the statements' regions hold %v of the %v the database calls took", inRegions, spent)
	}
}

// union returns the length of the union of intervals [a, b).
func union(ivs [][2]int64) int64 {
	sort.Slice(ivs, func(i, j int) bool { return ivs[i][0] < ivs[j][0] })
	var n, end int64 = 0, -1 << 62
	for _, iv := range ivs {
		if iv[0] > end {
			n += iv[1] - iv[0]
			end = iv[1]
		} else if iv[1] > end {
			n += iv[1] - end
			end = iv[1]
		}
	}
	return n
}

func keys(m map[string]time.Duration) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSQLite(t *testing.T) {
	db, err := sqlprof.Open("sqlite", filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runScenario(t, db, sqliteDialect)
}

// TestPostgres runs the scenario on PostgreSQL through pgx's database/sql
// driver: opened with Open straight to the server, and with Wrap on a pgx
// connector through a proxy that adds network latency, where every
// statement must wait on the network beneath its frame.
func TestPostgres(t *testing.T) {
	dsn := proftest.PostgresDSN(t)
	t.Run("direct", func(t *testing.T) {
		db, err := sqlprof.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		runScenario(t, db, postgresDialect)
	})
	t.Run("latency", func(t *testing.T) {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		proxy := proftest.LatencyProxy(t, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), time.Millisecond)
		host, port, _ := net.SplitHostPort(proxy)
		p, _ := strconv.Atoi(port)
		cfg.Host, cfg.Port, cfg.Fallbacks = host, uint16(p), nil
		db := sql.OpenDB(sqlprof.Wrap(stdlib.GetConnector(*cfg)))
		defer db.Close()
		d := postgresDialect
		d.network = true
		runScenario(t, db, d)
	})
}

// A statement longer than the bound is truncated in its frame; its full
// text is logged in the region.
func TestTruncatedStatementLogged(t *testing.T) {
	db, err := sqlprof.Open("sqlite", filepath.Join(t.TempDir(), "test.db"), sqlprof.MaxLen(40))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	query := "SELECT 1 AS one,\n  2 AS two,\n  3 AS three,\n  4 AS four,\n  5 AS five,\n  ? AS six"
	full := strings.Join(strings.Fields(query), " ")
	p, err := reqprof.Do(context.Background(), "long", func(ctx context.Context) error {
		var a, b, c, d, e int
		var f string
		return db.QueryRowContext(ctx, query, secretName).Scan(&a, &b, &c, &d, &e, &f)
	})
	if err != nil {
		t.Fatal(err)
	}
	frame := "SQL: " + strings.TrimRight(string([]rune(full)[:39]), " ") + "…"
	if got := sqlprof.FrameName(query, sqlprof.MaxLen(40)); got != frame {
		t.Fatalf("FrameName = %q, want %q", got, frame)
	}
	if n := utf8.RuneCountInString(strings.TrimPrefix(frame, "SQL: ")); n > 40 || n < 35 {
		t.Fatalf("frame text %q has %d runes, want at most 40", frame, n)
	}
	root := proftest.Tree(t, p)
	if proftest.Find(root, frame) == nil {
		t.Errorf("no frame %q:\n%s", frame, proftest.Text(t, p))
	}
	var logs int
	for _, l := range p.Logs {
		if l.Category != sqlprof.LogCategory {
			continue
		}
		logs++
		if l.Message != full {
			t.Errorf("logged %q, want %q", l.Message, full)
		}
		// Logged inside the statement's region, on its goroutine.
		in := false
		for _, r := range p.Regions {
			if r.Type == frame && r.Goroutine == l.Goroutine && r.Start <= l.Time && l.Time <= r.End {
				in = true
			}
		}
		if !in {
			t.Errorf("the log at %d is not inside a region %q", l.Time, frame)
		}
	}
	if logs != 1 {
		t.Errorf("%d logs of the full text, want 1 (one per statement sent)", logs)
	}
	proftest.CheckAbsent(t, p, secretName)
}

// A connection opened during the work shows as SQL: CONNECT.
func TestConnectFrame(t *testing.T) {
	db, err := sqlprof.Open("sqlite", filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := reqprof.Do(context.Background(), "connect", func(ctx context.Context) error {
		return db.PingContext(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if proftest.Find(proftest.Tree(t, p), sqlprof.FrameConnect) == nil {
		t.Errorf("no %s frame:\n%s", sqlprof.FrameConnect, proftest.Text(t, p))
	}
}
