package e2e_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/adaptertest"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/view"
)

var sink uint64

// score is the handler's CPU work on the rows it read: about 1.5ms.
//
//go:noinline
func score(rows []string, n int) uint64 {
	x := uint64(len(rows))
	for range n / 1024 {
		x = mix(x, 1024)
	}
	return x
}

//go:noinline
func mix(x uint64, n int) uint64 {
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// A net/http application with database/sql (SQLite through sqlprof), a
// middleware of its own and a ServeMux route: the handler, the SQL
// statement and the function doing the CPU work hold the running time,
// never net/http's own, and the statement is named.
func TestHandlerWithDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("profiles 6 requests")
	}
	db, err := sqlprof.Open("sqlite", filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, err := db.Exec("INSERT INTO users (name) VALUES (?)", fmt.Sprintf("user-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	n := adaptertest.Calibrate(1500*time.Microsecond, func(n int) { sink += score(nil, n) })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/users", func(w http.ResponseWriter, r *http.Request) {
		names, err := listUsers(r, db)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		sink += score(names, n)
		json.NewEncoder(w).Encode(names)
	})
	auth := func(next http.Handler) http.Handler { // a middleware of the app's
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer t" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	profiles := make(chan *profile.Profile, 8)
	h := httpprof.Middleware(httpprof.Options{
		Enabled: true, Dir: t.TempDir(), UIPath: "-", PerMinute: 1000,
		OnProfile: func(r serve.Result) { profiles <- r.Profile },
	})(auth(mux))
	srv := httptest.NewServer(h)
	defer srv.Close()
	// Warm up unprofiled: a first request pays the framework's one-time
	// set-up, the framework's own time.
	warm, _ := http.NewRequest("GET", srv.URL+"/api/users", nil)
	warm.Header.Set("Authorization", "Bearer t")
	if resp, err := http.DefaultClient.Do(warm); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for i := range 6 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var p *profile.Profile
			adaptertest.CheckAttributedRequest(t, func() *profile.Profile {
				req, _ := http.NewRequest("GET", srv.URL+"/api/users?profile=true", nil)
				req.Header.Set("Authorization", "Bearer t")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				select {
				case p = <-profiles:
				case <-time.After(time.Minute):
					t.Fatal("no profile")
				}
				if p == nil {
					t.Fatal("no profile")
				}
				return p
			}, ".TestHandlerWithDatabase.func2", ".listUsers", ".score")
			var sqlTime int64
			for _, s := range view.CriticalPath(p).Segments {
				for _, f := range s.Path {
					if f.Kind == view.Region && strings.HasPrefix(f.Name, "SQL: SELECT name FROM users") {
						sqlTime += s.End - s.Start
						break
					}
				}
			}
			if sqlTime == 0 {
				t.Errorf("no SQL frame on the critical path:\n%s", adaptertest.Dump(adaptertest.Tree(t, p)))
			}
		})
	}
}

// listUsers reads the users' names.
func listUsers(r *http.Request, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(r.Context(), "SELECT name FROM users ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
