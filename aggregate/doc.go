// Package aggregate answers with many profiles what one cannot: where the
// requests of a route spend their time, and what changed between two sets
// of requests.
//
// One request rarely has enough CPU samples to say where its running time
// went (about 250 per CPU-second, and requests take milliseconds); merged, many
// requests do, while their waits stay exact. An [Aggregate] holds the
// weighted stacks of many profiles per sample type — critical path (wall
// time of the request), wall (all goroutines), cpu (running time) and
// cpu_sampled (CPU samples) — the same types and paths as one profile's
// pprof rendering, so it renders through the same stack-set renderers
// ([Aggregate.StackSet]: text, folded, pprof). For every call-tree node and
// function it also keeps how many requests reached it and the distribution
// of its time over them ([Dist]: "in 27 of 30 requests, median 41µs"),
// and for every profile a record of its duration and split, from which
// duration percentiles come ([Aggregate.Percentile]).
//
// [From] makes the aggregate of one profile; [Merge] combines aggregates.
// Merging is associative and commutative, and every aggregate is in a
// canonical order: Merge(a, Merge(b, c)) and Merge(Merge(a, b), c) encode
// to the same bytes. Aggregates are checked with [Aggregate.CheckValid] and
// stored in a versioned file ([Aggregate.Encode], [Decode]; [Load] also
// reads a profile's .reqprof file).
//
// [Compare] diffs two aggregates node by node, per request, so that 50
// requests before a change compare with 500 after it: [DiffNode.Delta] is
// the change of a node's time per request, [DiffNode.Relative] the change
// relative to before. Package render/diff draws diffs as a text table, a
// pprof profile and an HTML differential flame graph.
package aggregate
