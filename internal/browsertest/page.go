package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Page is a page opened in headless Chromium by OpenPage, watched from
// before its first byte: the console, uncaught exceptions and every
// network request.
type Page struct {
	// Ctx is the tab's chromedp context, for chromedp.Run and chromedp.Do.
	Ctx context.Context
	// URL is the address the page was opened at.
	URL string

	t        testing.TB
	mu       sync.Mutex
	console  []string
	problems []string
	requests []Request
	ids      map[network.RequestID]int
}

// Request is one network request the page made.
type Request struct {
	URL string
	// Failed is the browser's error text when the request failed ("" when
	// it did not).
	Failed string
}

// OpenPage opens url in a new headless Chromium (skipping the test when
// Chromium is missing, failing under CI=true) and waits for the load
// event. Only 127.0.0.1 and file:// URLs can be reached.
func OpenPage(t testing.TB, url string) *Page {
	t.Helper()
	p := &Page{Ctx: NewBrowser(t), URL: url, t: t, ids: map[network.RequestID]int{}}
	lctx, cancel := context.WithCancel(p.Ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	console := chromedp.Console(lctx)
	sent := chromedp.Events(lctx, network.RequestWillBeSent)
	failed := chromedp.Events(lctx, network.LoadingFailed)
	wg.Add(3)
	go func() {
		defer wg.Done()
		for m, err := range console {
			if err != nil {
				return
			}
			line := m.String()
			if m.IsException() && m.Exception != nil && m.Exception.Exception != nil && m.Exception.Exception.Description != "" {
				line += ": " + m.Exception.Exception.Description
			}
			if m.URL != "" {
				line += " (" + m.URL + ")"
			}
			p.mu.Lock()
			p.console = append(p.console, line)
			if m.Type == chromedp.ConsoleError || m.IsException() {
				p.problems = append(p.problems, line)
			}
			p.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range sent {
			if err != nil {
				return
			}
			if ev.Request == nil {
				continue
			}
			p.mu.Lock()
			p.ids[ev.RequestID] = len(p.requests)
			p.requests = append(p.requests, Request{URL: ev.Request.URL})
			p.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range failed {
			if err != nil {
				return
			}
			p.mu.Lock()
			if i, ok := p.ids[ev.RequestID]; ok {
				p.requests[i].Failed = ev.ErrorText
				p.problems = append(p.problems, "request failed: "+p.requests[i].URL+": "+ev.ErrorText)
			} else {
				p.problems = append(p.problems, "request failed: "+ev.ErrorText)
			}
			p.mu.Unlock()
		}
	}()
	if err := chromedp.Do(p.Ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("browsertest: opening %s: %v\n%s", url, err, p.consoleText())
	}
	return p
}

// Problems returns what went wrong so far: console errors, uncaught
// exceptions (CSP violations among them) and failed requests.
func (p *Page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// Requests returns the requests the page made so far, the page's own
// first.
func (p *Page) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Console returns the console so far, one message a line ("error: ...").
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

func (p *Page) consoleText() string {
	c := p.Console()
	if len(c) == 0 {
		return "--- browser console: (empty)"
	}
	return "--- browser console:\n  " + strings.Join(c, "\n  ")
}

// Do runs chromedp actions on the page, failing the test on an error.
func (p *Page) Do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.Ctx, steps...); err != nil {
		p.t.Fatalf("browsertest: %v\n%s", err, p.consoleText())
	}
}

// Eval evaluates a JavaScript expression on p (awaiting a promise) and
// decodes its JSON value into a T, failing the test on an error.
func Eval[T any](p *Page, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("browsertest: evaluating %s: %v\n%s", js, err, p.consoleText())
	}
	return v
}

// WaitFor polls a JavaScript condition until it is true, failing the test
// after d.
func (p *Page) WaitFor(js string, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := chromedp.Run(p.Ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("browsertest: %s still false after %v (%v)\n%s", js, d, err, p.consoleText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Screenshot takes a PNG of the viewport, or of the whole page with full,
// and writes it to dir (a t.TempDir when dir is ""), returning the path.
func (p *Page) Screenshot(dir, file string, full bool) string {
	p.t.Helper()
	var b []byte
	var err error
	if full {
		b, err = chromedp.Run(p.Ctx, chromedp.FullScreenshot(100))
	} else {
		b, err = chromedp.Run(p.Ctx, chromedp.CaptureScreenshot())
	}
	if err != nil {
		p.t.Fatalf("browsertest: screenshot: %v", err)
	}
	if dir == "" {
		dir = p.t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(file))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", path)
	return path
}
