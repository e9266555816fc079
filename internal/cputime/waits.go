package cputime

import "time"

// LongestWait returns the most that one thread waited for a CPU between
// two readings of [Waits] (a thread started meanwhile counts from zero).
func LongestWait(before, after map[int]time.Duration) time.Duration {
	var most time.Duration
	for tid, w := range after {
		most = max(most, w-before[tid])
	}
	return most
}
