package uitest

import (
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/httpprof"
	"github.com/reqprof/reqprof/internal/browsertest"
	"github.com/reqprof/reqprof/internal/testprofile"
)

// server runs an app (as ui/ui_test.go's does) whose GET /work/{n} does real work (computes, sleeps,
// fans out) behind the middleware, with the UI at /debug/reqprof/.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	p, err := httpprof.New(httpprof.Options{Enabled: true, Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /work/{n}", func(w http.ResponseWriter, r *http.Request) {
		testprofile.PhaseSleep()
		testprofile.PhaseFanout(r.Context())
		io.WriteString(w, "done")
	})
	srv := httptest.NewServer(p.Wrap(mux))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestListAndReportInChromium profiles two requests, then checks in
// Chromium that the list's bars say what the report's header says, and
// that the report page loads under the UI's CSP without errors or requests
// besides the page itself.
func TestListAndReportInChromium(t *testing.T) {
	srv := server(t)
	var ids []string
	for _, n := range []string{"1", "2"} {
		resp, _ := get(t, srv.URL+"/work/"+n+"?profile=true")
		ids = append(ids, resp.Header.Get(httpprof.HeaderID))
		get(t, srv.URL+resp.Header.Get(httpprof.HeaderURL)+"?format=text") // waits until it is stored
	}

	list := browsertest.OpenPage(t, srv.URL+"/debug/reqprof/")
	type bar struct {
		ID     string
		Shares map[string]float64
		Text   string
	}
	bars := browsertest.Eval[[]bar](list, `[...document.querySelectorAll("#profiles tbody tr")].map(tr => ({
		ID: tr.dataset.id, Text: tr.querySelector("td.splitcell .dim").textContent,
		Shares: Object.fromEntries([...tr.querySelectorAll("svg.split rect")].map(r => [r.getAttribute("class"), +r.dataset.share]))}))`)
	if len(bars) != 2 {
		t.Fatalf("list bars %+v", bars)
	}
	// Sorted by time, newest first, the column says so.
	if bars[0].ID != ids[1] || browsertest.Eval[string](list, `document.querySelector("th[aria-sort=descending] a").textContent`) != "Time" {
		t.Errorf("rows %v, ids %v", bars, ids)
	}
	// The whole row opens the profile: its link covers the row.
	if covered := browsertest.Eval[bool](list, `(tr => { const r = tr.getBoundingClientRect(), a = tr.querySelector("a.rowlink"), x = r.left + r.width * 0.35, y = r.top + r.height / 2; return document.elementFromPoint(x, y) === a || document.elementFromPoint(x, y).closest("a") === a; })(document.querySelector("#profiles tbody tr"))`); !covered {
		t.Error("the middle of a row is not its profile's link")
	}
	// One download menu per row, with every format.
	if n := browsertest.Eval[[]int](list, `[...document.querySelectorAll("#profiles tbody tr")].map(tr => tr.querySelectorAll("details.menu a").length)`); n[0] < 7 || n[0] != n[1] {
		t.Errorf("download menus list %v formats", n)
	}
	for _, p := range list.Problems() {
		t.Errorf("list page: %s", p)
	}

	for _, b := range bars {
		rp := browsertest.OpenPage(t, srv.URL+"/debug/reqprof/p/"+b.ID)
		rp.WaitFor(`document.documentElement.dataset.reqprofReady === "1"`, 20*time.Second)
		parts := browsertest.Eval[[][2]float64](rp, `[...document.querySelectorAll(".rp-split > div")].map(d => [+d.dataset.code, +d.dataset.ns])`)
		// The header's codes: 0 running, 1 running unsampled, 2 runnable,
		// 3 syscall, 4+ waiting by reason.
		var total, cpu, waiting, runnable, syscall float64
		for _, p := range parts {
			total += p[1]
			switch {
			case p[0] <= 1:
				cpu += p[1]
			case p[0] == 2:
				runnable += p[1]
			case p[0] == 3:
				syscall += p[1]
			default:
				waiting += p[1]
			}
		}
		// Both come from the one view.Summary: the shares agree to float
		// precision.
		for class, want := range map[string]float64{"s-run": cpu / total, "s-wait": waiting / total, "s-runnable": runnable / total, "s-syscall": syscall / total} {
			if math.Abs(b.Shares[class]-want) > 1e-9 {
				t.Errorf("profile %s: list bar %s %v, report header %.6f (%v; %q)", b.ID, class, b.Shares[class], want, parts, b.Text)
			}
		}
		if nav := browsertest.Eval[string](rp, `document.querySelector("nav.rp-nav").textContent`); !strings.Contains(nav, "all profiles") || !strings.Contains(nav, "download") {
			t.Errorf("report page navigation %q", nav)
		}
		// Downloads follow the view shown, the default format first.
		links := browsertest.Eval[[]string](rp, `(document.querySelector('button[data-view="goroutines"]').click(), [...document.querySelectorAll("nav.rp-nav details a")].map(a => a.getAttribute("href")))`)
		if len(links) < 7 || !strings.HasPrefix(links[0], "?format=speedscope&") || !strings.Contains(links[0], "view=goroutines") {
			t.Errorf("download links after switching to per goroutine: %q", links)
		}
		for _, p := range rp.Problems() {
			t.Errorf("report page %s: %s", b.ID, p)
		}
		for i, r := range rp.Requests() {
			if i > 0 {
				t.Errorf("report page %s requested %s", b.ID, r.URL)
			}
		}
	}
}

// TestProfileResponseHTML asks for the report as the response itself
// (profile_format=html, profile_response=1), saves it, and opens the file
// with no server.
func TestProfileResponseHTML(t *testing.T) {
	srv := server(t)
	resp, b := get(t, srv.URL+"/work/3?profile=true&profile_format=html&profile_response=1")
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/html; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Disposition"), ".html") {
		t.Fatalf("%s %s %q", resp.Status, ct, resp.Header.Get("Content-Disposition"))
	}
	srv.Close() // offline from here on
	path := filepath.Join(t.TempDir(), "p.html")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	u := (&url.URL{Scheme: "file", Path: path}).String()
	pg := browsertest.OpenPage(t, u)
	pg.WaitFor(`document.documentElement.dataset.reqprofReady === "1"`, 20*time.Second)
	if name := browsertest.Eval[string](pg, `document.querySelector(".rp-head h1").textContent`); !strings.Contains(name, "GET /work/{n}") || !strings.Contains(name, "200") {
		t.Errorf("report header %q", name)
	}
	for _, p := range pg.Problems() {
		t.Errorf("browser: %s", p)
	}
	for i, r := range pg.Requests() {
		if i > 0 || r.URL != u {
			t.Errorf("request %s", r.URL)
		}
	}
}
