// Package adaptertest holds what the tests of reqprof's delivery adapters
// (outcall and the contrib modules: gin, echo, gRPC, chi, gorilla/mux,
// OpenTelemetry) share: reading a stored profile back and finding frames in
// its critical path.
package adaptertest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reqprof/reqprof/profile"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/store"
	"github.com/reqprof/reqprof/view"
)

// Pending is what Stored waits on (serve.Core implements it).
type Pending interface {
	Wait(done <-chan struct{}, id string)
	NotStored(id string) string
}

// Stored waits for profile id to be extracted and returns it with its
// summary, failing the test if it is not stored within a minute (the
// extraction of a small request takes milliseconds; a minute covers a
// loaded machine with the race detector).
func Stored(t testing.TB, c Pending, st store.Store, id string) (*profile.Profile, Meta) {
	t.Helper()
	if id == "" {
		t.Fatal("no profile id")
	}
	done := make(chan struct{})
	timer := time.AfterFunc(time.Minute, func() { close(done) })
	defer timer.Stop()
	c.Wait(done, id)
	p, m, err := st.Get(context.Background(), id)
	if errors.Is(err, store.ErrNotFound) {
		t.Fatalf("profile %s not stored: %q", id, c.NotStored(id))
	}
	if err != nil {
		t.Fatal(err)
	}
	return p, MetaOf(m)
}

// Meta is what the adapters' tests read of a stored profile's metadata,
// from its labels.
type Meta struct {
	store.Meta
	Method, Route, Path, Reason string
	Status                      int
	Panic                       bool
}

// MetaOf reads m's labels.
func MetaOf(m store.Meta) Meta {
	status, _ := strconv.Atoi(m.Label(profile.AttrStatus))
	path, _, _ := strings.Cut(m.Label(profile.AttrURL), "?")
	return Meta{Meta: m,
		Method: m.Label(profile.AttrMethod), Route: m.Label(profile.AttrRoute), Path: path,
		Reason: m.Label(profile.AttrReason), Status: status, Panic: m.Label(profile.AttrPanic) != ""}
}

// Count returns how many profiles st holds.
func Count(t testing.TB, st store.Store) int {
	t.Helper()
	ms, err := st.List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// Tree returns the profile's critical-path call tree, every frame kept.
func Tree(t testing.TB, p *profile.Profile) *view.Node {
	t.Helper()
	_, trees, err := render.Options{NoGroup: true}.Trees(p)
	if err != nil {
		t.Fatal(err)
	}
	return trees[0]
}

// Find returns the first node under n (n included), depth first, whose
// frame name has the prefix, or nil.
func Find(n *view.Node, prefix string) *view.Node {
	if strings.HasPrefix(n.Frame.Name, prefix) {
		return n
	}
	for _, c := range n.Children {
		if f := Find(c, prefix); f != nil {
			return f
		}
	}
	return nil
}

// Names returns the frame names under n (n included) that have the prefix.
func Names(n *view.Node, prefix string) []string {
	var out []string
	if strings.HasPrefix(n.Frame.Name, prefix) {
		out = append(out, n.Frame.Name)
	}
	for _, c := range n.Children {
		out = append(out, Names(c, prefix)...)
	}
	return out
}

// Dump is the tree as indented frame names with their totals, for failure
// messages.
func Dump(n *view.Node) string {
	var b strings.Builder
	var walk func(n *view.Node, depth int)
	walk = func(n *view.Node, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(n.Frame.Name)
		b.WriteString("  ")
		b.WriteString(time.Duration(n.Total).String())
		b.WriteByte('\n')
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}
