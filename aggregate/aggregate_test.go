package aggregate_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/render/pprof"
	"github.com/reqprof/reqprof/view"
)

const ms = int64(time.Millisecond)

// phases builds, by hand, the profile of one request of a handler that
// authorizes (CPU), loads from the database in a goroutine it waits for
// on a channel, sleeps, and renders (CPU): each phase's length given.
func phases(name string, start time.Time, authorize, load, sleep, render int64) *profile.Profile {
	t1 := authorize
	t2 := t1 + load
	t3 := t2 + sleep
	end := t3 + render
	return &profile.Profile{
		Name: name, Start: start, Duration: end,
		Attrs: []profile.Attr{{Key: profile.AttrRoute, Value: name}, {Key: profile.AttrReason, Value: "sampled"}, {Key: profile.ModuleAttr, Value: "example.com/app"}},
		Frames: []profile.Frame{
			0: {Func: "example.com/app.handler", File: "/app/main.go", Line: 20},
			1: {Func: "example.com/app.authorize", File: "/app/main.go", Line: 31},
			2: {Func: "example.com/app.load", File: "/app/main.go", Line: 38},
			3: {Func: "example.com/app.render", File: "/app/main.go", Line: 45},
			4: {Func: "example.com/app.query", File: "/app/db.go", Line: 12},
			5: {Func: "database/sql.(*DB).QueryContext", File: "/go/src/database/sql/sql.go", Line: 1800},
			6: {Func: "net.(*conn).Read", File: "/go/src/net/net.go", Line: 196},
			7: {Func: "time.Sleep", File: "/go/src/runtime/time.go", Line: 300},
		},
		Stacks: []profile.Stack{
			0: {},
			1: {Frames: []profile.FrameID{0}},
			2: {Frames: []profile.FrameID{0, 1}},
			3: {Frames: []profile.FrameID{0, 2}},
			4: {Frames: []profile.FrameID{0, 3}},
			5: {Frames: []profile.FrameID{4}},
			6: {Frames: []profile.FrameID{4, 5, 6}},
			7: {Frames: []profile.FrameID{0, 7}},
		},
		Goroutines: []profile.Goroutine{
			{
				ID: 1, Member: true, Entry: 1, Start: 0, End: end,
				Intervals: []profile.Interval{
					{Start: 0, End: t1, State: profile.Running, Stack: 2},
					{Start: t1, End: t2, State: profile.Waiting, Reason: "chan receive", Stack: 3, Waker: 7},
					{Start: t2, End: t3, State: profile.Waiting, Reason: "sleep", Stack: 7},
					{Start: t3, End: end, State: profile.Running, Stack: 4},
				},
			},
			{
				ID: 7, Parent: 1, Member: true, CreatedAt: 3, Entry: 5, Start: t1, End: t2, Exited: true,
				Intervals: []profile.Interval{
					{Start: t1, End: t1 + load/4, State: profile.Running, Stack: 5},
					{Start: t1 + load/4, End: t2, State: profile.Waiting, Reason: "network", Stack: 6},
				},
			},
		},
		Samples: []profile.Sample{{Time: t3 + render/2, Goroutine: 1, Stack: 4}},
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func from(t *testing.T, p *profile.Profile) *aggregate.Aggregate {
	t.Helper()
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	a, err := aggregate.From(p, aggregate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CheckValid(); err != nil {
		t.Fatalf("From: %v", err)
	}
	return a
}

func merge(t *testing.T, as ...*aggregate.Aggregate) *aggregate.Aggregate {
	t.Helper()
	m, err := aggregate.Merge(as...)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckValid(); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	return m
}

func encode(t *testing.T, a *aggregate.Aggregate) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := a.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// randomProfiles returns n profiles of the same route with random phases.
func randomProfiles(n int, seed uint64) []*profile.Profile {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []*profile.Profile
	for i := range n {
		d := func() int64 { return 1 + r.Int64N(5*ms) }
		out = append(out, phases("GET /users/{id}", t0.Add(time.Duration(i)*time.Second), d(), d(), d(), d()))
	}
	return out
}

// TestFromMatchesPprof checks that an aggregate of one profile has the
// totals per type that render/pprof gives the profile: one rule for the
// sample types, in two places, kept in agreement.
func TestFromMatchesPprof(t *testing.T) {
	p := phases("GET /x", t0, 2*ms, 5*ms, 1*ms, 3*ms)
	a := from(t, p)
	s, err := pprof.Stacks(p, render.Options{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Types, a.Types) || s.Default != a.Default {
		t.Fatalf("types %v (default %d), pprof's %v (%d)", a.Types, a.Default, s.Types, s.Default)
	}
	for i, typ := range a.Types {
		if got, want := a.Total(i), s.Total(i); got != want {
			t.Errorf("%s: total %d, pprof's %d", typ, got, want)
		}
	}
	if got := a.Total(aggregate.DefaultType); got != p.Duration {
		t.Errorf("critical total %d, want the duration %d", got, p.Duration)
	}
	if a.Name != "GET /x" || a.N() != 1 || a.Profiles[0].Duration != p.Duration || a.Profiles[0].Reason != "sampled" {
		t.Errorf("name %q, profiles %+v", a.Name, a.Profiles)
	}
}

// TestMergeSums checks that the totals, counts and waits of a merge are
// the sums of its inputs'.
func TestMergeSums(t *testing.T) {
	ps := randomProfiles(12, 1)
	var as []*aggregate.Aggregate
	want := make([]int64, len(aggregate.Types))
	var wall int64
	waits := map[string]int64{}
	for _, p := range ps {
		a := from(t, p)
		as = append(as, a)
		for i := range want {
			want[i] += a.Total(i)
		}
		wall += p.Duration
		for _, w := range view.Summarize(p).Waits {
			waits[w.Reason] += w.Time
		}
	}
	m := merge(t, as...)
	for i, typ := range m.Types {
		if got := m.Total(i); got != want[i] {
			t.Errorf("%s: total %d, inputs sum to %d", typ, got, want[i])
		}
		if got := m.Nodes[0].Dists[i].Sum; got != want[i] {
			t.Errorf("%s: root distribution sums to %d, inputs to %d", typ, got, want[i])
		}
	}
	if m.N() != len(ps) || m.Wall() != wall || m.Total(aggregate.DefaultType) != wall {
		t.Errorf("%d profiles, wall %d, critical %d; want %d, %d", m.N(), m.Wall(), m.Total(aggregate.DefaultType), len(ps), wall)
	}
	for _, w := range m.Waits {
		if w.Time != waits[w.Reason] || w.Requests != int64(len(ps)) {
			t.Errorf("wait %s: %d in %d requests, want %d in %d", w.Reason, w.Time, w.Requests, waits[w.Reason], len(ps))
		}
	}
	if len(m.Waits) != len(waits) {
		t.Errorf("waits %+v, want the reasons of %v", m.Waits, waits)
	}
	// Every request reached the handler; the node says so.
	tr := m.Tree(aggregate.DefaultType, aggregate.TreeOptions{})
	h := find(tr.Root, "example.com/app.authorize")
	if h == nil {
		t.Fatal("no authorize node")
	}
	if d := tr.Dist(h); d == nil || d.N != int64(len(ps)) || d.Sum != h.Total {
		t.Errorf("authorize: distribution %+v, want %d requests summing to %d", d, len(ps), h.Total)
	}
}

func find(n *view.Node, name string) *view.Node {
	if n.Frame.Name == name {
		return n
	}
	for _, c := range n.Children {
		if f := find(c, name); f != nil {
			return f
		}
	}
	return nil
}

// TestMergeAssociative checks merge(a, merge(b, c)) = merge(merge(a, b), c)
// = merge(c, b, a), byte for byte, and that merging one aggregate changes
// nothing.
func TestMergeAssociative(t *testing.T) {
	ps := randomProfiles(9, 2)
	var as []*aggregate.Aggregate
	for _, p := range ps {
		as = append(as, from(t, p))
	}
	a := merge(t, as[:3]...)
	b := merge(t, as[3:5]...)
	c := merge(t, as[5:]...)
	left := encode(t, merge(t, a, merge(t, b, c)))
	right := encode(t, merge(t, merge(t, a, b), c))
	if !bytes.Equal(left, right) {
		t.Error("merge(a, merge(b, c)) != merge(merge(a, b), c)")
	}
	if rev := encode(t, merge(t, c, b, a)); !bytes.Equal(left, rev) {
		t.Error("merge(c, b, a) != merge(a, b, c)")
	}
	slices.Reverse(as)
	if flat := encode(t, merge(t, as...)); !bytes.Equal(left, flat) {
		t.Error("merge of the profiles' aggregates in reverse != merge of three merges")
	}
	if one := encode(t, merge(t, a)); !bytes.Equal(one, encode(t, a)) {
		t.Error("merge(a) != a")
	}
	// A Merger fed the profiles one at a time makes the same aggregate.
	m := aggregate.NewMerger(aggregate.Options{})
	for _, p := range ps {
		if err := m.AddProfile(p, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := encode(t, m.Aggregate()); !bytes.Equal(got, left) {
		t.Error("a Merger of the profiles != the merge of their aggregates")
	}
	if err := m.AddProfile(ps[0], ""); err == nil {
		t.Error("a Merger took a profile after Aggregate")
	}
}

func TestMergeRefusesMismatch(t *testing.T) {
	p := phases("GET /x", t0, ms, ms, ms, ms)
	g := from(t, p)
	full, err := aggregate.From(p, aggregate.Options{NoGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aggregate.Merge(g, full); err == nil {
		t.Error("merged grouped and full stacks")
	}
	if g.Grouped == full.Grouped || len(full.Frames) <= len(g.Frames) {
		t.Errorf("grouped %v with %d frames, full %v with %d", g.Grouped, len(g.Frames), full.Grouped, len(full.Frames))
	}
}

func TestNames(t *testing.T) {
	a := from(t, phases("GET /a", t0, ms, ms, ms, ms))
	a2 := from(t, phases("GET /a", t0.Add(time.Second), ms, ms, ms, ms))
	b := from(t, phases("GET /b", t0, ms, ms, ms, ms))
	if m := merge(t, a, a2); m.Name != "GET /a" || m.Title() != "GET /a" {
		t.Errorf("name %q, title %q", m.Name, m.Title())
	}
	m := merge(t, a, b)
	if m.Name != "" || m.Title() != "GET /a, GET /b" {
		t.Errorf("name %q, title %q", m.Name, m.Title())
	}
}

// TestViaFramesMerge checks that waits explained by other goroutines merge
// across requests whose goroutine ids differ.
func TestViaFramesMerge(t *testing.T) {
	p1 := phases("GET /x", t0, ms, 4*ms, ms, ms)
	p2 := phases("GET /x", t0.Add(time.Second), ms, 4*ms, ms, ms)
	// Renumber p2's helper goroutine.
	p2.Goroutines[1].ID = 99
	p2.Goroutines[0].Intervals[1].Waker = 99
	m := merge(t, from(t, p1), from(t, p2))
	tr := m.Tree(aggregate.DefaultType, aggregate.TreeOptions{})
	var vias []string
	tr.Root.Walk(func(n *view.Node, _ int) {
		if n.Frame.Kind == view.Via {
			vias = append(vias, n.Frame.Name)
		}
	})
	if len(vias) != 1 || !strings.Contains(vias[0], "goroutine *") {
		t.Errorf("via frames %q, want one, without an id", vias)
	}
}

func TestPercentiles(t *testing.T) {
	var as []*aggregate.Aggregate
	for i := 1; i <= 100; i++ {
		as = append(as, from(t, phases("GET /x", t0.Add(time.Duration(i)*time.Second), int64(i)*ms, ms, ms, ms)))
	}
	m := merge(t, as...)
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 53 * ms}, {0.9, 93 * ms}, {0.99, 102 * ms}, {1, 103 * ms}, {0, 4 * ms}} {
		if got := m.Percentile(c.q); got != c.want {
			t.Errorf("p%g = %d, want %d", c.q*100, got, c.want)
		}
	}
}

func TestDist(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var all, a, b aggregate.Dist
	var vals []int64
	for i := range 5000 {
		v := 1 + r.Int64N(int64(time.Second))
		if i%7 == 0 {
			v = 1 + r.Int64N(20) // small values have exact buckets
		}
		vals = append(vals, v)
		all.Add(v)
		if i%2 == 0 {
			a.Add(v)
		} else {
			b.Add(v)
		}
	}
	a.Merge(&b)
	if fmt.Sprint(a) != fmt.Sprint(all) {
		t.Error("merged halves differ from the whole")
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.25, 0.5, 0.9, 0.99, 1} {
		exact := aggregate.Percentile(vals, q)
		got := all.Quantile(q)
		// Buckets are 1/8 of an octave wide: the middle of one is within
		// 1/16 of any value in it.
		if math.Abs(float64(got-exact)) > float64(exact)/16+1 {
			t.Errorf("q%g: %d, exact %d", q, got, exact)
		}
	}
	for v := int64(1); v < 1<<20; v = v*3/2 + 1 {
		lo, hi := aggregate.BucketRange(aggregate.BucketOf(v))
		if v < lo || v > hi {
			t.Errorf("%d in bucket [%d, %d]", v, lo, hi)
		}
	}
	if aggregate.BucketOf(math.MaxInt64) != aggregate.MaxBucket {
		t.Errorf("bucket of the largest int64 %d, MaxBucket %d", aggregate.BucketOf(math.MaxInt64), aggregate.MaxBucket)
	}
}

func TestEncodeDecode(t *testing.T) {
	var as []*aggregate.Aggregate
	for _, p := range randomProfiles(5, 5) {
		as = append(as, from(t, p))
	}
	m := merge(t, as...)
	data := encode(t, m)
	got, err := aggregate.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if again := encode(t, got); !bytes.Equal(again, data) {
		t.Error("decode + encode changed the file")
	}
	// Load reads profiles and aggregates alike.
	var pb bytes.Buffer
	if err := randomProfiles(1, 6)[0].Encode(&pb); err != nil {
		t.Fatal(err)
	}
	la, err := aggregate.Load(&pb, "one.reqprof")
	if err != nil || la.N() != 1 || la.Profiles[0].Source != "one.reqprof" {
		t.Fatalf("Load of a profile: %v, %+v", err, la)
	}
	if _, err := aggregate.Load(bytes.NewReader(data), "x"); err != nil {
		t.Fatal(err)
	}
	pb.Reset()
	randomProfiles(1, 6)[0].Encode(&pb)
	if _, err := aggregate.Decode(&pb); err == nil || !strings.Contains(err.Error(), "it is a profile") {
		t.Errorf("Decode of a profile: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := encode(t, from(t, phases("GET /x", t0, ms, ms, ms, ms)))
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a reqprof aggregate file: empty input"},
		{"text", []byte("hello"), "not gzip-compressed"},
		{"truncated", good[:len(good)/2], "corrupt reqprof aggregate"},
		{"trailing", append(slices.Clone(good), 0), "data after the end"},
		{"newer", gz(`reqprof aggregate` + "\n" + `{"format":"reqprof-aggregate","version":99,"types":["x"]}`), "unsupported reqprof aggregate format version 99"},
		{"other", gz(`reqprof aggregate` + "\n" + `{"format":"x","version":1}`), `not a reqprof aggregate file: format "x"`},
		{"unknown field", gz(`reqprof aggregate` + "\n" + `{"format":"reqprof-aggregate","version":1,"types":["x"],"nodes":[{"parent":-1,"frame":-1,"dists":[[]]}],"extra":1}`), "unknown field"},
		{"invalid", gz(`reqprof aggregate` + "\n" + `{"format":"reqprof-aggregate","version":1,"types":["x"],"profiles":[{"name":"x"}],"nodes":[{"parent":-1,"frame":-1,"dists":[[1,5,5,5,5,1]]}]}`), "distribution sums to 5, stacks through it to 0"},
	} {
		_, err := aggregate.Decode(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzipWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// TestCheckValid checks that CheckValid finds each kind of damage.
func TestCheckValid(t *testing.T) {
	base := func() *aggregate.Aggregate {
		return merge(t, from(t, phases("GET /x", t0, ms, 2*ms, ms, ms)), from(t, phases("GET /x", t0.Add(time.Second), 2*ms, ms, ms, ms)))
	}
	for _, c := range []struct {
		name   string
		break_ func(a *aggregate.Aggregate)
		want   string
	}{
		{"no types", func(a *aggregate.Aggregate) { a.Types = nil }, "0 types"},
		{"repeated type", func(a *aggregate.Aggregate) { a.Types[1] = a.Types[0] }, "empty or repeated"},
		{"default", func(a *aggregate.Aggregate) { a.Default = 9 }, "default type"},
		{"frame id", func(a *aggregate.Aggregate) { a.Stacks[0].Frames = append(a.Stacks[0].Frames, 999) }, "out of range"},
		{"values", func(a *aggregate.Aggregate) { a.Stacks[0].Values = a.Stacks[0].Values[:1] }, "values and"},
		{"negative", func(a *aggregate.Aggregate) { a.Stacks[0].Values[0] = -1 }, "negative value"},
		{"enter", func(a *aggregate.Aggregate) { a.Stacks[0].Enter = 99 }, "enters at depth"},
		{"reason", func(a *aggregate.Aggregate) {
			for i := range a.Stacks {
				if a.Stacks[i].State == profile.Running {
					a.Stacks[i].Reason = "x"
					return
				}
			}
		}, "a reason in state running"},
		{"root", func(a *aggregate.Aggregate) { a.Nodes[0].Parent = 0 }, "not the root"},
		{"parent", func(a *aggregate.Aggregate) { a.Nodes[1].Parent = 5 }, "does not come before"},
		{"node sum", func(a *aggregate.Aggregate) { a.Nodes[1].Dists[1].Sum++ }, "sums to"},
		{"dist n", func(a *aggregate.Aggregate) { a.Nodes[0].Dists[1].N = 5 }, "buckets count"},
		{"dist profiles", func(a *aggregate.Aggregate) { a.Profiles, a.Waits = a.Profiles[:1], nil }, "in 2 profiles of 1"},
		{"wait", func(a *aggregate.Aggregate) { a.Waits[0].Requests = 3 }, "more profiles"},
		{"duration", func(a *aggregate.Aggregate) { a.Profiles[0].Duration = -1 }, "negative duration"},
		{"dup child", func(a *aggregate.Aggregate) { a.Nodes = append(a.Nodes, a.Nodes[1]) }, "a second child"},
	} {
		a := base()
		c.break_(a)
		if err := a.CheckValid(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if err := a.Encode(&bytes.Buffer{}); err == nil {
			t.Errorf("%s: encoded", c.name)
		}
	}
}
