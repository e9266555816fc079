package capture

import (
	"bytes"
	"encoding/binary"
)

// The raw trace format's bytes that the window filter reads (Go 1.25 and
// later; x/exp/trace's internal/tracev2): the header's length and the
// batch header types. Anything else makes the filter keep everything.
const (
	rawHeaderLen           = 16 // "go 1.NN trace\x00\x00\x00"
	rawEventBatch          = 1
	rawExperimentalBatch   = 49
	rawEndOfGeneration     = 52
	rawBatchHeaderVarints  = 4 // generation, M, time, size
	rawExperimentalExtraID = 1 // the experiment's id byte before them
)

// window receives a flight recorder's snapshot ([runtime/trace.FlightRecorder.WriteTo]
// writes its header, then one complete batch per call) and keeps only the
// generations numbered from on: those that can hold the tasks of the
// captures being extracted. The recorder's window (a minute by default)
// is then neither copied nor parsed, whatever its length: a snapshot costs
// what the captures' own generations weigh. Whole generations are kept or
// dropped, so the result is a valid trace (a header and a suffix of the
// window's generations).
//
// The runtime numbers generations in increasing order. A capture started
// after a snapshot has closed generation G has its task in a later
// generation, and asks for G+1 on: WriteTo forces a generation switch
// first, and writes only complete generations, so once it has returned
// every new event is in G+1 or later (a capture started before the
// snapshot returned reads an older G). Round 5 kept G as well, a
// generation of margin: with profiles a tenth of a second apart under
// load, that doubled what each snapshot held. When a write is not what
// the filter expects, it keeps everything from then on.
type window struct {
	buf     *bytes.Buffer
	from    uint64
	header  bool
	all     bool   // an unexpected write: keep everything (unless discard)
	discard bool   // keep nothing, whatever comes (a snapshot for its generations)
	keep    bool   // the current generation is kept
	last    uint64 // the newest generation seen
	dropped int    // bytes not kept

	// runs, when set, remembers the generations of earlier snapshots of
	// the same recorder, so that their batches need not be read again.
	runs  *genRuns
	left  int     // batches of the current, known generation still to come
	skips int     // batches written without being read (tests)
	cur   *genRun // the generation being written
}

// genRuns remembers where each generation of a recorder's window begins
// and how many batches it has. A window of a minute holds up to millions
// of batches, in memory no other work touches: reading a byte of each
// costs a cache miss per batch, more than all the rest of a snapshot.
// Generations in the window are complete and never change, so a
// generation whose first batch is known (its address and its header's
// generation, read again each time) is skipped by its count.
type genRuns struct {
	known map[*byte]genRun
	seen  []genRun // this snapshot's, oldest first
}

type genRun struct {
	first *byte
	gen   uint64
	n     int // batches, its end-of-generation marker included
}

// done records the generations of the snapshot just written, forgetting
// those the window no longer holds.
func (r *genRuns) done() {
	if r.known == nil {
		r.known = make(map[*byte]genRun, len(r.seen))
	}
	clear(r.known)
	for _, g := range r.seen {
		r.known[g.first] = g
	}
	r.seen = r.seen[:0]
}

func (w *window) Write(p []byte) (int, error) {
	if w.all {
		if !w.discard {
			w.buf.Write(p)
		}
		return len(p), nil
	}
	if !w.header {
		w.header = true
		if len(p) != rawHeaderLen {
			w.all = true
		}
		if !w.all || !w.discard {
			w.buf.Write(p)
		}
		return len(p), nil
	}
	if w.left > 0 {
		w.left--
		w.skips++
		w.cur.n++
		w.emit(p)
		return len(p), nil
	}
	if len(p) == 1 && p[0] == rawEndOfGeneration {
		if w.cur != nil {
			w.cur.n++
		}
		w.emit(p)
		return len(p), nil
	}
	gen, ok := quickGen(p)
	if ok && w.runs != nil {
		if r, found := w.runs.known[&p[0]]; found && r.gen == gen {
			w.start(p, gen)
			w.left = r.n - 1
			w.emit(p)
			return len(p), nil
		}
	}
	if ok && (w.cur == nil || gen != w.cur.gen) {
		// A new generation: check the whole header once.
		gen, ok = batchGen(p)
		if ok {
			w.start(p, gen)
			w.emit(p)
			return len(p), nil
		}
	}
	if !ok {
		// Not one batch per write: keep the rest whole (the
		// generations already dropped are older than every wanted one).
		w.all = true
		if !w.discard {
			w.buf.Write(p)
		}
		return len(p), nil
	}
	w.cur.n++
	w.emit(p)
	return len(p), nil
}

// start begins generation gen at its first batch p.
func (w *window) start(p []byte, gen uint64) {
	w.keep = gen >= w.from
	w.last = max(w.last, gen)
	if w.runs != nil {
		w.runs.seen = append(w.runs.seen, genRun{first: &p[0], gen: gen, n: 1})
		w.cur = &w.runs.seen[len(w.runs.seen)-1]
	} else {
		w.cur = &genRun{first: &p[0], gen: gen, n: 1}
	}
}

// emit keeps batch p if its generation is kept.
func (w *window) emit(p []byte) {
	if w.keep {
		w.buf.Write(p)
	} else {
		w.dropped += len(p)
	}
}

// finish ends the snapshot: the generations seen are remembered, unless
// the snapshot was not read batch by batch.
func (w *window) finish() {
	if w.runs == nil {
		return
	}
	if w.all {
		clear(w.runs.known)
		w.runs.seen = w.runs.seen[:0]
		return
	}
	w.runs.done()
}

// quickGen returns the generation in the header of batch p, reading no
// more of it.
func quickGen(p []byte) (gen uint64, ok bool) {
	i := 1
	switch {
	case len(p) == 0:
		return 0, false
	case p[0] == rawExperimentalBatch:
		i += rawExperimentalExtraID
	case p[0] != rawEventBatch:
		return 0, false
	}
	if i >= len(p) {
		return 0, false
	}
	gen, n := binary.Uvarint(p[i:])
	return gen, n > 0
}

// batchGen returns the generation of the batch p, which must be exactly
// one batch (its header's size covers the rest of p).
func batchGen(p []byte) (gen uint64, ok bool) {
	if len(p) == 0 {
		return 0, false
	}
	i := 1
	switch p[0] {
	case rawEventBatch:
	case rawExperimentalBatch:
		i += rawExperimentalExtraID
	default:
		return 0, false
	}
	var v [rawBatchHeaderVarints]uint64
	for k := range v {
		if i > len(p) {
			return 0, false
		}
		x, n := binary.Uvarint(p[i:])
		if n <= 0 {
			return 0, false
		}
		v[k], i = x, i+n
	}
	if v[3] != uint64(len(p)-i) {
		return 0, false
	}
	return v[0], true
}
