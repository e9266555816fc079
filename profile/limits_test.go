package profile

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// doc returns a file holding one goroutine of n one-nanosecond intervals
// (reason k%reasons for the waiting ones), with extra top-level fields.
func doc(t testing.TB, n int, extra string) []byte {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `%s{"format":"reqprof","version":%d,"duration":%d,%s"goroutines":[{"id":1,"member":true,"end":%d,"intervals":[`, magic, FormatVersion, n, extra, n)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("[1,1]")
	}
	b.WriteString("]}]}")
	return gzipBytes(t, b.String())
}

func frames(n int, name string) string {
	var b strings.Builder
	b.WriteString(`"frames":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"func":%q}`, fmt.Sprintf("%s%d", name, i))
	}
	b.WriteString("],")
	return b.String()
}

func stackOf(depth int) string {
	return "[" + strings.TrimSuffix(strings.Repeat("0,", depth), ",") + "]"
}

func TestDecodeLimits(t *testing.T) {
	long := strings.Repeat("x", MaxStringLen)
	for _, c := range []struct {
		name string
		data []byte
		o    DecodeOptions
		want string // "" to accept
	}{
		{"stack at the limit", doc(t, 1, frames(1, "f")+`"stacks":[[],`+stackOf(MaxStackDepth)+`],`), DecodeOptions{}, ""},
		{"stack over the limit", doc(t, 1, frames(1, "f")+`"stacks":[[],`+stackOf(MaxStackDepth+1)+`],`), DecodeOptions{},
			"reqprof file exceeds a limit: stack 1 has 129 frames, more than 128"},
		{"100,000-frame stack", doc(t, 1, frames(1, "f")+`"stacks":[[],`+stackOf(100_000)+`],`), DecodeOptions{},
			"reqprof file exceeds a limit: a stack has more than 512 frames (the limit is 128)"},
		{"string at the limit", doc(t, 1, `"name":"`+long+`","stacks":[[]],`), DecodeOptions{}, ""},
		{"long name", doc(t, 1, `"name":"`+long+`x","stacks":[[]],`), DecodeOptions{},
			"reqprof file exceeds a limit: the name is 65537 bytes long, more than 65536"},
		{"function at the limit", doc(t, 1, `"frames":[{"func":"`+long[:MaxTraceStringLen]+`"}],"stacks":[[]],`), DecodeOptions{}, ""},
		{"long function", doc(t, 1, `"frames":[{"func":"`+long[:MaxTraceStringLen]+`x"}],"stacks":[[]],`), DecodeOptions{},
			"reqprof file exceeds a limit: frame 0: a function or file name of 1025 bytes, more than 1024"},
		{"long log", doc(t, 1, `"stacks":[[]],"logs":[{"goroutine":1,"message":"`+long[:MaxTraceStringLen]+`x"}],`), DecodeOptions{},
			"reqprof file exceeds a limit: log 0's category or message is 1025 bytes long, more than 1024"},
		{"long attribute", doc(t, 1, `"attrs":[{"key":"url","value":"`+long+`x"}],"stacks":[[]],`), DecodeOptions{},
			`reqprof file exceeds a limit: attribute "url" is 65537 bytes long, more than 65536`},
		{"long warning", doc(t, 1, `"warnings":["`+long+`x"],"stacks":[[]],`), DecodeOptions{},
			"reqprof file exceeds a limit: a warning is 65537 bytes long, more than 65536"},
		{"long reason", doc(t, 1, `"reasons":["`+long+`x"],"stacks":[[]],`), DecodeOptions{}, ""}, // unused: dropped
		{"records at the limit", doc(t, 7, `"stacks":[[]],`), DecodeOptions{MaxRecords: 9}, ""},
		{"records over the limit", doc(t, 8, `"stacks":[[]],`), DecodeOptions{MaxRecords: 9},
			"reqprof file exceeds a limit: more than 9 records"},
		{"two million intervals", doc(t, 2_000_000, `"stacks":[[]],`), DecodeOptions{},
			"reqprof file exceeds a limit: more than 262144 records"},
		{"many reasons", doc(t, 1, `"reasons":[`+strings.TrimSuffix(strings.Repeat(`"",`, 20), ",")+`],"stacks":[[]],`), DecodeOptions{MaxRecords: 20},
			"reqprof file exceeds a limit: more than 20 records"},
		{"long interval", doc(t, 1, `"stacks":[[]],"samples":[[`+strings.Repeat("0,", 1000)+`0]],`), DecodeOptions{},
			"reqprof file exceeds a limit: an array of more than 16 numbers in a table of tuples"},
		{"nesting", doc(t, 1, `"stacks":[[]],"warnings":`+strings.Repeat("[", 20)+strings.Repeat("]", 20)+`,`), DecodeOptions{},
			"corrupt reqprof file: nested more than 16 levels deep"},
		{"stack text", doc(t, 1, frames(10, strings.Repeat("f", 1000))+`"stacks":[[],`+strings.Repeat(stackOf(128)+",", 9)+stackOf(128)+`],`), DecodeOptions{MaxSize: 1 << 20},
			"reqprof file exceeds a limit: the stacks' function names add up to 1281280 bytes, more than 1 MiB"},
		{"future version first", gzipBytes(t, magic+`{"format":"reqprof","version":9,"stacks":[`+stackOf(1000)+`]}`), DecodeOptions{},
			fmt.Sprintf("unsupported reqprof format version: the file has version 9, this build of reqprof reads versions up to %d (upgrade reqprof to read it)", FormatVersion)},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := DecodeWith(bytes.NewReader(c.data), c.o)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("DecodeWith: %v", err)
			case c.want == "":
				// What Decode accepts, Encode writes.
				var buf bytes.Buffer
				if err := p.Encode(&buf); err != nil && c.o == (DecodeOptions{}) {
					t.Errorf("Encode of an accepted profile: %v", err)
				}
			case err == nil:
				t.Fatalf("DecodeWith accepted the file, want %s", c.want)
			case err.Error() != c.want:
				t.Errorf("DecodeWith:\n got %v\nwant %s", err, c.want)
			case strings.HasPrefix(c.want, "reqprof file exceeds") && !errors.Is(err, ErrLimit):
				t.Errorf("error %v does not wrap ErrLimit", err)
			}
		})
	}
}

