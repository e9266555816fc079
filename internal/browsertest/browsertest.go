package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Environment variables read by the package.
const (
	ChromiumEnv   = "REQPROF_CHROMIUM"
	SpeedscopeEnv = "REQPROF_SPEEDSCOPE"
	TimeoutEnv    = "REQPROF_BROWSER_TIMEOUT"
	ScreenshotEnv = "REQPROF_SCREENSHOT_DIR"
)

// InstallScript is the script that installs the browser and the apps,
// relative to the repository root.
const InstallScript = "scripts/install-browser-deps.sh"

// DefaultTimeout bounds one OpenInSpeedscope call, browser start included.
const DefaultTimeout = 60 * time.Second

// missing skips t, or fails it under CI=true, because a tool is not
// installed.
func missing(t testing.TB, what, env string) {
	t.Helper()
	msg := fmt.Sprintf("browsertest: %s not found: set %s, or run %s (as root) to install it", what, env, InstallScript)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " [CI=true: not skipping]")
	}
	t.Skip(msg)
}

// Chromium returns the Chromium binary: $REQPROF_CHROMIUM, else
// /usr/bin/chromium, else chromium or chromium-browser on PATH. When none
// exists the test is skipped with a message naming the variable and
// scripts/install-browser-deps.sh; under CI=true it fails instead. A
// REQPROF_CHROMIUM that names no executable fails the test.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		abs, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("browsertest: %s=%q: %v", ChromiumEnv, p, err)
		}
		return abs
	}
	if isExecutable("/usr/bin/chromium") {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "Chromium", ChromiumEnv)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Speedscope returns the directory of speedscope's dist/release (the one
// holding index.html): $REQPROF_SPEEDSCOPE, else
// <repo root>/.cache/node/node_modules/speedscope/dist/release. When it is
// missing the test is skipped (fails under CI=true) with a message naming the
// variable and scripts/install-browser-deps.sh. A REQPROF_SPEEDSCOPE without
// index.html fails the test.
func Speedscope(t testing.TB) string {
	t.Helper()
	if d := os.Getenv(SpeedscopeEnv); d != "" {
		if _, err := os.Stat(filepath.Join(d, "index.html")); err != nil {
			t.Fatalf("browsertest: %s=%q has no index.html: %v", SpeedscopeEnv, d, err)
		}
		return d
	}
	if root := RepoRoot(); root != "" {
		d := filepath.Join(root, ".cache", "node", "node_modules", "speedscope", "dist", "release")
		if _, err := os.Stat(filepath.Join(d, "index.html")); err == nil {
			return d
		}
	}
	missing(t, "the Speedscope app (npm speedscope, dist/release)", SpeedscopeEnv)
	return ""
}

const modulePath = "github.com/reqprof/reqprof"

// RepoRoot returns the root of the reqprof repository, the directory whose
// go.mod declares the module: found upwards from the working directory (go
// test runs in the package's directory), else from this source file. It
// returns "" when neither works.
func RepoRoot() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, d := range starts {
		for {
			if isModuleRoot(d) {
				return d
			}
			up := filepath.Dir(d)
			if up == d {
				break
			}
			d = up
		}
	}
	return ""
}

func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) == 2 && fs[0] == "module" {
			return strings.Trim(fs[1], `"`) == modulePath
		}
	}
	return false
}

// Result is what the Speedscope app shows for a file.
type Result struct {
	// Importer is the importer speedscope used, from its console message
	// "Importing as ...": "speedscope" (its own JSON), "trace-event" (Chrome
	// Trace Event Format), "collapsed" (folded stacks), "pprof"; other
	// importers keep speedscope's own words ("Chrome CPU Profile").
	Importer string
	// Title is the profile (group) name shown: the page title without
	// " - speedscope".
	Title string
	// Frames lists the frame names of the Sandwich view's table for the
	// active profile, in the table's order (Speedscope's default sort),
	// each once.
	Frames []string
	// Screenshot is a PNG of the flame graph (Time Order) view.
	Screenshot []byte
	// Log is the browser console, one message a line ("log: Importing as
	// ...").
	Log []string
}

