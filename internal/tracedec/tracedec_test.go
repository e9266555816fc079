package tracedec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"runtime/trace"
	"strings"
	"testing"
	"time"
)

// testOptions are the options capture extracts with.
var testOptions = Options{
	IDCategory:   "reqprof.capture",
	MarkCategory: "reqprof.mark",
	Harness: []string{
		"github.com/reqprof/reqprof.", "github.com/reqprof/reqprof/capture.", "github.com/reqprof/reqprof/serve.",
		"github.com/reqprof/reqprof/httpprof.", "github.com/reqprof/reqprof/sqlprof.",
	},
}

// record runs units of work in tasks, each followed by a snapshot that
// closes a generation, and returns the final snapshot.
func record(t testing.TB, ids ...string) []byte {
	t.Helper()
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Minute, MaxBytes: 64 << 20})
	if err := fr.Start(); err != nil {
		t.Skipf("flight recorder unavailable: %v", err)
	}
	defer fr.Stop()
	for _, id := range ids {
		ctx, task := trace.NewTask(context.Background(), "unit "+id)
		trace.Log(ctx, testOptions.IDCategory, id)
		done := make(chan struct{})
		go func() { time.Sleep(2 * time.Millisecond); close(done) }()
		<-done
		task.End()
		if _, err := fr.WriteTo(io.Discard); err != nil { // ends a generation
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := fr.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenerationsSuffixMatchesFullParse(t *testing.T) {
	data := record(t, "a", "b", "c")
	_, offs, ok := generations(data)
	if !ok || len(offs) < 3 {
		t.Fatalf("generations: ok=%v, %d generations; want several", ok, len(offs))
	}
	reqs := []Request{{ID: "a"}, {ID: "c"}}
	got, err := Extract(data, reqs, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	full, err := read(bytes.NewReader(data), reqs, &testOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		if got[i].Err != nil {
			t.Fatalf("%s: %v", r.ID, got[i].Err)
		}
		want, err := full.build(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := got[i].Profile.CheckValid(); err != nil {
			t.Errorf("%s: %v", r.ID, err)
		}
		if got[i].Profile.Duration != want.Duration || len(got[i].Profile.Goroutines) != len(want.Goroutines) {
			t.Errorf("%s: suffix parse gives %d ns / %d goroutines, full parse %d ns / %d", r.ID,
				got[i].Profile.Duration, len(got[i].Profile.Goroutines), want.Duration, len(want.Goroutines))
		}
		if !reflect.DeepEqual(got[i].Profile.Goroutines[0].Intervals, want.Goroutines[0].Intervals) {
			t.Errorf("%s: root intervals differ between suffix and full parse", r.ID)
		}
		if got[i].Profile.Name != "unit "+r.ID {
			t.Errorf("name %q", got[i].Profile.Name)
		}
	}
}

func TestExtractMissingTask(t *testing.T) {
	data := record(t, "a")
	res, err := Extract(data, []Request{{ID: "a"}, {ID: "nope"}}, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil {
		t.Errorf("a: %v", res[0].Err)
	}
	if !errors.Is(res[1].Err, ErrTaskNotFound) {
		t.Errorf("missing task: %v", res[1].Err)
	}
}

func TestExtractBadTraces(t *testing.T) {
	data := record(t, "a")
	for name, in := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("definitely not a trace"),
		"future":    append([]byte("go 1.99 trace\x00\x00\x00"), data[16:]...),
		"truncated": data[:len(data)/2],
	} {
		_, err := Extract(in, []Request{{ID: "a"}}, testOptions)
		if err == nil {
			// A truncated trace may still parse up to the cut; the task
			// must then be reported missing, not invented.
			res, _ := Extract(in, []Request{{ID: "a"}}, testOptions)
			if name == "truncated" && res != nil && res[0].Err != nil {
				continue
			}
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), "trace") {
			t.Errorf("%s: unclear error %v", name, err)
		}
	}
}

func TestExtractTasks(t *testing.T) {
	data := record(t, "a", "b")
	ps, err := ExtractTasks(data, "unit b", testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Name != "unit b" {
		t.Fatalf("got %d profiles", len(ps))
	}
	all, err := ExtractTasks(data, "", testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 {
		t.Errorf("all tasks: %d profiles", len(all))
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte("go 1.26 trace\x00\x00\x00\x01\x01\x01\x01\x00"))
	f.Add([]byte("go 1.26 trace\x00\x00\x00\x34"))
	f.Add([]byte("garbage"))
	if !testing.Short() {
		f.Add(record(f, "1"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, offs, ok := generations(data); ok {
			for i, o := range offs {
				if o < headerLen || o >= len(data) || (i > 0 && o <= offs[i-1]) {
					t.Fatalf("bad offsets %v for %d bytes", offs, len(data))
				}
			}
		}
		res, err := Extract(data, []Request{{ID: "1"}}, testOptions)
		if err == nil && res[0].Err == nil {
			if err := res[0].Profile.CheckValid(); err != nil {
				t.Fatalf("invalid profile from fuzzed trace: %v", err)
			}
		}
	})
}
