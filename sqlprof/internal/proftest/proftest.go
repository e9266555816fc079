// Package proftest holds what the end-to-end tests of sqlprof and
// sqlprof/pgxtrace share: the PostgreSQL server they need, checks on
// profiles, and the loop of the wrapper's benchmarks.
package proftest

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reqprof/reqprof"
	"github.com/reqprof/reqprof/render"
	"github.com/reqprof/reqprof/view"
)

// PostgresDSN returns $REQPROF_PG_DSN. Without it, the test is skipped,
// or fails when CI=true: CI must run the PostgreSQL tests.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("REQPROF_PG_DSN")
	if dsn != "" {
		return dsn
	}
	const how = "run under scripts/with-postgres.sh or set REQPROF_PG_DSN"
	if os.Getenv("CI") == "true" {
		t.Fatalf("no PostgreSQL server (REQPROF_PG_DSN is empty) and CI=true: %s", how)
	}
	t.Skipf("no PostgreSQL server: %s", how)
	return ""
}

// Tree returns the profile's critical-path call tree, every frame kept.
func Tree(t testing.TB, p *reqprof.Profile) *view.Node {
	t.Helper()
	_, trees, err := render.Options{NoGroup: true}.Trees(p.Profile)
	if err != nil {
		t.Fatal(err)
	}
	return trees[0]
}

// Text renders the profile's critical path as a text tree, every frame
// and node kept.
func Text(t testing.TB, p *reqprof.Profile) string {
	t.Helper()
	var b bytes.Buffer
	no := false
	if err := p.WriteWith(&b, reqprof.FormatText, reqprof.WriteOptions{NoGroup: true, Threshold: 1e-9, Color: &no}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Nodes returns the nodes under n, depth first, whose frame name has the
// prefix (not looking under those).
func Nodes(n *view.Node, prefix string) []*view.Node {
	var out []*view.Node
	for _, c := range n.Children {
		if strings.HasPrefix(c.Frame.Name, prefix) {
			out = append(out, c)
			continue
		}
		out = append(out, Nodes(c, prefix)...)
	}
	return out
}

// Find returns the first node under n (n included), depth first, whose
// frame name is name.
func Find(n *view.Node, name string) *view.Node {
	if n.Frame.Name == name {
		return n
	}
	for _, c := range n.Children {
		if f := Find(c, name); f != nil {
			return f
		}
	}
	return nil
}

// Totals adds up, by frame name, the nodes Nodes(n, prefix) returns.
func Totals(n *view.Node, prefix string) map[string]time.Duration {
	m := map[string]time.Duration{}
	for _, c := range Nodes(n, prefix) {
		m[c.Frame.Name] += time.Duration(c.Total)
	}
	return m
}

// CheckCriticalPath checks that the critical path covers the profile's
// window exactly, without gaps or overlaps.
func CheckCriticalPath(t testing.TB, p *reqprof.Profile) {
	t.Helper()
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	cp := view.CriticalPath(p.Profile)
	if got := cp.Total(); got != p.Duration {
		t.Errorf("critical path sums to %d ns, the profile lasts %d ns", got, p.Duration)
	}
	var prev int64
	for _, s := range cp.Segments {
		if s.Start != prev {
			t.Errorf("critical path has a gap or overlap at %d ns (previous segment ended at %d)", s.Start, prev)
			return
		}
		prev = s.End
	}
}

// Outputs renders the profile in every format, with every view, library
// frames grouped and not, gzip-compressed outputs decompressed.
func Outputs(t testing.TB, p *reqprof.Profile) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range reqprof.Formats() {
		for _, v := range reqprof.Views() {
			for _, noGroup := range []bool{false, true} {
				var b bytes.Buffer
				if err := p.WriteWith(&b, f, reqprof.WriteOptions{View: v, NoGroup: noGroup, Threshold: 1e-9}); err != nil {
					t.Fatalf("format %s, view %s: %v", f, v, err)
				}
				data := b.Bytes()
				if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
					zr, err := gzip.NewReader(bytes.NewReader(data))
					if err != nil {
						t.Fatalf("format %s: %v", f, err)
					}
					if data, err = io.ReadAll(zr); err != nil {
						t.Fatalf("format %s: %v", f, err)
					}
				}
				out[fmt.Sprintf("%s/%s/nogroup=%v", f, v, noGroup)] = data
			}
		}
	}
	return out
}

// CheckAbsent checks that none of the secrets appears in any rendering of
// the profile, nor in its logs and region names.
func CheckAbsent(t testing.TB, p *reqprof.Profile, secrets ...string) {
	t.Helper()
	CheckOutputs(t, p, nil, secrets)
}

// CheckOutputs checks that every rendering of the profile holds each of
// present (which shows that the renderings are searched as text), and
// that none of the secrets appears in any rendering, nor in the profile's
// logs and region names.
func CheckOutputs(t testing.TB, p *reqprof.Profile, present, secrets []string) {
	t.Helper()
	outs := Outputs(t, p)
	if len(outs) == 0 {
		t.Fatal("no output formats")
	}
	for name, data := range outs {
		if len(data) == 0 {
			t.Errorf("%s: empty output", name)
		}
		for _, s := range present {
			if !bytes.Contains(data, []byte(s)) {
				t.Errorf("%s: the profile does not hold %q", name, s)
			}
		}
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s: the profile holds the parameter value %q", name, s)
			}
		}
	}
	for _, s := range secrets {
		for _, l := range p.Logs {
			if strings.Contains(l.Message, s) || strings.Contains(l.Category, s) {
				t.Errorf("log %q/%q holds the parameter value %q", l.Category, l.Message, s)
			}
		}
		for _, r := range p.Regions {
			if strings.Contains(r.Type, s) {
				t.Errorf("region %q holds the parameter value %q", r.Type, s)
			}
		}
	}
}

// LatencyProxy listens on a loopback port, forwards every connection to
// target, and delays what the server sends by d, as a network between a
// client and its database would: the client then waits on the network for
// every answer. (Without it, on a loaded loopback the server often answers
// while the client is still in its write system call, and the client
// never waits on the network.) It returns the proxy's address.
func LatencyProxy(t testing.TB, target string, d time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	closed := false
	track := func(cs ...net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			for _, c := range cs {
				c.Close()
			}
			return false
		}
		conns = append(conns, cs...)
		return true
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	pipe := func(dst, src net.Conn, delay time.Duration) {
		defer wg.Done()
		defer dst.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				time.Sleep(delay)
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			if !track(c, s) {
				return
			}
			wg.Add(2)
			go pipe(s, c, 0)
			go pipe(c, s, d)
		}
	}()
	return ln.Addr().String()
}

// BenchSelect1 benchmarks `SELECT 1` through db on one connection, with
// tracing off or (traced) an execution trace written to io.Discard, as
// while a profile is taken: sqlprof's wrapper benchmarks on their drivers.
func BenchSelect1(b *testing.B, db *sql.DB, traced bool) {
	db.SetMaxIdleConns(1)
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
		b.Fatal(err)
	}
	if traced {
		if err := trace.Start(io.Discard); err != nil {
			b.Skipf("cannot trace: %v", err)
		}
		defer trace.Stop()
	} else if trace.IsEnabled() {
		b.Fatal("tracing is on")
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
			b.Fatal(err)
		}
	}
}
