//go:build !unix

package store_test

import "time"

// processCPU returns -1: the benchmarks report no CPU time here.
func processCPU() time.Duration { return -1 }
