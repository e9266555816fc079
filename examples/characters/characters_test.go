package characters_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/examples/characters"
)

// TestDemoFromNothing starts the demo on a fresh directory, as `reqprof
// demo` does on a fresh machine: it must seed itself and answer every
// endpoint.
func TestDemoFromNothing(t *testing.T) {
	dir := t.TempDir()
	db := "file:" + filepath.Join(dir, "characters.db")
	s := start(t, characters.Config{DB: db})
	if got := s.Info().Seeded; got != 1000 {
		t.Fatalf("seeded %d characters, want 1000", got)
	}

	t.Run("healthz", func(t *testing.T) {
		var h map[string]string
		s.getJSON(t, "/healthz", http.StatusOK, &h)
		if h["status"] != "ok" {
			t.Errorf("healthz: %v", h)
		}
	})

	t.Run("home is the UI", func(t *testing.T) {
		resp, body := s.get(t, "/")
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/debug/reqprof/" || !bytes.Contains(body, []byte("reqprof")) {
			t.Errorf("GET / ended at %s: %s", resp.Request.URL, resp.Status)
		}
		resp, _ = s.get(t, "/debug/reqprof")
		if resp.Request.URL.Path != "/debug/reqprof/" {
			t.Errorf("GET /debug/reqprof ended at %s", resp.Request.URL)
		}
	})

	t.Run("character", func(t *testing.T) {
		var first, second characters.Character
		_, b1 := s.get(t, "/characters/42")
		s.getJSON(t, "/characters/42", http.StatusOK, &second)
		if err := json.Unmarshal(b1, &first); err != nil {
			t.Fatal(err)
		}
		if first.ID != 42 || first.Name == "" || first.Data.Bio == "" || len(first.Data.Skills) == 0 || len(first.Data.History) == 0 || len(first.Items) < 4 {
			t.Errorf("incomplete character: %+v", first)
		}
		if second.Views != first.Views+1 {
			t.Errorf("views went from %d to %d, want +1", first.Views, second.Views)
		}
		// Two reads differ only in views.
		_, b2 := s.get(t, "/characters/42")
		if a, b := dropViews(b1), dropViews(b2); !bytes.Equal(a, b) {
			t.Errorf("two reads differ beyond views:\n%s\n%s", a, b)
		}
		if len(b1) < 3000 {
			t.Errorf("a character is %d bytes; want a few KB of JSON", len(b1))
		}
	})

	t.Run("character errors", func(t *testing.T) {
		for path, want := range map[string]int{
			"/characters/0":    http.StatusBadRequest,
			"/characters/-3":   http.StatusBadRequest,
			"/characters/abc":  http.StatusBadRequest,
			"/characters/1001": http.StatusNotFound,
			"/nowhere":         http.StatusNotFound,
		} {
			resp, body := s.get(t, path)
			if resp.StatusCode != want {
				t.Errorf("GET %s: %s, want %d: %s", path, resp.Status, want, body)
			}
		}
	})

	t.Run("paging", func(t *testing.T) {
		var page characters.List
		s.getJSON(t, "/characters?limit=5", http.StatusOK, &page)
		if ids(page.Characters) != "1 2 3 4 5" || page.Next != "/characters?limit=5&offset=5" {
			t.Fatalf("first page: %s, next %q", ids(page.Characters), page.Next)
		}
		var next characters.List
		s.getJSON(t, page.Next, http.StatusOK, &next)
		if ids(next.Characters) != "6 7 8 9 10" || next.Offset != 5 {
			t.Errorf("second page: %s (offset %d)", ids(next.Characters), next.Offset)
		}
		var last characters.List
		s.getJSON(t, "/characters?limit=5&offset=998", http.StatusOK, &last)
		if ids(last.Characters) != "999 1000" || last.Next != "" {
			t.Errorf("last page: %s, next %q", ids(last.Characters), last.Next)
		}
		var def characters.List
		s.getJSON(t, "/characters", http.StatusOK, &def)
		if len(def.Characters) != 20 || def.Limit != 20 || def.Offset != 0 {
			t.Errorf("default page: %d characters, limit %d, offset %d", len(def.Characters), def.Limit, def.Offset)
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "offset=-1"} {
			if resp, body := s.get(t, "/characters?"+q); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("?%s: %s: %s", q, resp.Status, body)
			}
		}
	})

	t.Run("name filter", func(t *testing.T) {
		var c characters.Character
		s.getJSON(t, "/characters/7", http.StatusOK, &c)
		word := c.Name[strings.LastIndexByte(c.Name, ' ')+1:]
		var page characters.List
		s.getJSON(t, "/characters?limit=100&name="+word, http.StatusOK, &page)
		if len(page.Characters) == 0 || page.Characters[0].ID > 7 {
			t.Fatalf("name=%s: %+v", word, page.Characters)
		}
		for _, c := range page.Characters {
			if !strings.Contains(c.Name, word) {
				t.Errorf("name=%s matched %q", word, c.Name)
			}
		}
		var none characters.List
		s.getJSON(t, "/characters?name=zebra", http.StatusOK, &none)
		if none.Characters == nil || len(none.Characters) != 0 {
			t.Errorf("name=zebra: %#v, want []", none.Characters)
		}
	})

	t.Run("slow", func(t *testing.T) {
		var c characters.Character
		for range 3 {
			s.getJSON(t, "/characters/42", http.StatusOK, &c)
		}
		begin := time.Now()
		var out characters.Slow
		s.getJSON(t, "/slow", http.StatusOK, &out)
		if d := time.Since(begin); d < 20*time.Millisecond {
			t.Errorf("/slow took %v; the dependency alone takes 20ms", d)
		}
		if out.Quote == "" || len(out.Checksum) != 16 || len(out.Top) != 3 || out.Top[0].ID != 42 || out.Top[0].Views != c.Views {
			t.Errorf("/slow: %+v (character 42 has %d views)", out, c.Views)
		}
	})

	t.Run("UI", func(t *testing.T) {
		resp, body := s.get(t, "/debug/reqprof/")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<html") {
			t.Errorf("UI: %s: %.200s", resp.Status, body)
		}
	})

	// A second start on the same database does not seed again and keeps
	// the view counters.
	var before characters.Character
	s.getJSON(t, "/characters/42", http.StatusOK, &before)
	again := start(t, characters.Config{DB: db})
	if n := again.Info().Seeded; n != 0 {
		t.Errorf("second start seeded %d characters", n)
	}
	var after characters.Character
	again.getJSON(t, "/characters/42", http.StatusOK, &after)
	if after.Views != before.Views+1 {
		t.Errorf("views after restart: %d, want %d", after.Views, before.Views+1)
	}
}

