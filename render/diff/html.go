package diff

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/view"
)

var (
	//go:embed diff.html
	page string
	//go:embed diff.css
	style string
	//go:embed diff.js
	script string
)

var pageTemplate = template.Must(template.New("diff").Parse(page))

// HTMLExtension and HTMLContentType describe the HTML page.
const (
	HTMLExtension   = ".html"
	HTMLContentType = "text/html; charset=utf-8"
)

// MaxNodes bounds the nodes of the diff tree the HTML page holds: beyond
// it, the smallest are left out (the page says how many), so that the page
// stays responsive whatever the aggregates.
const MaxNodes = 20000

// ScriptSrc and StyleSrc return the Content-Security-Policy sources ('sha256-...')
// of the page's one inline script and style, for a server that serves the
// page under a policy without 'unsafe-inline'.
func ScriptSrc() string { return hash(script) }

// StyleSrc: see [ScriptSrc].
func StyleSrc() string { return hash(style) }

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

type jsonSide struct {
	Title   string  `json:"title"`
	N       int     `json:"n"`
	Mean    float64 `json:"mean"`
	P50     int64   `json:"p50"`
	P90     int64   `json:"p90"`
	P99     int64   `json:"p99"`
	Max     int64   `json:"max"`
	CPU     float64 `json:"cpu"`
	Waiting float64 `json:"waiting"`
}

type jsonNode struct {
	Name     string      `json:"n"`
	File     string      `json:"f,omitempty"`
	Pseudo   int         `json:"k,omitempty"`
	A        int64       `json:"a"`
	B        int64       `json:"b"`
	ASelf    int64       `json:"as"`
	BSelf    int64       `json:"bs"`
	AReqs    int64       `json:"ar"`
	BReqs    int64       `json:"br"`
	AMedian  int64       `json:"am"`
	BMedian  int64       `json:"bm"`
	Known    bool        `json:"known,omitempty"`
	Children []*jsonNode `json:"c,omitempty"`
}

type jsonFunc struct {
	Name   string `json:"n"`
	File   string `json:"f,omitempty"`
	Pseudo int    `json:"k,omitempty"`
	ASelf  int64  `json:"as"`
	BSelf  int64  `json:"bs"`
	ACum   int64  `json:"ac"`
	BCum   int64  `json:"bc"`
}

type jsonWait struct {
	Reason string `json:"r"`
	A      int64  `json:"a"`
	B      int64  `json:"b"`
}

type jsonData struct {
	Title    string     `json:"title"`
	Type     string     `json:"type"`
	Sides    []jsonSide `json:"sides"`
	Waits    []jsonWait `json:"waits"`
	Root     *jsonNode  `json:"root"`
	Funcs    []jsonFunc `json:"funcs"`
	Pruned   int        `json:"pruned,omitempty"`
	MinShare string     `json:"minShare,omitempty"`
}

func side(a *aggregate.Aggregate) jsonSide {
	s := aggregate.Summary(a)
	return jsonSide{Title: a.Title(), N: s.N, Mean: s.Mean, P50: s.P50, P90: s.P90, P99: s.P99, Max: s.Max, CPU: s.CPU, Waiting: s.Waiting}
}

func ns(v float64) int64 { return int64(math.Round(v)) }

func where(f view.Frame) string {
	if f.Kind != view.Func || f.File == "" {
		return ""
	}
	return filepath.Base(f.File)
}

// Page is how a server wraps the HTML page.
type Page struct {
	// Nav is HTML placed above the page: the server's navigation. The
	// page's stylesheet styles a <nav class="rp-nav"> holding links (the
	// first of class "rp-brand") and a <span class="rp-spacer">. A page
	// with a Nav also has an empty icon (a data: URL: the server's policy
	// must allow data: images), so that browsers ask the server for none.
	Nav template.HTML
}

// HTML writes the diff as a self-contained HTML page: the summary, a
// differential flame graph, the call tree and the functions by change (see
// the package documentation). The page loads nothing from the network.
func HTML(w io.Writer, d *aggregate.Diff) error { return HTMLPage(w, d, Page{}) }

// HTMLPage is [HTML] wrapped as pg says.
func HTMLPage(w io.Writer, d *aggregate.Diff, pg Page) error {
	data := jsonData{
		Title: fmt.Sprintf("%s (%d requests) → %s (%d requests)", d.A.Title(), d.A.N(), d.B.Title(), d.B.N()),
		Type:  d.A.Types[d.Type],
		Sides: []jsonSide{side(d.A), side(d.B)},
	}
	for _, w := range d.Waits() {
		data.Waits = append(data.Waits, jsonWait{w.Reason, ns(w.A), ns(w.B)})
	}
	// Keep the MaxNodes largest nodes (by the larger side), with their
	// ancestors, which are at least as large.
	limit := 0.0
	count := 0
	d.Root.Walk(func(*aggregate.DiffNode, int) { count++ })
	if count > MaxNodes {
		var sizes []float64
		d.Root.Walk(func(n *aggregate.DiffNode, _ int) { sizes = append(sizes, max(n.A.Total, n.B.Total)) })
		limit = kth(sizes, MaxNodes)
	}
	kept := 0
	var conv func(n *aggregate.DiffNode) *jsonNode
	conv = func(n *aggregate.DiffNode) *jsonNode {
		kept++
		j := &jsonNode{
			Name: n.Frame.Name, File: where(n.Frame), A: ns(n.A.Total), B: ns(n.B.Total), ASelf: ns(n.A.Self), BSelf: ns(n.B.Self),
			AReqs: n.A.Requests, BReqs: n.B.Requests, AMedian: n.A.Median, BMedian: n.B.Median, Known: n.A.Known && n.B.Known,
		}
		if n.Frame.Kind != view.Func {
			j.Pseudo = 1
		}
		for _, c := range n.Children {
			if max(c.A.Total, c.B.Total) > limit || limit == 0 {
				j.Children = append(j.Children, conv(c))
			}
		}
		return j
	}
	data.Root = conv(d.Root)
	if kept < count {
		data.Pruned = count - kept
		data.MinShare = fmt.Sprintf("%.2g%%", 100*limit/max(d.Root.A.Total, d.Root.B.Total, 1))
	}
	for i, f := range d.Funcs() {
		if i == 100 {
			break
		}
		j := jsonFunc{Name: f.Frame.Name, File: where(f.Frame), ASelf: ns(f.A.Self), BSelf: ns(f.B.Self), ACum: ns(f.A.Total), BCum: ns(f.B.Total)}
		if f.Frame.Kind != view.Func {
			j.Pseudo = 1
		}
		data.Funcs = append(data.Funcs, j)
	}
	// json.Marshal escapes <, > and &: the document cannot end the script
	// element it is in.
	js, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return pageTemplate.Execute(w, struct {
		Title  string
		Style  template.CSS
		Script template.JS
		Data   template.JS
		Nav    template.HTML
	}{data.Title, template.CSS(style), template.JS(script), template.JS(js), pg.Nav})
}

// kth returns the k-th largest value of vs (k >= 1), reordering vs.
func kth(vs []float64, k int) float64 {
	slices.SortFunc(vs, func(a, b float64) int { return cmp.Compare(b, a) })
	return vs[min(k, len(vs))-1]
}
