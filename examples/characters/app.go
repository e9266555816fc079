// Package characters is reqprof's demo: a small JSON API over a real
// database, profiled per request. It is what `reqprof demo` runs.
//
// GET /characters/{id} runs three SQL statements (the character, its
// items, a view-counter update in a transaction) and decodes the
// character's JSON data; GET /characters lists them with paging (limit,
// offset, and a name filter); GET /slow fans out to goroutines and calls a
// slow loopback HTTP dependency; GET /healthz pings the database.
//
// The database is SQLite (modernc.org/sqlite, in a file of a temporary
// directory unless Config.DB says file:PATH) or PostgreSQL (Config.DB
// postgres://...), opened through [github.com/reqprof/reqprof/sqlprof] so
// that each statement shows in the profile as a "SQL: ..." frame. It is
// created and seeded with 1,000 characters on first start.
//
// Profiling is on: add ?profile=true to any request, read the profile at
// the URL of its Reqprof-Url response header (?format=text for a text
// tree), and browse the profiles at /debug/reqprof/.
package characters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/outcall"
	"github.com/reqprof/reqprof/serve"
	"github.com/reqprof/reqprof/store"
)

// DefaultAddr is where Run listens when Config.Addr is empty.
const DefaultAddr = "127.0.0.1:8080"

// Config configures the demo. The zero value is a demo on SQLite in a
// temporary directory, decoding JSON with encoding/json, keeping profiles
// in reqprof's default directory.
type Config struct {
	// Addr is where Run listens (default DefaultAddr).
	Addr string
	// DB is the database: "" (SQLite in a new temporary directory,
	// removed by Close), "file:PATH" (SQLite), or "postgres://..."
	// (PostgreSQL, through pgx). Tables are created and seeded when
	// missing or empty.
	DB string
	// JSON is the library that decodes the characters' data and encodes
	// responses: "std" (encoding/json, the default) or "fast"
	// (github.com/goccy/go-json).
	JSON string
	// Dir is where profiles are stored (default reqprof's:
	// store.DefaultDir()).
	Dir string
	// Logger receives a line per profiled request and errors (default
	// slog.Default()).
	Logger *slog.Logger
	// Sample, when set, profiles requests nobody asked about, per route
	// (reqprof.PerRoute), stored with reason "sampled".
	Sample *serve.Sampler
}

// App is the demo API.
type App struct {
	log     *slog.Logger
	db      *database
	q       queries
	json    jsonLib
	prof    *httpprof.Profiler
	handler http.Handler
	dep     *dependency
	client  *http.Client
	info    Info
}

// Info describes a started App.
type Info struct {
	// Database describes the database ("SQLite /tmp/.../characters.db",
	// "PostgreSQL postgres://user:xxxxx@host/db").
	Database string
	// Seeded is how many characters New inserted (0 when the database was
	// already seeded), in SeedTime.
	Seeded   int
	SeedTime time.Duration
	// JSON is the import path of the JSON library in use.
	JSON string
	// Profiles is the directory profiles are stored in.
	Profiles string
}

