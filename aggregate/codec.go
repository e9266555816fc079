package aggregate

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/view"
)

// The aggregate file
//
// An aggregate file (extension .reqagg) is a gzip stream. Its decompressed
// content is the magic line "reqprof aggregate\n" followed by one JSON
// object:
//
//	{
//	  "format": "reqprof-aggregate",
//	  "version": 1,
//	  "name": "GET /users/{id}",
//	  "types": ["wall", "critical", "cpu", "cpu_sampled"],
//	  "default": 1,
//	  "grouped": true,
//	  "profiles": [{"name": "GET /users/{id}", "source": "a.reqprof",
//	    "start": "2025-01-02T03:04:05.123456789Z", "duration": 1500000,
//	    "cpu": 500000, "waiting": 1000000, "goroutines": 2, "samples": 1,
//	    "route": "GET /users/{id}", "status": "200", "reason": "sampled"}],
//	  "waits": [{"reason": "network", "time": 1000000, "count": 1, "requests": 1}],
//	  "frames": [{"name": "main.handler", "file": "/src/main.go", "line": 12}],
//	  "stacks": [{"frames": [0, 1], "state": 3, "reason": "network",
//	    "enter": 1, "values": [1000000, 1000000, 0, 0], "counts": [1, 1, 0, 0]}],
//	  "nodes": [{"parent": -1, "frame": -1, "dists": [[1, 1500000, 1500000, 1500000, 349, 1], ...]}],
//	  "funcs": [{"frame": 0, "dists": [[...], ...]}]
//	}
//
// Fields that are zero or empty are omitted (a frame's kind is
// view.FrameKind, a stack's state profile.State). A distribution (see
// [Dist]) is an array of integers: [] when empty, else
//
//	[n, sum, min, max, index1, count1, index2, count2, ...]
//
// its buckets in ascending index order.
//
// Any incompatible change to this layout must increment [FormatVersion].
// Decode rejects unknown fields, so adding a field is such a change too.

// FormatVersion is the version of the aggregate file this package writes,
// and the newest it reads.
const FormatVersion = 1

// Extension is the aggregate file's name extension.
const Extension = ".reqagg"

// ErrUnsupportedVersion is returned, wrapped, by [Decode] for a file of a
// newer format version.
var ErrUnsupportedVersion = errors.New("unsupported reqprof aggregate format version")

// ErrNotAggregate is returned, wrapped, by [Decode] for input that is not
// an aggregate file at all, and by [Load] for input that is neither an
// aggregate nor a profile.
var ErrNotAggregate = errors.New("not a reqprof aggregate file")

const (
	magic        = "reqprof aggregate\n"
	profileMagic = "reqprof profile\n"
	formatName   = "reqprof-aggregate"
)

// DefaultMaxSize bounds the decompressed size of an aggregate file Decode
// reads, against decompression bombs.
const DefaultMaxSize = 256 << 20

// DecodeOptions bound what Decode reads.
type DecodeOptions struct {
	// MaxSize bounds the decompressed size (default DefaultMaxSize).
	MaxSize int64
}

// Encode writes a to w as an aggregate file, after checking it with
// [Aggregate.CheckValid]: whatever Encode writes, Decode reads back.
func (a *Aggregate) Encode(w io.Writer) error {
	if err := a.CheckValid(); err != nil {
		return fmt.Errorf("cannot encode invalid aggregate: %w", err)
	}
	zw := gzip.NewWriter(w)
	if _, err := io.WriteString(zw, magic); err != nil {
		return err
	}
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toWire(a)); err != nil {
		return err
	}
	return zw.Close()
}

// Decode reads an aggregate file and checks it with CheckValid.
func Decode(r io.Reader) (*Aggregate, error) { return DecodeWith(r, DecodeOptions{}) }

// DecodeWith is [Decode] with the given bounds.
func DecodeWith(r io.Reader, o DecodeOptions) (*Aggregate, error) {
	body, err := gunzip(r, o)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(body, []byte(magic)) {
		if bytes.HasPrefix(body, []byte(profileMagic)) {
			return nil, fmt.Errorf("%w: it is a profile (.reqprof), not an aggregate", ErrNotAggregate)
		}
		return nil, fmt.Errorf("%w: content does not start with %q", ErrNotAggregate, magic)
	}
	return decodeBody(body[len(magic):])
}

// Load reads an aggregate file, or a profile's .reqprof file as the
// aggregate of that one profile (with the default Options, source
// recorded), telling them apart by their content.
func Load(r io.Reader, source string) (*Aggregate, error) {
	br := bufio.NewReader(r)
	if IsProfile(br) {
		p, err := profile.Decode(br)
		if err != nil {
			return nil, err
		}
		return From(p, Options{Source: source})
	}
	return Decode(br)
}

