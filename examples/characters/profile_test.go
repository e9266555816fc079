package characters_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/examples/characters"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/view"
)

// The statements of GET /characters/{id}, as the start of their frames'
// names (sqlprof may truncate long statements).
var characterStatements = []string{
	"SQL: SELECT id, name, data FROM characters WHERE id = ",
	"SQL: SELECT slot, name, kind, weight_g, gold FROM character_items",
	"SQL: UPDATE characters SET views = views + 1 WHERE id = ",
}

func TestProfileSQLite(t *testing.T) {
	s := start(t, characters.Config{})
	checkCharacterProfile(t, s)
}

func TestProfilePostgres(t *testing.T) {
	s := start(t, characters.Config{DB: pgDSN(t)})
	if !strings.HasPrefix(s.Info().Database, "PostgreSQL ") {
		t.Fatalf("database %q", s.Info().Database)
	}
	// Warm connections: pgx prepares each statement on first use.
	for range 10 {
		s.get(t, "/characters/42")
	}
	// Each statement waits for the server's answer, and the profile shows
	// that wait as I/O beneath the statement: [wait: network] when the
	// read found nothing yet, or [syscall] when the kernel ran the server
	// on this CPU during the write, so the answer was already there (often
	// on a small machine with the server on loopback). A request whose SQL
	// frames have no network wait at all happens (from 1 in 20 to 1 in 3
	// here), hence tries.
	const tries = 10
	for i := 1; ; i++ {
		io := checkCharacterProfile(t, s)
		if t.Failed() {
			return
		}
		why := ""
		if len(io.noIO) > 0 {
			why = "no [wait: network] or [syscall] beneath:\n" + strings.Join(io.noIO, "\n")
		} else if !io.network {
			why = "no [wait: network] beneath any SQL frame"
		}
		if why == "" {
			return
		}
		if i == tries {
			t.Fatalf("in %d profiles, %s", tries, why)
		}
		t.Logf("try %d: %s", i, why)
	}
}

// sqlIO says where a profile's SQL statements did I/O.
type sqlIO struct {
	noIO    []string // dumps of the statements with neither network wait nor syscall beneath
	network bool     // a network wait beneath some SQL frame
}

// checkCharacterProfile profiles GET /characters/{id} and checks its
// critical path: the handler, under it the three statements with BEGIN and
// COMMIT and the JSON decoding; and that it sums to the wall time. It
// returns where the statements did I/O.
func checkCharacterProfile(t *testing.T, s *server) (io sqlIO) {
	resp, body := s.get(t, "/characters/42?profile=true")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, body)
	}

	// The text tree, as a person reads it.
	tree := string(s.fetchProfile(t, resp, reqprof.FormatText, nil))
	t.Logf("profile of GET /characters/42:\n%s", tree)
	for _, want := range []string{"GET /characters/{id}", "route: GET /characters/{id}", "url: /characters/42", "status: 200", "getCharacter", "SQL: SELECT id, name, data FROM characters"} {
		if !strings.Contains(tree, want) {
			t.Errorf("text tree lacks %q", want)
		}
	}

	// The model, from the native file and from the store.
	p := s.loadProfile(t, resp)
	stored, meta, err := s.Profiler().Store().Get(context.Background(), resp.Header.Get(reqprof.HeaderID))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Label(profile.AttrRoute) != "GET /characters/{id}" || meta.Label(profile.AttrStatus) != "200" || stored.Duration != p.Duration || p.Name != "GET /characters/{id}" {
		t.Errorf("stored: route %q, status %q, duration %d (native file: %d), name %q", meta.Label(profile.AttrRoute), meta.Label(profile.AttrStatus), stored.Duration, p.Duration, p.Name)
	}

	// The critical path covers the request's wall time exactly.
	tl := view.CriticalPath(p.Profile)
	if got := tl.Total(); got != p.Duration {
		t.Errorf("critical path sums to %dns, wall time %dns", got, p.Duration)
	}
	for i := 1; i < len(tl.Segments); i++ {
		if tl.Segments[i].Start != tl.Segments[i-1].End {
			t.Errorf("critical path: gap or overlap between segments %d and %d: %d != %d", i-1, i, tl.Segments[i-1].End, tl.Segments[i].Start)
			break
		}
	}
	_, trees, err := render.Options{}.Trees(p.Profile)
	if err != nil {
		t.Fatal(err)
	}
	root := trees[0]
	if root.Total != p.Duration {
		t.Errorf("tree total %d, wall time %d", root.Total, p.Duration)
	}
	handler := find(root, func(n *view.Node) bool {
		return n.Frame.Kind == view.Func && strings.HasSuffix(n.Frame.Name, "characters.(*App).getCharacter")
	})
	if handler == nil {
		t.Fatalf("no getCharacter frame in the critical path:\n%s", dump(root))
	}
	for _, stmt := range append(characterStatements[:len(characterStatements):len(characterStatements)], sqlprof.FrameBegin, sqlprof.FrameCommit) {
		n := find(handler, func(n *view.Node) bool { return n.Frame.Kind == view.Region && strings.HasPrefix(n.Frame.Name, stmt) })
		if n == nil {
			t.Errorf("no %q region under the handler:\n%s", stmt, dump(handler))
			continue
		}
		if n.Total <= 0 {
			t.Errorf("%q: no time", n.Frame.Name)
		}
		network := find(n, func(n *view.Node) bool { return n.Frame.Name == "[wait: network]" }) != nil
		io.network = io.network || network
		if stmt != sqlprof.FrameBegin && stmt != sqlprof.FrameCommit && !network &&
			find(n, func(n *view.Node) bool { return n.Frame.Kind == view.Syscall }) == nil {
			io.noIO = append(io.noIO, dump(n))
		}
	}
	if find(handler, func(n *view.Node) bool {
		return n.Frame.Kind == view.Region && n.Frame.Name == "JSON decode (encoding/json)"
	}) == nil {
		t.Errorf("no JSON decode under the handler:\n%s", dump(handler))
	}

	// Exactly three statements ran, with BEGIN and COMMIT around the last.
	// sqlprof also puts each fetch of a statement's rows (Next, Close) in
	// a region of the statement's name: consecutive regions of one name are
	// one statement.
	var stmts []string
	for _, r := range p.Regions {
		if r.Goroutine == p.Goroutines[0].ID && strings.HasPrefix(r.Type, "SQL: ") && r.Type != sqlprof.FrameConnect {
			stmts = append(stmts, r.Type)
		}
	}
	stmts = slices.Compact(stmts)
	if len(stmts) != 5 || !strings.HasPrefix(stmts[0], characterStatements[0]) || !strings.HasPrefix(stmts[1], characterStatements[1]) ||
		stmts[2] != sqlprof.FrameBegin || !strings.HasPrefix(stmts[3], characterStatements[2]) || stmts[4] != sqlprof.FrameCommit {
		t.Errorf("SQL regions of the request, in order (consecutive ones of one name merged):\n%s", strings.Join(stmts, "\n"))
	}
	return io
}

