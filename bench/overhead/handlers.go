package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/reqprof/reqprof/examples/characters"
	"github.com/reqprof/reqprof/httpprof"
)

// handlerSpec is one of the handlers put under load.
type handlerSpec struct {
	name, desc string
	// path is the URL path (and query) of client c's i-th request.
	path func(c, i int) string
	// build returns the handler, served by a child, and what closes it.
	build func(cfg childConfig, log *slog.Logger) (http.Handler, func() error, error)
}

var handlers = []handlerSpec{
	{
		name: "trivial",
		desc: "writes 3 bytes",
		path: func(int, int) string { return "/" },
		build: func(childConfig, *slog.Logger) (http.Handler, func() error, error) {
			return http.HandlerFunc(trivial), nop, nil
		},
	},
	{
		name:  "mixed",
		desc:  "~1.8 ms alone: hashing (~0.4 ms of CPU), a loopback HTTP call, a 1 ms sleep, JSON in and out",
		path:  func(int, int) string { return "/mixed" },
		build: buildMixed,
	},
	{
		name:  "characters",
		desc:  "the demo's GET /characters/{id} (examples/characters, SQLite): three SQL statements and JSON",
		path:  func(c, i int) string { return "/characters/" + strconv.Itoa(1+(c*7919+i*13)%1000) },
		build: buildCharacters,
	},
	{
		name: "sleep1ms",
		desc: "sleeps 1 ms and writes 3 bytes",
		path: func(int, int) string { return "/sleep" },
		build: func(childConfig, *slog.Logger) (http.Handler, func() error, error) {
			return http.HandlerFunc(sleep1ms), nop, nil
		},
	},
}

func handlerNames() []string {
	var n []string
	for _, h := range handlers {
		n = append(n, h.name)
	}
	return n
}

func handlerByName(name string) (handlerSpec, error) {
	for _, h := range handlers {
		if h.name == name {
			return h, nil
		}
	}
	return handlerSpec{}, fmt.Errorf("unknown handler %q", name)
}

func nop() error { return nil }

func trivial(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) }

func sleep1ms(w http.ResponseWriter, r *http.Request) {
	time.Sleep(time.Millisecond)
	w.Write([]byte("ok\n"))
}

// The mixed handler's CPU work: mixedHashBytes of SHA-256, about 0.4 ms
// on this project's machine (a fixed amount of work, not a fixed time, so
// that a profiler's cost shows as time).
const mixedHashBytes = 512 << 10

var hashBlock = make([]byte, 16<<10) // read only

// depReply is what the mixed handler's dependency answers.
type depReply struct {
	User   string   `json:"user"`
	Plan   string   `json:"plan"`
	Limits []int    `json:"limits"`
	Tags   []string `json:"tags"`
}

type mixedItem struct {
	ID    int     `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
	Tags  []string
}

type mixedReply struct {
	Digest string      `json:"digest"`
	User   string      `json:"user"`
	Plan   string      `json:"plan"`
	Items  []mixedItem `json:"items"`
}

// buildMixed returns the mixed handler, which calls the dependency at
// cfg.Dep (served by the parent process, so that its work is not in the
// profiled process).
func buildMixed(cfg childConfig, _ *slog.Logger) (http.Handler, func() error, error) {
	if _, err := url.Parse(cfg.Dep); err != nil || cfg.Dep == "" {
		return nil, nil, fmt.Errorf("mixed handler: bad dependency URL %q", cfg.Dep)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs := sha256.New()
		for n := 0; n < mixedHashBytes; n += len(hashBlock) {
			hs.Write(hashBlock)
		}
		digest := fmt.Sprintf("%x", hs.Sum(nil))

		req, err := http.NewRequestWithContext(r.Context(), "GET", cfg.Dep, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var dep depReply
		err = json.NewDecoder(resp.Body).Decode(&dep)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}

		time.Sleep(time.Millisecond)

		out := mixedReply{Digest: digest, User: dep.User, Plan: dep.Plan, Items: make([]mixedItem, 40)}
		for i := range out.Items {
			out.Items[i] = mixedItem{ID: i, Name: "item " + strconv.Itoa(i), Price: float64(i) * 1.25, Tags: dep.Tags}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	return h, func() error { tr.CloseIdleConnections(); return nil }, nil
}

// dependencyHandler is the mixed handler's loopback dependency.
func dependencyHandler() http.Handler {
	body, _ := json.Marshal(depReply{
		User: "user-42", Plan: "pro", Limits: []int{10, 100, 1000, 10000},
		Tags: []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"},
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}

// buildCharacters returns the demo app's handler over the SQLite file
// cfg.DB (seeded by the parent).
//
// The demo has its own reqprof middleware, enabled: requests that do not
// ask for a profile pass through its fast path (about 15 ns, against the
// endpoint's ~200 µs) in every mode, "none" included. The modes' own
// profilers wrap the demo from outside; stripTrigger hides the profile
// trigger from the demo's middleware, so that only the outer one profiles.
func buildCharacters(cfg childConfig, log *slog.Logger) (http.Handler, func() error, error) {
	if cfg.DB == "" {
		return nil, nil, fmt.Errorf("characters handler: no database file")
	}
	app, err := characters.New(context.Background(), characters.Config{DB: "file:" + cfg.DB, Dir: cfg.Tmp + "/demo-profiles", Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return stripTrigger(app.Handler()), app.Close, nil
}

// stripTrigger passes r on without reqprof's triggers (the profile query
// parameter and the X-Reqprof header).
func stripTrigger(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" && r.Header.Get(httpprof.HeaderTrigger) == "" {
			next.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		q := r2.URL.Query()
		q.Del("profile")
		r2.URL.RawQuery = q.Encode()
		r2.RequestURI = r2.URL.RequestURI()
		r2.Header.Del(httpprof.HeaderTrigger)
		next.ServeHTTP(w, r2)
	})
}

// seedCharacters creates and seeds the demo's database file once, so that
// every child opens the same, already seeded, database.
func seedCharacters(db, tmp string) error {
	app, err := characters.New(context.Background(), characters.Config{DB: "file:" + db, Dir: tmp + "/demo-profiles", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	return app.Close()
}
