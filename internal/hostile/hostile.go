// Package hostile makes .reqprof files that attack their reader: tiny
// files that describe huge profiles (deep stacks, huge strings, ten million
// intervals, gzip bombs), valid profiles at the decode limits whose views
// are costly (ping-pong wakers, deep region nesting, wide fan-out), and
// damaged files. Its tests load each one and render it in every format
// and view within a fixed memory and time bound; the small files are kept
// in testdata, as seeds for the decoder's fuzz targets too.
//
// Regenerate testdata with
//
//	go test ./internal/hostile -run TestCorpus -update
package hostile

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
)

// Case is one hostile file.
type Case struct {
	Name string
	// Reject is a part of the error Decode must return; "" means the file
	// is within the limits and must load and render.
	Reject string
	make   func() []byte
}

// Data returns the file.
func (c Case) Data() []byte { return c.make() }

const magic = "reqprof profile\n"

// Cases returns the hostile files.
func Cases() []Case {
	return []Case{
		{"deep-stack", "a stack has more than 512 frames", deepStack(100_000)},
		{"stack-at-limit", "", stackAtLimit},
		{"huge-string", "a value of more than 393218 bytes", hugeString},
		{"long-function", "frame 0: a function or file name of 2048 bytes, more than 1024", longFunction},
		{"huge-attribute", "a value of more than 393218 bytes", hugeAttr},
		{"long-names", "", longNames},
		{"long-stack-text", "the stacks' function names add up to", longStackText},
		{"huge-numbers", "", hugeNumbers},
		{"ten-million-intervals", "more than 262144 records", manyIntervals(10_000_000)},
		{"many-reasons", "more than 262144 records", manyReasons},
		{"deep-json", "nested more than 16 levels deep", deepJSON},
		{"gzip-bomb", "decompresses to more than 64 MiB", bomb(1 << 30)},
		{"ping-pong", "", pingPong(60_000)},
		{"ping-pong-200k", "more than 262144 records", pingPong(100_000)},
		{"fan-out", "", fanOut(50_000)},
		{"nested-regions", "", nestedRegions(20_000)},
		{"many-regions", "", manyRegions(80_000)},
		{"many-samples", "", manySamples(250_000)},
		{"records-at-limit", "", recordsAtLimit},
		{"truncated-header", "truncated", truncated(func(b []byte) []byte { return b[:12] })},
		{"truncated-half", "truncated", truncated(func(b []byte) []byte { return b[:len(b)/2] })},
		{"truncated-trailer", "truncated", truncated(func(b []byte) []byte { return b[:len(b)-4] })},
	}
}

// doc writes a document: the header fields, then fields written by body.
type doc struct {
	b bytes.Buffer
}

func newDoc(duration int64) *doc {
	d := &doc{}
	d.b.WriteString(magic)
	fmt.Fprintf(&d.b, `{"format":"reqprof","version":1,"name":"hostile","duration":%d`, duration)
	return d
}

func (d *doc) f(format string, args ...any) *doc {
	fmt.Fprintf(&d.b, format, args...)
	return d
}

// s writes a constant, faster than f for the millions of records.
func (d *doc) s(text string) { d.b.WriteString(text) }

// list writes ,"key":[item(0),item(1),...].
func (d *doc) list(key string, n int, item func(i int)) *doc {
	fmt.Fprintf(&d.b, `,%q:[`, key)
	for i := range n {
		if i > 0 {
			d.b.WriteByte(',')
		}
		item(i)
	}
	d.b.WriteByte(']')
	return d
}

func (d *doc) gzip() []byte {
	d.b.WriteString("}\n")
	return compress(d.b.Bytes())
}