// HasFrame reports whether the Sandwich view lists a frame named name.
func (r Result) HasFrame(name string) bool {
	for _, f := range r.Frames {
		if f == name {
			return true
		}
	}
	return false
}

// SaveScreenshot writes r.Screenshot as file (a base name such as
// "critical.png") into $REQPROF_SCREENSHOT_DIR, or else into a t.TempDir,
// logs where, and returns the path. Screenshots are for people to look at,
// never golden files.
func SaveScreenshot(t testing.TB, r Result, file string) string {
	t.Helper()
	dir := os.Getenv(ScreenshotEnv)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: %s: %v", ScreenshotEnv, err)
	}
	p := filepath.Join(dir, filepath.Base(file))
	if err := os.WriteFile(p, r.Screenshot, 0o644); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	t.Logf("screenshot of the flame graph: %s", p)
	return p
}

// importers maps speedscope's "Importing as ..." messages to short names.
var importers = map[string]string{
	"speedscope json file":        "speedscope",
	"Trace Event Format profile":  "trace-event",
	"collapsed stack format":      "collapsed",
	"protobuf encoded pprof file": "pprof",
}

// ImporterOf returns the importer named by a console message of
// speedscope's ("Importing as collapsed stack format" → "collapsed"), or ""
// when the message names none.
func ImporterOf(msg string) string {
	_, rest, ok := strings.Cut(msg, "Importing as ")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	if short, ok := importers[rest]; ok {
		return short
	}
	return rest
}

// OpenInSpeedscope serves the Speedscope app and data (as file name, e.g.
// "x.speedscope.json": speedscope picks its importer by name and content)
// on 127.0.0.1, opens index.html#profileURL=... in headless Chromium, and
// returns what the app shows. No title parameter is passed, so Title is the
// name the file itself gives (speedscope's title parameter would override
// it).
//
// It fails the test when speedscope shows an error, an alert (for example
// "Unrecognized format"), or still its landing page after the timeout, with
// the browser console attached. It skips the test (fails under CI=true) when
// Chromium or the app is not installed.
func OpenInSpeedscope(t testing.TB, name string, data []byte) Result {
	t.Helper()
	chromium := Chromium(t)
	release := Speedscope(t)
	if name == "" || strings.ContainsAny(name, "/\\") {
		t.Fatalf("browsertest: bad file name %q", name)
	}
	timeout := DefaultTimeout
	if s := os.Getenv(TimeoutEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("browsertest: %s=%q: want a positive duration like 90s", TimeoutEnv, s)
		}
		timeout = d
	}
	s := &session{chromium: chromium, release: release, name: name, data: data, timeout: timeout}
	res, err := s.run()
	if err != nil {
		t.Fatalf("browsertest: speedscope on %s: %v\n%s", name, err, s.logText())
	}
	return res
}

type session struct {
	chromium, release string
	name              string
	data              []byte
	timeout           time.Duration
	mu                sync.Mutex
	log               []string
	dialogs           []string
	browserOut        lockedBuffer
}

func (s *session) addLog(line string) {
	s.mu.Lock()
	s.log = append(s.log, line)
	s.mu.Unlock()
}

func (s *session) snapshot() (log, dialogs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...), append([]string(nil), s.dialogs...)
}

