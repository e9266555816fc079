package sqlname

import (
	"bytes"
	"context"
	"runtime/trace"
	"strings"
	"testing"

	"github.com/reqprof/reqprof/internal/tracestr"
)

func TestNew(t *testing.T) {
	long := "SELECT " + strings.Repeat("column_name, ", 20) + "x FROM t"
	for _, c := range []struct {
		q      string
		max    int
		region string
		full   string
	}{
		{"SELECT 1", 120, "SQL: SELECT 1", ""},
		{"SELECT  *\n\t FROM t\r\nWHERE a = $1", 120, "SQL: SELECT * FROM t WHERE a = $1", ""},
		{"\t  SELECT 1  \n", 120, "SQL: SELECT 1", ""},
		{"", 120, "SQL: (empty)", ""},
		{" \n\t ", 120, "SQL: (empty)", ""},
		{"a\x00b\x1fc\x7fd", 120, "SQL: a b c d", ""},
		{"a\u00a0\u2028\u3000b", 120, "SQL: a b", ""},
		{"SELECT '\xff'", 120, "SQL: SELECT '\uFFFD'", ""},
		{"SELECT 'é' AS ü", 120, "SQL: SELECT 'é' AS ü", ""},
		// truncation: at most max runes, the last one "…"
		{"SELECT abcdefghij", 10, "SQL: SELECT ab…", "SELECT abcdefghij"},
		{"SELECT abc", 8, "SQL: SELECT…", "SELECT abc"}, // no space before …
		{"SELECT 1", 8, "SQL: SELECT 1", ""},            // exactly max
		{"SELECT\n\n1", 8, "SQL: SELECT 1", ""},         // max after collapsing
		{"ééééé", 3, "SQL: éé…", "ééééé"},
		{"ab", 1, "SQL: …", "ab"},
		{"a", 1, "SQL: a", ""},
		{long, 0, "SQL: " + long, ""},
		{long, -1, "SQL: " + long, ""},
		{long, DefaultMaxLen, "SQL: " + long[:119] + "…", long},
	} {
		n := New(c.q, c.max)
		if n.Region != c.region || n.Full != c.full {
			t.Errorf("New(%q, %d) = %q, %q; want %q, %q", c.q, c.max, n.Region, n.Full, c.region, c.full)
		}
	}
}

func TestCollapseNoAlloc(t *testing.T) {
	q := "SELECT id, name FROM characters WHERE id = $1"
	if got := Collapse(q); got != q {
		t.Fatalf("Collapse(%q) = %q", q, got)
	}
	if n := testing.AllocsPerRun(100, func() { Collapse(q) }); n != 0 {
		t.Errorf("Collapse of clean text allocates %v times", n)
	}
}

func TestConfigCache(t *testing.T) {
	c := NewConfig()
	a, b := c.Name("SELECT  1"), c.Name("SELECT  1")
	if a != b {
		t.Error("the same statement's name is not cached")
	}
	if a.Region != "SQL: SELECT 1" {
		t.Errorf("cached name %q", a.Region)
	}
	// Bounded: statements past the bound are named, not kept.
	for i := range maxCached + 10 {
		c.Name(strings.Repeat("x", i%50) + " " + string(rune('a'+i%26)) + strings.Repeat("y", i/26))
	}
	if n := c.cached.Load(); n > maxCached {
		t.Errorf("%d names cached, more than %d", n, maxCached)
	}
	huge := "SELECT '" + strings.Repeat("z", maxCachedLen) + "'"
	if a, b := c.Name(huge), c.Name(huge); a == b {
		t.Error("a statement longer than maxCachedLen was cached")
	}
}

func TestStartWithoutTracing(t *testing.T) {
	// Without tracing, Start and StartRegion give regions whose End does
	// nothing.
	New("SELECT 1", 3).Start(context.Background()).End()
	StartRegion(context.Background(), Begin).End()
}

func BenchmarkNew(b *testing.B) {
	q := "SELECT c.id, c.name, c.data\n\t\tFROM characters c\n\t\tJOIN related r ON r.character_id = c.id\n\t\tWHERE c.id = $1"
	for b.Loop() {
		New(q, DefaultMaxLen)
	}
}

// A huge statement with no MaxLen bound would abort the process in the
// runtime's tracer (region names of 64 KiB or more are a fatal error):
// region names are bounded whatever MaxLen says, and the region starts.
func TestHugeStatementIsBounded(t *testing.T) {
	q := "SELECT " + strings.Repeat("x, ", 100_000) + "1"
	n := New(q, 0)
	if len(n.Region) > tracestr.Max || !strings.HasPrefix(n.Region, Prefix+"SELECT x, x,") || n.Full == "" {
		t.Fatalf("region of %d bytes (full %d)", len(n.Region), len(n.Full))
	}
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skip("tracing already on:", err)
	}
	defer trace.Stop()
	ctx, task := trace.NewTask(context.Background(), "t")
	n.Start(ctx).End()
	task.End()
}