func compress(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// funcs writes n frames named pkg.F<i>, at line i of f.go.
func (d *doc) funcs(n int) *doc {
	return d.list("frames", n, func(i int) { d.f(`{"func":"example.com/app/pkg.F%d","file":"/src/app/f.go","line":%d}`, i, i+1) })
}

// root writes the root goroutine with the intervals that iv writes.
func (d *doc) root(end int64, n int, iv func(i int)) *doc {
	d.f(`,"goroutines":[{"id":1,"member":true,"entry":1,"end":%d`, end)
	d.list("intervals", n, iv)
	d.f("}]")
	return d
}

// deepStack: a 1 KB file with one stack of n frames; the text renderer
// used to go past 10 GiB on one of 100,000.
func deepStack(n int) func() []byte {
	return func() []byte {
		d := newDoc(1000).funcs(1)
		d.f(`,"stacks":[[],[0]`)
		d.f(",[%s0]]", strings.Repeat("0,", n-1))
		return d.root(1000, 1, func(int) { d.f("[1000,1,2]") }).gzip()
	}
}

// stackAtLimit: 128 stacks, the deepest of 128 distinct frames, under
// 2,000 intervals.
func stackAtLimit() []byte {
	const depth, n = 128, 2_000
	d := newDoc(n * 1000).funcs(depth)
	d.list("stacks", depth+1, func(k int) {
		d.b.WriteByte('[')
		for i := range k {
			if i > 0 {
				d.b.WriteByte(',')
			}
			fmt.Fprint(&d.b, i)
		}
		d.b.WriteByte(']')
	})
	d.f(`,"reasons":["chan receive"]`)
	return d.root(n*1000, n, func(i int) {
		if i%2 == 0 {
			d.f("[1000,1,%d]", 1+i%depth)
		} else {
			d.f("[1000,3,%d,1]", 1+(i*7)%depth)
		}
	}).gzip()
}

// hugeString: a function name of 1 MiB.
func hugeString() []byte {
	d := newDoc(1000)
	d.f(`,"frames":[{"func":"%s"}]`, strings.Repeat("a", 1<<20))
	d.f(`,"stacks":[[],[0]]`)
	return d.root(1000, 1, func(int) { d.f("[1000,1,1]") }).gzip()
}

// longFunction: a function name of 2 KiB, twice what the runtime writes.
func longFunction() []byte {
	d := newDoc(1000)
	d.f(`,"frames":[{"func":"%s"}]`, strings.Repeat("a", 2<<10))
	d.f(`,"stacks":[[],[0]]`)
	return d.root(1000, 1, func(int) { d.f("[1000,1,1]") }).gzip()
}

// longName returns a function name of 1 KiB, the limit, distinct for i.
func longName(i int) string {
	return fmt.Sprintf("example.com/app/pkg.F%05d_", i) + strings.Repeat("x", 1<<10-27)
}

// longNames: stacks of 128 frames with names of 1 KiB, as many as the
// stack text bound allows (512), under 2,000 intervals that alternate
// between them: names at the limit times depth at the limit. Timeline
// formats write the names of the frames that change at every interval:
// chrome writes 0.5 GB per view.
func longNames() []byte {
	const frames, stacks, n = 4096, 512, 2000
	d := newDoc(n * 1000)
	d.list("frames", frames, func(i int) { d.f(`{"func":%q}`, longName(i)) })
	d.list("stacks", stacks+1, func(k int) {
		d.b.WriteByte('[')
		for i := range min(k, 1) * 128 {
			if i > 0 {
				d.b.WriteByte(',')
			}
			fmt.Fprint(&d.b, (k*128+i)%frames)
		}
		d.b.WriteByte(']')
	})
	return d.root(n*1000, n, func(i int) { d.f("[1000,1,%d]", 1+(i*37)%stacks) }).gzip()
}

// hugeAttr: an attribute value of 16 MiB.
func hugeAttr() []byte {
	d := newDoc(1000).funcs(1)
	d.f(`,"attrs":[{"key":"url","value":"/%s"}]`, strings.Repeat("a", 16<<20-1))
	d.f(`,"stacks":[[],[0]]`)
	return d.root(1000, 1, func(int) { d.f("[1000,1,1]") }).gzip()
}

// longStackText: 1,000 functions of 1 KiB names in 1,000 stacks of 128
// frames: 128 MB of folded stacks from a 1 MB document.
func longStackText() []byte {
	const n, stacks = 1000, 1000
	d := newDoc(stacks * 1000)
	d.list("frames", n, func(i int) { d.f(`{"func":%q}`, longName(i)) })
	d.list("stacks", stacks+1, func(k int) {
		d.b.WriteByte('[')
		for i := range min(k, 1) * 128 {
			if i > 0 {
				d.b.WriteByte(',')
			}
			fmt.Fprint(&d.b, (k*31+i*17)%n)
		}
		d.b.WriteByte(']')
	})
	return d.root(stacks*1000, stacks, func(i int) { d.f("[1000,1,%d]", 1+i) }).gzip()
}

// hugeNumbers: a valid profile whose numbers are near the int64 limits: a
// window of 2^62 ns (146 years), goroutine ids and wakers of 2^62, line
// numbers of 2^62.
func hugeNumbers() []byte {
	const big = 1 << 62
	d := newDoc(big)
	d.f(`,"frames":[{"func":"main.f","file":"f.go","line":%d}]`, int64(big))
	d.f(`,"stacks":[[],[0]],"reasons":["sync"]`)
	d.f(`,"goroutines":[{"id":%d,"member":true,"entry":1,"end":%d,"intervals":[[%d,1,1],[%d,3,1,1,%d],[%d,2,1]]},`, int64(big), int64(big), int64(big/4), int64(big/2), int64(big-1), int64(big/4))
	d.f(`{"id":%d,"parent":%d,"member":true,"created_at":1,"entry":1,"start":%d,"end":%d,"intervals":[[1,1,1]]}]`, int64(big-1), int64(big), int64(big-1), int64(big))
	d.f(`,"samples":[[%d,%d,1]]`, int64(big), int64(big))
	d.f(`,"regions":[{"goroutine":%d,"type":"r","start":0,"end":%d,"stack":1}]`, int64(big), int64(big))
	return d.gzip()
}

// manyIntervals: n one-nanosecond intervals in a file of some 100 KB; 10
// million took 8 GiB to render.
func manyIntervals(n int) func() []byte {
	return func() []byte {
		d := newDoc(int64(n)).funcs(1).f(`,"stacks":[[],[0]]`)
		return d.root(int64(n), n, func(int) { d.s("[1,1]") }).gzip()
	}
}

// manyReasons: five million empty strings.
func manyReasons() []byte {
	d := newDoc(1).funcs(1).f(`,"stacks":[[],[0]]`)
	d.list("reasons", 5_000_000, func(int) { d.s(`""`) })
	return d.root(1, 1, func(int) { d.f("[1,1]") }).gzip()
}

// deepJSON: arrays nested a million deep.
func deepJSON() []byte {
	d := newDoc(1).funcs(1).f(`,"stacks":[[],[0]],"warnings":`)
	d.f("%s%s", strings.Repeat("[", 1_000_000), strings.Repeat("]", 1_000_000))
	return d.root(1, 1, func(int) { d.f("[1,1]") }).gzip()
}

// bomb: n bytes of JSON whitespace (n a multiple of 1 MiB) inside a valid
// document; a 1 GiB one was inflated whole (2.6 GiB, 7.4 s) before it was
// refused. Compressing a gigabyte takes seconds, so the deflate stream is
// assembled from independently compressed pieces, each ending in a sync
// flush: the compressed megabyte of spaces, repeated.
func bomb(n int) func() []byte {
	return func() []byte {
		head := magic + `{"format":"reqprof","version":1,"stacks":[[]]`
		tail := "}\n"
		piece := func(s []byte, final bool) []byte {
			var b bytes.Buffer
			zw, _ := flate.NewWriter(&b, flate.BestCompression)
			zw.Write(s)
			if final {
				zw.Close()
			} else {
				zw.Flush()
			}
			return b.Bytes()
		}
		spaces := bytes.Repeat([]byte(" "), 1<<20)
		mb := piece(spaces, false)
		out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff} // gzip header: deflate, no name, unknown OS
		out = append(out, piece([]byte(head), false)...)
		crc := crc32.ChecksumIEEE([]byte(head))
		for range n >> 20 {
			out = append(out, mb...)
			crc = crc32.Update(crc, crc32.IEEETable, spaces)
		}
		out = append(out, piece([]byte(tail), true)...)
		crc = crc32.Update(crc, crc32.IEEETable, []byte(tail))
		out = binary.LittleEndian.AppendUint32(out, crc)
		return binary.LittleEndian.AppendUint32(out, uint32(len(head)+n+len(tail)))
	}
}

