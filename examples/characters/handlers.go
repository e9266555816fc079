package characters

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/trace"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
)

// getCharacter serves GET /characters/{id}: three SQL statements (the
// character, its items, the view counter's update in a transaction) and the
// decoding of the character's JSON data.
func (a *App) getCharacter(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		a.fail(w, http.StatusBadRequest, "id must be a positive integer", nil)
		return
	}
	ctx := r.Context()
	var c Character
	var raw []byte
	err = a.db.db.QueryRowContext(ctx, a.q.selectCharacter, id).Scan(&c.ID, &c.Name, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		a.fail(w, http.StatusNotFound, "no such character", nil)
		return
	}
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "database error", err)
		return
	}
	if err := a.decodeData(ctx, raw, &c.Data); err != nil {
		a.fail(w, http.StatusInternalServerError, "corrupt character data", err)
		return
	}
	if c.Items, err = a.items(ctx, id); err != nil {
		a.fail(w, http.StatusInternalServerError, "database error", err)
		return
	}
	if c.Views, err = a.countView(ctx, id); err != nil {
		a.fail(w, http.StatusInternalServerError, "database error", err)
		return
	}
	a.reply(ctx, w, c)
}

// decodeData decodes a character's data column in a trace region named
// after the JSON library, so the profile shows the decoding's time.
func (a *App) decodeData(ctx context.Context, raw []byte, d *Data) error {
	var err error
	trace.WithRegion(ctx, a.json.decodeRegion, func() { err = a.json.unmarshal(raw, d) })
	return err
}

func (a *App) items(ctx context.Context, id int64) ([]Item, error) {
	rows, err := a.db.db.QueryContext(ctx, a.q.selectItems, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []Item{}
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.Slot, &it.Name, &it.Kind, &it.WeightG, &it.Gold); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// countView adds one to the character's view counter, in a transaction,
// and returns the new count.
func (a *App) countView(ctx context.Context, id int64) (int64, error) {
	tx, err := a.db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() // a no-op after Commit
	var views int64
	if err := tx.QueryRowContext(ctx, a.q.updateViews, id).Scan(&views); err != nil {
		return 0, err
	}
	return views, tx.Commit()
}

// List is the response of GET /characters.
type List struct {
	Characters []Summary `json:"characters"`
	Limit      int       `json:"limit"`
	Offset     int       `json:"offset"`
	// Next is the URL of the next page, if this one was full.
	Next string `json:"next,omitempty"`
}

// listCharacters serves GET /characters?limit=&offset=&name=: a page of
// characters by id, optionally those whose name contains name.
func (a *App) listCharacters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit", 20, 1, 100)
	if err != nil {
		a.fail(w, http.StatusBadRequest, err.Error(), nil)
		return
	}
	offset, err := intParam(q, "offset", 0, 0, 1<<31-1)
	if err != nil {
		a.fail(w, http.StatusBadRequest, err.Error(), nil)
		return
	}
	name := q.Get("name")
	var rows *sql.Rows
	if name == "" {
		rows, err = a.db.db.QueryContext(r.Context(), a.q.list, limit, offset)
	} else {
		rows, err = a.db.db.QueryContext(r.Context(), a.q.listByName, "%"+name+"%", limit, offset)
	}
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "database error", err)
		return
	}
	out := List{Limit: limit, Offset: offset}
	out.Characters, err = scanSummaries(rows)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "database error", err)
		return
	}
	if len(out.Characters) == limit {
		next := url.Values{}
		next.Set("limit", strconv.Itoa(limit))
		next.Set("offset", strconv.Itoa(offset+limit))
		if name != "" {
			next.Set("name", name)
		}
		out.Next = "/characters?" + next.Encode()
	}
	a.reply(r.Context(), w, out)
}

func scanSummaries(rows *sql.Rows) ([]Summary, error) {
	defer rows.Close()
	out := []Summary{}
	for rows.Next() {
		var s Summary
		if err := rows.Scan(&s.ID, &s.Name, &s.Views); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// Slow is the response of GET /slow.
type Slow struct {
	Quote    string    `json:"quote"`
	Top      []Summary `json:"top"`
	Checksum string    `json:"checksum"`
}

// slow serves GET /slow: three goroutines at once, one calling the
// loopback dependency (about 20 ms), one querying the most viewed
// characters, one hashing 1 MiB; the request waits for all three, so its
// critical path runs through the slowest.
func (a *App) slow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var (
		wg               sync.WaitGroup
		out              Slow
		quoteErr, topErr error
	)
	wg.Go(func() { out.Quote, quoteErr = a.fetchQuote(ctx) })
	wg.Go(func() { out.Top, topErr = a.topViewed(ctx, 3) })
	wg.Go(func() { out.Checksum = checksum() })
	wg.Wait()
	if err := errors.Join(quoteErr, topErr); err != nil {
		a.fail(w, http.StatusBadGateway, "a dependency failed", err)
		return
	}
	a.reply(ctx, w, out)
}

func (a *App) topViewed(ctx context.Context, n int) ([]Summary, error) {
	rows, err := a.db.db.QueryContext(ctx, a.q.topViewed, n)
	if err != nil {
		return nil, err
	}
	return scanSummaries(rows)
}

func (a *App) fetchQuote(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.dep.url+"/quote", nil)
	if err != nil {
		return "", err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var q struct {
		Quote string `json:"quote"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("dependency: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		return "", fmt.Errorf("dependency: %w", err)
	}
	return q.Quote, nil
}

// hashInput is what checksum hashes, made once by New.
var hashInput = sync.OnceValue(func() []byte {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
})

// checksum hashes 1 MiB of deterministic bytes: a stand-in for CPU work.
func checksum() string {
	sum := sha256.Sum256(hashInput())
	return hex.EncodeToString(sum[:8])
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	if err := a.db.db.PingContext(r.Context()); err != nil {
		a.fail(w, http.StatusServiceUnavailable, "database unreachable", err)
		return
	}
	a.reply(r.Context(), w, map[string]string{"status": "ok"})
}

// reply writes v as JSON, encoded in a trace region named after the JSON
// library.
func (a *App) reply(ctx context.Context, w http.ResponseWriter, v any) {
	var b []byte
	var err error
	trace.WithRegion(ctx, a.json.encodeRegion, func() { b, err = a.json.marshal(v) })
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "cannot encode the response", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.Write(append(b, '\n'))
}

// fail answers with a JSON error; err, if any, is logged, not sent.
func (a *App) fail(w http.ResponseWriter, code int, msg string, err error) {
	if err != nil {
		a.log.Error(msg, "err", err)
	}
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// --- the slow dependency ------------------------------------------------------

// dependencyDelay is how long the loopback dependency takes to answer.
const dependencyDelay = 20 * time.Millisecond

// dependency is a stand-in for a slow service the API calls: an HTTP
// server of the demo's own on another loopback port.
type dependency struct {
	srv  *http.Server
	url  string
	done chan error
}

func startDependency() (*dependency, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the loopback dependency: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /quote", func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(dependencyDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"quote":"Not all those who wander are lost."}`+"\n")
	})
	d := &dependency{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, url: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	go func() { d.done <- d.srv.Serve(ln) }()
	return d, nil
}

func (d *dependency) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := d.srv.Shutdown(ctx)
	if serr := <-d.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
