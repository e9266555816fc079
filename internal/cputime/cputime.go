// Package cputime reads the CPU time (user and system) that the process,
// or the calling thread, has used so far, for the benchmarks and tests
// that measure CPU rather than wall time. On Linux getrusage is precise,
// not sampled at the scheduler's tick.
package cputime