// TestProfileSlow checks that the critical path of GET /slow runs through
// the handler's goroutine whose end ended the handler's wait for the
// fan-out (the one that called the 20 ms dependency, usually; the SQL
// query, when the machine is loaded or the race detector is on), and that
// the dependency's call is named, under fetchQuote, whichever it was.
func TestProfileSlow(t *testing.T) {
	s := start(t, characters.Config{})
	resp, body := s.get(t, "/slow?profile=true")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	p := s.loadProfile(t, resp)
	fanOut := map[int64]string{} // the handler's goroutines, by their entry
	for i := range p.Goroutines {
		g := &p.Goroutines[i]
		if g.Parent == p.Goroutines[0].ID && p.EntryFunc(g) == "sync.(*WaitGroup).Go.func1" {
			fanOut[g.ID] = view.EntryName(p.Profile, g)
		}
	}
	if len(fanOut) != 3 {
		t.Fatalf("the handler's goroutines: %v, want its three", fanOut)
	}
	// The root's last wait before the response: the fan-out's, ended by
	// the last of its goroutines to finish.
	var waker int64
	for _, iv := range p.Goroutines[0].Intervals {
		if iv.State == profile.Waiting && fanOut[iv.Waker] != "" {
			waker = iv.Waker
		}
	}
	if waker == 0 {
		t.Fatal("no goroutine of the handler ended the root's wait")
	}
	_, trees, err := render.Options{}.Trees(p.Profile)
	if err != nil {
		t.Fatal(err)
	}
	via := find(trees[0], func(n *view.Node) bool {
		return n.Frame.Kind == view.Via && strings.Contains(n.Frame.Name, "characters.(*App).slow")
	})
	if via == nil {
		t.Fatalf("the wait for the fan-out is not explained by a goroutine of the handler:\n%s", dump(trees[0]))
	}
	if want := fmt.Sprintf("[via goroutine %d: ", waker); !strings.HasPrefix(via.Frame.Name, want) {
		t.Errorf("the critical path explains the fan-out's wait by %s, want goroutine %d (%s), which ended it:\n%s",
			via.Frame.Name, waker, fanOut[waker], dump(trees[0]))
	}
	// The outgoing call is named after the dependency (outcall.Transport),
	// on the critical path or in the goroutines' view.
	named := func(n *view.Node) bool {
		fq := find(n, func(n *view.Node) bool { return strings.HasSuffix(n.Frame.Name, "characters.(*App).fetchQuote") })
		return fq != nil && find(fq, func(n *view.Node) bool {
			return strings.HasPrefix(n.Frame.Name, "HTTP: GET 127.0.0.1:") && strings.HasSuffix(n.Frame.Name, "/quote")
		}) != nil
	}
	_, all, err := render.Options{View: view.All}.Trees(p.Profile)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tr := range all {
		found = found || named(tr)
	}
	if !found {
		t.Errorf("no goroutine's tree names the dependency's URL under fetchQuote")
	}
	if find(via, func(n *view.Node) bool { return strings.HasSuffix(n.Frame.Name, "characters.(*App).fetchQuote") }) != nil && !named(via) {
		t.Errorf("no frame names the dependency's URL under fetchQuote on the critical path:\n%s", dump(via))
	}
}

// find returns the first node under n (n included), depth first, for which
// match holds.
func find(n *view.Node, match func(*view.Node) bool) *view.Node {
	if match(n) {
		return n
	}
	for _, c := range n.Children {
		if m := find(c, match); m != nil {
			return m
		}
	}
	return nil
}

// dump renders a tree for failure messages.
func dump(n *view.Node) string {
	var b strings.Builder
	n.Walk(func(n *view.Node, depth int) {
		fmt.Fprintf(&b, "%s%s  %dns\n", strings.Repeat("  ", depth), n.Frame.Name, n.Total)
	})
	return b.String()
}