// logText is the console (and the browser's own output) for error messages.
func (s *session) logText() string {
	log, dialogs := s.snapshot()
	var b strings.Builder
	b.WriteString("--- browser console:\n")
	for _, l := range log {
		if !strings.Contains(l, "GL Driver Message") { // SwiftShader's noise
			b.WriteString("  " + l + "\n")
		}
	}
	if len(log) == 0 {
		b.WriteString("  (empty)\n")
	}
	for _, d := range dialogs {
		b.WriteString("--- alert: " + d + "\n")
	}
	if out := strings.TrimSpace(s.browserOut.String()); out != "" {
		lines := strings.Split(out, "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		b.WriteString("--- chromium output (last lines):\n  " + strings.Join(lines, "\n  ") + "\n")
	}
	return b.String()
}

// serve starts the static server: the app at /, the data at /p/<name>.
func (s *session) serve() (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/p/"+s.name {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(s.data)
	})
	mux.Handle("/", http.FileServer(http.Dir(s.release)))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// pageState is what the page shows while it loads.
type pageState struct {
	Title string `json:"title"`
	Text  string `json:"text"`
	WebGL bool   `json:"webgl"`
}

// hasToolbar reports whether the page shows the profile view's toolbar,
// with its view-mode tabs.
func hasToolbar(text string) bool {
	for _, tab := range []string{"Time Order", "Left Heavy", "Sandwich"} {
		if !strings.Contains(text, tab) {
			return false
		}
	}
	return true
}

// landingText is on speedscope's landing page, which it shows until a
// profile is loaded.
const landingText = "Welcome to"

const stateJS = `({
	title: document.title,
	text: document.body ? document.body.innerText : "",
	webgl: !!document.createElement("canvas").getContext("webgl"),
})`

// sandwichJS lists the frame names of the Sandwich view's table. The table
// is virtualised (only the visible rows exist), so it scrolls through it.
const sandwichJS = `(async () => {
	const names = [];
	const seen = new Set();
	// Sandwich rows: three cells (total, self, name). The profile
	// selector's rows (also three cells, in the DOM while closed) carry a
	// title attribute.
	const rows = () => [...document.querySelectorAll("tr")].filter(tr => !tr.hasAttribute("title") && tr.querySelectorAll("td").length === 3);
	const collect = () => {
		for (const tr of rows()) {
			const td = tr.querySelectorAll("td");
			if (td.length !== 3) continue;
			const n = td[2].textContent;
			if (!seen.has(n)) { seen.add(n); names.push(n); }
		}
	};
	const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 20)));
	collect();
	const first = rows()[0];
	let sc = first && first.closest("table");
	while (sc && !(sc.scrollHeight > sc.clientHeight + 1 && /auto|scroll/.test(getComputedStyle(sc).overflowY))) sc = sc.parentElement;
	if (sc) {
		for (let i = 0; i < 100000; i++) {
			const before = sc.scrollTop;
			sc.scrollTop = before + Math.max(sc.clientHeight / 2, 20);
			await frame();
			collect();
			if (sc.scrollTop === before) break;
		}
		sc.scrollTop = 0;
	}
	return names;
})()`