// pingPong: two goroutines waking each other n times each; the critical
// path of such a 25 KB file (n = 100,000) took 67 s and 9.2 GiB.
func pingPong(n int) func() []byte {
	return func() []byte {
		end := int64(2*n) * 1000
		d := newDoc(end).funcs(2)
		d.f(`,"stacks":[[],[0],[1]],"reasons":["chan receive"]`)
		d.f(`,"goroutines":[{"id":1,"member":true,"entry":1,"end":%d`, end)
		d.list("intervals", 2*n, func(i int) {
			if i%2 == 0 {
				d.s("[1000,1,1]")
			} else {
				d.s("[1000,3,1,1,2]") // woken by goroutine 2
			}
		})
		d.f(`},{"id":2,"parent":1,"member":true,"created_at":1,"entry":2,"end":%d`, end)
		d.list("intervals", 2*n, func(i int) {
			if i%2 == 1 {
				d.s("[1000,1,2]")
			} else {
				d.s("[1000,3,2,1,1]") // woken by goroutine 1
			}
		})
		d.f("}]")
		return d.gzip()
	}
}

// fanOut: the root starts n goroutines, each running then waiting.
func fanOut(n int) func() []byte {
	return func() []byte {
		end := int64(n) * 10
		d := newDoc(end).funcs(3)
		d.f(`,"stacks":[[],[0],[0,1],[2]],"reasons":["sync"]`)
		d.f(`,"goroutines":[{"id":1,"member":true,"entry":1,"end":%d,"intervals":[[%d,1,2]]}`, end, end)
		for i := range n {
			start := int64(i) * 10
			d.f(`,{"id":%d,"parent":1,"member":true,"created_at":2,"entry":3,"start":%d,"end":%d,"intervals":[[5,1,3],[%d,3,3,1,1]]}`, i+2, start, end, end-start-5)
		}
		d.f("]")
		return d.gzip()
	}
}