// TestDefaultDatabase checks the zero Config's database: SQLite in a
// temporary directory that Close removes.
func TestDefaultDatabase(t *testing.T) {
	app, err := characters.New(context.Background(), characters.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	desc := app.Info().Database
	path, ok := strings.CutPrefix(desc, "SQLite ")
	if !ok || !filepath.IsAbs(path) {
		t.Fatalf("database %q", desc)
	}
	rec := httptest.NewRecorder()
	app.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/characters/1", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET /characters/1: %d %s", rec.Code, rec.Body)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Close left %s behind", filepath.Dir(path))
	}
}

// TestJSONLibrariesAgree checks that both JSON libraries give the same
// responses.
func TestJSONLibrariesAgree(t *testing.T) {
	db := "file:" + filepath.Join(t.TempDir(), "characters.db")
	std := start(t, characters.Config{DB: db, JSON: "std"})
	fast := start(t, characters.Config{DB: db, JSON: "fast"})
	if std.Info().JSON != "encoding/json" || fast.Info().JSON != "github.com/goccy/go-json" {
		t.Errorf("JSON libraries: %q, %q", std.Info().JSON, fast.Info().JSON)
	}
	for _, path := range []string{"/characters/1", "/characters/500", "/characters/1000", "/characters?limit=7&offset=3", "/characters?name=the"} {
		_, a := std.get(t, path)
		_, b := fast.get(t, path)
		if a, b := dropViews(a), dropViews(b); !bytes.Equal(a, b) {
			t.Errorf("GET %s: std and fast differ:\n%s\n%s", path, a, b)
		}
	}
	if _, err := characters.New(context.Background(), characters.Config{JSON: "xml", Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("JSON xml: %v", err)
	}
}

func TestUnsupportedDatabase(t *testing.T) {
	_, err := characters.New(context.Background(), characters.Config{DB: "mysql://localhost/x", Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "file:PATH") {
		t.Errorf("mysql: %v", err)
	}
}

var viewsRE = regexp.MustCompile(`"views":\d+`)

func dropViews(b []byte) []byte { return viewsRE.ReplaceAll(b, []byte(`"views":N`)) }

func ids(cs []characters.Summary) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(c.ID, 10))
	}
	return b.String()
}