func (s *session) run() (Result, error) {
	var res Result
	base, stop, err := s.serve()
	if err != nil {
		return res, err
	}
	defer stop()
	profileURL := base + "/p/" + url.PathEscape(s.name)
	pageURL := base + "/index.html#profileURL=" + url.QueryEscape(profileURL)

	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	opts := append(allocatorOptions(s.chromium), chromedp.CombinedOutput(&s.browserOut))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	// Start the browser and the tab, then subscribe before navigating.
	if err := chromedp.Do(bctx); err != nil {
		return res, fmt.Errorf("starting %s: %w", s.chromium, err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	lctx, lcancel := context.WithCancel(bctx)
	defer lcancel()
	console := chromedp.Console(lctx)
	dialogs := chromedp.Events(lctx, page.JavascriptDialogOpening)
	wg.Add(2)
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
			s.addLog(line)
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			s.mu.Lock()
			s.dialogs = append(s.dialogs, ev.Message)
			s.mu.Unlock()
			// An alert blocks the page until it is answered.
			chromedp.Call(lctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()

	if err := chromedp.Do(bctx, chromedp.Navigate(pageURL)); err != nil {
		return res, fmt.Errorf("opening %s: %w", pageURL, err)
	}

	// Wait for one outcome: the profile's title (loaded), an error, an
	// alert, no WebGL, or the timeout (still the landing page).
	var st pageState
	for {
		st, err = chromedp.Run(bctx, chromedp.Evaluate[pageState](stateJS))
		if err != nil {
			return res, fmt.Errorf("reading the page (last title %q): %w", st.Title, err)
		}
		if _, d := s.snapshot(); len(d) > 0 {
			return res, fmt.Errorf("speedscope raised an alert: %q", d)
		}
		if strings.Contains(st.Text, "Something went wrong") {
			return res, errors.New(`speedscope shows "Something went wrong" (its importer threw)`)
		}
		if strings.Contains(st.Text, landingText) {
			if st.Title != "speedscope" {
				// Imported, yet nothing to show: an activeProfileIndex out
				// of range, for one.
				return res, fmt.Errorf("speedscope imported the file (title %q) but shows its landing page", st.Title)
			}
		} else if st.Title != "speedscope" && strings.HasSuffix(st.Title, " - speedscope") && hasToolbar(st.Text) {
			// The title is set before the import ends; the toolbar
			// appears with the profile view.
			break
		}
		if !st.WebGL {
			return res, errors.New("WebGL is unavailable in this Chromium; speedscope cannot render")
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("no profile shown within %v (title %q, toolbar shown: %v; still loading, or the landing page?)", s.timeout, st.Title, hasToolbar(st.Text))
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.Title = strings.TrimSuffix(st.Title, " - speedscope")

	// Let the flame graph paint (requestAnimationFrame), then shoot it.
	if err := chromedp.Do(bctx, chromedp.Sleep(500*time.Millisecond)); err != nil {
		return res, err
	}
	if res.Screenshot, err = chromedp.Run(bctx, chromedp.CaptureScreenshot()); err != nil {
		return res, fmt.Errorf("screenshot: %w", err)
	}

	// The Sandwich view (key 3) lists the frames as table rows.
	if err := chromedp.Do(bctx, chromedp.KeyEvent("3"), chromedp.Sleep(300*time.Millisecond)); err != nil {
		return res, fmt.Errorf("switching to the Sandwich view: %w", err)
	}
	if res.Frames, err = chromedp.Run(bctx, chromedp.Evaluate[[]string](sandwichJS, chromedp.EvalAwaitPromise)); err != nil {
		return res, fmt.Errorf("reading the Sandwich view: %w", err)
	}

	lcancel()
	wg.Wait()
	res.Log, _ = s.snapshot()
	for _, l := range res.Log {
		if imp := ImporterOf(l); imp != "" {
			res.Importer = imp
			break
		}
	}
	if res.Importer == "" {
		return res, errors.New(`speedscope logged no "Importing as ..." message`)
	}
	return res, nil
}

// lockedBuffer is a bytes.Buffer safe for the browser's output goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NewBrowser starts headless Chromium (skipping the test when it is
// missing, failing under CI) and returns a chromedp context for a tab,
// closed when the test ends. Only 127.0.0.1 can be reached.
func NewBrowser(t testing.TB) context.Context {
	t.Helper()
	chromium := Chromium(t)
	opts := allocatorOptions(chromium)
	d := DefaultTimeout
	if s := os.Getenv(TimeoutEnv); s != "" {
		if v, err := time.ParseDuration(s); err == nil && v > 0 {
			d = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel(); cancel() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return bctx
}

// allocatorOptions are the Chromium flags for this kind of machine: root,
// no GPU, no network but 127.0.0.1.
func allocatorOptions(chromium string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // root, in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// speedscope draws with WebGL: with the GPU off, Chromium needs
		// the software (SwiftShader) WebGL path.
		chromedp.Flag("use-angle", "swiftshader"),
		chromedp.Flag("enable-unsafe-swiftshader", true),
		// Nothing but 127.0.0.1 may be reached.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("proxy-server", "direct://"),
		chromedp.WindowSize(1280, 800),
	)
}
