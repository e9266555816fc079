package html

import (
	"encoding/json"
	"strconv"
)

// The JSON model the page embeds (in <script type="application/json"
// id="reqprof-data">) and report.js reads; the script reads nothing else.
// data.go is the only file that fills it from a profile. Times are
// nanoseconds from the start of the profile's window. Column-oriented
// arrays ("struct of arrays") keep large profiles compact.
//
// Version changes when the model does.
const modelVersion = 1

// model is the whole page's data.
type model struct {
	Version int        `json:"version"`
	Meta    meta       `json:"meta"`
	Summary sumry      `json:"summary"`
	Kinds   []string   `json:"kinds"` // frame kind names, indexed by frame.Kind
	Frames  []frame    `json:"frames"`
	Views   []viewData `json:"views"`
	// Top is keyed by viewData.Top.
	Top      map[string]top `json:"top"`
	Timeline timeline       `json:"timeline"`
	// Initial state of the page's controls.
	Initial initial `json:"initial"`
	// Notes say what was aggregated or resampled to keep the page small.
	Notes []string `json:"notes"`
	// Set is present when the page draws a stack set (RenderStacks)
	// rather than one profile: one view per value type, no timeline.
	Set *setInfo `json:"set,omitempty"`

	// text is the text tree the page shows without JavaScript.
	text string
}

// setInfo describes a stack set's page.
type setInfo struct {
	// Comments are the set's header lines (view.StackSet.Comments).
	Comments []string `json:"comments"`
	// Split names the view whose time the header's bar divides by state.
	Split string `json:"split"`
}

type initial struct {
	View      string  `json:"view"`
	NoGroup   bool    `json:"noGroup"`
	TimeOrder bool    `json:"timeOrder"`
	Threshold float64 `json:"threshold"` // fraction of the total
}

type meta struct {
	Name      string      `json:"name"`
	Start     string      `json:"start,omitempty"` // RFC 3339, UTC
	Duration  int64       `json:"duration"`
	GoVersion string      `json:"goVersion,omitempty"`
	Host      string      `json:"host,omitempty"`
	Method    string      `json:"method,omitempty"`
	Route     string      `json:"route,omitempty"`
	URL       string      `json:"url,omitempty"`
	Status    string      `json:"status,omitempty"`
	Module    string      `json:"module,omitempty"`
	Attrs     [][2]string `json:"attrs"` // every attribute but the module, in order
	Members   int         `json:"goroutines"`
	Outsiders int         `json:"outsiders"` // goroutines outside the work that woke one of its own
	Warnings  []string    `json:"warnings"`
	Generator string      `json:"generator"`
}

// State codes classify every stretch of time once, for the header's bar,
// the timeline and the legend: 0 running (sampled), 1 running (no CPU
// sample: inferred), 2 runnable, 3 syscall, 4+i waiting for reason i of
// timeline.Reasons.
const (
	codeRunning   = 0
	codeUnsampled = 1
	codeRunnable  = 2
	codeSyscall   = 3
	codeWait      = 4
)

// sumry is how the critical path divides between states.
type sumry struct {
	Total int64  `json:"total"`
	Parts []part `json:"parts"` // non-zero parts, in code order
	// CPU is the running time, and Unsampled the part of it no CPU sample
	// observed; Samples is the number of CPU samples, each standing for
	// SamplePeriod of running time (view.Summary's fields; none for a
	// stack set).
	CPU          int64 `json:"cpu"`
	Unsampled    int64 `json:"unsampled"`
	Samples      int   `json:"samples"`
	SamplePeriod int64 `json:"samplePeriod"`
	// Reqprof is the critical-path time in the profiler's own frames
	// (view.Summary.Overhead), and ReqprofBefore the time it added before
	// the window (view.Summary.OverheadBefore).
	Reqprof       int64 `json:"reqprof"`
	ReqprofBefore int64 `json:"reqprofBefore"`
}

type part struct {
	Code  int    `json:"code"`
	Label string `json:"label"`
	NS    int64  `json:"ns"`
}

// Frame kinds (model.Kinds names them for the script).
const (
	kindRoot = iota
	kindUser
	kindLib
	kindRuntime
	kindRegion
	kindSQL
	kindWait
	kindSyscall
	kindRunnable
	kindVia
	kindReqprof
	kindUnsampled
)

var kindNames = []string{"root", "user", "lib", "runtime", "region", "sql", "wait", "syscall", "runnable", "via", "reqprof", "unsampled"}

// frame is a function or pseudo-frame, encoded as [name, file, line, kind].
type frame struct {
	Name string
	File string
	Line int
	Kind int
}

