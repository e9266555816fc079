package aggregate_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/reqprof/reqprof/aggregate"
)

// FuzzDecode feeds the decoder arbitrary file contents (gzip-compressed by
// the test, so that the fuzzer explores the document, not checksums):
// Decode never panics, and what it accepts is valid, renders, merges with
// itself, and encodes to a file that decodes to the same aggregate.
func FuzzDecode(f *testing.F) {
	for _, n := range []int{1, 3} {
		var as []*aggregate.Aggregate
		for _, p := range randomProfiles(n, uint64(n)) {
			a, err := aggregate.From(p, aggregate.Options{})
			if err != nil {
				f.Fatal(err)
			}
			as = append(as, a)
		}
		m, err := aggregate.Merge(as...)
		if err != nil {
			f.Fatal(err)
		}
		var b bytes.Buffer
		if err := m.Encode(&b); err != nil {
			f.Fatal(err)
		}
		zr, _ := gzip.NewReader(&b)
		body, _ := io.ReadAll(zr)
		f.Add(body)
	}
	empty, _ := aggregate.Merge()
	var b bytes.Buffer
	empty.Encode(&b)
	zr, _ := gzip.NewReader(&b)
	body, _ := io.ReadAll(zr)
	f.Add(body)
	f.Add([]byte("reqprof aggregate\n{}"))
	f.Add([]byte("reqprof profile\n{}"))

	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := aggregate.Decode(bytes.NewReader(gz(string(body))))
		if err != nil {
			return
		}
		if err := a.CheckValid(); err != nil {
			t.Fatalf("decoded an invalid aggregate: %v", err)
		}
		for i := range a.Types {
			a.Tree(i, aggregate.TreeOptions{Threshold: 0.01})
		}
		a.StackSet()
		a.Comments()
		a.Percentile(0.99)
		m, err := aggregate.Merge(a, a)
		if err != nil {
			t.Fatalf("merge with itself: %v", err)
		}
		if err := m.CheckValid(); err != nil {
			t.Fatalf("merge with itself is invalid: %v", err)
		}
		if a.N() > 0 {
			if _, err := aggregate.Compare(a, m, aggregate.DiffOptions{}); err != nil {
				t.Fatalf("diff with its double: %v", err)
			}
		}
		var out bytes.Buffer
		if err := a.Encode(&out); err != nil {
			t.Fatalf("encode of a decoded aggregate: %v", err)
		}
		again, err := aggregate.Decode(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("decode of an encoded aggregate: %v", err)
		}
		var out2 bytes.Buffer
		if err := again.Encode(&out2); err != nil || !bytes.Equal(out.Bytes(), out2.Bytes()) {
			t.Fatalf("encode, decode, encode changed the file (%v)", err)
		}
	})
}
