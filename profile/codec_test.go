package profile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

func encode(t testing.TB, p *Profile) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

// storeWriters are gzip writers that do not compress, for speed in the fuzz
// targets.
var storeWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.NoCompression)
	return zw
}}

// gzipBytes returns content in a gzip stream, uncompressed.
func gzipBytes(t testing.TB, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := storeWriters.Get().(*gzip.Writer)
	defer storeWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := io.WriteString(zw, content); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// content returns the decompressed content of an encoded profile.
func content(t testing.TB, data []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRoundTrip(t *testing.T) {
	for name, p := range map[string]*Profile{
		"full":    testProfile(),
		"minimal": {Stacks: []Stack{{}}},
		"big":     bigProfile(100, 50),
	} {
		t.Run(name, func(t *testing.T) {
			data := encode(t, p)
			got, err := Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("round trip changed the profile:\ngot:\n%v\nwant:\n%v", got, p)
			}
			// Encoding is deterministic.
			if again := encode(t, got); !bytes.Equal(again, data) {
				t.Errorf("re-encoding the decoded profile gave different bytes")
			}
		})
	}
}

func TestRoundTripNormalises(t *testing.T) {
	p := testProfile()
	loc := time.FixedZone("CET", 3600)
	p.Start = time.Now().In(loc) // with a monotonic reading, not UTC
	p.Attrs = []Attr{}
	p.Warnings = []string{}
	p.Samples = []Sample{}
	p.Regions = []Region{}
	p.Logs = []Log{}
	p.Stacks[0].Frames = []FrameID{}
	p.Goroutines = append(p.Goroutines, Goroutine{ID: 21, Start: 5, End: 5, Intervals: []Interval{}})

	got, err := Decode(bytes.NewReader(encode(t, p)))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !got.Start.Equal(p.Start) || got.Start.Location() != time.UTC {
		t.Errorf("Start = %v, want %v in UTC", got.Start, p.Start)
	}
	want := testProfile()
	want.Start = p.Start.Round(0).UTC()
	want.Attrs, want.Warnings, want.Samples, want.Regions, want.Logs = nil, nil, nil, nil, nil
	want.Goroutines = append(want.Goroutines, Goroutine{ID: 21, Start: 5, End: 5})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded profile is not the normalised one:\ngot:\n%v\nwant:\n%v", got, want)
	}
}

