package aggregate

import (
	"fmt"
	"math/bits"
	"slices"
)

// Dist is the distribution of one node's (or function's) time over the
// requests in which it had some: how many they were, their sum, extremes,
// and a log-linear histogram of the per-request values.
//
// The histogram has eight buckets per power of two (bucket widths are 1/8
// of the octave they are in), so a quantile read from it is within 6.25%
// of the exact one; values below 8 ns have buckets of their own. Merging
// two distributions adds their counts: it is exact, associative and
// commutative.
type Dist struct {
	// N is the number of requests with a positive value; Sum their total.
	N, Sum int64
	// Min and Max are the smallest and largest value (0 when N is 0).
	Min, Max int64
	// Buckets are the histogram's non-empty buckets, by ascending Index.
	Buckets []Bucket
}

// Bucket is one histogram bucket: Count values v with BucketOf(v) == Index.
type Bucket struct {
	Index int32
	Count int64
}

// subBits is log2 of the buckets per power of two.
const subBits = 3

// MaxBucket is the largest bucket index (that of the largest int64).
const MaxBucket = (62-subBits+1)<<subBits + (1<<subBits - 1)

// BucketOf returns the histogram bucket of a positive value.
func BucketOf(v int64) int32 {
	if v < 1<<subBits {
		return int32(v)
	}
	e := bits.Len64(uint64(v)) - 1 // v in [2^e, 2^(e+1))
	m := (v >> (e - subBits)) & (1<<subBits - 1)
	return int32((e-subBits+1)<<subBits) + int32(m)
}

// BucketRange returns the values [lo, hi] of bucket i.
func BucketRange(i int32) (lo, hi int64) {
	if i < 1<<subBits {
		return int64(i), int64(i)
	}
	e := int(i>>subBits) + subBits - 1
	m := int64(i & (1<<subBits - 1))
	w := int64(1) << (e - subBits)
	lo = int64(1)<<e + m*w
	return lo, lo + w - 1
}

// Add counts one request whose value is v; v <= 0 is not counted.
func (d *Dist) Add(v int64) {
	if v <= 0 {
		return
	}
	if d.N == 0 || v < d.Min {
		d.Min = v
	}
	if v > d.Max {
		d.Max = v
	}
	d.N++
	d.Sum += v
	b := BucketOf(v)
	i, found := slices.BinarySearchFunc(d.Buckets, b, func(x Bucket, t int32) int { return int(x.Index - t) })
	if found {
		d.Buckets[i].Count++
		return
	}
	d.Buckets = slices.Insert(d.Buckets, i, Bucket{b, 1})
}

// Merge adds o's requests to d.
func (d *Dist) Merge(o *Dist) {
	if o.N == 0 {
		return
	}
	if d.N == 0 || o.Min < d.Min {
		d.Min = o.Min
	}
	d.Max = max(d.Max, o.Max)
	d.N += o.N
	d.Sum += o.Sum
	out := make([]Bucket, 0, len(d.Buckets)+len(o.Buckets))
	i, j := 0, 0
	for i < len(d.Buckets) || j < len(o.Buckets) {
		switch {
		case j == len(o.Buckets) || i < len(d.Buckets) && d.Buckets[i].Index < o.Buckets[j].Index:
			out = append(out, d.Buckets[i])
			i++
		case i == len(d.Buckets) || o.Buckets[j].Index < d.Buckets[i].Index:
			out = append(out, o.Buckets[j])
			j++
		default:
			out = append(out, Bucket{d.Buckets[i].Index, d.Buckets[i].Count + o.Buckets[j].Count})
			i, j = i+1, j+1
		}
	}
	d.Buckets = out
}

// Quantile returns the q-quantile (0 <= q <= 1) of the values, by nearest
// rank, read from the histogram: the middle of the bucket holding it,
// within [Min, Max]. It is 0 when N is 0.
func (d *Dist) Quantile(q float64) int64 {
	if d.N == 0 {
		return 0
	}
	rank := int64(q*float64(d.N) + 0.9999999)
	rank = min(max(rank, 1), d.N)
	var seen int64
	for _, b := range d.Buckets {
		seen += b.Count
		if seen >= rank {
			lo, hi := BucketRange(b.Index)
			return min(max(lo+(hi-lo)/2, d.Min), d.Max)
		}
	}
	return d.Max
}

// Median is Quantile(0.5).
func (d *Dist) Median() int64 { return d.Quantile(0.5) }

// Mean returns the mean of the values counted (not per request of the
// aggregate: divide Sum by that for a mean per request).
func (d *Dist) Mean() float64 {
	if d.N == 0 {
		return 0
	}
	return float64(d.Sum) / float64(d.N)
}

// check reports whether d holds together.
func (d *Dist) check() error {
	if d.N < 0 || d.Sum < 0 || d.Min < 0 || d.Max < d.Min {
		return fmt.Errorf("negative count, sum or bounds (n %d, sum %d, min %d, max %d)", d.N, d.Sum, d.Min, d.Max)
	}
	if d.N == 0 {
		if d.Sum != 0 || d.Min != 0 || d.Max != 0 || len(d.Buckets) != 0 {
			return fmt.Errorf("empty distribution with values")
		}
		return nil
	}
	if d.Min == 0 {
		return fmt.Errorf("minimum 0 of positive values")
	}
	var n int64
	prev := int32(-1)
	for _, b := range d.Buckets {
		if b.Index <= prev || b.Index > MaxBucket || b.Count <= 0 {
			return fmt.Errorf("bucket %d (count %d) out of order, out of range or empty", b.Index, b.Count)
		}
		prev = b.Index
		if n += b.Count; n < 0 || n > d.N {
			return fmt.Errorf("buckets count more than %d values", d.N)
		}
	}
	if n != d.N {
		return fmt.Errorf("buckets count %d values, not %d", n, d.N)
	}
	if BucketOf(d.Min) != d.Buckets[0].Index || BucketOf(d.Max) != d.Buckets[len(d.Buckets)-1].Index {
		return fmt.Errorf("minimum %d or maximum %d outside the buckets", d.Min, d.Max)
	}
	// Sum lies between N*Min and N*Max (checked without overflow).
	if d.Sum/d.N < d.Min || d.Sum/d.N > d.Max {
		return fmt.Errorf("sum %d of %d values outside [%d, %d] each", d.Sum, d.N, d.Min, d.Max)
	}
	return nil
}
