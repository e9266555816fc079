//go:build !linux

package cputime

import "time"

// Waits returns false: only Linux tells how long a thread waited for a
// CPU.
func Waits() (map[int]time.Duration, bool) { return nil, false }
