package characters_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/examples/characters"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/sqlprof"
)

// Example serves the demo, profiles a request for a character, and lists
// the SQL statements and JSON work its profile shows, in order.
func Example() {
	dir, err := os.MkdirTemp("", "characters-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	app, err := characters.New(context.Background(), characters.Config{
		DB:     "file:" + filepath.Join(dir, "characters.db"), // created and seeded
		Dir:    filepath.Join(dir, "profiles"),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()

	// ?profile=true: the response is the usual one; its Reqprof-Url header
	// says where the profile is.
	resp, err := http.Get(srv.URL + "/characters/42?profile=true")
	if err != nil {
		log.Fatal(err)
	}
	var c characters.Character
	err = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, %d view(s)\n", c.Name, c.Views)

	// The profile in reqprof's native format holds the regions: the SQL
	// statements' (sqlprof's, one per call into the driver: the query, then
	// each fetch of its rows) and the demo's own around the JSON work.
	resp, err = http.Get(srv.URL + resp.Header.Get(reqprof.HeaderURL) + "?format=reqprof")
	if err != nil {
		log.Fatal(err)
	}
	p, err := reqprof.Load(resp.Body)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	regions := slices.SortedFunc(slices.Values(p.Regions), func(a, b profile.Region) int { return cmp.Compare(a.Start, b.Start) })
	var names []string
	for _, r := range regions {
		if r.Type != sqlprof.FrameConnect {
			names = append(names, r.Type)
		}
	}
	for _, name := range slices.Compact(names) {
		fmt.Println(name)
	}
	// Output:
	// Nerys of the Marches, 1 view(s)
	// SQL: SELECT id, name, data FROM characters WHERE id = ?
	// JSON decode (encoding/json)
	// SQL: SELECT slot, name, kind, weight_g, gold FROM character_items WHERE character_id = ? ORDER BY slot
	// SQL: BEGIN
	// SQL: UPDATE characters SET views = views + 1 WHERE id = ? RETURNING views
	// SQL: COMMIT
	// JSON encode (encoding/json)
}