// IsProfile reports whether br holds a gzip stream whose content begins
// as a .reqprof file does, without consuming it: whether to read it with
// profile.Decode rather than Decode.
func IsProfile(br *bufio.Reader) bool {
	head, _ := br.Peek(4096)
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return false
	}
	zr, err := gzip.NewReader(bytes.NewReader(head))
	if err != nil {
		return false
	}
	got := make([]byte, len(profileMagic))
	n, _ := io.ReadFull(zr, got)
	return string(got[:n]) == profileMagic
}

// gunzip returns the decompressed content of r, bounded.
func gunzip(r io.Reader, o DecodeOptions) ([]byte, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	switch {
	case len(head) == 0 && err == io.EOF:
		return nil, fmt.Errorf("%w: empty input", ErrNotAggregate)
	case len(head) < 2 && err != nil && err != io.EOF:
		return nil, fmt.Errorf("reading aggregate file: %w", err)
	case len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b:
		return nil, fmt.Errorf("%w: not gzip-compressed", ErrNotAggregate)
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, corrupt(err)
	}
	zr.Multistream(false)
	body, err := io.ReadAll(io.LimitReader(zr, o.MaxSize+1))
	if err != nil {
		return nil, corrupt(err)
	}
	if int64(len(body)) > o.MaxSize {
		return nil, fmt.Errorf("aggregate file too large: decompresses to more than %d MiB (limit against decompression bombs)", o.MaxSize>>20)
	}
	if _, err := br.ReadByte(); err == nil {
		return nil, corrupt(errors.New("data after the end of the gzip stream"))
	}
	return body, nil
}

func corrupt(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = errors.New("truncated")
	}
	return fmt.Errorf("corrupt reqprof aggregate: %w", err)
}

func decodeBody(body []byte) (*Aggregate, error) {
	var h struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(body, &h); err == nil {
		if h.Format != formatName {
			return nil, fmt.Errorf("%w: format %q", ErrNotAggregate, h.Format)
		}
		if h.Version > FormatVersion || h.Version < 1 {
			return nil, fmt.Errorf("%w %d (this reqprof reads up to %d)", ErrUnsupportedVersion, h.Version, FormatVersion)
		}
	}
	var wa wireAggregate
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&wa)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the aggregate")
		}
	}
	if err != nil {
		return nil, corrupt(err)
	}
	a, err := wa.aggregate()
	if err != nil {
		return nil, corrupt(err)
	}
	if err := a.CheckValid(); err != nil {
		return nil, corrupt(err)
	}
	return a, nil
}

type wireAggregate struct {
	Format   string      `json:"format"`
	Version  int         `json:"version"`
	Name     string      `json:"name,omitempty"`
	Types    []string    `json:"types"`
	Default  int         `json:"default,omitempty"`
	Grouped  bool        `json:"grouped,omitempty"`
	Profiles []wireInput `json:"profiles,omitempty"`
	Waits    []wireWait  `json:"waits,omitempty"`
	Frames   []wireFrame `json:"frames,omitempty"`
	Stacks   []wireStack `json:"stacks,omitempty"`
	Nodes    []wireNode  `json:"nodes,omitempty"`
	Funcs    []wireFunc  `json:"funcs,omitempty"`
}

type wireInput struct {
	Name        string `json:"name,omitempty"`
	Source      string `json:"source,omitempty"`
	Start       string `json:"start,omitempty"`
	Duration    int64  `json:"duration,omitempty"`
	CPU         int64  `json:"cpu,omitempty"`
	CPUInferred int64  `json:"cpu_inferred,omitempty"`
	Runnable    int64  `json:"runnable,omitempty"`
	Syscall     int64  `json:"syscall,omitempty"`
	Waiting     int64  `json:"waiting,omitempty"`
	Followed    int64  `json:"followed,omitempty"`
	Goroutines  int    `json:"goroutines,omitempty"`
	Samples     int    `json:"samples,omitempty"`
	Route       string `json:"route,omitempty"`
	Status      string `json:"status,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

type wireWait struct {
	Reason   string `json:"reason"`
	Time     int64  `json:"time,omitempty"`
	Count    int64  `json:"count,omitempty"`
	Requests int64  `json:"requests,omitempty"`
}

type wireFrame struct {
	Name string `json:"name"`
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Kind int    `json:"kind,omitempty"`
}

type wireStack struct {
	Frames   []FrameID `json:"frames,omitempty"`
	State    int       `json:"state,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Inferred bool      `json:"inferred,omitempty"`
	Enter    int       `json:"enter,omitempty"`
	Values   []int64   `json:"values"`
	Counts   []int64   `json:"counts"`
}

type wireNode struct {
	Parent int32     `json:"parent"`
	Frame  FrameID   `json:"frame"`
	Dists  [][]int64 `json:"dists"`
}

type wireFunc struct {
	Frame FrameID   `json:"frame"`
	Dists [][]int64 `json:"dists"`
}

