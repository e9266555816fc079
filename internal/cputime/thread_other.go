//go:build unix && !linux

package cputime

import "time"

// Thread returns false: only Linux tells a thread's CPU time.
func Thread() (time.Duration, bool) { return 0, false }