// TestScanCountsRecords checks that the scan before decoding counts the
// records as the exact check after it does: a profile of exactly
// MaxRecords records is accepted, one fewer allowed is refused.
func TestScanCountsRecords(t *testing.T) {
	for name, p := range map[string]*Profile{"full": testProfile(), "big": bigProfile(10, 50)} {
		data := encode(t, p)
		// The least MaxRecords that decodes, by bisection.
		lo, hi := 0, DefaultMaxRecords // lo refused, hi accepted
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			_, err := DecodeWith(bytes.NewReader(data), DecodeOptions{MaxRecords: mid})
			switch {
			case err == nil:
				hi = mid
			case errors.Is(err, ErrLimit):
				lo = mid
			default:
				t.Fatal(err)
			}
		}
		n := hi
		if err := p.checkLimits(DecodeOptions{MaxRecords: n}); err != nil {
			t.Errorf("%s: decodes with MaxRecords %d, but the exact check says %v", name, n, err)
		}
		if err := p.checkLimits(DecodeOptions{MaxRecords: n - 1}); err == nil {
			t.Errorf("%s: decodes with MaxRecords %d only, but the exact check accepts %d", name, n, n-1)
		}
	}
}

func TestEncodeRefusesWhatDecodeRefuses(t *testing.T) {
	deep := testProfile()
	deep.Stacks = append(deep.Stacks, Stack{Frames: make([]FrameID, MaxStackDepth+1)})
	long := testProfile()
	long.Name = strings.Repeat("x", MaxStringLen+1)
	// 1,100 attributes of 62 KiB: a 67 MB document, sharing one string.
	big := testProfile()
	value := strings.Repeat("y", 62<<10)
	for i := range 1100 {
		big.Attrs = append(big.Attrs, Attr{Key: fmt.Sprint("k", i), Value: value})
	}
	for name, c := range map[string]struct {
		p    *Profile
		want string
	}{
		"deep stack": {deep, "cannot encode profile: reqprof file exceeds a limit: stack 6 has 129 frames, more than 128"},
		"long name":  {long, "cannot encode profile: reqprof file exceeds a limit: the name is 65537 bytes long, more than 65536"},
		"too large":  {big, "reqprof file too large: decompresses to more than 64 MiB (limit against decompression bombs)"},
	} {
		var buf bytes.Buffer
		err := c.p.Encode(&buf)
		if err == nil || err.Error() != c.want || !errors.Is(err, ErrLimit) {
			t.Errorf("%s: Encode = %v, want %s", name, err, c.want)
		}
	}
}

