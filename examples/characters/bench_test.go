package characters

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkCharacterEndpoint serves GET /characters/{id} in process, not
// profiled, against SQLite, with each JSON library: the recipe's
// experiment.
//
//	go test -run '^$' -bench CharacterEndpoint -count 6 ./examples/characters/
func BenchmarkCharacterEndpoint(b *testing.B) {
	db := "file:" + filepath.Join(b.TempDir(), "characters.db")
	for _, lib := range JSONLibraries() {
		b.Run("json="+lib, func(b *testing.B) {
			app, err := New(context.Background(), Config{DB: db, JSON: lib, Dir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer app.Close()
			h := app.Handler()
			reqs := make([]*http.Request, 100)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", "/characters/"+strconv.Itoa(1+i*10), nil)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, reqs[i%len(reqs)])
				if rec.Code != http.StatusOK {
					b.Fatalf("%d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkDecode decodes one character's data column with each JSON
// library: the part of the endpoint that the switch changes.
func BenchmarkDecode(b *testing.B) {
	_, d, _ := generate(42)
	raw, err := json.Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	for _, lib := range jsonLibs {
		b.Run("json="+lib.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				var d Data
				if err := lib.unmarshal(raw, &d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