func toWire(a *Aggregate) *wireAggregate {
	w := &wireAggregate{Format: formatName, Version: FormatVersion, Name: a.Name, Types: a.Types, Default: a.Default, Grouped: a.Grouped}
	for _, in := range a.Profiles {
		wi := wireInput{
			Name: in.Name, Source: in.Source, Duration: in.Duration, CPU: in.CPU, CPUInferred: in.CPUInferred,
			Runnable: in.Runnable, Syscall: in.Syscall, Waiting: in.Waiting, Followed: in.Followed,
			Goroutines: in.Goroutines, Samples: in.Samples, Route: in.Route, Status: in.Status, Reason: in.Reason,
		}
		if !in.Start.IsZero() {
			wi.Start = in.Start.UTC().Format(time.RFC3339Nano)
		}
		w.Profiles = append(w.Profiles, wi)
	}
	for _, x := range a.Waits {
		w.Waits = append(w.Waits, wireWait(x))
	}
	for _, f := range a.Frames {
		w.Frames = append(w.Frames, wireFrame{f.Name, f.File, f.Line, int(f.Kind)})
	}
	for _, s := range a.Stacks {
		w.Stacks = append(w.Stacks, wireStack{s.Frames, int(s.State), s.Reason, s.Inferred, s.Enter, s.Values, s.Counts})
	}
	for _, n := range a.Nodes {
		w.Nodes = append(w.Nodes, wireNode{n.Parent, n.Frame, wireDists(n.Dists)})
	}
	for _, f := range a.Funcs {
		w.Funcs = append(w.Funcs, wireFunc{f.Frame, wireDists(f.Dists)})
	}
	return w
}

func wireDists(ds []Dist) [][]int64 {
	out := make([][]int64, len(ds))
	for i, d := range ds {
		v := []int64{}
		if d.N > 0 {
			v = make([]int64, 0, 4+2*len(d.Buckets))
			v = append(v, d.N, d.Sum, d.Min, d.Max)
			for _, b := range d.Buckets {
				v = append(v, int64(b.Index), b.Count)
			}
		}
		out[i] = v
	}
	return out
}

func (w *wireAggregate) aggregate() (*Aggregate, error) {
	a := &Aggregate{Name: w.Name, Types: w.Types, Default: w.Default, Grouped: w.Grouped}
	for i, wi := range w.Profiles {
		in := Input{
			Name: wi.Name, Source: wi.Source, Duration: wi.Duration, CPU: wi.CPU, CPUInferred: wi.CPUInferred,
			Runnable: wi.Runnable, Syscall: wi.Syscall, Waiting: wi.Waiting, Followed: wi.Followed,
			Goroutines: wi.Goroutines, Samples: wi.Samples, Route: wi.Route, Status: wi.Status, Reason: wi.Reason,
		}
		if wi.Start != "" {
			t, err := time.Parse(time.RFC3339Nano, wi.Start)
			if err != nil {
				return nil, fmt.Errorf("profile %d: start: %w", i, err)
			}
			in.Start = t.UTC()
		}
		a.Profiles = append(a.Profiles, in)
	}
	for _, x := range w.Waits {
		a.Waits = append(a.Waits, WaitStat(x))
	}
	for i, f := range w.Frames {
		if f.Kind < 0 || f.Kind > maxKind {
			return nil, fmt.Errorf("frame %d: unknown kind %d", i, f.Kind)
		}
		a.Frames = append(a.Frames, view.Frame{Name: f.Name, File: f.File, Line: f.Line, Kind: view.FrameKind(f.Kind)})
	}
	for i, s := range w.Stacks {
		if s.State < 0 || s.State > 255 {
			return nil, fmt.Errorf("stack %d: state %d out of range", i, s.State)
		}
		a.Stacks = append(a.Stacks, Stack{s.Frames, profile.State(s.State), s.Reason, s.Inferred, s.Enter, s.Values, s.Counts})
	}
	for i, n := range w.Nodes {
		ds, err := dists(n.Dists)
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		a.Nodes = append(a.Nodes, Node{n.Parent, n.Frame, ds})
	}
	for i, f := range w.Funcs {
		ds, err := dists(f.Dists)
		if err != nil {
			return nil, fmt.Errorf("func %d: %w", i, err)
		}
		a.Funcs = append(a.Funcs, Func{f.Frame, ds})
	}
	return a, nil
}

func dists(ws [][]int64) ([]Dist, error) {
	out := make([]Dist, len(ws))
	for i, v := range ws {
		if len(v) == 0 {
			continue
		}
		if len(v) < 4 || len(v)%2 != 0 {
			return nil, fmt.Errorf("distribution %d: %d integers, want 4 and pairs", i, len(v))
		}
		d := Dist{N: v[0], Sum: v[1], Min: v[2], Max: v[3]}
		for k := 4; k < len(v); k += 2 {
			if v[k] < 0 || v[k] > MaxBucket {
				return nil, fmt.Errorf("distribution %d: bucket %d out of range", i, v[k])
			}
			d.Buckets = append(d.Buckets, Bucket{int32(v[k]), v[k+1]})
		}
		if d.N == 0 {
			return nil, fmt.Errorf("distribution %d: written with no values", i)
		}
		out[i] = d
	}
	return out, nil
}
