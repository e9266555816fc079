package diff_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	pprofile "github.com/google/pprof/profile"

	"github.com/reqprof/reqprof/aggregate"
	"github.com/reqprof/reqprof/render/diff"
)

func many(t testing.TB, n int, query int64) *aggregate.Aggregate {
	t.Helper()
	return merged(n, query)
}

// slower is the diff of 10 requests with 20 whose query takes 2× longer.
func slower(t testing.TB) *aggregate.Diff {
	d, err := aggregate.Compare(many(t, 10, 5*ms), many(t, 20, 10*ms), aggregate.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := diff.Text(&b, slower(t), diff.Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`before: GET /x \(10 requests\)   after: GET /x \(20 requests\)`),
		regexp.MustCompile(`duration mean\s+10\.00ms\s+15\.00ms\s+\+5\.00ms\s+\+50\.0%`),
		regexp.MustCompile(`network\s+5\.00ms\s+10\.00ms\s+\+5\.00ms\s+\+100\.0%`),
		regexp.MustCompile(`5\.00ms\s+10\.00ms\s+\+5\.00ms\s+\+100\.0%\s+10→20\s+.*app\.query  db\.go`),
		regexp.MustCompile(`(?m)^\s+5\.00ms\s+10\.00ms\s+\+5\.00ms\s+\+100\.0%\s+\S+\s+\S+\s+\[wait: network\]$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("text lacks %s", want)
		}
	}
	// Unchanged nodes are not listed (render took 3ms on both sides).
	if strings.Contains(out, "app.render") {
		t.Error("an unchanged node is listed")
	}
	b.Reset()
	diff.Text(&b, slower(t), diff.Options{Threshold: -1, Color: true, Unicode: true})
	if !strings.Contains(b.String(), "app.render") || !strings.Contains(b.String(), "\x1b[31m") || !strings.Contains(b.String(), "└─ ") {
		t.Errorf("every node, in colour:\n%s", b.String())
	}
}

// TestPprof checks the pprof diff: the after side positive, the before
// side negated and labelled, per request; the query's change sums to +5ms.
func TestPprof(t *testing.T) {
	var b bytes.Buffer
	if err := diff.Pprof(&b, slower(t)); err != nil {
		t.Fatal(err)
	}
	pp, err := pprofile.Parse(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := pp.CheckValid(); err != nil {
		t.Fatal(err)
	}
	if pp.DefaultSampleType != "critical" {
		t.Errorf("default sample type %q", pp.DefaultSampleType)
	}
	ci := -1
	for i, st := range pp.SampleType {
		if st.Type == "critical" {
			ci = i
		}
	}
	var query, base, after int64
	for _, s := range pp.Sample {
		v := s.Value[ci]
		if s.Label[diff.BaseLabel] != nil {
			if v > 0 {
				t.Errorf("a base sample is positive: %v", s.Value)
			}
			base += v
		} else {
			after += v
		}
		for _, l := range s.Location {
			if l.Line[0].Function.Name == "example.com/app.query" {
				query += v
			}
		}
	}
	if query != 5*ms || base != -10*ms || after != 15*ms {
		t.Errorf("query changes by %v, base %v, after %v; want +5ms, -10ms, 15ms", time.Duration(query), time.Duration(base), time.Duration(after))
	}
	// go tool pprof reads it as a diff.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	file := dir + "/diff.pb.gz"
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, "tool", "pprof", "-top", "-unit=ms", file)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+dir, "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	// The total is the change, as a share of the before side: +5ms of 10.
	if !regexp.MustCompile(`of 5ms total \(50\.00?%\)|Showing nodes accounting for 5ms, 50(\.00)?% of 10ms total`).Match(out) ||
		!regexp.MustCompile(`(?m)^\s+5ms\s+50(\.00)?%.*\[wait: network\]$`).Match(out) {
		t.Errorf("go tool pprof -top does not show the +5ms change of a 10ms base:\n%s", out)
	}
}

func TestHTML(t *testing.T) {
	var b bytes.Buffer
	if err := diff.HTML(&b, slower(t)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if regexp.MustCompile(`(src|href)=["']?(https?:)?//`).MatchString(page) || strings.Contains(page, "fetch(") {
		t.Error("the page loads something from the network")
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no data")
	}
	var data struct {
		Sides []struct{ N int }
		Root  struct {
			A, B int64
			C    []struct {
				N    string
				A, B int64
			}
		}
	}
	if err := json.Unmarshal([]byte(m[1]), &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Sides) != 2 || data.Sides[0].N != 10 || data.Sides[1].N != 20 || data.Root.A != 10*ms || data.Root.B != 15*ms {
		t.Errorf("data %+v", data)
	}
	if !strings.Contains(page, diff.ScriptSrc()[8:20]) && diff.ScriptSrc() == "" {
		t.Error("no script hash")
	}
}

// A hostile frame name cannot end the page's script.
func TestHTMLEscapes(t *testing.T) {
	p := request(time.Unix(0, 0), ms)
	p.Frames[2].Func = `</script><script>alert(1)</script>`
	a, err := aggregate.From(p, aggregate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := aggregate.Compare(a, a, aggregate.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := diff.HTML(&b, d); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>alert") {
		t.Error("a frame name ends the script element")
	}
}
