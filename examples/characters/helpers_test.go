package characters_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/examples/characters"
)

// server is an App served on a loopback port, as `reqprof demo` does.
type server struct {
	*characters.App
	URL string
	log *syncBuffer
}

// start creates an App with cfg (a fresh SQLite file and profile directory
// when cfg leaves them empty) and serves it on 127.0.0.1:0 until the test
// ends, then shuts it down gracefully and closes it.
func start(t testing.TB, cfg characters.Config) *server {
	t.Helper()
	dir := t.TempDir()
	if cfg.DB == "" {
		cfg.DB = "file:" + filepath.Join(dir, "characters.db")
	}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(dir, "profiles")
	}
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	app, err := characters.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		app.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := app.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &server{App: app, URL: "http://" + ln.Addr().String(), log: logs}
}

// get fetches path from s and returns the response and its body.
func (s *server) get(t testing.TB, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// getJSON fetches path, checks the status, and decodes the body into v.
func (s *server) getJSON(t testing.TB, path string, status int, v any) *http.Response {
	t.Helper()
	resp, body := s.get(t, path)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %s, want %d: %s", path, resp.Status, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	return resp
}

// profileURL returns the UI URL of the profile of resp.
func (s *server) profileURL(t testing.TB, resp *http.Response) string {
	t.Helper()
	u := resp.Header.Get(reqprof.HeaderURL)
	if u == "" {
		t.Fatalf("%s %s was not profiled: %s %q", resp.Request.Method, resp.Request.URL, reqprof.HeaderStatus, resp.Header.Get(reqprof.HeaderStatus))
	}
	return u
}

// fetchProfile returns the profile of resp rendered in format f (with the
// UI's query parameters q), decompressed if gzipped.
func (s *server) fetchProfile(t testing.TB, resp *http.Response, f reqprof.Format, q url.Values) []byte {
	t.Helper()
	if q == nil {
		q = url.Values{}
	}
	q.Set("format", string(f))
	r, body := s.get(t, s.profileURL(t, resp)+"?"+q.Encode())
	if r.StatusCode != http.StatusOK {
		t.Fatalf("profile as %s: %s: %s", f, r.Status, body)
	}
	return gunzip(t, body)
}

// loadProfile returns the profile of resp, read back from its native file.
func (s *server) loadProfile(t testing.TB, resp *http.Response) *reqprof.Profile {
	t.Helper()
	r, body := s.get(t, s.profileURL(t, resp)+"?format=reqprof")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("profile as reqprof: %s: %s", r.Status, body)
	}
	p, err := reqprof.Load(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// gunzip returns b decompressed if it is gzipped, else b.
func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pgDSN returns the DSN of a fresh schema of the PostgreSQL server named by
// REQPROF_PG_DSN, dropped when the test ends. Without REQPROF_PG_DSN the
// test is skipped, except on CI, where it fails.
func pgDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("REQPROF_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("REQPROF_PG_DSN is not set on CI: run the tests under scripts/with-postgres.sh")
		}
		t.Skip("no PostgreSQL: run under scripts/with-postgres.sh or set REQPROF_PG_DSN")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("reqprof_characters_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("REQPROF_PG_DSN: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Error(err)
		}
	})
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
