// Package html renders a profile as one self-contained HTML page: a header
// with the critical path's split by state, a call tree (folding, library
// groups, threshold, time order, search), a flame graph, a timeline of
// every goroutine and top-functions tables, for the critical path, each
// goroutine or all goroutines. [RenderStacks] draws a stack set instead —
// many profiles merged (package aggregate) — with the same tree, flame
// graph and top tables, one view per value type, and no timeline.
//
// Everything is inline: the stylesheet, the script (plain JavaScript,
// embedded with go:embed, no build step) and the data, as JSON in a
// <script type="application/json"> block. The page makes no network
// request; its own Content-Security-Policy (a meta element) allows only
// its inline script and style, by hash, so it stays offline even when
// opened from a file. A server that serves the page with its own CSP adds
// [ScriptSrc] and [StyleSrc] to it.
//
// Large profiles are bounded: call trees keep their largest nodes,
// goroutines with the same entry function share a timeline lane, short
// timeline stretches are merged, and the page says so.
package html

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"

	"github.com/reqprof/reqprof/internal/version"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// Extension and ContentType describe the format.
const (
	Extension   = ".html"
	ContentType = "text/html; charset=utf-8"
)

// Descriptor describes the format to the render registry.
var Descriptor = render.Descriptor{
	Name: "html", Extension: Extension, ContentType: ContentType,
	Takes: render.Timelines, Write: Render,
}

func init() { render.Register(Descriptor) }

//go:embed report.html report.js report.css
var files embed.FS

var (
	script = mustRead("report.js")
	style  = mustRead("report.css")
	page   = template.Must(template.ParseFS(files, "report.html"))
)

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// ScriptSrc is the CSP source that allows the page's inline script
// ("'sha256-…'"); the JSON data block is not a script to run and needs none.
func ScriptSrc() string { return hash(script) }

// StyleSrc is the CSP source that allows the page's inline stylesheet.
func StyleSrc() string { return hash(style) }

// csp is the page's own policy: nothing but its inline script and style.
// (A meta element cannot carry frame-ancestors, and form-action is left to
// the server: the UI's navigation posts a form.)
func csp() string {
	return "default-src 'none'; script-src " + ScriptSrc() + "; style-src " + StyleSrc() + "; img-src data:; base-uri 'none'"
}

// Page is how a server wraps the report.
type Page struct {
	// Nav is HTML placed above the report: the server's navigation. The
	// page's stylesheet styles a <nav class="rp-nav"> holding links,
	// forms with <button class="rp-link">, and a <details class="rp-menu">
	// whose <summary> opens a list of links.
	Nav template.HTML
	// Intro is HTML placed between the navigation and the report: the
	// server's own content about what the report is of. The stylesheet
	// styles a <section class="rp-intro"> holding headings, paragraphs
	// (class "rp-dim" for secondary text), tables of class "rp-table"
	// (cells of class "num" right-aligned) and inline SVG (class "rp-sw"
	// for an inline swatch) drawn with presentation attributes (fill,
	// stroke), which the page's policy allows; style attributes it does
	// not allow.
	Intro template.HTML
}

// Render writes p as a standalone HTML report.
func Render(w io.Writer, p *profile.Profile, o render.Options) error {
	return RenderPage(w, p, o, Page{})
}

// RenderPage writes p as an HTML report wrapped as pg says.
func RenderPage(w io.Writer, p *profile.Profile, o render.Options, pg Page) error {
	m, err := buildModel(p, o)
	if err != nil {
		return err
	}
	return write(w, m, p.Name, pg)
}

// RenderStacks writes a stack set — one profile's view or many profiles
// merged (aggregate.Aggregate.StackSet) — as an HTML report wrapped as pg
// says: the call tree, flame graph and top functions of each of its value
// types (a view each: the critical path, all goroutines, CPU, ...), with
// library frames folded or not and the same controls as a profile's
// report, but no timeline (a set has no time order). The header shows the
// set's name, its summed duration and comments, and how its critical path
// (or its default type) divides by state. o.View, when it names one of
// the set's types, is the view shown first (default: the set's default
// type); without o.User, user code is code outside the standard library
// and golang.org/x.
func RenderStacks(w io.Writer, s *view.StackSet, o render.Options, pg Page) error {
	m, err := buildStacksModel(s, o)
	if err != nil {
		return err
	}
	return write(w, m, s.Name, pg)
}

func write(w io.Writer, m *model, title string, pg Page) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if title == "" {
		title = "(unnamed)"
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	err = page.ExecuteTemplate(bw, "report", struct {
		Title, Generator, CSP, Text string
		CSS                         template.CSS
		JS, Data                    template.JS
		Nav, Intro                  template.HTML
	}{
		Title:     title + " — reqprof",
		Generator: "reqprof " + version.Version,
		CSP:       csp(),
		Text:      m.text,
		CSS:       template.CSS(style),
		JS:        template.JS(script),
		Data:      template.JS(data), // json.Marshal escapes <, > and &: no "</script>" inside
		Nav:       pg.Nav,
		Intro:     pg.Intro,
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}