func TestEncodeInvalidUTF8(t *testing.T) {
	p := testProfile()
	p.Logs[0].Message = "bad \xff byte"
	got, err := Decode(bytes.NewReader(encode(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "bad \uFFFD byte"; got.Logs[0].Message != want {
		t.Errorf("message = %q, want %q", got.Logs[0].Message, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(p *Profile)
		want   string
	}{
		{"invalid", func(p *Profile) { p.Duration = -1 },
			"cannot encode invalid profile: profile: negative duration -1"},
		{"start year", func(p *Profile) { p.Start = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
			"cannot encode profile: start time 10000-01-01 00:00:00 +0000 UTC: year 10000 outside [0,9999]"},
	} {
		p := testProfile()
		tt.mutate(p)
		err := p.Encode(io.Discard)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: Encode() = %v, want %s", tt.name, err, tt.want)
		}
	}
}

func TestWireFormat(t *testing.T) {
	p := &Profile{
		Name:     "x",
		Start:    time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Duration: 100,
		Frames:   []Frame{{Func: "main.main", File: "m.go", Line: 3}},
		Stacks:   []Stack{{}, {Frames: []FrameID{0}}},
		Goroutines: []Goroutine{{ID: 1, Member: true, Entry: 1, End: 100, Intervals: []Interval{
			{Start: 0, End: 10, State: Running, Stack: 1, Inferred: true},
			{Start: 10, End: 30, State: Waiting, Reason: "sleep"},
			{Start: 30, End: 60, State: Waiting, Reason: "sync", Stack: 1, Waker: 9},
			{Start: 60, End: 100, State: Running},
		}}},
		Samples: []Sample{{Time: 5, Goroutine: 1, Stack: 1}},
	}
	want := `reqprof profile
{"format":"reqprof","version":3,"name":"x","start":"2025-01-02T03:04:05.000000006Z","duration":100,` +
		`"frames":[{"func":"main.main","file":"m.go","line":3}],"stacks":[[],[0]],"reasons":["sleep","sync"],` +
		`"goroutines":[{"id":1,"member":true,"entry":1,"end":100,"intervals":[[10,1,1,0,0,1],[20,3,0,1],[30,3,1,2,9],[40,1]]}],` +
		`"samples":[[5,1,1]]}
`
	if got := content(t, encode(t, p)); got != want {
		t.Errorf("encoded content:\n%s\nwant:\n%s", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := encode(t, testProfile())
	header := magic + `{"format":"reqprof","version":1,`
	header2 := magic + `{"format":"reqprof","version":2,`
	flipped := bytes.Clone(valid)
	flipped[len(flipped)-6] ^= 0xff // in the CRC-32 of the gzip trailer

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a reqprof file: empty input"},
		{"text", []byte("hello, world\n"), "not a reqprof file: not gzip-compressed"},
		{"one byte", []byte{0x1f}, "not a reqprof file: not gzip-compressed"},
		{"uncompressed", []byte(content(t, valid)),
			"not a reqprof file: not gzip-compressed (uncompressed reqprof data?)"},
		{"execution trace", []byte("go 1.23 trace\x00\x00\x00\x01\x02"),
			"not a reqprof file: not gzip-compressed (this looks like a Go execution trace)"},
		{"gzip header only", valid[:2], "corrupt reqprof file: truncated: unexpected EOF"},
		{"truncated", valid[:len(valid)/2], "corrupt reqprof file: truncated: unexpected EOF"},
		{"no trailer", valid[:len(valid)-8], "corrupt reqprof file: truncated: unexpected EOF"},
		{"bad checksum", flipped, "corrupt reqprof file: gzip: invalid checksum"},
		{"bad deflate", append(bytes.Clone(valid[:10]), 0xff, 0xff, 0xff, 0xff), "corrupt reqprof file: flate: corrupt input before offset 1"},
		{"trailing garbage", append(bytes.Clone(valid), "junk"...), "corrupt reqprof file: data after the end of the gzip stream"},
		{"two gzip streams", append(bytes.Clone(valid), valid...), "corrupt reqprof file: data after the end of the gzip stream"},
		{"wrong magic", gzipBytes(t, "pprof profile\n{}"),
			`not a reqprof file: content does not start with "reqprof profile\n"`},
		{"empty content", gzipBytes(t, ""),
			`not a reqprof file: content does not start with "reqprof profile\n"`},
		{"wrong format", gzipBytes(t, magic+`{"format":"other","version":1,"stacks":[[]]}`),
			`not a reqprof file: format is "other", want "reqprof"`},
		{"no format", gzipBytes(t, magic+`{"version":1,"stacks":[[]]}`),
			`not a reqprof file: format is "", want "reqprof"`},
		{"future version", gzipBytes(t, magic+`{"format":"reqprof","version":4,"stacks":{"new":"layout"},"extra":true}`),
			"unsupported reqprof format version: the file has version 4, this build of reqprof reads versions up to 3 (upgrade reqprof to read it)"},
		{"version 1 with work", gzipBytes(t, header+`"stacks":[[]],"work":0,"library":["x."]}`),
			`corrupt reqprof file: a version-1 file has no "work" or "library"`},
		{"work out of range", gzipBytes(t, header2+`"stacks":[[]],"work":1}`),
			"corrupt reqprof file: profile: work stack 1 out of range (have 1 stacks)"},
		{"empty library prefix", gzipBytes(t, header2+`"stacks":[[]],"library":["a.",""]}`),
			"corrupt reqprof file: profile: library prefix 1 is empty (it would make every function library code)"},
		{"version 0", gzipBytes(t, magic+`{"format":"reqprof","version":0,"stacks":[[]]}`),
			"corrupt reqprof file: invalid format version 0"},
		{"no JSON", gzipBytes(t, magic), "corrupt reqprof file: no profile after the header line"},
		{"truncated JSON", gzipBytes(t, header+`"stacks":[[]`), "corrupt reqprof file: truncated: unexpected EOF"},
		{"not JSON", gzipBytes(t, magic+"<profile/>"), "corrupt reqprof file: invalid character '<'..."},
		{"unknown field", gzipBytes(t, header+`"stacks":[[]],"bogus":1}`), `corrupt reqprof file: json: unknown field "bogus"...`},
		{"trailing data", gzipBytes(t, header+`"stacks":[[]]} {}`), "corrupt reqprof file: trailing data after the profile"},
		{"wrong type", gzipBytes(t, header+`"duration":"long","stacks":[[]]}`),
			"corrupt reqprof file: json: cannot unmarshal string into Go struct field wireProfile.duration..."},
		{"bad start", gzipBytes(t, header+`"start":"yesterday","stacks":[[]]}`),
			`corrupt reqprof file: start time: parsing time "yesterday"...`},
		{"start year", gzipBytes(t, header+`"start":"0000-01-01T00:00:00+01:00","stacks":[[]]}`),
			`corrupt reqprof file: start time "0000-01-01T00:00:00+01:00": year -1 in UTC outside [0,9999]`},
		{"short interval", gzipBytes(t, header+`"duration":9,"stacks":[[]],"goroutines":[{"id":1,"member":true,"end":9,"intervals":[[9]]}]}`),
			"corrupt reqprof file: goroutine 1: interval 0: want 2 to 6 numbers [duration, state, stack, reason, waker, inferred], got 1"},
		{"long interval", gzipBytes(t, header+`"duration":9,"stacks":[[]],"goroutines":[{"id":1,"member":true,"end":9,"intervals":[[9,1,0,0,0,0,0]]}]}`),
			"corrupt reqprof file: goroutine 1: interval 0: want 2 to 6 numbers [duration, state, stack, reason, waker, inferred], got 7"},
		{"zero duration", gzipBytes(t, header+`"duration":9,"stacks":[[]],"goroutines":[{"id":1,"member":true,"end":9,"intervals":[[0,1]]}]}`),
			"corrupt reqprof file: goroutine 1: interval 0: invalid duration 0 at time 0"},
		{"overflowing duration", gzipBytes(t, header+`"duration":9,"stacks":[[]],"goroutines":[{"id":1,"member":true,"start":2,"end":9,"intervals":[[9223372036854775807,1]]}]}`),
			"corrupt reqprof file: goroutine 1: interval 0: invalid duration 9223372036854775807 at time 2"},
		{"state overflow", gzipBytes(t, header+`"duration":9,"stacks":[[]],"goroutines":[{"id":1,"member":true,"end":9,"intervals":[[9,257]]}]}`),
			"corrupt reqprof file: goroutine 1: interval 0: invalid state 257"},
		{"stack overflow", gzipBytes(t, header+`"duration":9,"stacks":[[]],"goroutines":[{"id":1,"member":true,"end":9,"intervals":[[9,1,4294967296]]}]}`),
			"corrupt reqprof file: goroutine 1: interval 0: stack 4294967296 out of range"},
		{"reason index", gzipBytes(t, header+`"duration":9,"stacks":[[]],"reasons":["sleep"],"goroutines":[{"id":1,"member":true,"end":9,"intervals":[[9,3,0,2]]}]}`),
			"corrupt reqprof file: goroutine 1: interval 0: reason 2 out of range (have 1 reasons)"},
		{"inferred flag", gzipBytes(t, header+`"duration":9,"stacks":[[]],"goroutines":[{"id":1,"member":true,"end":9,"intervals":[[9,1,0,0,0,2]]}]}`),
			"corrupt reqprof file: goroutine 1: interval 0: inferred flag is 2, want 0 or 1"},
		{"short sample", gzipBytes(t, header+`"duration":9,"stacks":[[]],"samples":[[1,1]]}`),
			"corrupt reqprof file: sample 0: want 3 numbers [time, goroutine, stack], got 2"},
		{"sample stack overflow", gzipBytes(t, header+`"duration":9,"stacks":[[]],"samples":[[1,1,-2147483649]]}`),
			"corrupt reqprof file: sample 0: stack -2147483649 out of range"},
		{"invalid profile", gzipBytes(t, header+`"duration":9,"stacks":[[]],"goroutines":[{"id":1,"member":true,"end":9,"intervals":[[5,1],[5,3,0,0,-1]]}]}`),
			"corrupt reqprof file: profile: goroutine 1: interval 1 [5,10) ends after the goroutine's life [0,9)"},
		{"no stacks", gzipBytes(t, header+`"duration":9}`),
			"corrupt reqprof file: profile: no stacks (Stacks[0] must be the empty stack)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode(bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("Decode() = %v, nil; want error %q", p, tt.want)
			}
			if p != nil {
				t.Errorf("Decode() returned a profile with error %v", err)
			}
			// A want ending in "..." is a prefix, where the rest of the
			// message comes from the standard library.
			got := err.Error()
			if prefix, ok := strings.CutSuffix(tt.want, "..."); ok && strings.HasPrefix(got, prefix) {
				return
			}
			if got != tt.want {
				t.Errorf("Decode() error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDecodeFutureVersion(t *testing.T) {
	data := gzipBytes(t, magic+`{"format":"reqprof","version":4,"stacks":[[]]}`)
	_, err := Decode(bytes.NewReader(data))
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("Decode() = %v, want an error wrapping ErrUnsupportedVersion", err)
	}
	if !strings.Contains(err.Error(), "version 4") || !strings.Contains(err.Error(), fmt.Sprint(FormatVersion)) {
		t.Errorf("error %q does not name both versions", err)
	}
}

func TestDecodeReadError(t *testing.T) {
	errBroken := errors.New("disk on fire")
	valid := encode(t, testProfile())
	for name, r := range map[string]io.Reader{
		"at once": iotest.ErrReader(errBroken),
		"midway":  io.MultiReader(bytes.NewReader(valid[:len(valid)/2]), iotest.ErrReader(errBroken)),
	} {
		_, err := Decode(r)
		if !errors.Is(err, errBroken) || err.Error() != "reading reqprof file: disk on fire" {
			t.Errorf("%s: Decode() = %v, want reading reqprof file: disk on fire", name, err)
		}
	}
	// Slow readers are fine.
	if _, err := Decode(iotest.OneByteReader(bytes.NewReader(valid))); err != nil {
		t.Errorf("Decode(OneByteReader) = %v", err)
	}
}

func TestDecodeSizeLimit(t *testing.T) {
	// A bomb: 2 MiB of JSON whitespace compresses to about 2 KiB.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := io.WriteString(zw, magic+strings.Repeat(" ", 2<<20)+`{"format":"reqprof","version":1,"stacks":[[]]}`); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	bomb := buf.Bytes()
	if len(bomb) > 10<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	_, err := DecodeWith(bytes.NewReader(bomb), DecodeOptions{MaxSize: 1 << 20})
	want := "reqprof file too large: decompresses to more than 1 MiB (limit against decompression bombs)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrLimit) {
		t.Errorf("Decode(bomb) = %v, want %s", err, want)
	}
	if _, err := Decode(bytes.NewReader(bomb)); err != nil {
		t.Errorf("Decode(2 MiB) with the default limit: %v", err)
	}

	// The limit is inclusive.
	valid := encode(t, testProfile())
	size := int64(len(content(t, valid)))
	if _, err := DecodeWith(bytes.NewReader(valid), DecodeOptions{MaxSize: size}); err != nil {
		t.Errorf("Decode at exactly the limit: %v", err)
	}
	want = fmt.Sprintf("reqprof file too large: decompresses to more than %d bytes (limit against decompression bombs)", size-1)
	if _, err := DecodeWith(bytes.NewReader(valid), DecodeOptions{MaxSize: size - 1}); err == nil || err.Error() != want {
		t.Errorf("Decode one byte over the limit = %v, want %s", err, want)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		1 << 30: "1 GiB", 3 << 30: "3 GiB", 1 << 20: "1 MiB", 1536: "1536 bytes",
		1 << 10: "1 KiB", 1000: "1000 bytes", 0: "0 bytes", 1<<30 + 1<<20: "1025 MiB",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// bigProfile returns a valid profile with g goroutines of n intervals each.
func bigProfile(g, n int) *Profile {
	const step = 1000
	p := &Profile{
		Name:     "big",
		Start:    time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		Duration: int64(n) * step,
		Stacks:   []Stack{{}},
	}
	for i := range 50 {
		p.Frames = append(p.Frames, Frame{Func: fmt.Sprintf("example.com/app/pkg.Func%d", i), File: fmt.Sprintf("/src/app/pkg/file%d.go", i%7), Line: 10 + i})
		p.Stacks = append(p.Stacks, Stack{Frames: []FrameID{0, 1, FrameID(i)}})
	}
	reasons := []string{"chan receive", "sleep", "network", "sync", "select"}
	for gi := range g {
		gr := Goroutine{ID: int64(gi + 1), Member: true, Entry: StackID(1 + gi%50), End: p.Duration}
		if gi > 0 {
			gr.Parent = 1
			gr.CreatedAt = 2
		}
		for j := range n {
			iv := Interval{Start: int64(j) * step, End: int64(j+1) * step, Stack: StackID(1 + (gi+j)%50)}
			switch j % 4 {
			case 0:
				iv.State = Running
			case 1:
				iv.State = Running
				iv.Inferred = true
			case 2:
				iv.State = Waiting
				iv.Reason = reasons[j%len(reasons)]
				iv.Waker = int64(1 + (gi+1)%g)
			case 3:
				iv.State = Runnable
			}
			gr.Intervals = append(gr.Intervals, iv)
			if j%10 == 0 {
				p.Samples = append(p.Samples, Sample{Time: iv.Start, Goroutine: gr.ID, Stack: iv.Stack})
			}
		}
		p.Goroutines = append(p.Goroutines, gr)
	}
	return p
}

func BenchmarkEncode(b *testing.B) {
	benchEncode(b, bigProfile(100, 2000)) // 200k intervals
}

// BenchmarkEncodeSmall encodes a profile of the size a short request
// makes (3 goroutines, 30 intervals; about 1 KB encoded): what the
// delivery pays per profile.
func BenchmarkEncodeSmall(b *testing.B) {
	b.ReportAllocs()
	benchEncode(b, bigProfile(3, 10))
}

// benchEncode encodes p in a loop and reports the file's size.
func benchEncode(b *testing.B, p *Profile) {
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := p.Encode(&buf); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "file-bytes")
}

func BenchmarkDecode(b *testing.B) {
	data := encode(b, bigProfile(100, 2000))
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// checkDecoded is the property the fuzz targets check: Decode does not
// panic, and what it accepts is valid and survives a round trip.
func checkDecoded(t *testing.T, data []byte) {
	p, err := Decode(bytes.NewReader(data))
	if err != nil {
		if p != nil {
			t.Fatalf("Decode returned a profile and error %v", err)
		}
		return
	}
	if err := p.CheckValid(); err != nil {
		t.Fatalf("Decode accepted an invalid profile: %v", err)
	}
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		t.Fatalf("Encode of a decoded profile: %v", err)
	}
	q, err := Decode(&buf)
	if err != nil {
		t.Fatalf("Decode of a re-encoded profile: %v", err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip changed the profile:\nbefore:\n%v\nafter:\n%v", p, q)
	}
	_ = p.String()
}

// fuzzSeeds returns decompressed contents for the seed corpora.
func fuzzSeeds(t testing.TB) []string {
	return []string{
		content(t, encode(t, testProfile())),
		content(t, encode(t, &Profile{Stacks: []Stack{{}}})),
		magic + `{"format":"reqprof","version":1,"duration":9,"stacks":[[]],"goroutines":[{"id":1,"member":true,"end":9,"intervals":[[4,1],[5,3,0,1,0,0]]}],"reasons":[""]}`,
		magic + `{"format":"reqprof","version":2}`,
		magic + `{}`,
		magic,
		"",
	}
}

// hostileSeeds returns the hostile files of internal/hostile's corpus:
// deep stacks, huge strings, ten million intervals, truncated files...
// Those that Decode accepts and that inflate to more than 1 MiB are left
// out: every execution of the fuzzer on them would take seconds.
func hostileSeeds(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("..", "internal", "hostile", "testdata", "*.reqprof"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile corpus: %v", err)
	}
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if n, _ := io.Copy(io.Discard, io.LimitReader(zr, 1<<20+1)); n > 1<<20 {
				if _, err := Decode(bytes.NewReader(b)); err == nil {
					continue
				}
			}
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecode fuzzes Decode on whole files, gzip layer included.
func FuzzDecode(f *testing.F) {
	valid := encode(f, testProfile())
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	for _, b := range hostileSeeds(f) {
		f.Add(b)
	}
	for _, s := range fuzzSeeds(f) {
		f.Add(gzipBytes(f, s))
		f.Add([]byte(s))
	}
	f.Add([]byte("garbage"))
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{})
	f.Fuzz(checkDecoded)
}

// FuzzPayload fuzzes Decode on the decompressed content of files: the
// fuzzer's mutations of compressed data almost never get past gzip's
// checksum to the JSON decoder.
func FuzzPayload(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for _, b := range hostileSeeds(f) {
		// The small ones: the fuzzer mutates every byte of a seed.
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if s, _ := io.ReadAll(io.LimitReader(zr, 256<<10+1)); len(s) <= 256<<10 {
				f.Add(string(s))
			}
		}
	}
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		checkDecoded(t, gzipBytes(t, s))
	})
}

// A file older than version 3 records a goroutine the runtime suspended as
// waiting, "preempted": it reads back runnable, as the decoder now makes it.
func TestDecodeVersion2PreemptedIsRunnable(t *testing.T) {
	data := gzipBytes(t, magic+`{"format":"reqprof","version":2,"duration":30,"stacks":[[]],"reasons":["preempted","sync"],`+
		`"goroutines":[{"id":1,"member":true,"end":30,"intervals":[[10,1],[10,3,0,1,2],[10,3,0,2,2]]},{"id":2,"end":30,"intervals":[[30,1]]}]}`)
	p, err := Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	ivs := p.Goroutines[0].Intervals
	if ivs[1].State != Runnable || ivs[1].Reason != PreemptedReason || ivs[1].Waker != 0 {
		t.Errorf("preempted wait read as %+v, want runnable, reason preempted, no waker", ivs[1])
	}
	if ivs[2].State != Waiting || ivs[2].Reason != "sync" || ivs[2].Waker != 2 {
		t.Errorf("sync wait read as %+v, want it unchanged", ivs[2])
	}
}

// TestEncodeLevelBySize encodes a short request's profile, which is
// compressed at BestSpeed (the gzip header's XFL byte says 4), and one
// past smallDocument, at the default level (XFL 0); both decode to what
// was encoded.
func TestEncodeLevelBySize(t *testing.T) {
	for _, c := range []struct {
		name     string
		p        *Profile
		xfl      byte
		wantFast bool
	}{
		{"small", bigProfile(3, 10), 4, true},
		{"large", bigProfile(50, 200), 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := encode(t, c.p)
			if len(data) < 10 {
				t.Fatalf("%d bytes", len(data))
			}
			if data[8] != c.xfl {
				t.Errorf("gzip XFL %d, want %d (fast %v)", data[8], c.xfl, c.wantFast)
			}
			q, err := Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var a, b bytes.Buffer
			if err := c.p.Encode(&a); err != nil {
				t.Fatal(err)
			}
			if err := q.Encode(&b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Error("the decoded profile encodes differently")
			}
		})
	}
}