// TestScanInPieces: the scan gives the same answer whatever pieces the
// document arrives in, tokens cut anywhere.
func TestScanInPieces(t *testing.T) {
	long := strings.Repeat(`ab\"c\\`, 300)
	docs := map[string]string{
		"full":    content(t, encode(t, testProfile())),
		"big":     content(t, encode(t, bigProfile(3, 40))),
		"escapes": `{"format":"reqprof","version":1,"name":"` + long + `","warnings":["` + long + `", "x"  ,  "y"],"stacks" :[[],[0,1,2]]}`,
		"spaces":  `{"format" ` + strings.Repeat(" ", 5000) + `: "reqprof", "stacks": [[` + strings.Repeat("0 , ", 600) + `0]]}`,
		"records": `{"warnings":[` + strings.Repeat(`"",`, 40) + `""]}`,
		"nesting": `{"warnings":` + strings.Repeat("[", 30) + strings.Repeat("]", 30) + `}`,
		"numbers": `{"samples":[[` + strings.Repeat("1234567890", 300) + `,1,` + strings.Repeat("9", 3000) + `]]}`,
	}
	for name, d := range docs {
		doc := []byte(strings.TrimPrefix(d, magic))
		o := DecodeOptions{MaxRecords: 30}.withDefaults()
		want := fmt.Sprint(scanRecords(doc, o))
		for _, piece := range []int{1, 2, 3, 7, 64, 1000} {
			s := scanner{max: o.MaxRecords}
			var err error
			for n := piece; n < len(doc) && err == nil; n += piece {
				err = s.scan(doc[:n], false)
			}
			if err == nil {
				err = s.scan(doc, true)
			}
			if got := fmt.Sprint(err); got != want {
				t.Errorf("%s in pieces of %d: %s, whole: %s", name, piece, got, want)
			}
		}
	}
}

// TestDecodeStopsEarly: a file over the records bound is refused once the
// bound is passed, not once it has been inflated whole.
func TestDecodeStopsEarly(t *testing.T) {
	data := doc(t, 2_000_000, `"stacks":[[]],`) // 12 MB inflated
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeWith(bytes.NewReader(data), DecodeOptions{MaxRecords: 1000})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("DecodeWith = %v, want ErrLimit", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 2<<20 {
		t.Errorf("refusing after 1,000 of 2,000,000 intervals allocated %d KiB", n>>10)
	}
}

func TestScanRefusesHugeStrings(t *testing.T) {
	data := doc(t, 1, `"name":"`+strings.Repeat("a", 16<<20)+`","stacks":[[]],`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decode(bytes.NewReader(data))
	runtime.ReadMemStats(&after)
	if want := "reqprof file exceeds a limit: a value of more than 393218 bytes"; err == nil || err.Error() != want {
		t.Errorf("Decode = %v, want %s", err, want)
	}
	// Decoding it would take 16 MiB for the document and as much for the
	// string; the scan stops reading after some 400 KB.
	if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
		t.Errorf("refusing a 16 MiB string allocated %d KiB", n>>10)
	}
}
