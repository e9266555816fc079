package uitest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/internal/browsertest"
)

// newServer serves h behind the root package's middleware (as the root
// package's tests do), enabled, storing profiles in a t.TempDir.
func newServer(t *testing.T, opts reqprof.Options, h http.Handler) *httptest.Server {
	t.Helper()
	opts.Enabled = true
	if opts.Dir == "" && opts.Store == nil {
		opts.Dir = t.TempDir()
	}
	mw, err := reqprof.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw.Wrap(h))
	t.Cleanup(func() {
		srv.Close()
		mw.Close()
	})
	return srv
}

// fetchProfile reads a profile's text tree through the UI (which also
// waits until it is stored).
func fetchProfile(t *testing.T, srv *httptest.Server, resp *http.Response) string {
	t.Helper()
	u := resp.Header.Get(reqprof.HeaderURL)
	if u == "" {
		t.Fatalf("no %s header (status %q)", reqprof.HeaderURL, resp.Header.Get(reqprof.HeaderStatus))
	}
	r, body := get(t, srv.URL+u+"?format=text")
	if r.StatusCode != 200 {
		t.Fatalf("GET %s: %s: %s", u, r.Status, body)
	}
	return string(body)
}

// TestUIInChromium drives the profiles list, served by the root package's
// middleware, in real Chromium with JavaScript off: rows, sorting,
// filtering by route, links, delete.
func TestUIInChromium(t *testing.T) {
	ctx := browsertest.NewBrowser(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fast", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("GET /slow/{n}", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte("ok"))
	})
	srv := newServer(t, reqprof.Options{}, mux)
	for _, p := range []string{"/fast", "/slow/1", "/fast", "/slow/2"} {
		resp, _ := get(t, srv.URL+p+"?profile=true")
		fetchProfile(t, srv, resp)
	}
	ui := srv.URL + "/debug/reqprof/"

	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#profiles tbody tr").length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	text := func(sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// waitURL waits for a navigation to a URL containing substr to have
	// finished: the new document is the current one and completely loaded
	// (a click's navigation runs on while the test goes on: asked too
	// early, the browser answers for the old document, or for a new one
	// half parsed, or fails because the document it was asked about is
	// gone — so failures are retried until the deadline).
	waitURL := func(substr string) {
		t.Helper()
		var last string
		var lastErr error
		// 30s: a page load takes milliseconds; a loaded machine, seconds.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			u, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? document.location.href : ""`))
			if err != nil {
				lastErr = err
				continue
			}
			last = u
			if u != "" && strings.Contains(u+"\x00", substr) {
				return
			}
		}
		t.Fatalf("no finished navigation to a URL with %q (at %q, last error %v)", substr, last, lastErr)
	}
	// Scripts off: the list must work without JavaScript.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	run(chromedp.Navigate(ui), chromedp.WaitVisible(chromedp.ID("profiles")))
	if n, h := count(), text("header"); n != 4 || !strings.Contains(h, "4 of 4") {
		t.Fatalf("list shows %d rows, header %q", n, h)
	}
	if dir := os.Getenv("REQPROF_SCREENSHOT_DIR"); dir != "" {
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "ui-list.png"), shot, 0o644)
	}
	// Sort by duration (descending first): the slow requests lead.
	run(chromedp.Click(chromedp.Search(`//th/a[text()="Duration"]`)))
	waitURL("sort=duration")
	if first := text("#profiles tbody tr:first-child td.path"); !strings.HasPrefix(first, "/slow/") {
		t.Errorf("sorted by duration, first row is %q", first)
	}
	// Filter by route with the form.
	run(chromedp.SetValue(chromedp.ID("route"), "GET /fast"), chromedp.Click(chromedp.CSS("form.filter button")))
	waitURL("route=GET")
	if n := count(); n != 2 {
		t.Errorf("filtered to GET /fast: %d rows", n)
	}
	// Open a profile and see its tree; then delete it with its form.
	run(chromedp.Click(chromedp.CSS("#profiles tbody tr:first-child td a")))
	waitURL("/p/")
	run(chromedp.WaitVisible(chromedp.CSS("pre.tree")))
	if tree := text("pre.tree"); !strings.Contains(tree, "GET /fast") || !strings.Contains(tree, "Duration:") {
		t.Errorf("profile page tree:\n%s", tree)
	}
	run(chromedp.Click(chromedp.CSS("button.link")))
	waitURL("/debug/reqprof/\x00") // the list, after the redirect
	if h := text("header"); !strings.Contains(h, "of 3") {
		t.Errorf("after delete, header %q", h)
	}
}