func (f frame) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	n, _ := json.Marshal(f.Name)
	b = append(b, n...)
	b = append(b, ',')
	n, _ = json.Marshal(f.File)
	b = append(b, n...)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(f.Line), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(f.Kind), 10)
	return append(b, ']'), nil
}

// viewData is one view (critical, goroutines, all) as call trees.
type viewData struct {
	Kind  string `json:"kind"`
	Label string `json:"label"`
	Total int64  `json:"total"` // the roots' total: the 100% of percentages
	Top   string `json:"top"`
	// Trees by grouping and order; TimeOrder ones are absent for views
	// whose segments overlap in time.
	Merged           *tree `json:"merged"`
	MergedNoGroup    *tree `json:"mergedNoGroup"`
	TimeOrder        *tree `json:"timeOrder,omitempty"`
	TimeOrderNoGroup *tree `json:"timeOrderNoGroup,omitempty"`
}

// tree is a forest in preorder: node i has frame F[i] at depth D[i]
// (roots at depth 0); its children follow it, in display order.
type tree struct {
	F []int32 `json:"f"` // frame index
	D []int32 `json:"d"` // depth
	T []int64 `json:"t"` // total
	S []int64 `json:"s"` // self
	U []int64 `json:"u"` // running time under the node that no CPU sample observed
	C []int32 `json:"c"` // separate stretches (waits) merged into the node
	H []int32 `json:"h"` // index into HL of the library frames folded into the node, -1
	// HL are lists [N, frame indexes...]: N distinct frames were folded,
	// the first of them listed.
	HL         [][]int32 `json:"hl"`
	hiddenRefs int
	// Cut: nodes whose total was below it were not embedded (their time
	// stays in their parent's total); Dropped counts them.
	Cut     int64 `json:"cut"`
	Dropped int   `json:"dropped"`
}

// top is the top-functions tables of one view.
type top struct {
	Funcs   []topRow `json:"funcs"`
	Waits   []topRow `json:"waits"`   // [wait: …], [syscall], [runnable]
	Regions []topRow `json:"regions"` // SQL statements and other regions
	Via     []topRow `json:"via"`     // goroutines that explained waits
	Cut     int      `json:"cut"`     // rows left out of each table beyond its limit
}

// topRow is [frame index, self, total, count].
type topRow struct {
	Frame       int32
	Self, Total int64
	Count       int
}

func (r topRow) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	b = strconv.AppendInt(b, int64(r.Frame), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Self, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Total, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Count), 10)
	return append(b, ']'), nil
}

// timeline is the goroutines over the window.
type timeline struct {
	Duration int64    `json:"duration"`
	Reasons  []string `json:"reasons"` // state code 4+i waits for Reasons[i]
	Lanes    []lane   `json:"lanes"`
	// Paths is a trie of frame paths: path i is path P[i] plus frame F[i];
	// path 0 is empty.
	Paths struct {
		P []int32 `json:"p"`
		F []int32 `json:"f"`
	} `json:"paths"`
	Regions struct {
		L []int32 `json:"l"` // lane
		S []int64 `json:"s"`
		E []int64 `json:"e"`
		F []int32 `json:"f"` // the region's frame
	} `json:"regions"`
	// Edges: K 0 spawn (From started To), 1 wake-up (From woke To), at T.
	Edges struct {
		K    []int8  `json:"k"`
		From []int32 `json:"from"`
		To   []int32 `json:"to"`
		T    []int64 `json:"t"`
	} `json:"edges"`
	// Critical is the critical path as lane stretches.
	Critical struct {
		L []int32 `json:"l"`
		S []int64 `json:"s"`
		E []int64 `json:"e"`
	} `json:"critical"`
	// Bucket > 0: spans of individual lanes shorter than it were merged
	// into stretches about this long, shown in their dominant state.
	Bucket int64 `json:"bucket"`
}

// lane is one goroutine, or a group of goroutines with the same entry
// function (N > 1).
type lane struct {
	Name   string  `json:"name"`
	Entry  string  `json:"entry"`
	G      []int64 `json:"g"` // goroutine ids (at most maxLaneIDs)
	N      int     `json:"n"`
	Member bool    `json:"member"`
	Root   bool    `json:"root,omitempty"`
	Start  int64   `json:"start"`
	End    int64   `json:"end"`
	// Spans of a single goroutine: start, duration, state code, path.
	S []int64 `json:"s,omitempty"`
	D []int64 `json:"d,omitempty"`
	K []int16 `json:"k,omitempty"`
	P []int32 `json:"p,omitempty"`
	// A group's density: goroutine-time per bucket of width B in each
	// state class (running, runnable, waiting, syscall).
	B       int64     `json:"b,omitempty"`
	Density [][]int64 `json:"density,omitempty"`
}
