package html_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/html"
)

// Render a profile (here one made by hand: a request that computes 2 ms,
// then sleeps 8 ms) as a self-contained page, ready to save as a file.
func Example() {
	ms := int64(time.Millisecond)
	p := &profile.Profile{
		Name:     "GET /hello",
		Duration: 10 * ms,
		Frames:   []profile.Frame{{Func: "main.hello", File: "/app/main.go", Line: 12}, {Func: "time.Sleep", File: "/go/src/runtime/time.go", Line: 300}},
		Stacks:   []profile.Stack{{}, {Frames: []profile.FrameID{0}}, {Frames: []profile.FrameID{0, 1}}},
		Goroutines: []profile.Goroutine{{ID: 1, Member: true, Entry: 1, End: 10 * ms, Intervals: []profile.Interval{
			{Start: 0, End: 2 * ms, State: profile.Running, Stack: 1},
			{Start: 2 * ms, End: 10 * ms, State: profile.Waiting, Reason: "sleep", Stack: 2},
		}}},
	}
	var b bytes.Buffer
	if err := html.Render(&b, p, render.Options{}); err != nil {
		log.Fatal(err)
	}
	page := b.String()
	fmt.Println(strings.HasPrefix(page, "<!doctype html>"), strings.Contains(page, "<title>GET /hello — reqprof</title>"))
	fmt.Println("file:", "profile"+html.Extension, html.ContentType)
	// Output:
	// true true
	// file: profile.html text/html; charset=utf-8
}

// A server that sends the page under a Content-Security-Policy of its own
// allows the page's inline script and style by their hashes.
func ExampleScriptSrc() {
	csp := "default-src 'none'; script-src 'self' " + html.ScriptSrc() + "; style-src 'self' " + html.StyleSrc()
	fmt.Println(strings.Count(csp, "'sha256-"))
	// Output: 2
}