// New opens (and seeds, if needed) the database, starts the loopback
// dependency that GET /slow calls, and builds the handler. Close releases
// it all.
func New(ctx context.Context, cfg Config) (*App, error) {
	lib, err := jsonLibrary(cfg.JSON)
	if err != nil {
		return nil, fmt.Errorf("characters: %w", err)
	}
	a := &App{log: cfg.Logger, json: lib}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.prof, err = reqprof.New(reqprof.Options{
		Enabled: true,
		Dir:     cfg.Dir,
		Route:   routeOf,
		Logger:  a.log,
		Sample:  cfg.Sample,
	})
	if err != nil {
		return nil, err
	}
	if a.db, err = openDB(ctx, cfg.DB); err != nil {
		a.prof.Close()
		return nil, fmt.Errorf("characters: %w", err)
	}
	a.q = newQueries(a.db.postgres)
	start := time.Now()
	n, err := seed(ctx, a.db.db, a.q)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("characters: seed %s: %w", a.db.desc, err)
	}
	a.info = Info{Database: a.db.desc, Seeded: n, SeedTime: time.Since(start), JSON: lib.pkg}
	if d, ok := a.prof.Store().(*store.Dir); ok {
		a.info.Profiles = d.Path()
	}
	if a.dep, err = startDependency(); err != nil {
		a.Close()
		return nil, fmt.Errorf("characters: %w", err)
	}
	hashInput()
	// outcall names the dependency's calls in profiles ("HTTP: GET host/quote").
	a.client = &http.Client{Transport: outcall.Transport(&http.Transport{MaxIdleConnsPerHost: 16}), Timeout: 10 * time.Second}

	r := chi.NewRouter()
	r.Get("/characters", a.listCharacters)
	r.Get("/characters/{id}", a.getCharacter)
	r.Get("/slow", a.slow)
	r.Get("/healthz", a.healthz)
	// The demo's home is the profiles UI.
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/debug/reqprof/", http.StatusFound)
	})
	// reqprof outermost, so that the profile holds everything the request
	// does; outer only prepares chi's routing context and logs.
	a.handler = a.outer(r, a.prof.Wrap(r))
	return a, nil
}

// Handler returns the demo's HTTP handler, profiling middleware and
// /debug/reqprof/ UI included.
func (a *App) Handler() http.Handler { return a.handler }

// Profiler returns the reqprof middleware, for its Store.
func (a *App) Profiler() *httpprof.Profiler { return a.prof }

// Info describes the App.
func (a *App) Info() Info { return a.info }

// Serve serves the demo on ln until ctx is done, then shuts the server
// down gracefully (letting requests in flight finish, for up to ten
// seconds). It does not Close the App.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Close waits for the profiles being extracted to be stored, then stops
// the dependency and closes the database (removing it if New created it).
func (a *App) Close() error {
	var err error
	if a.prof != nil {
		err = a.prof.Close()
	}
	if a.client != nil {
		a.client.CloseIdleConnections()
	}
	if a.dep != nil {
		err = errors.Join(err, a.dep.close())
	}
	if a.db != nil {
		err = errors.Join(err, a.db.close())
	}
	return err
}

// Run starts the demo on cfg.Addr and serves it until ctx is done, then
// shuts down gracefully and closes the App, flushing pending profiles.
func Run(ctx context.Context, cfg Config) error {
	a, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.Close()
		return err
	}
	a.log.Info("reqprof demo listening", "url", "http://"+ln.Addr().String()+"/", "ui", "http://"+ln.Addr().String()+"/debug/reqprof/")
	err = a.Serve(ctx, ln)
	return errors.Join(err, a.Close())
}

// --- route names ----------------------------------------------------------------

// routeOf names a request's route by chi's route pattern:
// "GET /characters/{id}".
//
// reqprof calls it after the request has ended, in the background. chi
// recycles the routing context it creates as soon as the request ends, so
// outer gives chi one of ours, which chi then fills and leaves alone.
func routeOf(r *http.Request) string {
	if p := chi.RouteContext(r.Context()).RoutePattern(); p != "" {
		return r.Method + " " + p
	}
	return ""
}

// outer gives the request a chi routing context of its own (see routeOf)
// and logs where each profile is.
func (a *App) outer(routes chi.Routes, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := chi.NewRouteContext()
		rctx.Routes = routes
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx)))
		if u := w.Header().Get(reqprof.HeaderURL); u != "" {
			a.log.Info("profiled", "request", r.Method+" "+r.URL.Path, "profile", "http://"+r.Host+u+"?format=text")
		} else if why := w.Header().Get(reqprof.HeaderStatus); why != "" {
			a.log.Warn("not profiled", "request", r.Method+" "+r.URL.Path, "why", why)
		}
	})
}
