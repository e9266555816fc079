package pgxtrace

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"runtime/trace"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/reqprof/reqprof/sqlprof"
	"github.com/reqprof/reqprof/sqlprof/internal/sqlname"
	xtrace "golang.org/x/exp/trace"
)

// echoServer answers each line with itself.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(l))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// A wrapped connection runs each Read and Write in the region of its
// current statement, the innermost pushed, and none without one; a
// truncated statement's full text is logged once, in its first region.
func TestConnRegions(t *testing.T) {
	addr := echoServer(t)
	nc, err := WrapDial(nil)(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := nc.(*conn)
	r := bufio.NewReader(c)
	roundTrip := func(s string) {
		t.Helper()
		if _, err := c.Write([]byte(s + "\n")); err != nil {
			t.Fatal(err)
		}
		if l, err := r.ReadString('\n'); err != nil || l != s+"\n" {
			t.Fatalf("read %q, %v", l, err)
		}
	}

	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("cannot trace: %v", err)
	}
	tr := New(sqlprof.MaxLen(20))
	ctx := context.Background()
	long := "SELECT a_long_column_name FROM a_table WHERE x = $1"

	roundTrip("before") // no statement: no region
	outer := &op{ctx: ctx, names: []*sqlname.Name{tr.cfg.Name("SELECT\n  1")}}
	c.push(outer)
	roundTrip("outer")
	inner := &op{ctx: ctx, names: []*sqlname.Name{tr.cfg.Name(long)}}
	c.push(inner)
	roundTrip("inner 1")
	roundTrip("inner 2")
	c.pop(inner)
	roundTrip("outer again")
	batch := &op{ctx: ctx, names: []*sqlname.Name{tr.cfg.Name("INSERT 1"), tr.cfg.Name("INSERT 2")}}
	c.push(batch)
	roundTrip("batch 1")
	batch.next.Add(1)
	roundTrip("batch 2")
	batch.next.Add(1) // past the end: stays on the last
	roundTrip("batch 3")
	c.pop(batch)
	c.pop(outer)
	roundTrip("after")
	if c.cur.Load() != nil {
		t.Error("statements left after popping them all")
	}
	trace.Stop()

	var got []string
	var logs []string
	rd, err := xtrace.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := rd.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the trace does not parse: %v", err)
		}
		switch ev.Kind() {
		case xtrace.EventRegionBegin:
			got = append(got, ev.Region().Type)
		case xtrace.EventLog:
			if ev.Log().Category == sqlprof.LogCategory {
				logs = append(logs, ev.Log().Message)
			}
		}
	}
	short := sqlname.New(long, 20).Region
	if !strings.HasSuffix(short, "…") {
		t.Fatalf("test bug: %q is not truncated", short)
	}
	want := []string{
		"SQL: SELECT 1", "SQL: SELECT 1", // write, read
		short, short, short, short,
		"SQL: SELECT 1", "SQL: SELECT 1",
		"SQL: INSERT 1", "SQL: INSERT 1",
		"SQL: INSERT 2", "SQL: INSERT 2", "SQL: INSERT 2", "SQL: INSERT 2",
	}
	// A Read may come back with less than a line; count by kind.
	if strings.Join(dedupe(got), "|") != strings.Join(dedupe(want), "|") || len(got) < len(want) {
		t.Errorf("regions:\n%q\nwant:\n%q", got, want)
	}
	if len(logs) != 1 || logs[0] != long {
		t.Errorf("logs %q, want one of %q", logs, long)
	}
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

// Without tracing, the hooks note nothing.
func TestHooksWithoutTracing(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("tracing is on")
	}
	tr := New()
	ctx := context.Background()
	if got := tr.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: "SELECT 1"}); got != ctx {
		t.Error("TraceQueryStart changed the context without tracing")
	}
	tr.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	if got := tr.TraceConnectStart(ctx, pgx.TraceConnectStartData{}); got != ctx {
		t.Error("TraceConnectStart changed the context without tracing")
	}
	tr.TraceConnectEnd(ctx, pgx.TraceConnectEndData{})
}

// Configure installs the tracer beside an existing one and wraps the dial
// function.
func TestConfigure(t *testing.T) {
	cfg, err := pgx.ParseConfig("postgres://u@127.0.0.1:1/db")
	if err != nil {
		t.Fatal(err)
	}
	Configure(cfg)
	if _, ok := cfg.Tracer.(*Tracer); !ok {
		t.Errorf("tracer %T", cfg.Tracer)
	}
	other := New()
	cfg.Tracer = other
	Configure(cfg)
	Configure(cfg) // a third: appended to the multitracer
	m, ok := cfg.Tracer.(*multitracer.Tracer)
	if !ok || len(m.QueryTracers) != 3 || m.QueryTracers[0] != other || len(m.ConnectTracers) != 3 || len(m.BatchTracers) != 3 {
		t.Errorf("tracer %T %+v", cfg.Tracer, cfg.Tracer)
	}
	addr := echoServer(t)
	nc, err := cfg.DialFunc(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, ok := nc.(*conn); !ok {
		t.Errorf("Configure's dial function gives a %T", nc)
	}
}
