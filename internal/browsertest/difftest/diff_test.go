package difftest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/internal/browsertest"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render/diff"
)

// The profiles below are those of render/diff's example (example_test.go):
// requests that authorize, query and render, the query's time varying.

const ms = int64(time.Millisecond)

// request builds the profile of one request: authorize (CPU), query the
// database (a network wait of query), render (CPU).
func request(start time.Time, query int64) *profile.Profile {
	t1, t2 := 2*ms, 2*ms+query
	end := t2 + 3*ms
	return &profile.Profile{
		Name: "GET /x", Start: start, Duration: end,
		Attrs: []profile.Attr{{Key: profile.ModuleAttr, Value: "example.com/app"}},
		Frames: []profile.Frame{
			{Func: "example.com/app.handler", File: "/app/main.go", Line: 20},
			{Func: "example.com/app.authorize", File: "/app/main.go", Line: 31},
			{Func: "example.com/app.query", File: "/app/db.go", Line: 38},
			{Func: "example.com/app.render", File: "/app/main.go", Line: 45},
		},
		Stacks: []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{0, 1}}, {Frames: []profile.FrameID{0, 2}}, {Frames: []profile.FrameID{0, 3}}},
		Goroutines: []profile.Goroutine{{
			ID: 1, Member: true, Entry: 1, End: end,
			Intervals: []profile.Interval{
				{Start: 0, End: t1, State: profile.Running, Stack: 2},
				{Start: t1, End: t2, State: profile.Waiting, Reason: "network", Stack: 3},
				{Start: t2, End: end, State: profile.Running, Stack: 4},
			},
		}},
	}
}

// merged returns the aggregate of n requests whose query takes query.
func merged(t testing.TB, n int, query int64) *aggregate.Aggregate {
	t.Helper()
	var as []*aggregate.Aggregate
	for i := range n {
		a, err := aggregate.From(request(time.Unix(int64(i), 0), query), aggregate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	m, err := aggregate.Merge(as...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// slower is the diff of 10 requests with 20 whose query takes 2× longer.
func slower(t testing.TB) *aggregate.Diff {
	d, err := aggregate.Compare(merged(t, 10, 5*ms), merged(t, 20, 10*ms), aggregate.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestHTMLInChromium opens the differential page in headless Chromium: the
// flame graph draws its six frames, the slower query red and labelled with its change, the
// tree expands, and the page raises no error.
func TestHTMLInChromium(t *testing.T) {
	var b bytes.Buffer
	if err := diff.HTML(&b, slower(t)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", diff.HTMLContentType)
		// The page works under a policy that allows nothing but itself.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src "+diff.ScriptSrc()+"; style-src "+diff.StyleSrc()+" 'unsafe-inline'")
		w.Write(b.Bytes())
	}))
	defer srv.Close()
	ctx := browsertest.NewBrowser(t)
	lctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	var exceptions []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range chromedp.Console(lctx) {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				mu.Lock()
				exceptions = append(exceptions, m.String())
				mu.Unlock()
			}
		}
	}()
	defer func() { cancel(); <-done }()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#flame div").length > 0`)); err != nil {
		t.Fatalf("the flame graph is not drawn: %v (%q)", err, exceptions)
	}
	type state struct {
		Frames int    `json:"frames"`
		Query  string `json:"query"`
		Color  string `json:"color"`
		Rows   int    `json:"rows"`
	}
	st, err := chromedp.Run(ctx, chromedp.Evaluate[state](`(() => {
		const divs = [...document.querySelectorAll("#flame div")];
		const q = divs.filter(d => d.textContent.startsWith("example.com/app.query"))[0];
		document.querySelector("#tree tbody tr:nth-child(2) button").click();
		return {frames: divs.length, query: q ? q.textContent : "", color: q ? getComputedStyle(q).backgroundColor : "",
			rows: document.querySelectorAll("#tree tbody tr").length};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	frames, query, color, rows := st.Frames, st.Query, st.Color, st.Rows
	t.Logf("%d frames; query %q in %s; %d tree rows", frames, query, color, rows)
	if frames != 6 || query != "example.com/app.query  +5.00ms +100.0%" {
		t.Errorf("flame graph: %d frames, query labelled %q", frames, query)
	}
	// Red: the red channel dominates.
	var r, g, bl int
	if _, err := fmt.Sscanf(color, "rgb(%d, %d, %d)", &r, &g, &bl); err != nil || r < 150 || r < 2*g {
		t.Errorf("the slower query is drawn in %s, not red", color)
	}
	if rows != 5 {
		t.Errorf("%d tree rows after expanding the handler, want root, handler, authorize, query, render", rows)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(exceptions) > 0 {
		t.Errorf("page errors: %s", strings.Join(exceptions, "; "))
	}
}