// nestedRegions: n regions on the root goroutine, each inside the one
// before: 15,000 trace.WithRegion calls are what 15,000 SQL statements look
// like, here nested as a recursive function would make them.
func nestedRegions(n int) func() []byte {
	return func() []byte {
		end := int64(2*n) * 100
		d := newDoc(end).funcs(1).f(`,"stacks":[[],[0]]`)
		d.root(end, 1, func(int) { d.f("[%d,1,1]", end) })
		d.list("regions", n, func(i int) {
			d.f(`{"goroutine":1,"type":"SQL: SELECT %d","start":%d,"end":%d,"stack":1}`, i, int64(i)*100, end-int64(i)*100)
		})
		return d.gzip()
	}
}

// manyRegions: n regions one after the other on the root goroutine, each
// over a running and a waiting interval.
func manyRegions(n int) func() []byte {
	return func() []byte {
		end := int64(n) * 100
		d := newDoc(end).funcs(1).f(`,"stacks":[[],[0]],"reasons":["network"]`)
		d.root(end, 2*n, func(i int) {
			if i%2 == 0 {
				d.s("[20,1,1]")
			} else {
				d.s("[80,3,1,1]")
			}
		})
		d.list("regions", n, func(i int) {
			d.f(`{"goroutine":1,"type":"SQL: SELECT %d","start":%d,"end":%d,"stack":1}`, i%100, int64(i)*100, int64(i+1)*100)
		})
		return d.gzip()
	}
}

// manySamples: n CPU samples on one running interval.
func manySamples(n int) func() []byte {
	return func() []byte {
		end := int64(n) * 10
		d := newDoc(end).funcs(8)
		d.f(`,"stacks":[[],[0],[0,1],[0,1,2],[0,1,3],[0,4,5],[0,4,6,7]]`)
		d.root(end, 1, func(int) { d.f("[%d,1,1]", end) })
		d.list("samples", n, func(i int) { d.f("[%d,1,%d]", int64(i)*10, 2+i%5) })
		return d.gzip()
	}
}

// recordsAtLimit: a profile of 250 goroutines with 260,000 intervals in
// all, a few short of the records limit, shaped like a busy request.
func recordsAtLimit() []byte {
	const goroutines, per = 250, 1040
	end := int64(per) * 1000
	d := newDoc(end).funcs(64)
	d.list("stacks", 65, func(k int) {
		if k == 0 {
			d.f("[]")
			return
		}
		d.f("[0,%d,%d,%d]", 1+k%8, 9+k%16, k%40+24)
	})
	d.f(`,"reasons":["chan receive","network","sync","select","sleep"]`)
	d.list("goroutines", goroutines, func(g int) {
		if g == 0 {
			d.f(`{"id":1,"member":true,"entry":1,"end":%d`, end)
		} else {
			d.f(`{"id":%d,"parent":1,"member":true,"created_at":2,"entry":%d,"end":%d`, g+1, 1+g%64, end)
		}
		d.list("intervals", per, func(i int) {
			stack := 1 + (g*7+i)%64
			switch i % 4 {
			case 0, 2:
				d.f("[1000,1,%d]", stack)
			case 1:
				d.f("[1000,3,%d,%d,%d]", stack, 1+i%5, 1+(g+1)%goroutines)
			case 3:
				d.f("[1000,2,%d]", stack)
			}
		})
		d.f("}")
	})
	return d.gzip()
}

// truncated: a valid file, cut.
func truncated(cut func([]byte) []byte) func() []byte {
	return func() []byte { return cut(stackAtLimit()) }
}
