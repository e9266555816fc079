// Package browsertest opens reqprof's outputs in the real tools people use —
// today the Speedscope web app in headless Chromium — and reports what the
// tool shows, so that format tests check more than a schema.
//
// The browser and the app are not Go modules: scripts/install-browser-deps.sh
// installs them (Debian's chromium, the pinned npm package speedscope into
// <repo>/.cache/node). Tests that need them are skipped with a message when
// they are missing, and fail instead when CI=true, so that CI cannot pass by
// skipping.
//
// A format test renders a profile and asserts on what the app shows:
//
//	func TestInSpeedscope(t *testing.T) {
//		p := testprofile.Capture(t) // a real profile (internal/testprofile)
//		var b bytes.Buffer
//		if err := speedscope.Render(&b, p, render.Options{}); err != nil {
//			t.Fatal(err)
//		}
//		r := browsertest.OpenInSpeedscope(t, "x"+speedscope.Extension, b.Bytes())
//		browsertest.SaveScreenshot(t, r, "x.png")
//		if r.Importer != "speedscope" || r.Title != testprofile.Name || !r.HasFrame("[wait: sleep]") {
//			t.Errorf("speedscope shows %+v", r)
//		}
//	}
//
// # Module
//
// This directory is a module of its own,
// github.com/reqprof/reqprof/internal/browsertest, so that chromedp and
// the Chrome DevTools Protocol packages are requirements of this module
// only, never of the core module github.com/reqprof/reqprof (an
// application importing reqprof does not get them in its go.sum). The
// internal rule goes by import path, so the tests here may import the
// core's internal packages (internal/testprofile's profiles). go.work ties
// the module to the checkout; `go test ./...` at the repository root runs
// its tests (internal/workspace), and so does `go test ./...` here.
//
// Besides the harness (this package), the module holds the browser tests
// of the core's packages, one test-only package per package tested, each
// using that package's public API:
//
//	uitest          ui and the root package's middleware: the profiles list
//	                and the report page in Chromium (with and without JavaScript)
//	htmltest        render/html: the self-contained report, offline, in Chromium
//	difftest        render/diff: the differential page in Chromium
//	speedscopetest  render/speedscope: its files in the Speedscope app
//	foldedtest      render/folded: its files in the Speedscope app
//	chrometest      render/chrome: its Trace Event files in the Speedscope app
//
// Assertions that need no browser stay in the tested package's own tests.
//
// Environment:
//
//	REQPROF_CHROMIUM    the Chromium binary (default /usr/bin/chromium, then chromium or chromium-browser on PATH)
//	REQPROF_SPEEDSCOPE  speedscope's dist/release directory (default <repo>/.cache/node/node_modules/speedscope/dist/release)
//	REQPROF_BROWSER_TIMEOUT  how long one OpenInSpeedscope may take (a Go duration, default 60s)
//	REQPROF_SCREENSHOT_DIR   where SaveScreenshot keeps screenshots (default a t.TempDir, removed after the test)
//	CI=true             missing tools fail the test instead of skipping it
package browsertest
